"""Scenario files: one experiment, several groups compared side by side (TOML).

Validation uses pydantic; every problem becomes one line naming the file, the field and
what is allowed (:class:`devsim.errors.DevsimInputError`).
"""

from __future__ import annotations

import contextvars
import dataclasses
import datetime
import json
import os
import stat
import sys
import tomllib
import typing
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    create_model,
    field_validator,
    model_serializer,
    model_validator,
)

from devsim.cohort import BATCH_SIZE, NEURONS, PRESENTATIONS_PER_DAY, check_batches
from devsim.errors import DevsimInputError
from devsim.genome import (
    DEVELOPMENT_GENES,
    EVOLUTION_ONLY_GENES,
    SHEET_GENES,
    SPECIES,
    check_gene,
)
from devsim.outputs import printable
from devsim.plasticity import TREATMENTS
from devsim.senses import CONDITIONS, EYE_CONDITIONS, REARING_STATISTICS, WorldParams
from devsim.sheet import SHEET_SIZE

MAX_GROUPS = 50
DRUGS = tuple(TREATMENTS)  # what each does to the circuit: devsim.plasticity.TREATMENTS
Eye = Literal["left", "right"]
Condition = Literal[CONDITIONS]  # type: ignore[valid-type]
Species = Literal[tuple(SPECIES)]  # type: ignore[valid-type]


class _Strict(BaseModel):
    # strict: a TOML string, boolean or float is never coerced into an integer (or a
    # string into a number); lists are accepted for tuple fields (Field(strict=False)).
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


NAME_MAX = 200  # characters in a scenario or group name (they title figures and folders)
ORGANISMS_MAX = 100_000  # organisms in one group
SEED_MAX = 2**32 - 1  # largest seed (the seeds a batch derives are 32-bit too)


def check_name(value: str) -> str:
    """A name that can title a figure, a terminal line and a folder: printable, short."""
    return check_line(value, NAME_MAX)


def check_line(value: str, limit: int | None = None) -> str:
    """One line of printable text, not blank, of at most ``limit`` characters."""
    if limit is not None and len(value) > limit:
        raise ValueError(f"at most {limit} characters, got {len(value)}")
    if not value.isprintable():
        raise ValueError("must contain only printable characters (no control characters)")
    if not value.strip():
        raise ValueError("must not be blank")
    return value


Name = Annotated[str, Field(min_length=1), AfterValidator(check_name)]


class Rearing(_Strict):
    """Days ``[from, to)`` reared under ``condition`` (``eye`` for one-eye conditions)."""

    start: Annotated[int, Field(alias="from", ge=0)]
    end: Annotated[int, Field(alias="to", ge=0)]
    condition: Condition
    eye: Eye | None = None

    @model_validator(mode="after")
    def _check(self) -> Rearing:
        if self.end <= self.start:
            raise ValueError(f"'to' ({self.end}) must be after 'from' ({self.start})")
        if self.condition in EYE_CONDITIONS and self.eye is None:
            raise ValueError(f"condition {self.condition!r} needs eye = 'left' or 'right'")
        if self.condition not in EYE_CONDITIONS and self.eye is not None:
            raise ValueError(f"condition {self.condition!r} takes no eye (it acts on both)")
        return self


class Treatment(_Strict):
    """A treatment given on days ``[from, to)``; it acts on the circuit only
    (:data:`devsim.plasticity.TREATMENTS`)."""

    start: Annotated[int, Field(alias="from", ge=0)]
    end: Annotated[int, Field(alias="to", ge=0)]
    drug: Literal[tuple(DRUGS)]  # type: ignore[valid-type]

    @model_validator(mode="after")
    def _check(self) -> Treatment:
        if self.end <= self.start:
            raise ValueError(f"'to' ({self.end}) must be after 'from' ({self.start})")
        return self


Statistic = Annotated[float, Field(ge=0.0, le=10.0, allow_inf_nan=False)]  # x a pattern sd


class _WorldTable(_Strict):
    def params(self, base: WorldParams | None = None) -> WorldParams:
        """``base`` (default the standard world) with these statistics."""
        return dataclasses.replace(base or WorldParams(), **self.model_dump())


# A scenario's [world] table: the visual world's rearing statistics, what the eyes deliver
# besides the patterns (in units of the patterns' sd), as devsim.senses lists them
# (REARING_STATISTICS) with WorldParams' defaults: one list, extended there.
World = create_model(
    "World",
    __base__=_WorldTable,
    __doc__="The visual world's rearing statistics (:data:`devsim.senses.REARING_STATISTICS`,"
    " defaults of :class:`devsim.senses.WorldParams`).",
    **{name: (Statistic, getattr(WorldParams, name)) for name in REARING_STATISTICS},
)


class Group(_Strict):
    """Organisms that share a genome preset, a rearing timeline and treatments."""

    name: Name
    organisms: Annotated[int, Field(ge=1, le=ORGANISMS_MAX)] = 16
    species: Species | None = None  # defaults to the scenario's species
    genome: dict[str, float] = Field(default_factory=dict)
    rearing: tuple[Rearing, ...] = Field(default=(), strict=False)
    treatments: tuple[Treatment, ...] = Field(default=(), strict=False)
    # the group this one's shift is measured against (a treated group's treated control);
    # default the scenario's reference
    control: Name | None = None

    @field_validator("genome", mode="before")
    @classmethod
    def _genes(cls, value: Any) -> Any:
        if isinstance(value, dict):
            for name in value:
                if name in EVOLUTION_ONLY_GENES:
                    raise DevsimInputError(
                        f"gene {name!r} acts only in evolution scenarios (devsim evolve); "
                        "a development scenario takes the genes of the rule, the window "
                        "and the wiring"
                    )
            return {
                name: check_gene(name, v, where="", allowed=DEVELOPMENT_GENES)
                for name, v in value.items()
            }
        return value

    @model_validator(mode="after")
    def _check(self) -> Group:
        spans = sorted(self.rearing, key=lambda r: r.start)
        for a, b in zip(spans, spans[1:], strict=False):
            if b.start < a.end:
                raise ValueError(
                    f"rearing: intervals [{a.start}, {a.end}) and [{b.start}, {b.end}) overlap; "
                    "allowed: one condition per day"
                )
        doses = sorted(self.treatments, key=lambda t: (t.drug, t.start))
        for a, b in zip(doses, doses[1:], strict=False):
            if a.drug == b.drug and b.start < a.end:
                raise ValueError(
                    f"treatments: {a.drug} on [{a.start}, {a.end}) and [{b.start}, {b.end}) "
                    "overlap; allowed: one course of a drug at a time (one dose a day)"
                )
        return self


class Scenario(_Strict):
    """One experiment: species, seed, lifetime in days and the groups to compare.

    ``Scenario(name=..., days=..., groups=[...])`` takes the fields as a scenario file
    gives them; bad input is one line (:class:`DevsimInputError`), as from
    :func:`parse_scenario`.
    """

    def __init__(self, /, **data: Any) -> None:
        if _PARSING.get():  # pydantic's validation of parse_scenario calls this too
            super().__init__(**data)
            return
        try:
            super().__init__(**data)
        except ValidationError:
            parse_scenario(data, source="Scenario(...)")  # says what is wrong, in one line
            raise  # (not reached: what pydantic refused, parse_scenario refuses)

    name: Name
    description: Annotated[str, Field(max_length=10_000)] = ""
    species: Species = "mouse"
    seed: Annotated[int, Field(ge=0, le=SEED_MAX)] = 0
    days: Annotated[int, Field(ge=1, le=3650)]
    neurons: Annotated[int, Field(ge=1, le=1024)] = NEURONS
    presentations_per_day: Annotated[int, Field(ge=1, le=100_000)] = PRESENTATIONS_PER_DAY
    batch_size: Annotated[int, Field(ge=1, le=4096)] = BATCH_SIZE
    # The cortex: "point" (``neurons`` units without position) or "sheet" (a torus of
    # ``sheet_size`` x ``sheet_size`` units with retinotopy and lateral interactions).
    cortex: Literal["point", "sheet"] = "point"
    sheet_size: Annotated[int, Field(ge=8, le=32)] = SHEET_SIZE
    # Groups are compared side by side in one figure row; beyond ~50, use a sweep (batch).
    groups: Annotated[tuple[Group, ...], Field(min_length=1, max_length=MAX_GROUPS, strict=False)]
    # The visual world's rearing statistics; None: the standard world (and no [world] in
    # the record, so a run in it is recorded as before the table existed)
    world: World | None = None

    @model_serializer(mode="wrap")
    def _without_standard_world(self, handler):
        data = handler(self)
        if data.get("world", ...) is None:
            del data["world"]
        return data

    @model_validator(mode="after")
    def _check(self) -> Scenario:
        names = [g.name for g in self.groups]
        for gi, name in enumerate(names):
            if name in names[:gi]:
                raise ValueError(
                    f"groups[{gi}].name: {printable(repr(name), 60)} is groups"
                    f"[{names.index(name)}]'s name too; allowed: a name no other group has"
                )
        # the reference is found ignoring case (reference_group): CONTROL and control would
        # leave which one the shifts are measured against to the order of the groups
        folded = [name.casefold() for name in names]
        for gi, name in enumerate(folded):
            if name in folded[:gi]:
                first = names[folded.index(name)]
                raise ValueError(
                    f"groups[{gi}].name: {printable(repr(names[gi]), 60)} differs from "
                    f"{printable(repr(first), 60)} only in case; allowed: group names that "
                    "differ in more than case"
                )
        for gi, group in enumerate(self.groups):
            if group.control is not None and group.control not in set(names) - {group.name}:
                others = ", ".join(n for n in names if n != group.name)
                allowed = others or "none: add the control group, or remove 'control'"
                raise ValueError(
                    f"groups[{gi}].control: {printable(repr(group.control), 60)} is not another "
                    f"group of the scenario; allowed: {allowed}" + group_label(group.name)
                )
        check_batches(self.presentations_per_day, self.batch_size)
        if self.cortex == "sheet" and self.neurons != NEURONS:
            raise ValueError(
                f"neurons: {self.neurons}; allowed: only its default ({NEURONS}) with a sheet "
                f"cortex, whose units are sheet_size x sheet_size ({self.sheet_size} x "
                f"{self.sheet_size} here): leave neurons out and set sheet_size"
            )
        if self.cortex == "point" and self.sheet_size != SHEET_SIZE:
            raise ValueError('sheet_size: only a sheet cortex has one; set cortex = "sheet"')
        for gi, group in enumerate(self.groups):
            sheet_only = sorted(set(group.genome) & SHEET_GENES)
            if self.cortex == "point" and sheet_only:
                raise ValueError(
                    f"groups[{gi}].genome: {', '.join(sheet_only)} "
                    f"{'acts' if len(sheet_only) == 1 else 'act'} only on a sheet "
                    'cortex (cortex = "sheet"); the point cortex has no space'
                    + group_label(group.name)
                )
        for gi, group in enumerate(self.groups):
            for kind in ("rearing", "treatments"):
                for k, item in enumerate(getattr(group, kind)):
                    if item.end > self.days:
                        raise ValueError(
                            f"groups[{gi}].{kind}[{k}]: 'to' = {item.end} is outside the "
                            f"simulated life; allowed 0..days ({self.days})"
                            + group_label(group.name)
                        )
        return self

    @property
    def reference(self) -> str:
        """The control group shifts are measured against (:func:`reference_group`)."""
        return reference_group([g.name for g in self.groups])

    def control_of(self, name: str) -> str:
        """The group ``name``'s shift is measured against: its own ``control``, else the
        scenario's reference."""
        group = next((g for g in self.groups if g.name == name), None)
        if group is None:
            raise ValueError(
                f"no group {printable(repr(name), 60)}; allowed: "
                + ", ".join(g.name for g in self.groups)
            )
        return group.control or self.reference

    def with_changes(self, **changes: Any) -> Scenario:
        """A validated copy with top-level fields replaced (e.g. ``seed``, ``days``)."""
        data = self.model_dump(by_alias=True)
        data.update(changes)
        return parse_scenario(data, source="<scenario>")


def with_world(scenario: Scenario, world: WorldParams | typing.Mapping[str, float]) -> Scenario:
    """``scenario`` in ``world``'s rearing statistics, ``world`` a
    :class:`devsim.senses.WorldParams` or a table as the scenario format's ``[world]``
    (``{"sigma_closed": 1.5}``). What ``world`` sets goes into the scenario's ``world``
    table, so the run's record holds it: a table's every key, a WorldParams' statistics
    that differ from the standard world's (a WorldParams cannot say which it was given);
    the others stay the scenario's. A statistic the scenario's table sets away from the
    standard world's and ``world`` to another value is a :class:`ValueError` naming both
    (one world a run)."""
    standard, table = WorldParams(), scenario.world.model_dump() if scenario.world else {}
    if isinstance(world, typing.Mapping):
        changed = dict(world)  # checked as the scenario's own table is, below
    elif isinstance(world, WorldParams):
        changed = {
            name: getattr(world, name)
            for name in REARING_STATISTICS
            if getattr(world, name) != getattr(standard, name)
        }
    else:
        raise TypeError(
            "world: expected devsim.senses.WorldParams or a table of "
            f"{', '.join(REARING_STATISTICS)}; got {type(world).__name__}"
        )
    for name, value in changed.items():
        if table.get(name, value) not in (value, getattr(standard, name, value)):
            raise ValueError(
                f"world: {name} is {table[name]:g} in the scenario's [world] table and "
                f"{value:g} in world=; give it once"
            )
    if not changed:
        return scenario
    merged = {**table, **changed}
    return parse_scenario({**scenario.model_dump(by_alias=True), "world": merged}, "world")


def reference_group(names: list[str]) -> str:
    """Of a scenario's group names, the control: the one named ``control`` in any case
    (``Control`` too: a capital made the first group the reference), else the first."""
    return next((name for name in names if name.casefold() == "control"), names[0])


def field_location(loc: tuple) -> str:
    """A pydantic error location as a field path, e.g. ``groups[1].rearing[0].eye``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out or "<top level>"


def error_message(err: dict) -> str:
    """The user-facing text of one pydantic error (no pydantic jargon)."""
    kind, msg = err["type"], err["msg"]
    if kind == "extra_forbidden":
        return "unknown key"
    if kind == "missing":
        return "required field is missing"
    if kind == "too_short" and "ctx" in err:
        return f"needs at least {err['ctx']['min_length']}, got {err['ctx']['actual_length']}"
    if kind == "literal_error" and "input" in err:  # one of a list: say what was given
        msg = msg.replace("Input should be", "must be")
        return f"{msg}, got {printable(repr(err['input']), 60)}"
    if kind.endswith("_type") and "input" in err:
        value = err["input"]
        msg = TYPE_TEXT.get(kind, msg)
        if isinstance(value, datetime.date | datetime.time):  # a TOML date or time
            return f"{msg}, got a TOML date or time {value.isoformat()}"
        shown = printable(repr(value), 60)
        text = f"{msg}, got {_TYPE_NAMES.get(type(value), 'a value')} {shown}"
        if kind in ("tuple_type", "list_type") and isinstance(value, dict):
            # [groups] where [[groups]] was meant: TOML's one table instead of a list of them
            name = ".".join(p for p in err.get("loc", ()) if isinstance(p, str))
            text += f" (a list of tables is written [[{name}]], with double brackets)"
        return text
    msg = msg.removeprefix("Value error, ").replace("Input should be", "must be")
    if kind in ("string_too_short", "string_too_long") and isinstance(err.get("input"), str):
        return f"{msg.replace('String should', 'must')}, got {len(err['input'])}"
    if kind.startswith(("greater", "less")) and "input" in err:  # a bound: say what was given
        return f"{msg}, got {printable(repr(err['input']), 60)}"
    return msg


# What a value of each type must be, in a scenario author's words (not pydantic's).
TYPE_TEXT = {
    "int_type": "must be a whole number (not a string, a boolean or a float)",
    "float_type": "must be a finite number (not a string or a boolean)",
    "bool_type": "must be true or false",
    "string_type": "must be a string",
    "dict_type": "must be a table",
    "model_type": "must be a table",
    "tuple_type": "must be a list",
    "list_type": "must be a list",
    "finite_number": "must be a finite number",
}

_TYPE_NAMES = {
    str: "text",
    bool: "a boolean",
    int: "an integer",
    float: "a number",
    list: "a list",
    dict: "a table",
}


def python_values(value: Any) -> Any:
    """``value`` with numpy's scalars as Python's (``np.int64(3)`` -> ``3``): a notebook's
    ``for seed in np.arange(5)`` gives numpy integers, which the strict fields would refuse
    as "not a whole number". A file never holds them. (``value`` nests no deeper than
    :data:`MAX_DEPTH`: :func:`parse_scenario` checks.)"""
    if isinstance(value, dict):
        return {k: python_values(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [python_values(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


def first_error(exc: ValidationError) -> dict:
    """The error to report: the first, unless it is a missing key beside an unknown one
    (``until = 20`` for ``to``): then the unknown key, which is what to fix."""
    errors = exc.errors()
    err = errors[0]
    if err["type"] == "missing":
        beside = err["loc"][:-1]
        unknown = (e for e in errors if e["type"] == "extra_forbidden" and e["loc"][:-1] == beside)
        err = next(unknown, err)
    return err


_PARSING = contextvars.ContextVar("devsim_parsing_scenario", default=False)


def parse_scenario(data: dict, source: str = "<scenario>") -> Scenario:
    """Validate a scenario given as a dict (e.g. parsed TOML)."""
    if _depth(data) > MAX_DEPTH:  # (a dict from Python may nest anyhow, even in a cycle)
        raise DevsimInputError(f"{source}: values nested more than {MAX_DEPTH} levels deep")
    token = _PARSING.set(True)  # Scenario's own __init__ leaves the errors to this
    try:
        return Scenario.model_validate(python_values(data))
    except ValidationError as exc:
        err = first_error(exc)
        internal = ("function-", "tagged-")  # pydantic's own validator labels
        loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and p.startswith(internal)))
        allowed = ""
        if err["type"] == "extra_forbidden":
            model = _model_at(loc[:-1])
            allowed = f"; allowed keys: {', '.join(_keys(model))}" if model else ""
        elif err["type"] == "missing" and loc and isinstance(loc[-1], str):
            model = _model_at(loc[:-1])
            wanted = _expected(model, loc[-1]) if model else ""
            allowed = f" ({wanted})" if wanted else ""
        elif err["type"] in BOUND_ERRORS and loc and isinstance(loc[-1], str):
            allowed = allowed_range(_model_at(loc[:-1]), loc[-1])  # pydantic names one side
        # a check of the whole scenario names its own fields (as evolution scenarios do)
        where = f"{field_location(loc)}: " if loc else ""
        message = printable(error_message(err), 600)  # room for a list of allowed genes
        named = _group_named(data, loc)
        raise DevsimInputError(f"{source}: {where}{message}{allowed}{named}") from None
    except DevsimInputError as exc:
        raise DevsimInputError(f"{source}: {exc}") from None
    finally:
        _PARSING.reset(token)


def group_label(name: str) -> str:
    """How an error names the group it is in, after the message: `` (group 'md')``."""
    return f" (group '{printable(name, 60)}')"


def _group_named(data: Any, loc: tuple) -> str:
    """:func:`group_label` for an error inside a named group's table (its index alone made
    the reader count tables), unless the name is what the error is about."""
    if len(loc) < 2 or loc[0] != "groups" or not isinstance(loc[1], int):
        return ""
    groups = data.get("groups") if isinstance(data, dict) else None
    group = groups[loc[1]] if isinstance(groups, list) and loc[1] < len(groups) else None
    name = group.get("name") if isinstance(group, dict) else None
    if not isinstance(name, str) or loc[2:3] == ("name",):
        return ""
    return group_label(name)


def _keys(model: type[BaseModel]) -> list[str]:
    return [f.alias or name for name, f in model.model_fields.items()]


def _expected(model: type[BaseModel], key: str) -> str:
    """What a required key of ``model`` takes, said as its author writes it: ``a whole
    number from 1 to 3650``, ``one or more [[groups]] tables``, ``one of: dark, normal``,
    ``text in quotes``; "" where the type says no more."""
    field = next((f for n, f in model.model_fields.items() if (f.alias or n) == key), None)
    if field is None:
        return ""
    kind = typing.get_origin(field.annotation)
    if field.annotation is int:
        low = next((m.ge for m in field.metadata if hasattr(m, "ge")), None)
        high = next((m.le for m in field.metadata if hasattr(m, "le")), None)
        if low is not None and high is not None:
            return f"a whole number from {low} to {high}"
        return f"a whole number of at least {low}" if low is not None else "a whole number"
    if field.annotation is str:
        return "text in quotes"
    if kind is tuple:
        return f"one or more [[{key}]] tables"
    if kind is Literal:
        return "one of: " + ", ".join(map(str, typing.get_args(field.annotation)))
    return ""


BOUND_ERRORS = ("greater_than", "greater_than_equal", "less_than", "less_than_equal",
                 "finite_number")  # fmt: skip


def allowed_range(model: type[BaseModel] | None, name: str) -> str:
    """``"; allowed: 0 to 10"``, a field's range from its constraints, for an error that
    names one bound; '' unless the field has both (or there is no model)."""
    field = model.model_fields.get(name) if model else None
    low = high = None
    for item in field.metadata if field else ():  # inclusive bounds only: "0 to 10"
        low = getattr(item, "ge", low)
        high = getattr(item, "le", high)
    return f"; allowed: {low:g} to {high:g}" if low is not None and high is not None else ""


def _model_at(loc: tuple) -> type[BaseModel] | None:
    """The pydantic model that sits at a location (for listing its allowed keys)."""
    model: type[BaseModel] = Scenario
    for part in loc:
        if isinstance(part, int):
            continue
        nested = {"groups": Group, "rearing": Rearing, "treatments": Treatment,
                  "world": World}.get(part)  # fmt: skip
        if nested is None:
            return None
        model = nested
    return model


MAX_FILE_BYTES = 1_000_000  # a scenario, sweep or evolution file is a few kB of TOML


def read_toml(path: str | Path, kind: str = "scenario") -> dict:
    """The parsed TOML file at ``path``; a missing, unreadable, oversized or malformed file
    is one :class:`DevsimInputError` line naming it (``kind``: what the file should be).

    Only regular files are read, at most :data:`MAX_FILE_BYTES` (a FIFO, a device such as
    ``/dev/zero`` or a folder is refused before it is opened for reading).
    """
    text = read_text_file(path, f"{kind} file")
    data = parse_toml(text, printable(str(path), 200), kind)
    if not data:
        raise DevsimInputError(
            f"{printable(str(path), 200)}: the {kind} file is empty (nothing but comments or "
            "blank lines)"
        )
    return data


def parse_toml(text: str, source: str, kind: str = "scenario", what: str = "TOML") -> dict:
    """``text`` parsed as TOML: devsim's one TOML parser (files, lesson headers); a
    malformed or too deeply nested text is one :class:`DevsimInputError` line."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        hint = " (a JSON file? devsim reads TOML; devsim run also reads a run's scenario.json)"
        hint = hint if text.lstrip().startswith("{") else ""
        raise DevsimInputError(f"{source}: malformed {what}: {printable(str(exc))}{hint}") from None
    except RecursionError:
        raise DevsimInputError(f"{source}: malformed {what}: nested too deeply") from None
    except ValueError:  # Python's limit on an integer's digits
        raise DevsimInputError(
            f"{source}: malformed {what}: a number of more than "
            f"{sys.get_int_max_str_digits():,} digits"
        ) from None
    if _depth(data) > MAX_DEPTH:
        raise DevsimInputError(
            f"{source}: values nested more than {MAX_DEPTH} levels deep; {kind} files are flat"
        )
    return data


def read_text_file(path: str | Path, kind: str = "file", form: str = "") -> str:
    """The UTF-8 text of the regular file at ``path``, at most :data:`MAX_FILE_BYTES`:
    devsim's one reader of input files (scenarios, sweeps, evolution scenarios, lessons,
    the README it updates).

    The file is opened without blocking and checked through the opened descriptor, so a
    FIFO, a device such as ``/dev/zero`` or a folder is refused without reading from it;
    every problem is one :class:`DevsimInputError` line naming the file (``kind``: what it
    should be; ``form``: its format, e.g. ``Markdown``).
    """
    shown = printable(str(path), 200)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0))
    except FileNotFoundError:
        raise DevsimInputError(f"{shown}: no such {kind}") from None
    except (OSError, ValueError) as exc:  # permission, symlink loop, too long, NUL byte
        problem = getattr(exc, "strerror", None) or str(exc)
        raise DevsimInputError(f"{shown}: cannot read the {kind} ({problem})") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            regular = f"a regular {form} file" if form else "a regular file"
            raise DevsimInputError(f"{shown}: cannot read the {kind}: must be {regular}")
        if info.st_size > MAX_FILE_BYTES:
            raise DevsimInputError(
                f"{shown}: {kind} is {info.st_size} bytes; allowed at most {MAX_FILE_BYTES}"
            )
        with os.fdopen(os.dup(fd), "rb") as handle:
            raw = handle.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        problem = exc.strerror or exc.__class__.__name__
        raise DevsimInputError(f"{shown}: cannot read the {kind} ({problem})") from None
    finally:
        os.close(fd)
    if len(raw) > MAX_FILE_BYTES:  # grew while being read
        raise DevsimInputError(f"{shown}: {kind} is over {MAX_FILE_BYTES} bytes")
    try:
        return raw.decode("utf-8").removeprefix("\ufeff")  # a byte-order mark is not text
    except UnicodeDecodeError as exc:
        raise DevsimInputError(f"{shown}: {kind} is not UTF-8 text (byte {exc.start})") from None


MAX_DEPTH = 8  # tables and arrays inside each other: the deepest real file has 4


def _depth(value: Any, level: int = 0) -> int:
    """How deeply tables and arrays nest in ``value`` (stops counting past the limit)."""
    if level > MAX_DEPTH or not isinstance(value, dict | list | tuple):
        return level
    items = value.values() if isinstance(value, dict) else value
    return max((_depth(v, level + 1) for v in items), default=level + 1)


def load_scenario(path: str | Path, seed: int | None = None) -> Scenario:
    """Read and validate a scenario file: a TOML path, a run's ``scenario.json`` (to run it
    again), or a shipped scenario's name (``load_scenario("md_critical")``), as ``devsim
    run`` takes them; ``seed`` replaces the file's (``devsim run --seed``)."""
    from devsim.shipped import resolve  # (shipped reads files with this module)

    if isinstance(path, str):  # as devsim run reads its argument
        path = resolve(path, "scenario")
    if str(path).endswith(".json"):
        data = read_run_record(path, seed)
    else:
        data = read_toml(path)
        if seed is not None:
            data = {**data, "seed": seed}
    return parse_scenario(data, source=printable(str(path), 200))


def _unique_keys(pairs: list) -> dict:
    """A JSON object whose keys are unique (JSON takes the last of a key given twice; TOML
    refuses it, and so does devsim)."""
    keys = [k for k, _ in pairs]
    if twice := next((k for k in keys if keys.count(k) > 1), None):
        raise ValueError(f"the key {printable(repr(twice), 60)} is given twice")
    return dict(pairs)


def read_run_record(path: str | Path, seed: int | None = None) -> dict:
    """The scenario a run's ``scenario.json`` records (``devsim run``, ``devsim.save_run``):
    run it again with ``devsim run out/md/scenario.json``. ``seed`` replaces the recorded
    one; a seed of null (a run drawn from a generator passed in) reproduces nothing, so it
    is refused unless one is given."""
    from devsim.shipped import kind_of  # (shipped reads files with this module)

    source = printable(str(path), 200)
    try:
        record = json.loads(read_text_file(path, "scenario file"), object_pairs_hook=_unique_keys)
    except ValueError as exc:
        raise DevsimInputError(f"{source}: malformed JSON: {printable(str(exc))}") from None
    except RecursionError:
        raise DevsimInputError(f"{source}: malformed JSON: nested too deeply") from None
    if not (isinstance(record, dict) and isinstance(record.get("scenario"), dict)):
        raise DevsimInputError(
            f"{source}: not a run's scenario.json (no 'scenario' table); scenarios are "
            "written in TOML"
        )
    scenario = record["scenario"]
    if (kind := kind_of(scenario)) not in (None, "scenario"):
        command = "devsim evolve" if kind == "evolution" else "devsim batch"
        raise DevsimInputError(
            f"{source}: the record of a {command} run; devsim run reruns the scenario.json of "
            "devsim run and devsim.save_run only"
        )
    if seed is not None:
        scenario = {**scenario, "seed": seed}
    elif "seed" in scenario and scenario["seed"] is None:
        raise DevsimInputError(
            f"{source}: seed: null: the run was drawn from a generator, not a seed, so no seed "
            f"reproduces it; allowed: a whole number 0..{SEED_MAX} (pass --seed N, or set one "
            "in a copy)"
        )
    return scenario

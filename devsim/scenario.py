"""Scenario files: one experiment, several groups compared side by side (TOML).

Validation uses pydantic; every problem becomes one line naming the file, the field and
what is allowed (:class:`devsim.errors.DevsimInputError`).
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from devsim.errors import DevsimInputError
from devsim.genome import SPECIES, check_gene
from devsim.senses import CONDITIONS, EYE_CONDITIONS

DRUGS = {"diazepam": 0.6}  # added to effective inhibition I while given (a.u.)
Eye = Literal["left", "right"]
Condition = Literal[CONDITIONS]  # type: ignore[valid-type]
Species = Literal[tuple(SPECIES)]  # type: ignore[valid-type]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


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
    """A drug given on days ``[from, to)``."""

    start: Annotated[int, Field(alias="from", ge=0)]
    end: Annotated[int, Field(alias="to", ge=0)]
    drug: Literal[tuple(DRUGS)]  # type: ignore[valid-type]

    @model_validator(mode="after")
    def _check(self) -> Treatment:
        if self.end <= self.start:
            raise ValueError(f"'to' ({self.end}) must be after 'from' ({self.start})")
        return self


class Group(_Strict):
    """Organisms that share a genome preset, a rearing timeline and treatments."""

    name: Annotated[str, Field(min_length=1)]
    organisms: Annotated[int, Field(ge=1, le=100_000)] = 16
    species: Species | None = None  # defaults to the scenario's species
    genome: dict[str, float] = Field(default_factory=dict)
    rearing: tuple[Rearing, ...] = ()
    treatments: tuple[Treatment, ...] = ()

    @field_validator("genome", mode="before")
    @classmethod
    def _genes(cls, value: Any) -> Any:
        if isinstance(value, dict):
            return {name: check_gene(name, v, where="gene") for name, v in value.items()}
        return value


class Scenario(_Strict):
    """One experiment: species, seed, lifetime in days and the groups to compare."""

    name: Annotated[str, Field(min_length=1)]
    description: str = ""
    species: Species = "mouse"
    seed: Annotated[int, Field(ge=0)] = 0
    days: Annotated[int, Field(ge=1, le=3650)]
    neurons: Annotated[int, Field(ge=1, le=1024)] = 32
    presentations_per_day: Annotated[int, Field(ge=1, le=100_000)] = 640
    batch_size: Annotated[int, Field(ge=1, le=4096)] = 16
    groups: Annotated[tuple[Group, ...], Field(min_length=1)]

    @model_validator(mode="after")
    def _check(self) -> Scenario:
        names = [g.name for g in self.groups]
        if len(set(names)) != len(names):
            raise ValueError(f"group names must be unique, got {names}")
        if self.presentations_per_day % self.batch_size:
            raise ValueError("presentations_per_day must be a multiple of batch_size")
        for gi, group in enumerate(self.groups):
            for kind in ("rearing", "treatments"):
                for k, item in enumerate(getattr(group, kind)):
                    if item.end > self.days:
                        raise ValueError(
                            f"groups[{gi}].{kind}[{k}]: 'to' = {item.end} is outside the "
                            f"simulated life; allowed 0..days ({self.days})"
                        )
            spans = sorted(group.rearing, key=lambda r: r.start)
            for a, b in zip(spans, spans[1:], strict=False):
                if b.start < a.end:
                    raise ValueError(
                        f"groups[{gi}].rearing: intervals [{a.start}, {a.end}) and "
                        f"[{b.start}, {b.end}) overlap; allowed: one condition per day"
                    )
        return self

    @property
    def reference(self) -> str:
        """The control group: the one named ``control``, else the first."""
        names = [g.name for g in self.groups]
        return "control" if "control" in names else names[0]

    def with_changes(self, **changes: Any) -> Scenario:
        """A validated copy with top-level fields replaced (e.g. ``seed``, ``days``)."""
        data = self.model_dump(by_alias=True)
        data.update(changes)
        return parse_scenario(data, source="<scenario>")


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
    return msg.removeprefix("Value error, ")


def parse_scenario(data: dict, source: str = "<scenario>") -> Scenario:
    """Validate a scenario given as a dict (e.g. parsed TOML)."""
    try:
        return Scenario.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        internal = ("function-", "tagged-")  # pydantic's own validator labels
        loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and p.startswith(internal)))
        allowed = ""
        if err["type"] == "extra_forbidden":
            model = _model_at(loc[:-1])
            allowed = f"; allowed keys: {', '.join(_keys(model))}" if model else ""
        where = field_location(loc)
        raise DevsimInputError(f"{source}: {where}: {error_message(err)}{allowed}") from None
    except DevsimInputError as exc:
        raise DevsimInputError(f"{source}: {exc}") from None


def _keys(model: type[BaseModel]) -> list[str]:
    return [f.alias or name for name, f in model.model_fields.items()]


def _model_at(loc: tuple) -> type[BaseModel] | None:
    """The pydantic model that sits at a location (for listing its allowed keys)."""
    model: type[BaseModel] = Scenario
    for part in loc:
        if isinstance(part, int):
            continue
        nested = {"groups": Group, "rearing": Rearing, "treatments": Treatment}.get(part)
        if nested is None:
            return None
        model = nested
    return model


def read_toml(path: str | Path, kind: str = "scenario") -> dict:
    """The parsed TOML file at ``path``; a missing, unreadable or malformed file is one
    :class:`DevsimInputError` line naming it (``kind``: what the file should be)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise DevsimInputError(f"{path}: no such {kind} file") from None
    except (IsADirectoryError, PermissionError, UnicodeDecodeError) as exc:
        problem = exc.__class__.__name__
        raise DevsimInputError(f"{path}: cannot read {kind} file ({problem})") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise DevsimInputError(f"{path}: malformed TOML: {exc}") from None


def load_scenario(path: str | Path) -> Scenario:
    """Read and validate a scenario TOML file."""
    return parse_scenario(read_toml(path), source=str(path))

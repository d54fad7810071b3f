"""Evolution scenario files: the schema of ``devsim evolve`` experiments (TOML).

Validation uses pydantic in strict mode; every problem becomes one line naming the file,
the field and what is allowed (:class:`devsim.errors.DevsimInputError`). The model that
runs them is :class:`devsim.evolution.EvolutionModel`.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    field_validator,
    model_validator,
)

from devsim.cohort import BATCH_SIZE, NEURONS, PRESENTATIONS_PER_DAY, check_batches
from devsim.errors import DevsimInputError
from devsim.genome import (
    EVOLUTION_GENES,
    GENE_BY_NAME,
    GENE_NAMES,
    SHEET_GENES,
    SPECIES,
    check_gene,
    unknown_gene,
)
from devsim.outputs import printable
from devsim.scenario import (
    BOUND_ERRORS,
    SEED_MAX,
    TYPE_TEXT,
    Name,
    allowed_range,
    error_message,
    field_location,
    first_error,
    read_toml,
)
from devsim.senses import MONOCULAR_DEPRIVATIONS

# Share of the initial wiring laid down by the innate map. Big enough that an innate map
# tuned to the world sees well without learning; small enough that learning still pays
# where the genome cannot know the world (0.3: the template's orientation hardly mattered;
# 0.6: learning hardly improved on a map of all orientations).
INNATE_MAP_SHARE = 0.45
FEATURE_MODES = ("constant", "generations", "individual", "habitat")
DEFAULT_EVOLVE = (
    "eta",
    "r_close",
    "floor_adult",
    "theta_open",
    "innate_strength",
    "innate_orientation",
    "innate_offset",
    "marker",
)
# The genes each feature's region of cortex carries its own copy of (``regional``): its
# template, its learning rate and its window (opening, closing, adult floor); the map's
# offset and the neutral marker stay the organism's.
DEFAULT_REGIONAL = tuple(g for g in DEFAULT_EVOLVE if g not in ("innate_offset", "marker"))
FEATURES_MAX = 16


# ------------------------------------------------------------------------------------------
# Scenario schema (TOML), validated with one-line messages
# ------------------------------------------------------------------------------------------
Day = Annotated[int, Field(ge=0, le=365)]
GridSide = Annotated[int, Field(ge=1, le=100)]
Contrast = Annotated[float, Field(ge=0.01, le=10.0)]


class _Strict(BaseModel):
    """Strict fields: strings and booleans are not numbers, floats are not integers, and
    floats are finite. Tuple fields relax only the container (TOML gives lists), with
    ``Field(strict=False)``; their items stay strict."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, allow_inf_nan=False)


class Gradient(_Strict):
    """A habitat statistic that changes linearly across the grid's columns."""

    left: Annotated[float, Field(ge=0.0, le=1.0)]
    right: Annotated[float, Field(ge=0.0, le=1.0)]


Habitat = float | Gradient
_HABITAT = "a probability in [0, 1] or a gradient {left = p, right = p}"


def _check_habitat(value: Any) -> Habitat:
    """A probability in [0, 1], or a gradient ``{left = p, right = p}`` of them."""
    if isinstance(value, Gradient):
        return value
    if isinstance(value, Mapping):
        if set(value) != {"left", "right"}:
            keys = ", ".join(sorted(map(str, value))) or "none"
            raise ValueError(f"a gradient needs exactly the keys left and right, got {keys}")
        return Gradient(**{side: _probability(value[side], f"{side}: ") for side in value})
    return _probability(value, "")


def _probability(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{where}must be {_HABITAT}, got {shown(value)}")
    if not 0.0 <= value <= 1.0:  # NaN fails too
        raise ValueError(f"{where}must be a probability in [0, 1], got {shown(value)}")
    return float(value)


def shown(value: Any) -> str:
    """A user's value as it would appear in TOML, short (for one-line errors)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Mapping):
        return "a table"
    if isinstance(value, list | tuple):
        return "a list"
    if isinstance(value, str):
        text = '"' + printable(value, 40) + '"'  # control characters escaped: one line
    elif isinstance(value, int | float):
        text = repr(value)
    else:
        text = f"a {type(value).__name__}"
    return text if len(text) <= 40 else text[:39] + "…"


def _unprintable(text: str, allowed: str = "") -> str | None:
    """The first character of ``text`` that would garble a terminal or a title, if any."""
    for c in text:
        if c not in allowed and not c.isprintable():
            return repr(c)[1:-1]
    return None


def _days_in_order(name: str, days: tuple[int, int]) -> None:
    """A [first, last] range of days must not run backwards."""
    a, b = days
    if not 0 <= a <= b:
        raise ValueError(f"{name}: need 0 <= first <= last, got [{a}, {b}]")


class _OrientationFeature(_Strict):
    """How a world's dominant orientation varies, and on which timescale: ``constant`` (the
    same for everybody, every generation), ``generations`` (redrawn every ``*_every``
    generations, shared by all), ``individual`` (drawn for each organism at birth) or
    ``habitat`` (a gradient across columns from ``orientation_value`` over
    ``orientation_span`` degrees). ``world_change`` is the chance that an organism's
    orientation is redrawn at a random day in ``world_change_days`` (a change within a
    life); it may be a gradient ``{left, right}``."""

    orientation: Literal[FEATURE_MODES] = "constant"  # type: ignore[valid-type]
    orientation_value: Annotated[float, Field(ge=0.0, lt=180.0)] = 90.0
    orientation_span: Annotated[float, Field(ge=0.0, le=180.0)] = 90.0
    orientation_every: Annotated[int, Field(ge=1, le=100_000)] = 20
    world_change: Habitat = 0.0
    world_change_days: tuple[Day, Day] = Field(default=(25, 35), strict=False)

    _habitat = field_validator("world_change", mode="before")(_check_habitat)

    @model_validator(mode="after")
    def _check_days(self) -> _OrientationFeature:
        _days_in_order("world_change_days", self.world_change_days)
        return self


ORIENTATION_FIELDS = tuple(_OrientationFeature.model_fields)


class Feature(_OrientationFeature):
    """One feature of a world with several (``[[features]]``): the dominant orientation in
    one region of the visual field, seen by its own patch of cortex (``neurons`` neurons)
    that develops with its own copies of the scenario's ``regional`` genes, varying on its
    own timescale (the fields of :class:`Environment`'s orientation)."""

    name: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,23}$")]


class Environment(_OrientationFeature):
    """What varies, and on which timescale.

    ``orientation`` and ``world_change``: :class:`_OrientationFeature` (a world with
    several features sets them per feature, ``[[features]]``, instead); ``eye_offset``:
    ``constant``, ``generations`` (every ``eye_offset_every``) or ``individual``; after a
    change within a life the world's contrast is multiplied by a log-uniform factor from
    ``world_change_contrast``; ``deprivation`` is the chance of a cataract-like lid suture
    of a random eye for ``deprivation_length`` days, starting at a random day in
    ``deprivation_days`` (it may be a gradient ``{left, right}``).
    """

    anisotropy: Annotated[float, Field(ge=0.0, le=100.0)] = 30.0
    eye_offset: Literal["constant", "generations", "individual"] = "constant"
    eye_offset_value: Annotated[int, Field(ge=-2, le=2)] = 0
    eye_offset_every: Annotated[int, Field(ge=1, le=100_000)] = 20
    world_change_contrast: tuple[Contrast, Contrast] = Field(default=(1.0, 1.0), strict=False)
    deprivation: Habitat = 0.0
    deprivation_length: Annotated[int, Field(ge=1, le=365)] = 5
    deprivation_days: tuple[Day, Day] = Field(default=(14, 35), strict=False)
    # the monocular deprivations of devsim.senses; the first (lid suture) by default
    deprivation_condition: Literal[MONOCULAR_DEPRIVATIONS] = MONOCULAR_DEPRIVATIONS[0]  # type: ignore[valid-type]

    _deprivation = field_validator("deprivation", mode="before")(_check_habitat)

    @model_validator(mode="after")
    def _check(self) -> Environment:
        _days_in_order("deprivation_days", self.deprivation_days)
        lo, hi = self.world_change_contrast
        if not 0 < lo <= hi:
            raise ValueError(f"world_change_contrast: need 0 < low <= high, got [{lo}, {hi}]")
        return self

    def as_feature(self) -> Feature:
        """The world's one feature (a scenario without ``[[features]]``)."""
        return Feature.model_construct(
            name="world", **{k: getattr(self, k) for k in ORIENTATION_FIELDS}
        )


class Costs(_Strict):
    """Explicit fitness costs (documented in the module docstring)."""

    plasticity: Annotated[float, Field(ge=0.0, le=100.0)] = 0.03  # per unit eta * sum(gate)
    activity: Annotated[float, Field(ge=0.0, le=100.0)] = 0.02  # per unit mean response
    # per unit of innate_strength: building the template in (0: free, as in every shipped
    # scenario but assimilation_costed_template)
    template: Annotated[float, Field(ge=0.0, le=100.0)] = 0.0


class Islands(_Strict):
    """An island model: ``count`` populations, each the scenario's grid of habitats, evolve
    apart; every ``migration_every`` generations (an epoch) ``migrants`` organisms drawn at
    random on each island move to the next island round a ring, replacing as many residents
    drawn at random there (Wright 1943; the stepping-stone ring of Kimura & Weiss 1964).
    One island (the default) is the plain model."""

    count: Annotated[int, Field(ge=1, le=256)] = 1
    migration_every: Annotated[int, Field(ge=1, le=100_000)] = 10
    migrants: Annotated[int, Field(ge=0, le=10_000)] = 2
    topology: Literal["ring"] = "ring"


class Quick(_Strict):
    """Reduced settings for ``--quick`` (smoke tests); lifetimes and windows are kept. The
    bounds are those of the full settings."""

    generations: Annotated[int, Field(ge=1, le=100_000)] = 3
    grid: tuple[GridSide, GridSide] = Field(default=(3, 2), strict=False)
    per_cell: Annotated[int, Field(ge=1, le=100)] = 2
    neurons: Annotated[int, Field(ge=1, le=1024)] = 8
    presentations_per_day: Annotated[int, Field(ge=1, le=100_000)] = 16
    batch_size: Annotated[int, Field(ge=1, le=4096)] = 8
    islands: Annotated[int, Field(ge=1, le=256)] = 2  # an island scenario's islands, at most


class EvolutionScenario(_Strict):
    """One evolution experiment (see ``devsim/data/scenarios/evolution/*.toml``)."""

    name: Name  # the development scenarios' rule: printable, not blank, <= NAME_MAX
    description: Annotated[str, Field(max_length=20_000)] = ""
    species: Literal[tuple(SPECIES)] = "mouse"  # type: ignore[valid-type]
    seed: Annotated[int, Field(ge=0, le=SEED_MAX)] = 0
    generations: Annotated[int, Field(ge=1, le=100_000)] = 100
    days: Annotated[int, Field(ge=1, le=365)] = 60
    assess_from: Annotated[int, Field(ge=1, le=365)] = 15
    assess_every: Annotated[int, Field(ge=1, le=365)] = 5
    grid: tuple[GridSide, GridSide] = Field(default=(8, 6), strict=False)
    per_cell: Annotated[int, Field(ge=1, le=100)] = 2
    neighbourhood: Annotated[int, Field(ge=0, le=100)] = 1
    neurons: Annotated[int, Field(ge=1, le=1024)] = NEURONS
    presentations_per_day: Annotated[int, Field(ge=1, le=100_000)] = PRESENTATIONS_PER_DAY
    batch_size: Annotated[int, Field(ge=1, le=4096)] = BATCH_SIZE
    tournament: Annotated[int, Field(ge=1, le=100)] = 3
    # false: tournaments on fitness shuffled each generation (drift, selection's offspring
    # variance: the effective size of the same tournaments); --drift's baseline
    selection: bool = True
    recombination: bool = True
    mutation: bool = True
    self_adaptive: bool = True
    mutation_scale: Annotated[float, Field(gt=0.0, le=100.0)] = 1.0
    evolve: tuple[str, ...] = Field(default=DEFAULT_EVOLVE, strict=False)
    genome: dict[str, float] = Field(default_factory=dict)
    # read-out noise of discriminability and half-saturation response of the read-out
    # (responses are of order 1; beyond these ranges the read-out sees nothing or overflows)
    noise: Annotated[float, Field(ge=1e-3, le=1000.0)] = 0.5
    c50: Annotated[float, Field(ge=1e-3, le=1000.0)] = 4.0
    # share of the initial wiring laid down as an innate orientation map (0: none)
    innate_map: Annotated[float, Field(ge=0.0, le=1.0)] = INNATE_MAP_SHARE
    environment: Environment = Environment()
    # several features of the world, each on its own timescale (none: the environment's one)
    features: tuple[Feature, ...] = Field(default=(), strict=False, max_length=FEATURES_MAX)
    regional: tuple[str, ...] = Field(default=DEFAULT_REGIONAL, strict=False)
    costs: Costs = Costs()
    islands: Islands = Islands()
    quick: Quick = Quick()
    _source: str = PrivateAttr(default="<scenario>")  # the file, for errors of later changes
    _quick: bool = PrivateAttr(default=False)  # the reduced [quick] settings (quick_version)

    @field_validator("description")
    @classmethod
    def _description(cls, value: str) -> str:
        bad = _unprintable(value, allowed=" \n\t")
        if bad:
            raise ValueError(
                f"must not contain control or other unprintable characters except newlines "
                f"and tabs (found {bad})"
            )
        return value

    @field_validator("evolve", "regional")
    @classmethod
    def _evolve(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for name in value:
            if name not in GENE_NAMES:
                raise ValueError(unknown_gene(name, EVOLUTION_GENES, shown(name)))
            if name in SHEET_GENES:
                raise ValueError(
                    f"gene {shown(name)} acts only on a cortical sheet; evolution develops "
                    "the point cortex"
                )
        if len(set(value)) != len(value):
            raise ValueError("genes must be listed once each")
        return value

    @field_validator("genome", mode="before")
    @classmethod
    def _genes(cls, value: Any) -> Any:
        if not isinstance(value, Mapping):
            return value  # the type error says what is allowed
        genes = {}
        for name, v in value.items():
            gene = GENE_BY_NAME.get(name)
            if name in SHEET_GENES:
                raise ValueError(
                    f"gene {shown(name)} acts only on a cortical sheet; evolution develops "
                    "the point cortex"
                )
            if gene and (isinstance(v, bool) or not isinstance(v, int | float)):
                raise ValueError(
                    f"gene {name!r} must be a number in [{gene.low}, {gene.high}], got {shown(v)}"
                )
            try:  # check_gene refuses booleans and strings, NaN and values out of bounds
                genes[name] = check_gene(str(name), v, where="", allowed=EVOLUTION_GENES)
            except DevsimInputError as exc:
                raise ValueError(str(exc)) from None
        return genes

    @model_validator(mode="after")
    def _check(self) -> EvolutionScenario:
        check_batches(self.presentations_per_day, self.batch_size)
        try:
            check_batches(self.quick.presentations_per_day, self.quick.batch_size)
        except ValueError as exc:
            raise ValueError(f"quick: {exc}") from None
        if self.assess_from > self.days:
            raise ValueError(
                f"assess_from: {self.assess_from} is after the end of life; allowed 1..days "
                f"({self.days})"
            )
        island = self.grid[0] * self.grid[1] * self.per_cell
        if self.islands.count > 1 and self.islands.migrants > island:
            raise ValueError(
                f"islands.migrants: {self.islands.migrants} is more than an island's "
                f"population; allowed 0..{island} (grid x per_cell)"
            )
        for where, grid, per_cell in (
            ("per_cell", self.grid, self.per_cell),
            ("quick.per_cell", self.quick.grid, self.quick.per_cell),
        ):
            # a corner cell's neighbourhood is the smallest (the grid does not wrap)
            reach = self.neighbourhood + 1
            smallest = per_cell * min(grid[0], reach) * min(grid[1], reach)
            if self.recombination and smallest < 2:
                raise ValueError(
                    f"{where}: {per_cell} leaves a neighbourhood of one organism, and "
                    "recombination needs two parents (no selfing); allowed: per_cell >= 2, "
                    "neighbourhood >= 1 on a grid of more than one cell, or "
                    "recombination = false"
                )
        env = self.environment
        if self.features:
            names = [f.name for f in self.features]
            if len(set(names)) != len(names):
                raise ValueError("features: every feature needs its own name")
            default = _OrientationFeature()
            own = [k for k in ORIENTATION_FIELDS if getattr(env, k) != getattr(default, k)]
            if own:
                raise ValueError(
                    f"environment.{own[0]}: with [[features]] each feature sets its own "
                    "orientation and world_change; remove it from [environment]"
                )
        elif self.regional != DEFAULT_REGIONAL:  # it would change nothing, and said nothing
            raise ValueError(
                "regional: only a world of [[features]] has regions of cortex; allowed: "
                "remove it, or add [[features]]"
            )
        # An event acts only on the eyes' sighted life: a deprivation must reach the day the
        # eyes open, a change of world must come after it (before it, the animal only ever
        # sees the second world: no change within its life).
        sighted = SPECIES[self.species].eye_opening_day
        length = env.deprivation_length
        checks = [
            (
                "environment.deprivation_days",
                env.deprivation,
                env.deprivation_days,
                max(sighted - length + 1, 0),
                f"a deprivation of {length} days that ends before the eyes open (day "
                f"{sighted}) deprives nothing",
            )
        ]
        for i, feature in enumerate(self.feature_list()):
            where = f"features[{i}]" if self.features else "environment"
            checks.append(
                (
                    f"{where}.world_change_days",
                    feature.world_change,
                    feature.world_change_days,
                    sighted,
                    f"a change before the eyes open (day {sighted}) is no change the animal sees",
                )
            )
        for where, chance, days, first, why in checks:
            used = (chance.left, chance.right) if isinstance(chance, Gradient) else (chance,)
            if max(used) > 0 and days[1] >= self.days:
                raise ValueError(
                    f"{where}: {list(days)} must lie inside the life; allowed days "
                    f"0..{self.days - 1}"
                )
            if max(used) > 0 and days[0] < first:
                raise ValueError(
                    f"{where}: {list(days)} starts too early ({why}); allowed days "
                    f"{first}..{self.days - 1}"
                )
        return self

    def feature_list(self) -> tuple[Feature, ...]:
        """The features of the world: ``[[features]]``, or the environment's one."""
        return self.features or (self.environment.as_feature(),)

    @property
    def source(self) -> str:
        """The file this scenario was read from (or what stands for it)."""
        return self._source

    def with_changes(self, source: str | None = None, **changes: Any) -> EvolutionScenario:
        """A copy with some fields changed, validated like the file itself (a change out of
        range is a one-line :class:`DevsimInputError` naming ``source`` and the field)."""
        data = self.model_dump()
        data.update(changes)
        changed = parse_evolution_scenario(data, source=source or self._source)
        changed._quick = self._quick  # a quick run's drift baseline or seed is quick too
        return changed

    def quick_version(self) -> EvolutionScenario:
        """The same experiment at the reduced ``quick`` settings."""
        q = self.quick
        islands = self.islands.model_copy(
            update={
                "count": min(self.islands.count, q.islands),
                "migrants": min(self.islands.migrants, q.grid[0] * q.grid[1] * q.per_cell),
            }
        )
        quick = self.with_changes(
            source=f"{self._source} [quick]",
            generations=min(self.generations, q.generations),
            grid=q.grid,
            per_cell=q.per_cell,
            neurons=q.neurons,
            presentations_per_day=q.presentations_per_day,
            batch_size=q.batch_size,
            islands=islands.model_dump(),
        )
        quick._quick = True
        return quick

    @property
    def title(self) -> str:
        """The name that titles figures: a quick run says its own scale, since the name
        describes the file's (a quick "... on 16 islands" runs 2)."""
        if not self._quick:
            return self.name
        scale = f"{self.grid[0] * self.grid[1] * self.per_cell} organisms"
        if self.islands.count > 1:
            scale = f"{self.islands.count} islands of {scale}"
        return f"{self.name} [quick run: {scale}, {self.generations} generations]"

    def model_kwargs(self) -> dict[str, Any]:
        """Keyword arguments of :class:`EvolutionModel` (everything but name, seed, etc.)."""
        keep = (
            "species days assess_from assess_every grid per_cell neighbourhood neurons "
            "presentations_per_day "
            "batch_size tournament selection recombination mutation self_adaptive mutation_scale "
            "evolve genome noise c50 innate_map features regional"
        ).split()
        kwargs = {k: getattr(self, k) for k in keep}
        kwargs["environment"] = self.environment
        kwargs["plasticity_cost"] = self.costs.plasticity
        kwargs["activity_cost"] = self.costs.activity
        kwargs["template_cost"] = self.costs.template
        return kwargs


_NESTED: dict[str, type[BaseModel]] = {
    "environment": Environment,
    "costs": Costs,
    "islands": Islands,
    "quick": Quick,
    "features": Feature,
}


def _model_at(loc: tuple) -> type[BaseModel] | None:
    """The scenario model that holds the key at the end of ``loc`` (for allowed keys)."""
    model: type[BaseModel] = EvolutionScenario
    for part in loc[:-1]:
        if isinstance(part, int):  # an item of a list of tables ([[features]])
            continue
        nested = _NESTED.get(part) if model is EvolutionScenario else None
        if nested is None:
            return None
        model = nested
    return model


def _message(err: dict) -> str:
    """The user-facing text of one pydantic error of an evolution scenario."""
    kind, value = err["type"], err.get("input")
    if kind == "extra_forbidden":
        model = _model_at(tuple(err["loc"]))
        allowed = ", ".join(f.alias or n for n, f in model.model_fields.items()) if model else ""
        return "unknown key" + (f"; allowed keys: {allowed}" if allowed else "")
    if kind == "missing":
        if err["loc"] and isinstance(err["loc"][-1], int):
            return "the list has too few items"
        return "required field is missing"
    if kind == "too_long" and isinstance(value, list | tuple):
        most = "at most " if err["loc"][-1:] == ("features",) else ""  # others: fixed length
        return f"must be a list of {most}{err['ctx']['max_length']} items, got {len(value)}"
    if kind in TYPE_TEXT:
        return f"{TYPE_TEXT[kind]}, got {shown(value)}"
    if kind in BOUND_ERRORS and err["loc"] and isinstance(err["loc"][-1], str):
        return error_message(err) + allowed_range(_model_at(tuple(err["loc"])), err["loc"][-1])
    if kind == "string_pattern_mismatch":  # a feature's name: it names output columns
        return (
            "must be a lowercase letter then up to 23 lowercase letters, digits or _, "
            f"got {shown(value)}"
        )
    return error_message(err)


def parse_evolution_scenario(data: Mapping, source: str = "<scenario>") -> EvolutionScenario:
    """Validate an evolution scenario given as a dict; one-line errors naming the field."""
    if not isinstance(data, Mapping):
        raise DevsimInputError(f"{source}: must be a table of scenario fields")
    try:
        scenario = EvolutionScenario.model_validate(dict(data))
    except ValidationError as exc:
        err = first_error(exc)
        loc = tuple(
            p
            for p in err["loc"]
            if not (
                isinstance(p, str)
                and (p.startswith(("function-", "tagged-")) or p in ("float", "Gradient", "int"))
            )
        )
        where = f"{field_location(loc)}: " if loc else ""
        raise DevsimInputError(f"{source}: {where}{_message({**err, 'loc': loc})}") from None
    except DevsimInputError as exc:
        raise DevsimInputError(f"{source}: {exc}") from None
    scenario._source = source
    return scenario


def load_evolution_scenario(path: str | Path) -> EvolutionScenario:
    """Read and validate an evolution scenario TOML file."""
    return parse_evolution_scenario(read_toml(path), source=str(path))

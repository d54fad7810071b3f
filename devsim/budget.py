"""What a job will cost, checked before anything is allocated or run.

A job over budget stops with one line saying what it would need and how to allow it
(``--max-memory``); the limits are the machine's, not the model's.
"""

from __future__ import annotations

import math
import numbers
import os
from dataclasses import dataclass

from devsim.cohort import NEURONS, PRESENTATIONS_PER_DAY
from devsim.errors import DevsimInputError


def cores() -> int:
    """Cores this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def default_workers() -> int:
    """Local workers when none are asked for: 2, or 1 on a one-core machine."""
    return min(2, cores())


def check_workers(
    workers: int,
    scheduler: str | None = None,
    flags: tuple[str, str] = ("--workers", "--scheduler ADDRESS"),
) -> int:
    """``--workers`` as given, refused above this machine's cores when the work is local
    (``flags``: how the caller names the workers and a cluster, e.g. ``workers=``)."""
    flag, cluster = flags
    if workers < 1:
        raise DevsimInputError(f"{flag}: must be >= 1, got {workers}")
    if scheduler is None and workers > cores():
        raise DevsimInputError(
            f"{flag}: {workers} is more than this machine's {cores()} cores; use at most "
            f"{cores()}, or {cluster} for a cluster"
        )
    return workers


# Measured (tracemalloc, 16 days of 64-256 organisms x 32-256 neurons): ~26 bytes per
# synapse slot (weights, mask, sprouting odds, weak-day counters, kernel buffers) over a
# fixed ~40 MiB (the visual world's banks); 28 and 64 MiB leave a margin.
BYTES_PER_SLOT = 28
BASE_BYTES = 64 * 2**20
# One "standard organism-day" = 32 neurons x 640 presentations: ~3,500 per second on one
# core of this 2-core machine (README, Performance).
STANDARD_WORK = NEURONS * PRESENTATIONS_PER_DAY
STANDARD_RATE = 3500.0
MAX_RUNS = 100_000  # runs of one sweep, counted before any is built (--max-runs)
DEFAULT_MAX_WORK = 20_000_000  # standard organism-days (~1.5 h on one core)
# A sheet unit's presentation costs ~6.7 of a point unit's (its afferent window is gathered
# from the retina, the lateral interaction settles by FFT), and every day a sheet unit's maps
# are measured, ~0.026 standard organism-days a unit whatever the presentations: 32 x 32
# cats, 2 a run, 18 ms a day at 16 presentations and 64 ms at 256 on this machine (the
# presentations alone would say 5 and 73). `devsim bench` prints the sheet's budget and
# measured time per organism-day side by side.
SHEET_WORK = 6.7
MAP_DAY_WORK = 0.026
# An evolution run's lives cost more than a development model's of the same size (measured,
# December 2026, with `benchmarks/bench_evolution.py`, which prints both side by side): each
# cortex's presentation costs as if it had EVOLUTION_FIXED_UNITS more neurons (its region's
# images are drawn and filtered whatever the cortex's size: a 16-neuron cortex costs 0.75 of a
# 32-neuron one, not 0.5), and the fitness assessments and the world add EVOLUTION_OVERHEAD.
# Measured / estimated: 0.90-1.04 over the 12 shipped scenarios (it was 1.02-1.70).
EVOLUTION_FIXED_UNITS = 33
EVOLUTION_OVERHEAD = 1.15
# A Hinton & Nowlan life (devsim baldwin, 20 loci) takes ~0.6 us on one core of this machine
# (0.46-0.64 us measured over populations of 1,000-100,000), and a run holds ~500 bytes an
# individual at its peak (49 MiB for 100,000).
BALDWIN_LIFE_SECONDS = 0.6e-6
BALDWIN_BYTES_PER_INDIVIDUAL = 520
# A sheet keeps every day's maps (the stability measure, the development figures): an
# orientation (complex64) and an OD map (float32) per unit, 12 bytes, held once as the days'
# list and once more as the arrays made from it at the end.
MAP_HISTORY_BYTES = 24


@dataclass(frozen=True)
class Cost:
    """What a job needs: peak memory of its largest single model, and its total work."""

    memory: float  # bytes
    organism_days: float  # in standard organism-days (32 neurons, 640 presentations)

    def __add__(self, other: Cost) -> Cost:
        return Cost(max(self.memory, other.memory), self.organism_days + other.organism_days)

    def hours(self) -> float:
        return self.organism_days / STANDARD_RATE / 3600


def development_cost(
    organisms: int,
    neurons: int,
    days: int,
    presentations_per_day: int,
    channels: int = 128,
    unit_work: float = 1.0,
    day_work: float = 0.0,
    day_bytes: float = 0.0,
) -> Cost:
    """The cost of one model of ``organisms`` (all groups together) living ``days``.
    What a cortex adds (:func:`cortex_terms`): ``unit_work``, what a unit's presentation
    costs against a point unit's; ``day_work``, what a unit costs each day whatever the
    presentations, in standard organism-days; ``day_bytes``, what a unit keeps of each day
    (from day 0 to ``days``)."""
    slots = float(organisms) * neurons * channels
    unit_days = float(organisms) * days * neurons
    history = day_bytes * float(organisms) * neurons * (days + 1)
    return Cost(
        BASE_BYTES + BYTES_PER_SLOT * slots + history,
        unit_days * presentations_per_day / STANDARD_WORK * unit_work + unit_days * day_work,
    )


def cortex_units(cortex: str, neurons: int, sheet_size: int | None) -> int:
    """Units of one organism's cortex: ``neurons`` on the point cortex, a sheet's
    ``sheet_size**2`` (each with its own afferent synapses)."""
    return sheet_size**2 if cortex == "sheet" and sheet_size else neurons


def cortex_terms(cortex: str) -> dict[str, float]:
    """What a cortex adds to :func:`development_cost` (its keyword arguments): a sheet's
    presentations cost :data:`SHEET_WORK` of a point unit's, its daily maps
    :data:`MAP_DAY_WORK` and :data:`MAP_HISTORY_BYTES`; the point cortex, nothing more."""
    if cortex == "sheet":
        return {"unit_work": SHEET_WORK, "day_work": MAP_DAY_WORK, "day_bytes": MAP_HISTORY_BYTES}
    return {}


def scenario_cost(scenario) -> Cost:
    """The cost of a development scenario (:class:`devsim.scenario.Scenario`)."""
    from devsim.senses import WorldParams

    organisms = sum(g.organisms for g in scenario.groups)
    channels = 2 * WorldParams().patch ** 2
    units = cortex_units(scenario.cortex, scenario.neurons, scenario.sheet_size)
    return development_cost(
        organisms,
        units,
        scenario.days,
        scenario.presentations_per_day,
        channels,
        **cortex_terms(scenario.cortex),
    )


def evolution_cost(scenario) -> Cost:
    """The cost of one evolution run (:class:`devsim.evolution.EvolutionScenario`): a
    generation's organisms develop together, once per generation, the founders' included
    (per island: the memory is one island's); in a world of several features each organism
    is one cortex per feature; the work per life as measured (:data:`EVOLUTION_FIXED_UNITS`,
    :data:`EVOLUTION_OVERHEAD`)."""
    from devsim.senses import WorldParams

    regions = max(len(scenario.features), 1)
    organisms = scenario.grid[0] * scenario.grid[1] * scenario.per_cell * regions
    one = development_cost(
        organisms,
        scenario.neurons,
        scenario.days,
        scenario.presentations_per_day,
        2 * WorldParams().patch ** 2,
    )
    lives = scenario.generations + 1  # the founders live generation 0 too
    per_life = (
        one.organism_days
        * (scenario.neurons + EVOLUTION_FIXED_UNITS)
        / scenario.neurons
        * NEURONS
        / (NEURONS + EVOLUTION_FIXED_UNITS)
        * EVOLUTION_OVERHEAD
    )
    return Cost(one.memory, per_life * lives * scenario.islands.count)


def baldwin_cost(population: int, generations: int, runs: int) -> Cost:
    """The cost of ``devsim baldwin``: ``runs`` populations, one after another, each living
    ``generations`` bred generations after the founders'."""
    lives = float(population) * (generations + 1) * runs
    return Cost(
        BASE_BYTES + BALDWIN_BYTES_PER_INDIVIDUAL * float(population),
        lives * BALDWIN_LIFE_SECONDS * STANDARD_RATE,
    )


def physical_memory() -> int:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):  # pragma: no cover - not POSIX
        return 8 * 2**30


def default_max_memory() -> int:
    """Half of this machine's memory: room for the rest of the machine and a second job."""
    return physical_memory() // 2


_UNITS = {"": 1, "K": 2**10, "M": 2**20, "G": 2**30, "T": 2**40}


def parse_size(text: str, flag: str = "--max-memory") -> int:
    """``--max-memory`` values: bytes, or a number with K, M, G or T (powers of 1024)."""
    raw = text.strip().upper().removesuffix("IB").removesuffix("B")
    unit = raw[-1:] if raw[-1:] in _UNITS and raw[-1:] else ""
    try:
        value = float(raw[: len(raw) - len(unit)])
    except ValueError:
        raise DevsimInputError(
            f"{flag}: expected a size like 4G or 512M, got {text[:40]!r}"
        ) from None
    nbytes = value * _UNITS[unit]
    if not math.isfinite(nbytes) or nbytes < 1:  # 0.5 would be a limit of 0 bytes
        raise DevsimInputError(
            f"{flag}: must be a finite size of at least 1 byte, got {text[:40]!r}"
        )
    return int(nbytes)


def size_text(nbytes: float) -> str:
    for unit in ("TiB", "GiB", "MiB"):
        scale = _UNITS[unit[0]]
        if nbytes >= scale:
            return f"{nbytes / scale:,.1f} {unit}"
    if nbytes >= 2**10:
        return f"{nbytes / 2**10:,.0f} KiB"
    return f"{nbytes:,.0f} bytes"


def _duration(hours: float) -> str:
    """``2.5 h``, ``40 min`` or ``< 1 min`` (it said ``0.0 h``)."""
    if hours >= 1:
        return f"{hours:,.1f} h"
    minutes = hours * 60
    return f"{minutes:.0f} min" if minutes >= 1 else "< 1 min"


def _count(value: float) -> str:
    """A count as read: thousands separated, three significant digits below 10 (0.5)."""
    return f"{value:,.0f}" if value >= 10 else f"{value:.3g}"


def check_cost(
    cost: Cost,
    max_memory: int | None = None,
    max_work: float | None = None,
    what: str = "job",
    smaller: str = "fewer organisms, neurons or sheet units, fewer days of a sheet",
) -> Cost:
    """``cost`` if it fits the limits; one line saying what it needs and how to allow it
    (``smaller``: what makes the job's memory smaller)."""
    max_memory = default_max_memory() if max_memory is None else max_memory
    max_work = DEFAULT_MAX_WORK if max_work is None else max_work
    if cost.memory > max_memory:
        raise DevsimInputError(
            f"{what}: would need about {size_text(cost.memory)} of memory; the limit is "
            f"{size_text(max_memory)} ({smaller}, or raise --max-memory)"
        )
    if cost.organism_days > max_work:
        raise DevsimInputError(
            f"{what}: {_count(cost.organism_days)} organism-days (~{_duration(cost.hours())} on "
            f"one core) is above the limit of {_count(max_work)} (make it smaller, or raise "
            "--max-organism-days)"
        )
    return cost


def add_arguments(parser) -> None:
    """``--max-memory`` and ``--max-organism-days`` for commands that run simulations."""
    parser.add_argument(
        "--max-memory",
        type=str,
        default=None,
        metavar="SIZE",
        help="refuse a job whose largest model needs more memory (e.g. 16G; default: half "
        "of this machine's memory; at most all of it)",
    )
    parser.add_argument(
        "--max-organism-days",
        type=float,
        default=None,
        metavar="N",
        help=f"refuse a job of more organism-days (in days of {NEURONS} neurons x "
        f"{PRESENTATIONS_PER_DAY} presentations; default {DEFAULT_MAX_WORK:,})",
    )


def limits(args) -> tuple[int | None, float | None]:
    """The limits given on the command line (None: the defaults)."""
    return checked_limits(args.max_memory, args.max_organism_days)


def checked_limits(
    memory, work, flags: tuple[str, str] = ("--max-memory", "--max-organism-days")
) -> tuple[int | None, float | None]:
    """Limits as given (``memory``: a size such as ``"16G"`` or bytes; ``work``: organism-days;
    None: the default), checked: one line naming ``flags`` for a limit that is none."""
    if memory is not None:
        if isinstance(memory, bool) or not isinstance(memory, str | numbers.Real):
            raise DevsimInputError(f"{flags[0]}: expected a size like 4G or bytes, got {memory!r}")
        memory = parse_size(str(memory), flags[0])
    if memory is not None and memory > physical_memory():
        # a model that does not fit in memory is refused whatever the limit (DevelopmentModel)
        raise DevsimInputError(
            f"{flags[0]}: {size_text(memory)} is more than this machine's "
            f"{size_text(physical_memory())}; a job must fit in it"
        )
    if work is not None and (
        isinstance(work, bool)
        or not isinstance(work, numbers.Real)  # numpy's numbers too
        or not (math.isfinite(work) and work > 0)
    ):
        raise DevsimInputError(f"{flags[1]}: must be a positive, finite number, got {work!r}")
    return memory, None if work is None else float(work)

"""Evolution of developmental genomes: do rules beat weights, and when do windows close?

A population of :class:`EvolvingOrganism` agents lives on a Mesa grid of habitats. Each
organism carries a :class:`devsim.genome.Genome` with *both* routes to a working visual
system (docs/science.md, Evolution):

* **rules** -- the plasticity rule and the critical-window genes (``eta``, ``r_close``,
  ``floor_adult``, ...): the weights are set by lifetime learning from what the eyes see;
* **weights** -- an innate template (``innate_strength``, ``innate_orientation``,
  ``innate_offset``): heritable oriented, binocular receptive fields
  (:func:`devsim.environment.innate_template`), the "pretrained" route. Every organism
  is born with an innate orientation map (a share :data:`INNATE_MAP_SHARE` of its initial
  wiring is genetically specified, the rest is the random exuberant projection);
  ``innate_strength`` is the share of its neurons whose orientation the genome sets to
  ``innate_orientation``, the others covering all orientations as at eye opening. So the
  generic scaffolding is the same for every genome, and a constant feature of the world
  (its dominant orientation) can be carried by the genome without any learning
  (:meth:`EvolutionModel._apply_template`).

Every generation develops from birth to maturity in the one vectorised kernel
(:meth:`devsim.cohort.Cohort.develop_day`), each organism in *its own* world
(:class:`devsim.environment.HabitatWorld`: a dominant orientation, an eye alignment,
perhaps a cataract-like deprivation or a change of world during its life). Its vision is
assessed throughout its sighted life (ages ``assess_from``, ``assess_from + assess_every``,
... up to ``days``: an animal needs vision from the day its eyes open, not only as an adult),
and fitness is what development produced, minus explicit costs:

``fitness = quality - c_plasticity * eta * sum_days(gate) - c_activity * activity
- c_template * innate_strength``

* ``quality``: mean over the assessments of the discriminability of the organism's own
  world's scenes through the left eye, the right eye and both eyes
  (:func:`devsim.environment.visual_quality`): responses pass a saturating Naka-Rushton
  function (limited dynamic range) and a fixed read-out noise, so scenes are told apart
  when they drive the cortex differently and neither too weakly nor into saturation;
* ``eta * sum_days(gate)`` (the trait ``plasticity``): the plasticity the organism paid
  for -- keeping synapses plastic has a metabolic cost whether or not it is used (a
  maintenance cost of learning ability: Mery & Kawecki 2003; Burger et al. 2008; Dunlap &
  Stephens 2009). The assimilation scenarios use ``c_plasticity = 0.1`` (a founder's
  window in the habitat world, plasticity ~ 3, costs ~ 0.3 against a quality of ~ 0.8),
  the others 0.03;
* ``activity``: the mean response to its world's scenes -- signalling costs energy
  (Attwell & Laughlin 2001), so a cortex that is merely louder is not better for free;
* ``innate_strength``: the template, the share of neurons the genome tunes; free
  (``c_template = 0``) but in ``assimilation_costed_template``, one of the two controls
  of the template's free ride (the other, ``assimilation_free_plasticity``, makes
  learning free).

Deprivation is *not* a separate cost term: a lid suture while synapses are plastic leaves
a weaker deprived eye (amblyopia) through the kernel itself, and that lowers ``quality``.
The same plasticity that exposes the cortex to the damage can undo part of it after the
eye reopens, so whether a deprivation risk favours short or long windows depends on how
long the deprivation lasts compared with the sighted life left after it (see
shipped ``window_deprivation_risk`` (``devsim/data/scenarios/evolution/``)).

A world may have several features, each on its own timescale (``[[features]]``: the
timescale spectrum, :mod:`devsim.timescales`). Each feature is the dominant orientation of
one region of the visual field, seen by its own patch of cortex -- one more row of the
cohort -- that develops with its own copy of the ``regional`` genes (template, learning
rate, window), so selection can store each feature in a different memory layer; the
organism's quality and plasticity are the means over its regions.

Parents are chosen by tournaments among the organisms of a Moore neighbourhood; each
offspring is placed in the cell it was bred for (within ``neighbourhood`` cells of its
parents), so populations can adapt locally along habitat gradients (PropertyLayers of the
grid). Offspring inherit their parents' genes (uniform recombination of two distinct
parents if enabled: no selfing) and each
gene's heritable mutation scale, which self-adapts log-normally as in evolution
strategies (Schwefel 1977; Bäck 1996):
``sigma_i <- sigma_i * exp(tau0 * N0 + tau * N_i)``, ``x_i <- x_i + sigma_i * N_i'``,
then reflected into the gene's bounds (wrapped for periodic genes).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import mesa
import numpy as np
import pandas as pd
from mesa.discrete_space import CellAgent, OrthogonalMooreGrid, PropertyLayer

from devsim.cohort import BATCH_SIZE, NEURONS, PRESENTATIONS_PER_DAY, Cohort, PhaseTimer
from devsim.environment import (
    HabitatWorld,
    HabitatWorldParams,
    innate_orientations,
    innate_template,
    view_activity,
    visual_quality,
)
from devsim.evolution_scenario import (
    DEFAULT_EVOLVE,
    DEFAULT_REGIONAL,
    INNATE_MAP_SHARE,
    Environment,
    EvolutionScenario,
    Feature,
    Gradient,
    parse_evolution_scenario,
)
from devsim.genome import EVOLUTION_GENES as GENE_NAMES
from devsim.genome import GENE_BY_NAME, SHEET_GENES, SPECIES, Genome
from devsim.genome import GENE_NAMES as ALL_GENES
from devsim.plasticity import WINDOW_OPEN_GATE
from devsim.senses import Span, WorldParams, rearing_inputs

# Evolution develops the point cortex: the sheet's genes are neither carried nor mutated
# (devsim.genome.EVOLUTION_GENES names the genes it carries).
EVOLUTION_GENES = tuple(GENE_BY_NAME[name] for name in GENE_NAMES)
# wrapped, not reflected, into bounds (the marker mutates as the orientation gene does)
PERIODIC_GENES = frozenset({"innate_orientation", "marker"})
INNATE_SCALE = 0.6  # RMS weight of the innate template, ~ learned receptive fields (0.5)
TRAITS = (
    "fitness",
    "quality",
    "d_left",
    "d_right",
    "d_both",
    "activity",
    "plasticity",
    "innate",
    "template_match",
    "innate_effective",
    "window_open",
    "window_close",
    "adult_gate",
)
MAP_TRAITS = ("plasticity", "innate", "innate_effective", "window_close", "adult_gate", "fitness")
# What each feature's region of cortex records in a world of several features (each also
# per organism, the mean over its regions, in TRAITS): all but fitness, the eyes' responses
# and the activity, which are the whole organism's.
WHOLE_ORGANISM = ("fitness", "d_left", "d_right", "d_both", "activity")
REGION_TRAITS = tuple(t for t in TRAITS if t not in WHOLE_ORGANISM)


def base_gene(column: str) -> str:
    """The gene of a genome column: ``eta@fixed`` (a feature's own copy) is ``eta``."""
    return column.partition("@")[0]


# ------------------------------------------------------------------------------------------
# Pure operators: mutation, bounds, tournaments
# ------------------------------------------------------------------------------------------
def learning_rates(n: int) -> tuple[float, float]:
    """Global and per-gene learning rates ``(tau0, tau)`` of log-normal self-adaptation for
    ``n`` mutating genes: ``1/sqrt(2n)`` and ``1/sqrt(2 sqrt(n))`` (Bäck 1996)."""
    n = max(int(n), 1)
    return 1.0 / math.sqrt(2.0 * n), 1.0 / math.sqrt(2.0 * math.sqrt(n))


def into_bounds(
    values: np.ndarray, low: np.ndarray, high: np.ndarray, periodic: np.ndarray
) -> np.ndarray:
    """Reflect ``values`` (o, g) into ``[low, high]`` per gene; wrap periodic genes."""
    span = np.where(high > low, high - low, 1.0)
    shifted = values - low
    reflected = np.abs(((shifted + span) % (2.0 * span)) - span)  # triangle wave: 0..span
    wrapped = shifted % span
    out = low + np.where(periodic, wrapped, reflected)
    return np.where(high > low, out, low)


def mutate(
    values: np.ndarray,
    sigmas: np.ndarray,
    rng: np.random.Generator,
    low: np.ndarray,
    high: np.ndarray,
    periodic: np.ndarray,
    self_adaptive: bool = True,
    sigma_floor: np.ndarray | None = None,
    sigma_ceiling: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Mutate genomes (rows of ``values``) with their own heritable mutation scales.

    Genes whose scale is 0 do not mutate. With ``self_adaptive``, first
    ``sigma_i <- sigma_i * exp(tau0 * N0 + tau * N_i)`` (``N0`` shared by all genes of one
    genome, ``N_i`` per gene; :func:`learning_rates` of the number of mutating genes), then
    ``x_i <- x_i + sigma_i * N_i'`` and the value is reflected (wrapped, if periodic) into
    bounds. Returns new ``(values, sigmas)``; the random draws are the same whatever
    ``self_adaptive`` is, so the two modes can be compared on equal terms.
    """
    o, g = values.shape
    active = sigmas > 0
    n = int(active[0].sum()) if o else 0
    tau0, tau = learning_rates(n)
    n0 = rng.standard_normal((o, 1))
    ni = rng.standard_normal((o, g))
    steps = rng.standard_normal((o, g))
    if self_adaptive:
        sigmas = sigmas * np.exp(tau0 * n0 + tau * ni)
        if sigma_floor is not None:
            sigmas = np.maximum(sigmas, np.where(active, sigma_floor, 0.0))
        if sigma_ceiling is not None:
            sigmas = np.minimum(sigmas, sigma_ceiling)
    values = values + np.where(active, sigmas * steps, 0.0)
    return into_bounds(values, low, high, periodic), sigmas


def parentage(parent_of: np.ndarray, population: int) -> tuple[float, float]:
    """Of a generation bred from ``population`` organisms, where ``parent_of[i, j]`` is the
    parent whose gene ``j`` offspring ``i`` carries: how many organisms became parents, and
    the effective size (N - 1) / V_k, V_k the variance over the N organisms of how many
    offspring genes each passed on, one locus at a time and averaged over loci (haploid;
    Wright-Fisher's random parents give N). Selection that concentrates parenthood lowers
    it; the grid's local neighbourhoods are not counted.

    >>> parentage(np.array([[0, 1], [0, 1], [2, 2]]), 3)
    (3.0, 3.0)
    """
    counts = np.stack(
        [np.bincount(parent_of[:, j], minlength=population) for j in range(parent_of.shape[1])]
    )  # (loci, population)
    variance = float(counts.var(axis=1).mean())
    parents = float(np.unique(parent_of).size)
    return parents, (population - 1) / variance if variance > 0 else float("inf")


def tournament(
    rng: np.random.Generator,
    fitness: np.ndarray,
    candidates: np.ndarray,
    k: int,
    size: int,
    exclude: np.ndarray | None = None,
) -> np.ndarray:
    """``size`` winners of ``k``-way tournaments (drawn with replacement) among
    ``candidates`` (distinct indices into ``fitness``); ties go to the first drawn. With
    ``exclude`` (``size`` of the candidates), tournament ``i`` is drawn from the candidates
    other than ``exclude[i]``."""
    if exclude is None:
        picks = rng.integers(candidates.size, size=(size, k))
    else:
        # a draw among the n - 1 others: positions at or past the excluded one move up one
        excluded = np.argmax(candidates[None, :] == np.asarray(exclude)[:, None], axis=1)
        picks = rng.integers(candidates.size - 1, size=(size, k))
        picks += picks >= excluded[:, None]
    draws = candidates[picks]
    best = np.argmax(fitness[draws], axis=1)
    return draws[np.arange(size), best]


def choose_parents(
    rng: np.random.Generator,
    fitness: np.ndarray,
    pools: Sequence[np.ndarray],
    k: int,
    offspring: int,
    recombination: bool,
) -> tuple[np.ndarray, np.ndarray]:
    """The parents of ``offspring`` offspring per pool (a cell's neighbourhood), pool by
    pool: each the winner of a ``k``-way tournament in the pool; with ``recombination`` a
    second parent is another organism of the pool (no selfing: a haploid genome recombined
    with itself is a clone), else the one parent twice. Returns (first, second)."""
    first, second = [], []
    for pool in pools:
        a = tournament(rng, fitness, pool, k, offspring)
        first.append(a)
        if recombination:
            second.append(tournament(rng, fitness, pool, k, offspring, exclude=a))
    a = np.concatenate(first)
    return a, np.concatenate(second) if recombination else a


def heritability(midparent: np.ndarray, offspring: np.ndarray) -> float:
    """The slope of offspring fitness on midparent fitness, the narrow-sense heritability
    of fitness (Falconer & Mackay 1996; with one parent, asexual, the broad sense): with the
    selection differential S, the breeder's equation predicts the response R = h^2 S. NaN
    without parents (the founders) or without variation among them."""
    known = np.isfinite(midparent) & np.isfinite(offspring)
    x, y = midparent[known], offspring[known]
    if x.size < 3 or np.ptp(x) == 0:
        return float("nan")
    return float(np.cov(x, y)[0, 1] / np.var(x, ddof=1))


def realised_heritability(table: pd.DataFrame) -> float:
    """Falconer's realised heritability of fitness over a run: the slope, through the
    origin, of the cumulative response (each bred generation's rise in mean fitness) on the
    cumulative selection differential (Hill 1972). The breeder's equation's ``h^2`` read
    from what selection achieved, where the ``heritability`` column predicts it a
    generation at a time. In a world that changes, the world's change is in the response
    too, and on islands so are the migrants that arrive after a generation is recorded.
    NaN with fewer than 2 bred generations or no selection differential at all."""
    table = table.sort_values("generation")
    fitness = table.set_index("generation")["fitness_mean"]
    bred = table[table["generation"] > 0]
    previous = fitness.reindex(bred["generation"] - 1).to_numpy()
    response = bred["fitness_mean"].to_numpy() - previous
    differential = bred["selection_differential"].to_numpy()
    known = np.isfinite(response) & np.isfinite(differential)
    if known.sum() < 2:
        return float("nan")
    cum_s, cum_r = np.cumsum(differential[known]), np.cumsum(response[known])
    spread = float(np.sum(cum_s**2))
    return float(np.sum(cum_s * cum_r) / spread) if spread > 0 else float("nan")


def circular_mean_sd(degrees: np.ndarray, period: float = 180.0) -> tuple[float, float]:
    """Mean and circular standard deviation of angles with the given period."""
    if degrees.size == 0:
        return float("nan"), float("nan")
    angle = 2.0 * np.pi * np.asarray(degrees) / period
    c, s = np.cos(angle).mean(), np.sin(angle).mean()
    r = min(math.hypot(c, s), 1.0)
    mean = (math.atan2(s, c) % (2.0 * np.pi)) * period / (2.0 * np.pi)
    # r == 1 (every angle alike): sd 0.0, not the -0.0 that sqrt(-2 * log(1)) gives
    spread = math.sqrt(-2.0 * math.log(r)) if r < 1.0 else 0.0
    sd = spread * period / (2.0 * np.pi) if r > 0 else 1e9
    return float(mean), float(sd)


def between_island_share(
    means: np.ndarray, sds: np.ndarray, period: float | None = None
) -> float | np.ndarray:
    """Wright's F_ST for a quantitative gene (Q_ST for haploid inheritance, Spitze 1993):
    the share of the whole population's variance of the gene that lies between islands
    of equal size, from each island's mean and (population) sd, so that the total is the
    between plus the within variance exactly. For an angle (``period``) the same share of
    circular variance ``1 - R``: ``(mean R_island - R_all) / (1 - R_all)``, each island's
    resultant length ``R`` recovered from its circular sd (:func:`circular_mean_sd`).
    Islands on the last axis (a float for one generation, an array for several); NaN
    where the gene does not vary at all (no share to take)."""
    means, sds = np.asarray(means, dtype=float), np.asarray(sds, dtype=float)
    if period is None:
        between = means.var(axis=-1)
        total = between + np.mean(sds**2, axis=-1)
    else:
        r = np.exp(-0.5 * (2.0 * np.pi * sds / period) ** 2)
        r_all = np.abs(np.mean(r * np.exp(2j * np.pi * means / period), axis=-1))
        between, total = r.mean(axis=-1) - r_all, 1.0 - r_all
    varies = total > 1e-12
    share = np.where(varies, between / np.where(varies, total, 1.0), np.nan)
    return float(share) if share.ndim == 0 else share


SHARED_WORLD = 1 << 21  # spawn key of the shared world's draws (beyond any island's index)


def shared_world_generator(seed: int, generation: int) -> np.random.Generator:
    """The draws of the world every island of a run lives in at ``generation`` (its
    orientation or eye offset when they change every G generations): a stream of the run's
    seed and the generation alone, so every island draws the same world."""
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(SHARED_WORLD, generation)))


WORLD_ORIENTATION_PERIOD = 180.0  # a world's orientation is an orientation, not a direction


def column_period(column: str) -> float | None:
    """The period of a results column that holds an angle, so that its averages (over
    islands, generations or seeds) are circular: an orientation gene's population mean
    (``innate_orientation_mean``, a feature's ``innate_orientation@f_mean``) and the world's
    orientation; None for every other column."""
    if base_gene(column) == "world_orientation":
        return WORLD_ORIENTATION_PERIOD
    stem = column.removesuffix("_mean")
    if stem != column and base_gene(stem) in PERIODIC_GENES:
        gene = GENE_BY_NAME[base_gene(stem)]
        return gene.high - gene.low
    return None


def column_mean(values, column: str) -> float:
    """The mean of a results column's finite values (NaN if none): circular for an angle
    (:func:`column_period`), so that 179 and 1 degrees average to 0, not 90."""
    values = np.asarray(values, dtype=float)
    values = values[np.isfinite(values)]
    if not values.size:
        return float("nan")
    period = column_period(column)
    return float(values.mean()) if period is None else circular_mean_sd(values, period)[0]


def circular_columns(means: pd.Series | pd.DataFrame, rows) -> pd.Series | pd.DataFrame:
    """``means`` (a frame's column means, or a grouped frame's ``rows.mean()``) with every
    angle column averaged circularly instead (:func:`column_mean`; ``rows`` is the frame
    or its groupby); the other columns are kept as computed."""
    for column in list(means.index if isinstance(means, pd.Series) else means.columns):
        if column_period(column) is None:
            continue
        if isinstance(means, pd.Series):
            means[column] = column_mean(rows[column], column)
        else:
            means[column] = rows[column].agg(lambda v, c=column: column_mean(v, c))
    return means


def window_traits(gates: np.ndarray, eta: np.ndarray) -> dict[str, np.ndarray]:
    """Per-organism window traits from the daily gate (days, o).

    ``plasticity`` = ``eta * sum_days(gate)`` (how much the weights are set by lifetime
    learning); ``window_open`` / ``window_close`` = first day with gate >=
    :data:`devsim.plasticity.WINDOW_OPEN_GATE` and the first day after it with gate below
    (NaN if never open; the lifetime if it never closes); ``adult_gate`` = the gate on the
    last day.
    """
    days, o = gates.shape
    is_open = gates >= WINDOW_OPEN_GATE
    ever = is_open.any(axis=0)
    first = np.where(ever, is_open.argmax(axis=0), -1)
    close = np.full(o, float(days))
    for i in np.flatnonzero(ever):
        after = np.flatnonzero(~is_open[first[i] :, i])
        if after.size:
            close[i] = first[i] + after[0]
    return {
        "plasticity": eta * gates.sum(axis=0),
        "window_open": np.where(ever, first, np.nan).astype(float),
        "window_close": np.where(ever, close, np.nan),
        "adult_gate": gates[-1].copy(),
    }


# ------------------------------------------------------------------------------------------
# Agents and model
# ------------------------------------------------------------------------------------------
class EvolvingOrganism(CellAgent):
    """One organism: its genome (gene values and heritable mutation scales), its habitat
    cell and, after its life, what development made of it (``traits``)."""

    def __init__(self, model: EvolutionModel, genome: Genome, cell) -> None:
        super().__init__(model)
        self.genome = genome
        self.cell = cell
        self.traits: dict[str, float] = {}
        self.world: dict[str, float] = {}
        self.midparent_fitness = float("nan")  # its parents' mean fitness (founders: none)

    @property
    def fitness(self) -> float:
        return float(self.traits.get("fitness", float("nan")))


class EvolutionModel(mesa.Model):
    """Populations of developing organisms on a grid of habitats; one step = one generation.

    A step is a whole generation rather than a day because selection acts on lives as
    wholes: every organism of a generation is born, develops for ``days`` days and is scored
    at maturity before anybody reproduces (non-overlapping generations). The lives are
    simulated *inside* the step, all organisms together in one vectorised
    :class:`devsim.cohort.Cohort`, which is what makes hundreds of generations affordable;
    a day-level Mesa step would add nothing but Python overhead.

    Parameters
    ----------
    species : genome preset of the founders.
    days : lifetime in days.
    assess_from, assess_every : vision is assessed at ages ``assess_from``, ``assess_from +
        assess_every``, ... up to ``days``; fitness uses the mean over them: vision counts
        over the sighted life (slow learning has a price, as in Hinton & Nowlan 1987), and a
        brief burst of plasticity cannot be timed to one assessment day.
    grid : (columns, rows) of habitat cells; column gradients are habitat gradients.
    per_cell : organisms per cell (population = columns x rows x per_cell).
    neighbourhood : Moore radius within which parents are chosen for a cell's offspring.
    neurons, presentations_per_day, batch_size : cortex size and daily experience.
    tournament : tournament size of parent selection (1: parents drawn at random).
    selection : if False, the tournaments are run on fitness shuffled among the organisms
        each generation: drift with selection's variance in offspring number (the same
        effective size), the baseline of ``devsim evolve --drift``.
    recombination : uniform recombination of two parents, the second another organism of the
        neighbourhood (no selfing); else one parent, asexual.
    mutation : if False, offspring are exact copies (for checking inheritance).
    self_adaptive : evolvable per-gene mutation scales (else fixed at their start values).
    mutation_scale : founders' mutation scales, in units of each gene's ``Gene.sigma``.
    evolve : genes that mutate; the others stay at the founders' values.
    genome : gene overrides of the founders' preset.
    noise, c50 : read-out noise and half-saturation of the discriminability measure.
    plasticity_cost : fitness cost per unit of ``eta * sum_days(gate)``.
    activity_cost : fitness cost per unit of mean response (energy of signalling).
    template_cost : fitness cost per unit of ``innate_strength`` (0: the template is free).
    environment : :class:`Environment` (or a dict of its fields).
    features : several features of the world (:class:`Feature`, or dicts of their fields),
        each the dominant orientation of one region of the visual field on its own
        timescale; each region is its own patch of ``neurons`` neurons (a row of the cohort)
        with its own copy of every ``regional`` gene (genome columns ``<gene>@<feature>``).
        An organism's fitness counts its vision in every region. None: the environment's one
        feature, and no gene is regional.
    regional : the genes each feature's region carries its own copy of.
    world : statistics of the pattern banks (:class:`HabitatWorldParams`).
    rng : seed or generator; every random draw comes from ``self.rng``...
    world_rng : ...except the pattern banks' when this generator is given (an island keeps
        the same banks whenever it is rebuilt from its :meth:`state`),
    world_seed : ...and the worlds that change every G generations when this seed is given
        (:func:`shared_world_generator`: the islands of one run live in one world).
    state : a population to continue from (:meth:`state` of a model of the same scenario):
        no founders are drawn and no generation is lived; the next :meth:`step` breeds from
        it. The island model (:mod:`devsim.islands`) moves islands between processes so.
    """

    def __init__(
        self,
        *,
        species: str = "mouse",
        days: int = 60,
        assess_from: int = 15,
        assess_every: int = 5,
        grid: Sequence[int] = (8, 6),
        per_cell: int = 2,
        neighbourhood: int = 1,
        neurons: int = NEURONS,
        presentations_per_day: int = PRESENTATIONS_PER_DAY,
        batch_size: int = BATCH_SIZE,
        tournament: int = 3,
        selection: bool = True,
        recombination: bool = True,
        mutation: bool = True,
        self_adaptive: bool = True,
        mutation_scale: float = 1.0,
        evolve: Sequence[str] = DEFAULT_EVOLVE,
        genome: Mapping[str, float] | None = None,
        noise: float = 0.5,
        c50: float = 4.0,
        innate_map: float = INNATE_MAP_SHARE,
        plasticity_cost: float = 0.03,
        activity_cost: float = 0.02,
        template_cost: float = 0.0,
        environment: Environment | Mapping | None = None,
        features: Sequence[Feature | Mapping] = (),
        regional: Sequence[str] = DEFAULT_REGIONAL,
        world: HabitatWorldParams | None = None,
        rng=None,
        world_rng: np.random.Generator | None = None,
        world_seed: int | None = None,
        state: Mapping[str, Any] | None = None,
    ) -> None:
        env = environment if isinstance(environment, Environment) else None
        scenario = parse_evolution_scenario(
            _python_values(
                {
                    "name": "model",
                    "species": species,
                    "days": days,
                    "assess_from": assess_from,
                    "assess_every": assess_every,
                    "grid": tuple(grid),
                    "per_cell": per_cell,
                    "neighbourhood": neighbourhood,
                    "neurons": neurons,
                    "presentations_per_day": presentations_per_day,
                    "batch_size": batch_size,
                    "tournament": tournament,
                    "selection": selection,
                    "recombination": recombination,
                    "mutation": mutation,
                    "self_adaptive": self_adaptive,
                    "mutation_scale": mutation_scale,
                    "evolve": tuple(evolve),
                    "genome": dict(genome or {}),
                    "noise": noise,
                    "c50": c50,
                    "innate_map": innate_map,
                    "costs": {
                        "plasticity": plasticity_cost,
                        "activity": activity_cost,
                        "template": template_cost,
                    },
                    "environment": env.model_dump() if env else dict(environment or {}),
                    "features": [
                        f.model_dump() if isinstance(f, Feature) else dict(f) for f in features
                    ],
                    "regional": tuple(regional),
                }
            ),
            source="EvolutionModel",
        )
        super().__init__(rng=rng)
        self.config = scenario
        self.env = scenario.environment
        self.features = scenario.feature_list()
        self.regions = len(self.features)
        self.species = species
        self.days = days
        self.width, self.height = scenario.grid
        self.per_cell = per_cell
        self.generation = 0
        self.eye_opening = SPECIES[species].eye_opening_day
        self.world_params = world or HabitatWorldParams(anisotropy=self.env.anisotropy)
        if world is not None and world.anisotropy != self.env.anisotropy:
            self.world_params = HabitatWorldParams(
                **{**world.__dict__, "anisotropy": self.env.anisotropy}
            )
        self.rearing = WorldParams()  # sigma_open / sigma_closed / sigma_dark, as in senses
        self.world = HabitatWorld(self.rng if world_rng is None else world_rng, self.world_params)

        # --- habitats: a grid with PropertyLayers of habitat statistics ---
        self.grid = OrthogonalMooreGrid(
            (self.width, self.height), torus=False, capacity=per_cell, random=self.random
        )
        layers = [("deprivation", self._column_values(self.env.deprivation))]
        for r, feature in enumerate(self.features):
            layers.append(
                (self.layer_name("world_change", r), self._column_values(feature.world_change))
            )
            layers.append((self.layer_name("orientation", r), self._orientations(feature)))
        for name, values in layers:
            layer = PropertyLayer(name, (self.width, self.height), 0.0, dtype=float)
            layer.data = values[:, None] * np.ones(self.height)
            self.grid.add_property_layer(layer)
        self.cells = sorted(self.grid.all_cells.cells, key=lambda c: c.coordinate)
        self._neighbours = {
            c.coordinate: [
                n.coordinate
                for n in c.get_neighborhood(radius=scenario.neighbourhood, include_center=True)
            ]
            if scenario.neighbourhood > 0
            else [c.coordinate]
            for c in self.cells
        }

        # --- genes: the genome's columns (a regional gene once per feature), which mutate,
        # bounds, founders ---
        regional = set(scenario.regional) if scenario.features else set()
        self.gene_names = tuple(
            f"{g.name}@{f.name}" if g.name in regional else g.name
            for g in EVOLUTION_GENES
            for f in (self.features if g.name in regional else self.features[:1])
        )
        genes = [GENE_BY_NAME[base_gene(n)] for n in self.gene_names]
        self.evolving = np.array([g.name in scenario.evolve for g in genes])
        self.low = np.array([g.low for g in genes])
        self.high = np.array([g.high for g in genes])
        self.periodic = np.array([g.name in PERIODIC_GENES for g in genes])
        sigma0 = np.array([g.sigma for g in genes]) * mutation_scale
        self.sigma0 = np.where(self.evolving, sigma0, 0.0)
        self.sigma_floor = 1e-3 * self.sigma0
        self.sigma_ceiling = np.where(self.evolving, (self.high - self.low) / 2.0, 0.0)
        founder = Genome.preset(species, scenario.genome, where="genome")
        self.inert = {n: (founder.values[n], founder.sigmas[n]) for n in sorted(SHEET_GENES)}
        # the world's orientation of each feature now (constant or every G generations)
        self.world_orientations = [
            float(self._world_orientation(f.orientation_value)) for f in self.features
        ]
        self.world_seed = world_seed
        self.world_offset = int(self.env.eye_offset_value)
        # One row per generation (plain values): the record history() reads.
        self.datacollector = mesa.DataCollector(model_reporters={"generation": "last_row"})
        self.last_row: dict[str, float] = {}
        # (offspring, 2): each offspring's two parents, rows of the generation before (the
        # same row twice without recombination: the second tournament's winner is unused)
        self.parents_of_last_generation = np.zeros((0, 2), dtype=int)
        # (parents, effective size) of the generation last bred; none for the founders
        self.parentage = (float("nan"), float("nan"))
        self.selection_differential = float("nan")  # of the generation last bred
        # set a PhaseTimer to time the development kernel's days (benchmarks/bench_islands.py)
        self.timer: PhaseTimer | None = None
        if state is not None:
            self._restore(state)
            return
        x0 = np.array([founder.values[base_gene(n)] for n in self.gene_names])
        n = self.width * self.height * per_cell
        values = np.tile(x0, (n, 1))
        sigmas = np.tile(self.sigma0, (n, 1))
        if mutation:  # founders carry standing variation: one round of mutation
            values, sigmas = self._mutate(values, sigmas)
        self._place(values, sigmas, [c for c in self.cells for _ in range(per_cell)])
        self.live()
        self._record()

    # --- habitat statistics ----------------------------------------------------------------
    def layer_name(self, name: str, region: int) -> str:
        """The PropertyLayer of a feature's habitat statistic (``orientation``,
        ``world_change``): the name itself in a world of one feature, else
        ``<name>_<feature>``."""
        return f"{name}_{self.features[region].name}" if self.config.features else name

    def habitat_layers(self) -> list[str]:
        """The grid's habitat risks (deprivation, each feature's world change)."""
        names = [self.layer_name("world_change", r) for r in range(self.regions)]
        return ["deprivation", *names]

    def _fraction(self) -> np.ndarray:
        cols = np.arange(self.width)
        return cols / (self.width - 1) if self.width > 1 else np.zeros(1)

    def _orientations(self, feature: Feature) -> np.ndarray:
        """Each habitat column's world orientation as the organisms live it: the world has
        ``orientations`` of them (15 degrees apart), so an asked value lives as the nearest
        (the habitat map and the tables report that one, not the value asked)."""
        if feature.orientation == "habitat":
            asked = feature.orientation_value + feature.orientation_span * self._fraction()
        else:
            asked = np.full(self.width, float(feature.orientation_value))
        return self._world_orientation(asked)

    def _world_orientation(self, degrees):
        """``degrees`` as the nearest of the world's orientations, in [0, 180)."""
        step, k = self.world_params.bin_degrees, self.world_params.orientations
        return np.rint(np.asarray(degrees, dtype=float) / step) % k * step

    def _column_values(self, value) -> np.ndarray:
        if isinstance(value, Gradient):
            return value.left + (value.right - value.left) * self._fraction()
        return np.full(self.width, float(value))

    # --- population bookkeeping ----------------------------------------------------------------
    def organisms(self) -> list[EvolvingOrganism]:
        """The living generation in row order (by cell, then age of lineage)."""
        return sorted(self.agents, key=lambda a: (a.cell.coordinate, a.unique_id))

    def _place(self, values: np.ndarray, sigmas: np.ndarray, cells: list) -> list:
        placed = []
        for row, cell in enumerate(cells):
            genome = Genome(
                values={n: v for n, (v, _) in self.inert.items()}
                | dict(zip(self.gene_names, values[row].tolist(), strict=True)),
                sigmas={n: s for n, (_, s) in self.inert.items()}
                | dict(zip(self.gene_names, sigmas[row].tolist(), strict=True)),
                species=self.species,
            )
            placed.append(EvolvingOrganism(self, genome, cell))
        return placed

    # --- the population as data: an island's checkpoint ---------------------------------------
    def state(self) -> dict[str, Any]:
        """Everything the next generation depends on, as plain data: the living generation
        in row order (genes, mutation scales, habitat cells, traits: fitness decides who
        breeds), the generator's state and the world shared by all. A model built with
        ``state=`` continues exactly as this one would."""
        organisms = self.organisms()
        values, sigmas = self.genome_arrays(organisms)
        return {
            "generation": self.generation,
            "rng": self.rng.bit_generator.state,
            "world_orientation": list(self.world_orientations),
            "world_offset": self.world_offset,
            "values": values,
            "sigmas": sigmas,
            "cells": np.array([a.cell.coordinate for a in organisms], dtype=np.int64),
            "traits": np.array([[a.traits[t] for t in TRAITS] for a in organisms]),
        }

    def _restore(self, state: Mapping[str, Any]) -> None:
        values, sigmas = np.asarray(state["values"]), np.asarray(state["sigmas"])
        traits = np.asarray(state["traits"])
        n = self.width * self.height * self.per_cell
        if values.shape != (n, len(self.gene_names)) or sigmas.shape != values.shape:
            raise ValueError(f"state: genomes of shape {values.shape}, expected ({n}, genes)")
        if traits.shape != (n, len(TRAITS)):
            raise ValueError(f"state: traits of shape {traits.shape}, expected ({n}, traits)")
        by_coordinate = {c.coordinate: c for c in self.cells}
        cells = [by_coordinate[tuple(int(v) for v in xy)] for xy in state["cells"]]
        for agent, row in zip(self._place(values, sigmas, cells), traits, strict=True):
            agent.traits = dict(zip(TRAITS, row.tolist(), strict=True))
        self.generation = int(state["generation"])
        self.world_orientations = [float(v) for v in np.atleast_1d(state["world_orientation"])]
        self.world_offset = int(state["world_offset"])
        self.rng.bit_generator.state = state["rng"]

    def _mutate(self, values, sigmas):
        return mutate(
            values,
            sigmas,
            self.rng,
            self.low,
            self.high,
            self.periodic,
            self_adaptive=self.config.self_adaptive,
            sigma_floor=self.sigma_floor,
            sigma_ceiling=self.sigma_ceiling,
        )

    def genome_arrays(self, organisms=None) -> tuple[np.ndarray, np.ndarray]:
        """(values, sigmas), each (o, genes), of the organisms (default: the living)."""
        organisms = self.organisms() if organisms is None else organisms
        values = np.array([[a.genome.values[n] for n in self.gene_names] for a in organisms])
        sigmas = np.array([[a.genome.sigmas[n] for n in self.gene_names] for a in organisms])
        return values, sigmas

    def row_genes(self, organisms) -> dict[str, np.ndarray]:
        """Every gene of the cohort's rows (organism-major: organism ``i``'s region ``r``
        is row ``i * regions + r``), one float array per gene: a regional gene from its
        feature's column, the others repeated across an organism's regions."""
        values, _ = self.genome_arrays(organisms)
        column = {n: j for j, n in enumerate(self.gene_names)}
        out = {}
        for name in ALL_GENES:
            if name in self.inert:
                out[name] = np.full(len(organisms) * self.regions, self.inert[name][0])
            elif name in column:
                out[name] = np.repeat(values[:, column[name]], self.regions)
            else:
                copies = [column[f"{name}@{f.name}"] for f in self.features]
                out[name] = values[:, copies].reshape(-1)
        return out

    # --- one generation ----------------------------------------------------------------------
    def step(self) -> None:
        """Breed the next generation from the current one, let it live, record it."""
        self.reproduce()
        self.generation += 1
        self._update_global_world()
        self.live()
        self._record()

    def _update_global_world(self) -> None:
        """Redraw the worlds that change every G generations (the same for everybody: with
        ``world_seed``, from a stream of that seed and the generation that every island of
        a run shares, else from the model's own)."""
        env, k = self.env, self.world_params.orientations
        rng = (
            self.rng
            if self.world_seed is None
            else shared_world_generator(self.world_seed, self.generation)
        )
        for r, f in enumerate(self.features):
            if f.orientation == "generations" and self.generation % f.orientation_every == 0:
                current = int(round(self.world_orientations[r] / self.world_params.bin_degrees))
                new = (current % k + rng.integers(1, k)) % k  # always a different world
                self.world_orientations[r] = float(new * self.world_params.bin_degrees)
        if env.eye_offset == "generations" and self.generation % env.eye_offset_every == 0:
            offsets = [d for d in self.world_params.offsets if d != self.world_offset]
            self.world_offset = int(offsets[rng.integers(len(offsets))])

    def breeding_pools(self, cell_of_row: Sequence[tuple[int, int]]) -> list[np.ndarray]:
        """For every cell of the grid (``self.cells``' order), the rows whose cell
        (``cell_of_row``, one coordinate a row) lies in its neighbourhood: the organisms
        its offspring's parents are drawn from."""
        row_of_cell: dict[tuple, list[int]] = {}
        for row, coordinate in enumerate(cell_of_row):
            row_of_cell.setdefault(tuple(coordinate), []).append(row)
        return [
            np.array([r for c in self._neighbours[cell.coordinate] for r in row_of_cell.get(c, [])])
            for cell in self.cells
        ]

    def reproduce(self) -> None:
        """Local reproduction: every cell's offspring have parents from its neighbourhood."""
        parents = self.organisms()
        real = fitness = np.array([a.fitness for a in parents])
        if not self.config.selection:  # who wins no longer depends on the genes
            fitness = self.rng.permutation(fitness)
        values, sigmas = self.genome_arrays(parents)
        pools = self.breeding_pools([a.cell.coordinate for a in parents])
        cells = [cell for cell in self.cells for _ in range(self.per_cell)]
        first, second = choose_parents(
            self.rng, fitness, pools, self.config.tournament, self.per_cell,
            self.config.recombination,
        )  # fmt: skip
        child_values, child_sigmas = values[first].copy(), sigmas[first].copy()
        # each offspring gene's parent, a column a locus: the first parent's at every locus
        # (one column says it), the second's where recombination took the gene from it
        parent_of = first[:, None]
        if self.config.recombination:
            take = self.rng.random(child_values.shape) < 0.5
            child_values = np.where(take, values[second], child_values)
            child_sigmas = np.where(take, sigmas[second], child_sigmas)
            if take.shape[1]:  # (no gene may evolve)
                parent_of = np.where(take, second[:, None], first[:, None])
        self.parentage = parentage(parent_of, len(parents))
        if self.config.mutation:
            child_values, child_sigmas = self._mutate(child_values, child_sigmas)
        self.parents_of_last_generation = np.stack([first, second], axis=1)
        # each offspring's midparent fitness (its one parent's without recombination), and
        # the selection differential: the parents' mean fitness, weighted by offspring,
        # over the generation's (0 under drift: the shuffled tournaments are blind to it)
        midparent = (real[first] + real[second]) / 2
        self.selection_differential = float(midparent.mean() - real.mean())
        for agent in parents:
            agent.remove()
        for child, value in zip(
            self._place(child_values, child_sigmas, cells), midparent, strict=True
        ):
            child.midparent_fitness = float(value)

    def _draw_worlds(self, organisms) -> dict[str, np.ndarray]:
        """Each newborn's world: per feature (columns of the (o, features) arrays) the
        orientation bin, whether and when it changes, and into what; per organism its eye
        offset and deprivation."""
        env, wp, rng = self.env, self.world_params, self.rng
        o, k = len(organisms), wp.orientations
        coords = np.array([a.cell.coordinate for a in organisms])
        col, row = coords[:, 0], coords[:, 1]
        bins = []
        for r, f in enumerate(self.features):
            if f.orientation == "individual":
                bins.append(rng.integers(k, size=o))
            elif f.orientation == "habitat":
                degrees = getattr(self.grid, self.layer_name("orientation", r)).data[col, row]
                bins.append(np.rint(degrees / wp.bin_degrees).astype(int) % k)
            else:
                bins.append(np.full(o, int(round(self.world_orientations[r] / wp.bin_degrees)) % k))
        if env.eye_offset == "individual":
            offsets = rng.integers(-wp.max_offset, wp.max_offset + 1, size=o)
        else:
            offsets = np.full(o, self.world_offset)
        change = {"changes": [], "change_day": [], "new_bins": [], "new_contrast": []}
        lo, hi = np.log(env.world_change_contrast)
        for r, f in enumerate(self.features):
            change_p = getattr(self.grid, self.layer_name("world_change", r)).data[col, row]
            changes = rng.random(o) < change_p
            day = rng.integers(f.world_change_days[0], f.world_change_days[1] + 1, size=o)
            change["changes"].append(changes)
            change["change_day"].append(np.where(changes, day, -1))
            change["new_bins"].append((bins[r] + rng.integers(1, k, size=o)) % k)
            change["new_contrast"].append(np.exp(rng.uniform(lo, hi, size=o)))
        dep_p = self.grid.deprivation.data[col, row]
        deprived = rng.random(o) < dep_p
        dep_start = rng.integers(env.deprivation_days[0], env.deprivation_days[1] + 1, size=o)
        dep_eye = rng.integers(2, size=o)
        return {
            "bins": np.stack(bins, axis=1),
            "offsets": offsets,
            **{key: np.stack(v, axis=1) for key, v in change.items()},
            "deprived": deprived,
            "dep_start": dep_start,
            "dep_eye": dep_eye,
        }

    def live(self) -> None:
        """Develop the whole generation from birth to maturity, then score every organism:
        each organism is one row of the cohort per feature of its world (one in a world of
        one feature), its traits the mean over its regions."""
        organisms = self.organisms()
        o, regions = len(organisms), self.regions
        rows = o * regions
        genes = self.row_genes(organisms)
        worlds = self._draw_worlds(organisms)
        bins, change_day = worlds["bins"].reshape(-1), worlds["change_day"].reshape(-1)
        offsets = np.repeat(worlds["offsets"], regions)
        self.world.assign(bins, self.world.offset_index_of(offsets))
        cfg = self.config
        cohort = Cohort(
            self.rng,
            genes,
            np.arange(rows),
            self.world,
            neurons=cfg.neurons,
            presentations_per_day=cfg.presentations_per_day,
            batch_size=cfg.batch_size,
            timer=self.timer,
        )
        self._apply_template(cohort, genes)
        gates = np.empty((self.days, rows))
        gain, sigma, independent = (np.repeat(a, regions, axis=1) for a in self._eye_inputs(worlds))
        scores: list[dict[str, np.ndarray]] = []
        for day in range(self.days):
            switch = change_day == day
            if switch.any():
                bins = self.world.orientation_bin.copy()
                bins[switch] = worlds["new_bins"].reshape(-1)[switch]
                contrast = self.world.contrast.copy()
                contrast[switch] = worlds["new_contrast"].reshape(-1)[switch]
                self.world.assign(bins, self.world.offset_index, contrast)
            gates[day] = cohort.gate
            cohort.develop_day(self.rng, day, gain[day], sigma[day], independent[day])
            age = day + 1
            if age >= cfg.assess_from and (age - cfg.assess_from) % cfg.assess_every == 0:
                scores.append(self._assess(cohort.weights))
        assessed = {k: np.mean([sc[k] for sc in scores], axis=0) for k in scores[0]}
        traits = window_traits(gates, genes["eta"])
        traits.update(assessed)
        traits["innate"] = genes["innate_strength"].copy()
        phi = self.world.orientation_degrees(worlds["bins"].reshape(-1))
        traits["template_match"] = np.cos(np.radians(2.0 * (genes["innate_orientation"] - phi)))
        # the world-specific part of the template: strength x alignment with the organism's
        # world at birth (0 for a template of arbitrary orientation)
        traits["innate_effective"] = traits["innate"] * traits["template_match"]
        per_region = {t: v.reshape(o, regions) for t, v in traits.items()}
        traits = {t: v.mean(axis=1) for t, v in per_region.items()}
        for t in ("window_open", "window_close"):  # over the regions whose window opened:
            # one region that never opened made the organism's NaN, and left it out
            opened = np.isfinite(per_region[t])
            total = np.where(opened, per_region[t], 0.0).sum(axis=1)
            count = opened.sum(axis=1)
            traits[t] = np.divide(total, count, out=np.full(o, np.nan), where=count > 0)
        traits["fitness"] = (
            traits["quality"]
            - cfg.costs.plasticity * traits["plasticity"]
            - cfg.costs.activity * traits["activity"]
            - cfg.costs.template * traits["innate"]
        )
        self.cohort = cohort
        self.gates = gates
        named = [
            (f"{t}@{f.name}", t, r) for t in REGION_TRAITS for r, f in enumerate(self.features)
        ]
        if not cfg.features:
            named = []
        for i, agent in enumerate(organisms):
            agent.traits = {name: float(traits[name][i]) for name in TRAITS}
            agent.traits.update({n: float(per_region[t][i, r]) for n, t, r in named})
            agent.world = {
                "orientation": float(phi[i * regions]),
                "offset": int(worlds["offsets"][i]),
                "deprived": bool(worlds["deprived"][i]),
                "world_changed": bool(worlds["changes"][i].any()),
            }

    def _eye_inputs(
        self, worlds: dict[str, np.ndarray]
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """What each organism's eyes receive on each day, (days, organisms, 2) gains and
        noise and (days, organisms) whether the eyes' patterns are unrelated (the retinal
        waves; :func:`devsim.senses.rearing_inputs`): lids closed until the eyes open, then
        its own world, one eye deprived for a spell in the organisms drawn for it (only
        once the eyes have opened)."""
        o = len(worlds["deprived"])
        gain, sigma = np.empty((self.days, o, 2)), np.empty((self.days, o, 2))
        independent = np.zeros((self.days, o), dtype=bool)  # retinal waves: each eye its own
        histories: dict[tuple[Span, ...], tuple] = {}
        for i in range(o):
            spans: tuple[Span, ...] = ()
            if worlds["deprived"][i]:
                start = max(int(worlds["dep_start"][i]), self.eye_opening)
                end = int(worlds["dep_start"][i]) + self.env.deprivation_length
                eye = ("left", "right")[int(worlds["dep_eye"][i])]
                if end > start:
                    spans = (Span(start, end, self.env.deprivation_condition, eye),)
            if spans not in histories:
                histories[spans] = rearing_inputs(self.days, self.eye_opening, spans, self.rearing)
            gain[:, i], sigma[:, i], independent[:, i] = histories[spans][:3]
        return gain, sigma, independent

    def _assess(self, weights: np.ndarray) -> dict[str, np.ndarray]:
        """Today's vision of every organism in its own (current) world: discriminability
        through each eye and both (:func:`visual_quality`) and mean response (activity)."""
        left, right = self.world.test_views()
        out = visual_quality(weights, left, right, self.config.noise, self.config.c50)
        out["activity"] = view_activity(weights, left, right)
        return out

    def _apply_template(self, cohort: Cohort, genes: dict[str, np.ndarray]) -> None:
        """Lay down the innate orientation map: genetically specified wiring.

        A share ``innate_map`` (scenario; default :data:`INNATE_MAP_SHARE`) of the initial
        connectivity is set by the genome (the rest is the random, exuberant projection of
        :func:`devsim.wiring.initial_wiring`): every free synapse slot is wired with that
        probability and the initial weights become ``(1 - share) * random + share *
        INNATE_SCALE * template`` (then the usual bounds ``[-w_max, w_max]``). The template
        gives every neuron an oriented binocular receptive field
        (:func:`devsim.environment.innate_template`, aligned for ``innate_offset``); which
        orientation is the genes' business: a share ``innate_strength`` of the neurons get
        ``innate_orientation``, the others cover all orientations evenly
        (:func:`devsim.environment.innate_orientations`). So the genome's generic
        scaffolding (local, oriented, binocular receptive fields, present before any
        experience) is the same at every ``innate_strength``; the gene measures only how
        much of the world's *specific* feature is built in. With ``innate_map = 0`` there is
        no innate map (nothing is drawn, and the template genes have no effect).
        """
        if self.config.innate_map == 0:
            return
        template = innate_template(
            innate_orientations(
                genes["innate_strength"], genes["innate_orientation"], cohort.neurons
            ),
            genes["innate_offset"],
            cohort.neurons,
            self.world_params.patch,
        )
        share = np.float32(self.config.innate_map)
        cohort.mask |= self.rng.random(cohort.mask.shape, dtype=np.float32) < share
        w_max = genes["w_max"].astype(np.float32)[:, None, None]
        blended = (1.0 - share) * cohort.weights + share * np.float32(INNATE_SCALE) * template
        cohort.weights[...] = np.clip(blended, -w_max, w_max) * cohort.mask

    # --- records ------------------------------------------------------------------------------
    def _record(self) -> None:
        organisms = self.organisms()
        values, sigmas = self.genome_arrays(organisms)
        row: dict[str, float] = {"generation": self.generation}
        traits = {t: np.array([a.traits[t] for a in organisms]) for t in TRAITS}
        row["fitness_mean"] = float(traits["fitness"].mean())
        row["fitness_sd"] = float(traits["fitness"].std())
        for j, name in enumerate(self.gene_names):
            if self.periodic[j]:
                mean, sd = circular_mean_sd(values[:, j], self.high[j] - self.low[j])
            else:
                mean, sd = float(values[:, j].mean()), float(values[:, j].std())
            row[f"{name}_mean"] = mean
            row[f"{name}_sd"] = sd
            row[f"{name}_sigma"] = float(sigmas[:, j].mean())
        for t in TRAITS:
            if t == "fitness":
                continue
            v = traits[t]
            row[f"{t}_mean"] = float(np.nanmean(v)) if np.isfinite(v).any() else float("nan")
        for t in REGION_TRAITS if self.config.features else ():
            for f in self.features:
                v = np.array([a.traits[f"{t}@{f.name}"] for a in organisms])
                mean = float(np.nanmean(v)) if np.isfinite(v).any() else float("nan")
                row[f"{t}@{f.name}_mean"] = mean
        row["parents"], row["effective_size"] = self.parentage
        row["selection_differential"] = self.selection_differential
        row["heritability"] = heritability(
            np.array([a.midparent_fitness for a in organisms]),
            traits["fitness"],
        )
        row["window_opened_fraction"] = float(np.isfinite(traits["window_open"]).mean())
        row["deprived_fraction"] = float(np.mean([a.world["deprived"] for a in organisms]))
        row["world_changed_fraction"] = float(
            np.mean([a.world["world_changed"] for a in organisms])
        )
        for f, degrees in zip(self.features, self.world_orientations, strict=True):
            shared = f.orientation in ("constant", "generations")
            name = f"world_orientation@{f.name}" if self.config.features else "world_orientation"
            row[name] = degrees if shared else float("nan")
        row["world_offset"] = (
            float(self.world_offset)
            if self.env.eye_offset in ("constant", "generations")
            else float("nan")
        )
        self.last_row = row
        self.datacollector.collect(self)

    def history(self) -> pd.DataFrame:
        """One row per generation so far (see the CLI's ``generations.parquet``)."""
        return pd.DataFrame(self.datacollector.model_vars["generation"])

    def habitat_map(self, trait: str) -> np.ndarray:
        """Mean of a trait (or gene, ``gene:<name>``) per habitat cell, (columns, rows)."""
        out = np.full((self.width, self.height), np.nan)
        groups: dict[tuple, list[float]] = {}
        for a in self.agents:
            if trait.startswith("gene:"):
                value = a.genome.values[trait[5:]]
            else:
                value = a.traits.get(trait, float("nan"))
            groups.setdefault(a.cell.coordinate, []).append(value)
        periodic = trait.startswith("gene:") and base_gene(trait[5:]) in PERIODIC_GENES
        for (x, y), vals in groups.items():
            vals = np.asarray(vals, dtype=float)
            if periodic:
                j = self.gene_names.index(trait[5:])
                out[x, y] = circular_mean_sd(vals, self.high[j] - self.low[j])[0]
            else:
                out[x, y] = np.nanmean(vals) if np.isfinite(vals).any() else np.nan
        return out


def _python_values(value: Any) -> Any:
    """``value`` with numpy scalars and arrays as Python numbers and lists (strict fields
    take Python numbers only)."""
    if isinstance(value, Mapping):
        return {k: _python_values(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(_python_values(v) for v in value)
    if isinstance(value, np.ndarray | np.generic):
        return value.tolist()
    return value


def build_evolution_model(scenario: EvolutionScenario, seed: int | None = None) -> EvolutionModel:
    """An :class:`EvolutionModel` for a validated scenario, seeded by its seed (or ``seed``)."""
    return EvolutionModel(
        **scenario.model_kwargs(),
        rng=np.random.default_rng(scenario.seed if seed is None else seed),
    )


def sigma_change(table: pd.DataFrame, gene: str) -> float:
    """A gene's mean mutation scale at the last generation relative to generation 0."""
    first = table[f"{gene}_sigma"].iloc[0]
    return float(table[f"{gene}_sigma"].iloc[-1] / first) if first > 0 else float("nan")


def gene_sigma_ratio(table: pd.DataFrame, gene: str, reference: str = "marker") -> float:
    """How much more a gene's mutation scale shrank (< 1) or grew than a reference gene's:
    ``sigma_change(gene) / sigma_change(reference)``."""
    return sigma_change(table, gene) / sigma_change(table, reference)

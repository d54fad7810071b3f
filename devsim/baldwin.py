"""Hinton & Nowlan (1987), "How learning can guide evolution", as a small Mesa model.

Each individual carries ``loci`` alleles, each one of

* ``1`` -- *correct*: matches the single target genotype (all ones);
* ``0`` -- *incorrect*: can never be changed during life, so the target is unreachable;
* ``?`` -- *undecided*: set afresh, at random, on every learning trial.

During life an individual gets up to ``trials`` learning trials; on each trial every ``?`` is
set to 1 or 0 with probability 1/2 and the individual succeeds on the first trial where the
whole genotype matches the target. Fitness is ``1 + 19 n / trials`` with ``n`` the number of
trials left when the target is found: ``trials - t`` for a first match on trial ``t``, all
``trials`` (fitness 20) for an individual born with the target, which has nothing to learn, and
fitness 1 if the target is never found. Parents are chosen in proportion
to fitness and every child is made by one-point crossover of two parents. The published result:
incorrect alleles vanish, correct alleles rise to about 75 % by generation 50, and undecided
alleles linger (learning keeps paying off) and only fall slowly afterwards. Without learning the
single-peak landscape is flat everywhere else and evolution never finds the target.

Genotypes live in one stacked ``int8`` array (``population x loci``) so a generation is a handful
of vectorised numpy operations; each :class:`Learner` agent is a slot of that array (row
``slot``) and always shows the individual currently living in that slot.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence

import mesa
import numpy as np
import pandas as pd

from devsim.defaults import (
    BALDWIN_GENERATIONS,
    BALDWIN_LOCI,
    BALDWIN_MUTATION_RATE,
    BALDWIN_POPULATION,
    BALDWIN_RUNS,
    BALDWIN_SEED,
    BALDWIN_TRIALS,
)
from devsim.errors import DevsimInputError

__all__ = [
    "CORRECT",
    "INCORRECT",
    "UNDECIDED",
    "BaldwinModel",
    "Learner",
    "fitness",
    "learning_trials",
    "run_baldwin",
    "success_probability",
]

#: Allele codes in the genotype array. The target genotype is all ``CORRECT``.
INCORRECT: int = 0
CORRECT: int = 1
UNDECIDED: int = 2  # the "?" allele

#: Fitness of an individual that finds the target with all its trials still left is
#: ``1 + FITNESS_BONUS``: 20, as in Hinton & Nowlan (1987).
FITNESS_BONUS: float = 19.0

#: Largest supported genome: 2**-MAX_LOCI must stay a positive double for ``rng.geometric``.
MAX_LOCI: int = 1000

#: Columns of the per-generation table returned by :func:`run_baldwin`.
TABLE_COLUMNS: tuple[str, ...] = (
    "generation",
    "correct",
    "incorrect",
    "undecided",
    "correct_sd",
    "incorrect_sd",
    "undecided_sd",
    "fitness_mean",
    "found_fraction",
    "runs_found",
)

_METRICS: tuple[str, ...] = ("correct", "incorrect", "undecided", "fitness_mean", "found_fraction")


# ----------------------------------------------------------------------------------------------
# Argument checks (one-line DevsimInputError naming the parameter and what is allowed)
# ----------------------------------------------------------------------------------------------


# Bounds that keep a run within one machine (Hinton & Nowlan: 1,000 x 1,000, 50 generations).
MAX_POPULATION = 100_000
MAX_TRIALS = 100_000
MAX_GENERATIONS = 10_000
MAX_RUNS = 1_000


def _check_int(name: str, value: object, minimum: int, maximum: int | None = None) -> int:
    if maximum is None:
        allowed = f"an integer >= {minimum}"
    else:
        allowed = f"an integer from {minimum} to {maximum}"
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise DevsimInputError(f"{name} must be {allowed}, got {value!r}")
    value = int(value)
    if value < minimum or (maximum is not None and value > maximum):
        raise DevsimInputError(f"{name} must be {allowed}, got {value}")
    return value


def _check_probability(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise DevsimInputError(f"{name} must be a number from 0 to 1, got {value!r}")
    value = float(value)
    if not (0.0 <= value <= 1.0):  # also rejects NaN
        raise DevsimInputError(f"{name} must be a number from 0 to 1, got {value}")
    return value


def _check_frequencies(value: object) -> np.ndarray:
    message = (
        "initial_frequencies must be 3 non-negative numbers (correct, incorrect, undecided) "
        f"summing to 1, got {value!r}"
    )
    if isinstance(value, str | bytes) or not isinstance(value, Sequence | np.ndarray):
        raise DevsimInputError(message)
    try:
        freqs = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise DevsimInputError(message) from None
    if (
        freqs.shape != (3,)
        or not np.all(np.isfinite(freqs))
        or np.any(freqs < 0)
        or abs(freqs.sum() - 1.0) > 1e-9
    ):
        raise DevsimInputError(message)
    return freqs / freqs.sum()


def _check_int_array(name: str, value: object, minimum: int) -> np.ndarray:
    array = np.asarray(value)
    if array.dtype == bool or not np.issubdtype(array.dtype, np.integer):
        raise DevsimInputError(f"{name} must hold integers >= {minimum}, got dtype {array.dtype}")
    if array.size and array.min() < minimum:
        raise DevsimInputError(f"{name} must hold integers >= {minimum}, got {array.min()}")
    return array.astype(np.int64, copy=False)


# ----------------------------------------------------------------------------------------------
# Pure helpers
# ----------------------------------------------------------------------------------------------


def fitness(trials_left: int | np.ndarray, trials: int) -> float | np.ndarray:
    """Hinton & Nowlan's fitness ``1 + 19 n / trials``.

    Parameters
    ----------
    trials_left : int or ndarray of int
        ``n``, the number of learning trials left when the target was found (``trials`` for an
        individual born with the target genotype, 0 when the target was never found).
    trials : int
        Learning trials in a lifetime (1000 in the paper), at least 1.

    Returns
    -------
    float or ndarray of float
        Fitness from 1 (target never found) to 20 (target known from birth).

    Raises
    ------
    DevsimInputError
        If ``trials < 1`` or any ``trials_left`` lies outside ``0..trials``.

    Examples
    --------
    >>> fitness(1000, 1000), fitness(0, 1000), fitness(500, 1000)
    (20.0, 1.0, 10.5)
    """
    trials = _check_int("trials", trials, 1)
    n = _check_int_array("trials_left", trials_left, 0)
    if n.size and n.max() > trials:
        raise DevsimInputError(f"trials_left must be from 0 to trials={trials}, got {n.max()}")
    result = 1.0 + FITNESS_BONUS * n / trials
    return float(result) if result.ndim == 0 else result


def success_probability(k_undecided: int | np.ndarray, trials: int) -> float | np.ndarray:
    """Chance that an individual with ``k`` undecided alleles finds the target.

    With no incorrect allele, each trial independently matches the target with probability
    ``2**-k``, so the chance of at least one success in ``trials`` trials is
    ``1 - (1 - 2**-k)**trials``. An individual with ``k = 0`` already has the target (1).

    Parameters
    ----------
    k_undecided : int or ndarray of int
        Number of ``?`` alleles, ``k >= 0``.
    trials : int
        Learning trials in a lifetime, ``>= 0``.

    Returns
    -------
    float or ndarray of float
        Probability in ``[0, 1]``.

    Raises
    ------
    DevsimInputError
        If ``k_undecided`` is negative or not integer, or ``trials < 0``.

    Examples
    --------
    >>> round(success_probability(10, 1000), 4)
    0.6236
    """
    trials = _check_int("trials", trials, 0)
    k = _check_int_array("k_undecided", k_undecided, 0)
    p = np.ldexp(1.0, -k)  # 2**-k, exact in floating point
    # 1 - (1 - p)**trials computed as -expm1(trials * log1p(-p)): accurate for tiny p.
    with np.errstate(divide="ignore"):  # log1p(-1) = -inf for k = 0 is intended
        result = np.where(k == 0, 1.0, -np.expm1(trials * np.log1p(-p)))
    return float(result) if result.ndim == 0 else result


def learning_trials(
    k_undecided: int | np.ndarray,
    trials: int,
    rng: np.random.Generator,
    n_incorrect: int | np.ndarray | None = None,
) -> np.ndarray:
    """Trial on which each individual first finds the target, for a whole population at once.

    Parameters
    ----------
    k_undecided : int or ndarray of int
        Number of ``?`` alleles of each individual.
    trials : int
        Learning trials in a lifetime, at least 1.
    rng : numpy.random.Generator
        Source of all randomness.
    n_incorrect : int or ndarray of int, optional
        Number of incorrect (fixed, wrong) alleles of each individual; individuals with any
        incorrect allele can never succeed. Default: none.

    Returns
    -------
    ndarray of int64
        Same shape as ``k_undecided``: 0 for an individual born with the target (nothing to
        learn), ``t`` in ``1..trials`` if the first matching guess happens on trial ``t`` and
        ``trials + 1`` if the target is not found within the lifetime.

    Notes
    -----
    On every trial each of the ``k`` undecided loci is set to 1 independently with probability
    1/2, and trials are independent of each other, so each trial matches the target with the same
    probability ``p = 2**-k``, independently of all earlier trials: the trials form a Bernoulli
    process. The index of the first success of a Bernoulli process is geometric on
    ``{1, 2, ...}`` with ``P(T = t) = (1 - p)**(t - 1) p``, which is exactly what
    ``rng.geometric(p)`` samples. Drawing ``T`` directly and censoring it at ``trials`` therefore
    has exactly the distribution of simulating up to ``trials`` rounds of guesses (it consumes
    different random numbers, not a different law), at the cost of one draw per individual
    instead of ``trials * k`` coin flips. Individuals with an incorrect allele draw nothing.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> learning_trials(np.array([0, 1, 3]), 1000, rng, n_incorrect=np.array([0, 0, 1]))[[0, 2]]
    array([   0, 1001])
    """
    trials = _check_int("trials", trials, 1)
    k = _check_int_array("k_undecided", k_undecided, 0)
    if n_incorrect is None:
        hopeless = np.zeros(k.shape, dtype=bool)
    else:
        wrong = _check_int_array("n_incorrect", n_incorrect, 0)
        if wrong.shape != k.shape:
            raise DevsimInputError(
                f"n_incorrect must have the shape of k_undecided {k.shape}, got {wrong.shape}"
            )
        hopeless = wrong > 0
    result = np.full(k.shape, trials + 1, dtype=np.int64)
    result[~hopeless & (k == 0)] = 0
    learners = ~hopeless & (k > 0)
    if np.any(learners):
        p = np.ldexp(1.0, -k[learners])  # 2**-k: chance a single trial guesses every "?" right
        first_success = rng.geometric(p)  # saturates at int64 max for astronomically small p
        result[learners] = np.minimum(first_success, trials + 1)
    return result


# ----------------------------------------------------------------------------------------------
# Mesa model
# ----------------------------------------------------------------------------------------------


class Learner(mesa.Agent):
    """One slot of the population: row ``slot`` of the model's genotype array.

    The model replaces a whole generation at once by writing the children's genotypes into the
    stacked array in place, so each agent always shows the individual currently living in its
    slot (no agents are created or destroyed per generation, which keeps a generation cheap).
    """

    def __init__(self, model: BaldwinModel, slot: int) -> None:
        super().__init__(model)
        self.slot = int(slot)

    @property
    def genotype(self) -> np.ndarray:
        """The alleles (a read-write view into the model's genotype array)."""
        return self.model.genotypes[self.slot]

    @property
    def trial_found(self) -> int:
        """Trial on which the target was found (0: born with it; ``trials + 1``: never)."""
        return int(self.model.trial_found[self.slot])

    @property
    def found_target(self) -> bool:
        """Whether this individual found the target during its life."""
        return bool(self.model.trial_found[self.slot] <= self.model.trials)

    @property
    def fitness(self) -> float:
        """Fitness ``1 + 19 n / trials`` of this individual."""
        return float(self.model.fitness[self.slot])


class BaldwinModel(mesa.Model):
    """Hinton & Nowlan's population: one :meth:`step` is one generation.

    Each generation is evaluated as soon as it is born (lifetime learning and fitness), so the
    recorded row for generation ``g`` holds its allele frequencies and its fitness. A step then
    picks parents in proportion to fitness, makes every child by one-point crossover of two
    distinct parents, applies mutation and lets the children live.

    Parameters
    ----------
    loci : int
        Genome length (20), from 2 to 1000.
    population : int
        Individuals per generation (1000), at least 2.
    trials : int
        Learning trials per life (1000), at least 1.
    learning : bool
        If False nobody learns: ``?`` alleles count as wrong and only individuals born with the
        exact target get fitness 20, everybody else 1.
    mutation_rate : float
        Per-locus chance, per child, that the allele changes to one of the two other alleles
        (each with probability 1/2); 0 in the paper.
    initial_frequencies : sequence of 3 floats
        Probabilities of correct, incorrect and undecided alleles in generation 0.
    rng : numpy.random.Generator or seed, optional
        Passed to :class:`mesa.Model`; ``self.rng`` is the only source of randomness.
    """

    def __init__(
        self,
        *,
        loci: int = BALDWIN_LOCI,
        population: int = BALDWIN_POPULATION,
        trials: int = BALDWIN_TRIALS,
        learning: bool = True,
        mutation_rate: float = BALDWIN_MUTATION_RATE,
        initial_frequencies: Sequence[float] = (0.25, 0.25, 0.5),
        rng: np.random.Generator | int | None = None,
    ) -> None:
        loci = _check_int("loci", loci, 2, MAX_LOCI)
        population = _check_int("population", population, 2, MAX_POPULATION)
        trials = _check_int("trials", trials, 1, MAX_TRIALS)
        if not isinstance(learning, bool | np.bool_):
            raise DevsimInputError(f"learning must be True or False, got {learning!r}")
        mutation_rate = _check_probability("mutation_rate", mutation_rate)
        frequencies = _check_frequencies(initial_frequencies)
        super().__init__(rng=rng)
        self.loci = loci
        self.population = population
        self.trials = trials
        self.learning = bool(learning)
        self.mutation_rate = mutation_rate
        self.initial_frequencies = frequencies

        self.generation = 0
        self.genotypes = self._random_alleles((self.population, self.loci))
        self.trial_found = np.empty(self.population, dtype=np.int64)
        self.fitness = np.empty(self.population, dtype=float)
        self._history: dict[str, list[float]] = {name: [] for name in ("generation", *_METRICS)}
        self.first_found_generation: int | None = None

        Learner.create_agents(self, self.population, slot=np.arange(self.population))
        self._live()
        self._record()

    # -- one generation -------------------------------------------------------------------------

    def step(self) -> None:
        """Select, recombine, mutate, then let the new generation live and record it."""
        parents_a, parents_b = self._select_parents()
        children = self._crossover(parents_a, parents_b)
        self._mutate(children)
        np.copyto(self.genotypes, children)  # in place: Learner.genotype views stay valid
        self.generation += 1
        self._live()
        self._record()

    def _random_alleles(self, shape: tuple[int, ...]) -> np.ndarray:
        alleles = np.array([CORRECT, INCORRECT, UNDECIDED], dtype=np.int8)
        return self.rng.choice(alleles, size=shape, p=self.initial_frequencies)

    def _live(self) -> None:
        """Lifetime learning of the current generation: fill ``trial_found`` and ``fitness``."""
        n_undecided = np.count_nonzero(self.genotypes == UNDECIDED, axis=1)
        n_incorrect = np.count_nonzero(self.genotypes == INCORRECT, axis=1)
        if self.learning:
            found_at = learning_trials(n_undecided, self.trials, self.rng, n_incorrect)
        else:
            born_right = (n_undecided == 0) & (n_incorrect == 0)
            found_at = np.where(born_right, 0, self.trials + 1)
        self.trial_found[:] = found_at
        trials_left = np.clip(self.trials - found_at, 0, None)
        self.fitness[:] = fitness(trials_left, self.trials)

    def _select_parents(self) -> tuple[np.ndarray, np.ndarray]:
        """Two fitness-proportional parents per child; the second differs from the first.

        Redrawing the second parent until it differs from the first gives exactly the law of
        drawing an ordered pair without replacement in proportion to fitness.
        """
        size = self.population
        weights = self.fitness / self.fitness.sum()
        first = self.rng.choice(size, size=size, p=weights)
        second = self.rng.choice(size, size=size, p=weights)
        clash = np.flatnonzero(first == second)
        while clash.size:  # fitness >= 1 everywhere, so this ends after a few rounds
            second[clash] = self.rng.choice(size, size=clash.size, p=weights)
            clash = clash[first[clash] == second[clash]]
        return first, second

    def _crossover(self, first: np.ndarray, second: np.ndarray) -> np.ndarray:
        """One-point crossover: loci before a uniform cut in ``1..loci-1`` come from ``first``."""
        cut = self.rng.integers(1, self.loci, size=self.population)
        from_first = np.arange(self.loci) < cut[:, None]
        return np.where(from_first, self.genotypes[first], self.genotypes[second])

    def _mutate(self, children: np.ndarray) -> None:
        if self.mutation_rate == 0.0:
            return
        hit = self.rng.random(children.shape) < self.mutation_rate
        # Codes are 0, 1, 2: adding 1 or 2 modulo 3 moves to either other allele, 1/2 each.
        shift = self.rng.integers(1, 3, size=int(np.count_nonzero(hit)), dtype=np.int8)
        children[hit] = (children[hit] + shift) % 3

    # -- records --------------------------------------------------------------------------------

    def allele_frequencies(self) -> dict[str, float]:
        """Fractions of all loci in the population that are correct, incorrect, undecided."""
        counts = np.bincount(self.genotypes.ravel(), minlength=3) / self.genotypes.size
        return {
            "correct": float(counts[CORRECT]),
            "incorrect": float(counts[INCORRECT]),
            "undecided": float(counts[UNDECIDED]),
        }

    def _record(self) -> None:
        found = self.trial_found <= self.trials
        if self.first_found_generation is None and found.any():
            self.first_found_generation = self.generation
        row = {
            "generation": self.generation,
            **self.allele_frequencies(),
            "fitness_mean": float(self.fitness.mean()),
            "found_fraction": float(found.mean()),
        }
        for name, value in row.items():
            self._history[name].append(value)

    @property
    def ever_found(self) -> bool:
        """Whether any individual of any generation so far found the target."""
        return self.first_found_generation is not None

    def history(self) -> pd.DataFrame:
        """Per-generation record of this run (generation 0 is the initial population).

        Columns: ``generation, correct, incorrect, undecided, fitness_mean, found_fraction``
        (``found_fraction``: share of the generation that found the target during life).
        """
        table = pd.DataFrame(self._history)
        table["generation"] = table["generation"].astype(int)
        return table


# ----------------------------------------------------------------------------------------------
# Replicated runs
# ----------------------------------------------------------------------------------------------


def run_baldwin(
    generations: int = BALDWIN_GENERATIONS,
    runs: int = BALDWIN_RUNS,
    seed: int = BALDWIN_SEED,
    **model_kwargs: object,
) -> pd.DataFrame:
    """Run independent replicates of :class:`BaldwinModel` and summarise them per generation.

    Parameters
    ----------
    generations : int
        Generations to simulate after the initial population (at least 1).
    runs : int
        Independent replicates (at least 1); run ``i`` uses
        ``numpy.random.default_rng(SeedSequence(seed).spawn(runs)[i])``.
    seed : int
        Non-negative root seed; equal seeds give identical tables.
    **model_kwargs
        Passed to :class:`BaldwinModel` (``loci``, ``population``, ``trials``, ``learning``,
        ``mutation_rate``, ``initial_frequencies``); ``rng`` is not allowed.

    Returns
    -------
    pandas.DataFrame
        One row per generation ``0..generations`` with columns ``generation, correct, incorrect,
        undecided, correct_sd, incorrect_sd, undecided_sd, fitness_mean, found_fraction,
        runs_found``: means over runs of the allele frequencies (fractions of all loci in the
        population), their sample standard deviations over runs (0 for a single run), the mean
        population fitness, the mean share of the population that found the target, and in how
        many runs some organism had found it by then (runs split: those that find the target
        and those that never do; the means mix both).

    Raises
    ------
    DevsimInputError
        For a bad ``generations``, ``runs``, ``seed`` or model argument.
    """
    generations = _check_int("generations", generations, 1, MAX_GENERATIONS)
    runs = _check_int("runs", runs, 1, MAX_RUNS)
    seed = _check_int("seed", seed, 0)
    if "rng" in model_kwargs:
        raise DevsimInputError("rng cannot be passed to run_baldwin; use seed instead")

    per_run = {name: np.empty((runs, generations + 1)) for name in _METRICS}
    for index, child in enumerate(np.random.SeedSequence(seed).spawn(runs)):
        model = BaldwinModel(**model_kwargs, rng=np.random.default_rng(child))
        for _ in range(generations):
            model.step()
        for name in _METRICS:
            per_run[name][index] = model._history[name]

    table = pd.DataFrame({"generation": np.arange(generations + 1)})
    for name in ("correct", "incorrect", "undecided"):
        table[name] = per_run[name].mean(axis=0)
    for name in ("correct", "incorrect", "undecided"):
        values = per_run[name]
        table[f"{name}_sd"] = values.std(axis=0, ddof=1) if runs > 1 else np.zeros(generations + 1)
    table["fitness_mean"] = per_run["fitness_mean"].mean(axis=0)
    table["found_fraction"] = per_run["found_fraction"].mean(axis=0)
    table["runs_found"] = np.maximum.accumulate(per_run["found_fraction"] > 0, axis=1).sum(axis=0)
    table = table[list(TABLE_COLUMNS)]
    table.attrs["runs"] = runs
    return table

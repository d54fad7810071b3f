"""A cohort: the neural state of many organisms in stacked arrays, advanced one day at a time.

Pure numerics (no Mesa). ``Cohort.develop_day`` is the one vectorised kernel: every
organism's synapses are advanced together, with per-organism genes broadcast as arrays.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable, Sequence

import numpy as np

from devsim.errors import DevsimRunError
from devsim.plasticity import Y_MAX, Circuit, PlasticityKernel
from devsim.senses import PlannedWorld, World
from devsim.wiring import INITIAL_WEIGHT, initial_wiring, prune_and_sprout, sprouting_activity

NEURONS = 32  # cortical neurons per organism
PRESENTATIONS_PER_DAY = 640  # stimulus presentations per organism-day
BATCH_SIZE = 16  # presentations per weight update (mini-batch)
THETA_INIT = 1.0  # initial sliding threshold (a.u.)
SCALING_SENSOR_DAYS = 5.0  # homeostatic scaling senses activity averaged over days
BLOCK = 128  # organisms per kernel block (cache-sized pieces; results do not depend on it)
# The genes named when a run stops on non-finite state (those of the weight/threshold update).
RULE_GENES = (
    "eta",
    "tau_theta",
    "tau_theta_down",
    "y0",
    "gamma",
    "w_max",
    "rule_A",
    "rule_B",
    "rule_C",
    "rule_D",
    "rule_E",
)


def check_batches(presentations_per_day: int, batch_size: int) -> None:
    """A day is whole mini-batches (ValueError naming both numbers otherwise)."""
    if presentations_per_day % batch_size:
        raise ValueError(
            f"presentations_per_day ({presentations_per_day}) must be a multiple of "
            f"batch_size ({batch_size})"
        )


class PhaseTimer:
    """Wall-clock seconds spent in each phase of :meth:`Cohort.develop_day` (for
    ``devsim bench``).

    Give one to a cohort (``Cohort(..., timer=PhaseTimer())`` or ``cohort.timer = ...``);
    every day then adds to :attr:`seconds`: ``"draw indices"``, ``"gather stimuli"``,
    ``"plasticity kernel"`` (:meth:`devsim.plasticity.PlasticityKernel.step`),
    ``"prune/sprout"`` and ``"day"`` (the whole of ``develop_day``, so that
    ``seconds["day"]`` minus the others is the rest of the day: the gates, homeostatic
    scaling, the circuit's daily step, the finiteness check). Timing changes no result;
    without a timer (the default) the day runs no timing code at all.
    """

    PHASES = ("draw indices", "gather stimuli", "plasticity kernel", "prune/sprout")

    def __init__(self) -> None:
        self.seconds: dict[str, float] = dict.fromkeys((*self.PHASES, "day"), 0.0)

    def add(self, phase: str, seconds: float) -> None:
        self.seconds[phase] = self.seconds.get(phase, 0.0) + seconds

    def wrap(self, phase: str, function: Callable) -> Callable:
        """``function``, adding the time of each call to ``phase``."""

        def timed(*args, **kwargs):
            start = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                self.add(phase, time.perf_counter() - start)

        return timed


def _stream_aside(rng: np.random.Generator, position: int) -> np.random.Generator:
    """A generator ``position + 1`` jumps (of 2**127 draws) ahead of ``rng``'s present
    state, ``rng`` left as it is: draws that must not move the model's own stream."""
    jumped = getattr(rng.bit_generator, "jumped", None)
    if jumped is None:  # a bit generator without jumps (SFC64): seeded from a copy's draws
        return np.random.default_rng([*copy.deepcopy(rng).bit_generator.random_raw(2), position])
    return np.random.Generator(jumped(position + 1))


class Cohort:
    """Synaptic state of ``o`` organisms: weights, masks, thresholds and windows.

    Parameters
    ----------
    rng : the model's generator (initial wiring and every later draw).
    genes : per-organism gene arrays (see :func:`devsim.genome.gene_table`).
    litter_index : (o,) litter position of each organism; organisms that share a position
        (same index in different groups) receive the same stimulus stream.
    world : the visual world.
    block : organisms advanced together per kernel call. A cache-sized block keeps each
        organism's weights in cache through its day; every operation is per organism, so
        results do not depend on it (bit for bit).
    labels : optional name of each organism for error messages (e.g. ``"organism 3 of
        group 'control'"``); default ``"organism k of the cohort"``.
    timer : optional :class:`PhaseTimer` that times the phases of each day (also settable
        later as the attribute ``timer``); None (the default) times nothing.
    wiring_genes : (density, contra_bias) of the shared initial wiring (a model's reference
        group's); None: each litter position's first organism's.
    """

    structural = True  # pruning and sprouting each day (the sheet's arbors are complete)

    def __init__(
        self,
        rng: np.random.Generator,
        genes: dict[str, np.ndarray],
        litter_index: np.ndarray,
        world: World,
        neurons: int = NEURONS,
        presentations_per_day: int = PRESENTATIONS_PER_DAY,
        batch_size: int = BATCH_SIZE,
        block: int = BLOCK,
        labels: Sequence[str] | None = None,
        timer: PhaseTimer | None = None,
        wiring_genes: tuple[float, float] | None = None,
    ):
        check_batches(presentations_per_day, batch_size)
        self.genes = genes
        self.wiring_genes = wiring_genes
        self.litter_index = np.asarray(litter_index)
        self.litter = int(self.litter_index.max()) + 1 if self.litter_index.size else 0
        self.world = world
        self.organisms = self.litter_index.shape[0]
        self.labels = labels
        self.timer = timer
        self.neurons = neurons
        self.channels = world.channels
        self.batch_size = batch_size
        self.updates_per_day = presentations_per_day // batch_size
        self.mask, self.weights, self.slot_prob = self._initial_wiring(rng)
        self.weak_days = np.zeros(self.weights.shape, dtype=np.int8)
        self.theta = np.full((self.organisms, neurons), THETA_INIT, dtype=np.float32)
        # Littermates differ in how fast their inhibition matures (developmental noise,
        # drawn per litter position so the same animal is compared across groups).
        noise = rng.standard_normal(self.litter)[self.litter_index]
        self.circuit = Circuit(self.organisms, np.exp(genes["mat_noise"] * noise))
        self.gate = self.circuit.gate(genes)
        # Homeostatic scaling: each neuron's sensed activity (RMS, low-passed) and its
        # set point (tracked more slowly still).
        self.sensed = np.full((self.organisms, neurons), np.nan)
        self.set_point = np.full((self.organisms, neurons), np.nan)
        self.block = max(1, min(block, self.organisms))
        self._set_buffers()

    def _set_buffers(self) -> None:
        """Scratch space for one block of organisms (reused by every mini-batch)."""
        shape = (self.block, self.batch_size, 2 * self.channels)
        self._x = np.empty(shape, dtype=self.weights.dtype)
        self._noise = np.empty(shape, dtype=np.float32)
        self._kernel = PlasticityKernel(
            self.block, self.neurons, 2 * self.channels, self.batch_size, self.weights.dtype
        )
        self._prune_scratch: dict[str, np.ndarray] = {}
        self._draws = np.empty((0, 4, 0, 0), dtype=np.uint16)

    def _day_draws(self, rng: np.random.Generator, draw: Callable) -> np.ndarray:
        """The stimulus indices of every mini-batch of a day, (updates, 4, litter, batch),
        stored in the narrowest integer type that holds the bank sizes; ``draw`` is the
        world's ``draw_indices`` (possibly timed)."""
        p = self.world.params
        dtype = np.min_scalar_type(max(p.bank_size, p.noise_bank_size) - 1)
        shape = (self.updates_per_day, 4, self.litter, self.batch_size)
        same = self._draws.shape == shape and self._draws.dtype == dtype
        draws = self._draws if same else np.empty(shape, dtype=dtype)
        for u in range(self.updates_per_day):
            draws[u] = draw(rng, self.litter, self.batch_size)
        self._draws = draws
        return draws

    def set_dtype(self, dtype) -> None:
        """Switch the working precision of weights and thresholds (default float32).

        For checks that results do not hinge on float32 rounding; inputs stay the same
        float32 patterns, converted.
        """
        self.weights = self.weights.astype(dtype)
        self.theta = self.theta.astype(dtype)
        self._set_buffers()

    def nbytes_per_synapse(self) -> dict[str, int]:
        """Bytes held per synapse slot by each per-synapse array (state and scratch)."""
        slots = self.weights.size
        arrays = {
            "weights": self.weights,
            "mask": self.mask,
            "slot_prob": self.slot_prob,
            "weak_days": self.weak_days,
            "kernel_gain": self._kernel.gain,
            **{f"prune_{k}": v for k, v in self._prune_scratch.items()},
        }
        return {
            k: v.nbytes // slots
            for k, v in arrays.items()
            if isinstance(v, np.ndarray) and v.size == slots
        }

    def _initial_wiring(self, rng):
        # Drawn per litter position, so littermates in different groups start identical:
        # with the reference group's wiring genes (density, contra_bias), or else each
        # position's first organism's. A littermate whose group sets others is wired from
        # a stream of its own, a jump ahead of the model's generator for its position (the
        # generator itself untouched): its wiring depends on its position and genes alone,
        # so no other group's wiring, order or later draw changes with them (every
        # littermate got the first group's genes, and a sweep over them changed nothing).
        pick = self.litter_index
        genes = np.stack([self.genes["density"], self.genes["contra_bias"]], axis=1)
        if self.wiring_genes is None:
            first = np.zeros(self.litter, dtype=np.intp)
            first[pick[::-1]] = np.arange(self.organisms)[::-1]  # the last write wins
            base = genes[first]
        else:
            base = np.tile(np.asarray(self.wiring_genes, dtype=float), (self.litter, 1))
        mask, weights, prob = initial_wiring(
            rng, base[:, 0], base[:, 1], self.neurons, self.channels
        )
        mask, weights, prob = mask[pick].copy(), weights[pick].copy(), prob[pick].copy()
        own = np.flatnonzero((genes != base[pick]).any(axis=1))
        if own.size:
            keys = np.column_stack([pick[own], genes[own]])
            unique, which = np.unique(keys, axis=0, return_inverse=True)
            which = which.reshape(-1)  # (numpy 2.0 shaped it as the keys)
            for k, (position, density, bias) in enumerate(unique):
                aside = _stream_aside(rng, int(position))
                m, w, p = initial_wiring(
                    aside, np.array([density]), np.array([bias]), self.neurons, self.channels
                )
                rows = own[which == k]
                mask[rows], weights[rows], prob[rows] = m[0], w[0], p[0]
        return mask, weights, prob

    def develop_day(
        self,
        rng: np.random.Generator,
        day: int,
        pattern_gain: np.ndarray,
        noise_sigma: np.ndarray,
        independent: np.ndarray,
        treatments: dict[str, np.ndarray] | None = None,
    ) -> None:
        """Live one day: ``presentations_per_day`` inputs, then homeostatic scaling,
        pruning/sprouting and the circuit's maturation from the activity the day evoked.
        The gates and inhibition are fixed within a day. ``pattern_gain``, ``noise_sigma``
        and ``independent`` go to the world only (what the eyes deliver); ``treatments``
        (name -> dose per organism) act on the circuit only. With a :attr:`timer`, the
        phases of the day are timed (the same calls, the same results)."""
        timer = self.timer
        start = time.perf_counter() if timer is not None else 0.0
        draw, step, prune = self.world.draw_indices, self._kernel.step, prune_and_sprout
        planned = isinstance(self.world, PlannedWorld)  # the fast path, else stimuli only
        gather = self.world.gather if planned else None
        stimuli = self.world.stimuli
        if timer is not None:
            draw = timer.wrap("draw indices", draw)
            step = timer.wrap("plasticity kernel", step)
            prune = timer.wrap("prune/sprout", prune)
            gather = gather and timer.wrap("gather stimuli", gather)
            stimuli = timer.wrap("gather stimuli", stimuli)
        circuit, genes = self.circuit, self.genes
        treatments = {} if treatments is None else treatments
        circuit.dose(genes, treatments)  # today's doses act on today's plasticity
        gate = circuit.gate(genes)
        self.gate = gate
        dt = 1.0 / self.updates_per_day
        presentations = self.updates_per_day * self.batch_size
        kernel = self._kernel
        kernel.prepare_day(
            genes,
            gate,
            dt,
            self.mask,
            inhibition=circuit.pv_inhibition(genes),
            potentiation=circuit.potentiation(genes),
        )
        plan = None
        if planned:
            plan = self.world.stimulus_plan(
                self.litter_index, pattern_gain, noise_sigma, independent
            )
        blocks = [
            (a, min(a + self.block, self.organisms)) for a in range(0, self.organisms, self.block)
        ]
        # Overflow and invalid operations in a diverging organism are reported once, by
        # check_finite at the end of the day (one line), not as numpy warnings.
        with np.errstate(over="ignore", invalid="ignore"):
            if plan is None:  # a world with only ``stimuli``: all organisms' inputs at once
                x_all = np.empty((self.organisms, *self._x.shape[1:]), dtype=self._x.dtype)
                for _ in range(self.updates_per_day):
                    idx = draw(rng, self.litter, self.batch_size)
                    stimuli(
                        idx, self.litter_index, pattern_gain, noise_sigma, independent, out=x_all
                    )
                    for a, b in blocks:
                        step(a, b, self.weights, self.theta, x_all[a:b])
            elif len(blocks) == 1:
                for _ in range(self.updates_per_day):
                    idx = draw(rng, self.litter, self.batch_size)
                    x = gather(idx, plan, 0, self.organisms, self._x, self._noise)
                    step(0, self.organisms, self.weights, self.theta, x)
            else:
                # All of the day's draws first (the same stream as drawing them one update at a
                # time: nothing else draws in between), then each block of organisms lives its
                # whole day while its weights are in cache. Organisms do not interact within a
                # day, so the order of blocks changes no result.
                draws = self._day_draws(rng, draw)
                for a, b in blocks:
                    for idx in draws:
                        x = gather(idx, plan, a, b, self._x[: b - a], self._noise)
                        step(a, b, self.weights, self.theta, x)
            self.scale_synapses(kernel.y2 / self.updates_per_day)
            pv_activity = kernel.activity / presentations  # the day's mean PV drive
            if self.structural:
                v = circuit.drive(genes, pv_activity)
                prune(
                    rng,
                    self.weights,
                    self.mask,
                    self.weak_days,
                    self.slot_prob,
                    gate,
                    circuit.brake(genes),
                    genes["prune_threshold"],
                    genes["sprout_rate"],
                    genes["floor_adult"],
                    scratch=self._prune_scratch,
                    litter_index=self.litter_index,
                    activity=sprouting_activity(
                        v, genes["sprout_act"], genes["sprout_floor"], genes["sprout_drive"]
                    ),
                )
        circuit.advance(genes, pv_activity, treatments, day)
        self.gate = circuit.gate(genes)
        self.check_finite(day)
        if timer is not None:
            timer.add("day", time.perf_counter() - start)

    def scale_synapses(self, square: np.ndarray) -> None:
        """One day of homeostatic synaptic scaling (Turrigiano et al. 1998): every synapse
        of a neuron is multiplied by ``(set point / sensed) ** r_scale`` (at most 10 % a
        day either way). The sensed activity is the day's RMS response (``square`` = mean
        ``y**2``, (o, n)) low-passed over :data:`SCALING_SENSOR_DAYS` (the TNF-alpha signal
        builds up over days: Kaneko et al. 2008 Neuron); the set point tracks it with
        ``tau_set`` days. Uniform per neuron, so it keeps the ratio of the eyes' inputs:
        after MD it raises the open eye's responses (Mrsic-Flogel et al. 2007), it does
        not shift ocular dominance by itself."""
        rms = np.sqrt(np.maximum(square, 0.0))
        first = np.isnan(self.set_point)
        self.set_point[first] = rms[first]
        self.sensed[first] = rms[first]
        self.sensed += (rms - self.sensed) * (1.0 - np.exp(-1.0 / SCALING_SENSOR_DAYS))
        genes = self.genes
        factor = (self.set_point / np.maximum(self.sensed, 1e-3)) ** genes["r_scale"][:, None]
        np.clip(factor, 1.0 / 1.1, 1.1, out=factor)
        self.weights *= factor.astype(self.weights.dtype)[:, :, None]
        w_max = genes["w_max"].astype(self.weights.dtype)[:, None, None]
        # the upper bound only: a negative weight scaled past -w_max is clipped by the rule's
        # first update of the next day (it clips to [-w_max, w_max]); clipping it here too
        # changes every run's bytes, not its science (seen December 2026)
        np.minimum(self.weights, w_max, out=self.weights)
        relax = 1.0 - np.exp(-1.0 / genes["tau_set"])[:, None]
        self.set_point += (self.sensed - self.set_point) * relax

    def check_finite(self, day: int) -> None:
        """Stop the run (:class:`DevsimRunError`) if any weight or threshold is not finite
        (or far out of its bounds) after ``day``.

        Cheap: one float32 sum over the weights and one over the thresholds. Finite state is
        bounded (weights within ``+-max(w_max, 2 * INITIAL_WEIGHT)`` by the clip and the
        initial and sprouted strengths, thresholds within
        ``[0, max(THETA_INIT, Y_MAX**2 / y0)]`` by :func:`devsim.plasticity.threshold_rate`),
        so a sum is non-finite exactly when an element is (inf, or NaN, which propagates),
        or when values lie so far out of their bounds that the sum overflows. A non-finite
        response or input reaches the threshold in the same update (every threshold moves
        by a positive fraction of ``<y^2>/y0``), so it is caught too. Only when a sum is
        non-finite are the organisms located; the first one is named, with its genes.
        """
        with np.errstate(over="ignore", invalid="ignore"):
            if np.isfinite(np.add.reduce(self.weights, axis=None)) and np.isfinite(
                np.add.reduce(self.theta, axis=None)
            ):
                return
        o = self.organisms
        w = self.weights.reshape(o, -1)
        t = self.theta.reshape(o, -1)
        bad_w = ~np.isfinite(w).all(axis=1)
        bad_t = ~np.isfinite(t).all(axis=1)
        problem = "non-finite"
        if not (bad_w.any() or bad_t.any()):  # finite, but a sum overflowed
            problem = "out-of-bounds"
            bad_w = np.abs(w).max(axis=1) > np.maximum(self.genes["w_max"], 2 * INITIAL_WEIGHT)
            bad_t = np.abs(t).max(axis=1) > np.maximum(THETA_INIT, Y_MAX**2 / self.genes["y0"])
        bad = np.flatnonzero(bad_w | bad_t)
        k = int(bad[0]) if bad.size else int(np.argmax(np.abs(t).max(axis=1)))
        what = " and ".join(
            name for name, b in (("weights", bad_w[k]), ("thresholds", bad_t[k])) if b
        )
        label = self.labels[k] if self.labels is not None else f"organism {k} of the cohort"
        genes = ", ".join(f"{name}={float(self.genes[name][k]):g}" for name in RULE_GENES)
        others = f" (and {bad.size - 1} other organisms)" if bad.size > 1 else ""
        raise DevsimRunError(
            f"{label} (genes {genes}): {problem} {what or 'state'} on day {day}{others}; "
            "the run cannot give a trustworthy result"
        )

    def synapse_counts(self) -> np.ndarray:
        """Synapses per organism, (o,)."""
        return self.mask.sum(axis=(1, 2))

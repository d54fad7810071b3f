"""A cohort: the neural state of many organisms in stacked arrays, advanced one day at a time.

Pure numerics (no Mesa). ``Cohort.develop_day`` is the one vectorised kernel: every
organism's synapses are advanced together, with per-organism genes broadcast as arrays.
"""

from __future__ import annotations

import numpy as np

from devsim.plasticity import CriticalWindow, plasticity_step
from devsim.senses import VisualWorld
from devsim.wiring import initial_wiring, prune_and_sprout

NEURONS = 32  # cortical neurons per organism
PRESENTATIONS_PER_DAY = 640  # stimulus presentations per organism-day
BATCH_SIZE = 16  # presentations per weight update (mini-batch)
THETA_INIT = 1.0  # initial sliding threshold (a.u.)


class Cohort:
    """Synaptic state of ``o`` organisms: weights, masks, thresholds and windows.

    Parameters
    ----------
    rng : the model's generator (initial wiring and every later draw).
    genes : per-organism gene arrays (see :func:`devsim.genome.gene_table`).
    litter_index : (o,) litter position of each organism; organisms that share a position
        (same index in different groups) receive the same stimulus stream.
    world : the visual world.
    """

    def __init__(
        self,
        rng: np.random.Generator,
        genes: dict[str, np.ndarray],
        litter_index: np.ndarray,
        world: VisualWorld,
        neurons: int = NEURONS,
        presentations_per_day: int = PRESENTATIONS_PER_DAY,
        batch_size: int = BATCH_SIZE,
    ):
        if presentations_per_day % batch_size:
            raise ValueError("presentations_per_day must be a multiple of batch_size")
        self.genes = genes
        self.litter_index = np.asarray(litter_index)
        self.litter = int(self.litter_index.max()) + 1 if self.litter_index.size else 0
        self.world = world
        self.organisms = self.litter_index.shape[0]
        self.neurons = neurons
        self.channels = world.channels
        self.batch_size = batch_size
        self.updates_per_day = presentations_per_day // batch_size
        self.mask, self.weights, self.slot_prob = self._initial_wiring(rng)
        self.weak_days = np.zeros(self.weights.shape, dtype=np.int8)
        self.theta = np.full((self.organisms, neurons), THETA_INIT, dtype=np.float32)
        self.window = CriticalWindow(self.organisms)
        self.gate = self.window.gate(genes)
        self._x = np.empty((self.organisms, batch_size, 2 * self.channels), dtype=np.float32)

    def _initial_wiring(self, rng):
        # Drawn per litter position, so littermates in different groups start identical.
        genes_first = {}
        for name in ("density", "contra_bias"):
            per_litter = np.zeros(self.litter)
            per_litter[self.litter_index[::-1]] = self.genes[name][::-1]
            genes_first[name] = per_litter
        mask, weights, prob = initial_wiring(
            rng, genes_first["density"], genes_first["contra_bias"], self.neurons, self.channels
        )
        pick = self.litter_index
        return mask[pick].copy(), weights[pick].copy(), prob[pick].copy()

    def develop_day(
        self,
        rng: np.random.Generator,
        day: int,
        pattern_gain: np.ndarray,
        noise_sigma: np.ndarray,
        independent: np.ndarray,
        drug: np.ndarray,
    ) -> None:
        """Live one day: ``presentations_per_day`` inputs, then pruning/sprouting and the
        window's maturation. The gate is fixed within a day."""
        gate = self.window.gate(self.genes)
        self.gate = gate
        dt = 1.0 / self.updates_per_day
        for _ in range(self.updates_per_day):
            idx = self.world.draw_indices(rng, self.litter, self.batch_size)
            x = self.world.stimuli(
                idx, self.litter_index, pattern_gain, noise_sigma, independent, out=self._x
            )
            plasticity_step(self.weights, self.mask, self.theta, x, self.genes, gate, dt)
        prune_and_sprout(
            rng,
            self.weights,
            self.mask,
            self.weak_days,
            self.slot_prob,
            gate,
            self.window.brake,
            self.genes["prune_threshold"],
            self.genes["sprout_rate"],
            self.genes["floor_adult"],
        )
        self.window.advance(self.genes, pattern_gain.mean(axis=1), drug, day)
        self.gate = self.window.gate(self.genes)

    def synapse_counts(self) -> np.ndarray:
        """Synapses per organism, (o,)."""
        return self.mask.sum(axis=(1, 2))

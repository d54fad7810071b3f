"""Organism: a Mesa agent that is a handle into the cohort's stacked arrays."""

from __future__ import annotations

from typing import TYPE_CHECKING

import mesa
import networkx as nx
import numpy as np

from devsim import sheet
from devsim.genome import Genome
from devsim.measures import responsive_odi
from devsim.wiring import synapse_graph

if TYPE_CHECKING:
    from devsim.model import DevelopmentModel


class Organism(mesa.Agent):
    """One animal: its genome, group, rearing history and a view of its synapses.

    The synapses live in the model's cohort arrays at row ``row``; the agent exposes views
    (``weights``, ``mask``) and builds its synaptic graph on demand.
    """

    def __init__(self, model: DevelopmentModel, genome: Genome, group: str, litter: int, row: int):
        super().__init__(model)
        self.genome = genome
        self.group = group
        self.litter = litter
        self.row = row

    @property
    def age(self) -> int:
        """Days of life so far."""
        return self.model.age

    @property
    def weights(self) -> np.ndarray:
        """(neurons, 2 * channels) synaptic weights, left-eye channels first (a view)."""
        return self.model.cohort.weights[self.row]

    @property
    def mask(self) -> np.ndarray:
        return self.model.cohort.mask[self.row]

    @property
    def gate(self) -> float:
        """Today's plasticity gate g(t)."""
        return float(self.model.cohort.gate[self.row])

    @property
    def synapses(self) -> int:
        return int(self.mask.sum())

    @property
    def rearing_history(self) -> list[tuple[int, str]]:
        """(day, condition label) for each day lived so far."""
        labels = self.model.condition_labels[self.group]
        return [(d, labels[d]) for d in range(self.age)]

    def responses(self) -> tuple[np.ndarray, np.ndarray]:
        """Mean response of each neuron to the test patterns through each eye."""
        left, right = self.model.eye_responses()  # today's, measured with the day
        return left[self.row], right[self.row]

    def odi(self) -> np.ndarray:
        """Ocular dominance index of each neuron; NaN where it is unresponsive (summed
        response below :data:`devsim.measures.RESPONSIVE_FLOOR`, as the OD measures count)."""
        return responsive_odi(*self.responses())

    def synapse_graph(self) -> nx.DiGraph:
        """The organism's synaptic graph (see :func:`devsim.wiring.synapse_graph`; on a
        sheet :func:`devsim.sheet.synapse_graph`, with grid positions and lateral edges)."""
        model = self.model
        if model.sheet:
            genes = {name: values[self.row] for name, values in model.genes.items()}
            size, patch = model.cohort.size, model.cohort.patch
            return sheet.synapse_graph(self.weights, self.mask, size, patch, genes)
        return synapse_graph(self.weights, self.mask, model.world.channels)

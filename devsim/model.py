"""DevelopmentModel: groups of organisms developing day by day under their rearing timelines.

One model step is one day of life. Age ``d`` is the state after ``d`` days; a rearing
interval ``[from, to)`` covers days ``from .. to - 1``, so its immediate effect is read at
age ``to``.
"""

from __future__ import annotations

from collections.abc import Sequence

import mesa
import numpy as np

from devsim.cohort import Cohort
from devsim.genome import SPECIES, Genome, gene_table
from devsim.measures import acuity, eye_responses, summarize_od
from devsim.organism import Organism
from devsim.scenario import DRUGS, Group, Scenario
from devsim.senses import VisualWorld, WorldParams, eye_inputs

DAILY_METRICS = (
    "mean_odi",
    "cbi",
    "binocular_fraction",
    "responsive_fraction",
    "response_left",
    "response_right",
    "plasticity",
    "synapses",
)


class DevelopmentModel(mesa.Model):
    """Groups of developing organisms reared under different conditions.

    Parameters
    ----------
    groups : the groups to compare (:class:`devsim.scenario.Group` or dicts in the
        scenario format).
    species : default genome preset for groups that name none.
    days : the lifetime to simulate (the model stops running at this age).
    neurons, presentations_per_day, batch_size : cortical size and daily experience.
    world : statistics of the visual world.
    rng : seed or ``numpy.random.Generator``; every random draw comes from it.
    """

    def __init__(
        self,
        groups: Sequence[Group | dict] = ({"name": "control", "organisms": 16},),
        species: str = "mouse",
        days: int = 45,
        neurons: int = 32,
        presentations_per_day: int = 640,
        batch_size: int = 16,
        world: WorldParams | None = None,
        rng=None,
    ):
        super().__init__(rng=rng)
        scenario = Scenario.model_validate(
            {
                "name": "model",
                "species": species,
                "days": days,
                "neurons": neurons,
                "presentations_per_day": presentations_per_day,
                "batch_size": batch_size,
                "groups": [
                    g.model_dump(by_alias=True) if isinstance(g, Group) else g for g in groups
                ],
            }
        )
        self.groups = scenario.groups
        self.reference = scenario.reference
        self.days = days
        self.age = 0
        self.world_params = world or WorldParams()
        self.world = VisualWorld(self.rng, self.world_params)

        genomes, group_of, litter = [], [], []
        for gi, group in enumerate(self.groups):
            genome = Genome.preset(group.species or species, group.genome)
            for i in range(group.organisms):
                genomes.append(genome)
                group_of.append(gi)
                litter.append(i)
        self.group_of = np.array(group_of)
        self.genes = gene_table(genomes)
        self.cohort = Cohort(
            self.rng,
            self.genes,
            np.array(litter),
            self.world,
            neurons=neurons,
            presentations_per_day=presentations_per_day,
            batch_size=batch_size,
            labels=[
                f"organism {i} of group {self.groups[gi].name!r}"
                for gi, i in zip(group_of, litter, strict=True)
            ],
        )
        for row, genome in enumerate(genomes):
            Organism(self, genome, self.groups[group_of[row]].name, litter[row], row)
        self._build_timelines(species)

        self.datacollector = mesa.DataCollector(model_reporters={"groups": "group_metrics"})
        self.group_metrics = self.measure_groups()
        self.datacollector.collect(self)

    # --- rearing timelines: what each group's eyes receive on each day ---------------
    def _build_timelines(self, species: str) -> None:
        g, d = len(self.groups), self.days
        self.pattern_gain = np.zeros((g, d, 2))
        self.noise_sigma = np.zeros((g, d, 2))
        self.independent = np.zeros((g, d), dtype=bool)
        self.drug = np.zeros((g, d))
        self.condition_labels: dict[str, list[str]] = {}
        for gi, group in enumerate(self.groups):
            opening = SPECIES[group.species or species].eye_opening_day
            labels = []
            for day in range(d):
                condition, eye = ("normal", None) if day >= opening else ("dark", None)
                label = "eyes closed" if day < opening else "normal"
                for item in group.rearing:
                    if item.start <= day < item.end:
                        condition, eye = item.condition, item.eye
                        label = condition + (f" ({eye})" if eye else "")
                gain, sigma, independent = eye_inputs(condition, eye, self.world_params)
                self.pattern_gain[gi, day] = gain
                self.noise_sigma[gi, day] = sigma
                self.independent[gi, day] = independent
                for treatment in group.treatments:
                    if treatment.start <= day < treatment.end:
                        self.drug[gi, day] += DRUGS[treatment.drug]
                        label += f" + {treatment.drug}"
                labels.append(label)
            self.condition_labels[group.name] = labels

    # --- one day of life ---------------------------------------------------------------
    def step(self) -> None:
        """Live one day: every organism's synapses advance together in one kernel."""
        if self.age >= self.days:
            self.running = False
            return
        day, g = self.age, self.group_of
        self.cohort.develop_day(
            self.rng,
            day,
            self.pattern_gain[g, day],
            self.noise_sigma[g, day],
            self.independent[g, day],
            self.drug[g, day],
        )
        self.age += 1
        self.group_metrics = self.measure_groups()
        self.datacollector.collect(self)
        if self.age >= self.days:
            self.running = False

    # --- measures ------------------------------------------------------------------------
    def measure_groups(self, with_acuity: bool = False) -> dict[str, dict]:
        """Today's group metrics (pooled over each group's neurons)."""
        r_left, r_right = eye_responses(self.cohort.weights, self.world.test_patterns)
        synapses = self.cohort.synapse_counts()
        if with_acuity:
            acu_left, acu_right = acuity(
                self.cohort.weights,
                self.world.gratings,
                self.world.cortical_noise,
                self.world_params.acuity_sfs,
            )
        out = {}
        for gi, group in enumerate(self.groups):
            sel = self.group_of == gi
            metrics = summarize_od(r_left[sel], r_right[sel])
            metrics.update(
                response_left=float(r_left[sel].mean()),
                response_right=float(r_right[sel].mean()),
                plasticity=float(self.cohort.gate[sel].mean()),
                synapses=float(synapses[sel].mean()),
            )
            if with_acuity:
                metrics.update(
                    acuity_left=float(acu_left[sel].mean()),
                    acuity_right=float(acu_right[sel].mean()),
                )
            out[group.name] = metrics
        return out

    def organisms(self, group: str | None = None) -> list[Organism]:
        """The organisms, optionally of one group, in cohort order."""
        agents = sorted(self.agents, key=lambda a: a.row)
        return [a for a in agents if group is None or a.group == group]

    def daily(self) -> dict[str, dict[str, list]]:
        """Per group, the daily series of :data:`DAILY_METRICS` for ages 0..age."""
        records = self.datacollector.get_model_vars_dataframe()["groups"].tolist()
        return {
            group.name: {
                "day": list(range(len(records))),
                **{m: [r[group.name][m] for r in records] for m in DAILY_METRICS},
            }
            for group in self.groups
        }


def build_model(scenario: Scenario) -> DevelopmentModel:
    """A DevelopmentModel for a validated scenario, seeded by the scenario's seed."""
    return DevelopmentModel(
        groups=scenario.groups,
        species=scenario.species,
        days=scenario.days,
        neurons=scenario.neurons,
        presentations_per_day=scenario.presentations_per_day,
        batch_size=scenario.batch_size,
        rng=np.random.default_rng(scenario.seed),
    )

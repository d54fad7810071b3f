"""DevelopmentModel: groups of organisms developing day by day under their rearing timelines.

One model step is one day of life. Age ``d`` is the state after ``d`` days; a rearing
interval ``[from, to)`` covers days ``from .. to - 1``, so its immediate effect is read at
age ``to``.
"""

from __future__ import annotations

from collections.abc import Mapping

import mesa
import numpy as np

from devsim import maps, sheet
from devsim.budget import physical_memory, scenario_cost, size_text
from devsim.cohort import Cohort
from devsim.errors import DevsimInputError
from devsim.genome import SPECIES, Genome, gene_table
from devsim.measures import (
    DAILY_METRICS,
    acuity,
    at_ceiling,
    eye_responses,
    organism_cbi,
    sample_sd,
    summarize_od,
)
from devsim.organism import Organism
from devsim.results import Results
from devsim.scenario import (
    DRUGS,
    SEED_MAX,
    Group,
    Scenario,
    World,
    parse_scenario,
    with_world,
)
from devsim.senses import Span, VisualWorld, WorldParams, rearing_inputs


class DevelopmentModel(mesa.Model):
    """Groups of developing organisms reared under different conditions.

    Built from a validated :class:`devsim.scenario.Scenario` (the run contract: scenario
    -> model -> :meth:`results`). In a notebook, keywords in the scenario format build the
    scenario once: ``DevelopmentModel(days=30, groups=[{"name": "control"}])``.

    Parameters
    ----------
    scenario : the experiment; None to build it from ``settings``.
    rng : seed or ``numpy.random.Generator``; every random draw comes from it (default:
        the scenario's seed). A whole number replaces the scenario's seed (the results
        record it); with a generator (or a ``SeedSequence``...) the results record no seed
        (``null``): no seed reproduces the run.
    world : the visual world: a :class:`devsim.senses.WorldParams`, or a table of its
        rearing statistics as a scenario's ``[world]`` (``{"sigma_closed": 1.5}``). The
        rearing statistics it sets (the lid's light, darkness, open-eye noise, retinal
        waves) go into the scenario's ``world`` table, so the run's record holds them
        (:func:`devsim.scenario.with_world`; one the scenario's own table sets otherwise is
        refused); a WorldParams' apparatus (banks, acuity test) is used as given, and
        ``devsim.save_run`` refuses to record a run that changed it.
    settings : scenario fields (``groups``, ``species``, ``days``, ``neurons``, ...), only
        without ``scenario``.
    """

    def __init__(
        self,
        scenario: Scenario | None = None,
        *,
        rng=None,
        world: WorldParams | None = None,
        **settings,
    ):
        if scenario is None:
            scenario = scenario_from_settings(settings)
        elif not isinstance(scenario, Scenario):
            raise TypeError(
                "scenario: expected a devsim Scenario (load_scenario(path or shipped name), "
                f"parse_scenario(dict)), got {type(scenario).__name__}"
            )
        elif settings:
            hint = " (the seed is rng=...)" if "seed" in settings else ""
            raise TypeError(
                f"give a scenario or settings, not both: {sorted(settings)}{hint}; "
                "scenario.with_changes(...) changes a scenario"
            )
        # validated again: a scenario changed without validation (pydantic's model_copy)
        # must not run silently wrong, e.g. with a suture past the end of life
        scenario = parse_scenario(scenario.model_dump(by_alias=True), "scenario")
        if world is not None:  # its rearing statistics become the scenario's, as recorded
            scenario = with_world(scenario, world)
        # a whole number is the run's seed (checked as a file's is, and recorded); anything
        # else numpy takes (a Generator, a SeedSequence...) gives draws no seed names
        if isinstance(rng, float | str):  # numpy's own error names no argument
            raise TypeError(
                f"rng: a seed is a whole number 0..{SEED_MAX} (or a numpy Generator); got {rng!r}"
            )
        self.seeded = rng is None or isinstance(rng, int | np.integer)
        if rng is not None and self.seeded:
            seed = rng if isinstance(rng, bool) else int(rng)  # a bool is refused as a seed
            scenario = parse_scenario({**scenario.model_dump(by_alias=True), "seed": seed}, "rng")
        # a job this machine cannot hold is refused before anything is allocated
        need, have = scenario_cost(scenario).memory, physical_memory()
        if need > have:
            raise DevsimInputError(
                f"scenario: would need about {size_text(need)} of memory, more than this "
                f"machine's {size_text(have)} (fewer organisms, neurons or sheet units)"
            )
        rng = np.random.default_rng(scenario.seed if self.seeded else rng)
        super().__init__(rng=rng)
        self.experiment = scenario
        self.groups = scenario.groups
        self.reference = scenario.reference
        self.days = scenario.days
        self.age = 0
        # the scenario's rearing statistics, on the apparatus (banks, acuity test) of a
        # WorldParams passed in; a table of statistics, or none, has the standard world's
        apparatus = WorldParams() if world is None or isinstance(world, Mapping) else world
        self.world_params = (scenario.world or World()).params(apparatus)
        self.sheet = scenario.cortex == "sheet"
        units = scenario.sheet_size**2 if self.sheet else scenario.neurons
        if units > self.world_params.max_neurons:  # the cortical noise has a row for each
            raise DevsimInputError(
                f"world.max_neurons: {self.world_params.max_neurons}; allowed: at least the "
                f"cortex's {units} units"
            )
        if self.sheet:
            self.world = sheet.SheetWorld(self.rng, self.world_params, scenario.sheet_size)
        else:
            self.world = VisualWorld(self.rng, self.world_params)

        genomes, group_of, litter = [], [], []
        for gi, group in enumerate(self.groups):
            genome = Genome.preset(group.species or scenario.species, group.genome)
            for i in range(group.organisms):
                genomes.append(genome)
                group_of.append(gi)
                litter.append(i)
        self.group_of = np.array(group_of)
        self.genes = gene_table(genomes)
        # the reference group's wiring is every littermate's that shares its wiring genes
        names = [g.name for g in self.groups]
        reference = genomes[group_of.index(names.index(self.reference))]
        self.cohort = (sheet.SheetCohort if self.sheet else Cohort)(
            self.rng,
            self.genes,
            np.array(litter),
            self.world,
            neurons=scenario.neurons,
            presentations_per_day=scenario.presentations_per_day,
            batch_size=scenario.batch_size,
            labels=[
                f"organism {i} of group {self.groups[gi].name!r}"
                for gi, i in zip(group_of, litter, strict=True)
            ],
            wiring_genes=(reference["density"], reference["contra_bias"]),
        )
        for row, genome in enumerate(genomes):
            Organism(self, genome, self.groups[group_of[row]].name, litter[row], row)
        self._build_timelines()
        self._responses: tuple = (-1, None)  # (age, eye responses of all organisms then)
        # A sheet's maps, one per day lived (map stability, development figures, the page).
        self.orientation_history: list[np.ndarray] = []
        self.od_history: list[np.ndarray] = []

        # One row per (group, day, metric): the tidy record that results() reads.
        self.datacollector = mesa.DataCollector(
            tables={"daily": ["group", "day", "metric", "value"]}
        )
        self._collect(self.measure_groups())

    # --- rearing timelines: what each group's eyes receive on each day ---------------
    def _build_timelines(self) -> None:
        g, d = len(self.groups), self.days
        self.pattern_gain = np.zeros((g, d, 2))
        self.noise_sigma = np.zeros((g, d, 2))
        self.independent = np.zeros((g, d), dtype=bool)
        self.treatment = np.zeros((g, d, len(DRUGS)))
        self.condition_labels: dict[str, list[str]] = {}
        for gi, group in enumerate(self.groups):
            opening = SPECIES[group.species or self.experiment.species].eye_opening_day
            spans = [Span(r.start, r.end, r.condition, r.eye) for r in group.rearing]
            gain, sigma, independent, labels = rearing_inputs(d, opening, spans, self.world_params)
            self.pattern_gain[gi], self.noise_sigma[gi], self.independent[gi] = (
                gain,
                sigma,
                independent,
            )
            labels = list(labels)
            for treatment in group.treatments:  # treatments act on the circuit, not the eyes
                for day in range(treatment.start, treatment.end):
                    self.treatment[gi, day, DRUGS.index(treatment.drug)] = 1.0
                    labels[day] += f" + {treatment.drug}"
            self.condition_labels[group.name] = labels

    # --- one day of life ---------------------------------------------------------------
    def step(self) -> None:
        """Live one day: every organism's synapses advance together in one kernel."""
        if self.age >= self.days:
            self.running = False
            return
        self.cohort.develop_day(self.rng, self.age, *self.day_inputs(self.age))
        self.age += 1
        self._collect(self.measure_groups())
        if self.age >= self.days:
            self.running = False

    def day_inputs(self, day: int, rows=slice(None)) -> tuple[np.ndarray, ...]:
        """What organisms ``rows`` receive on ``day``: pattern gain, noise, independent eyes
        (strabismus) and treatments (name -> dose), as
        :meth:`devsim.cohort.Cohort.develop_day` takes them."""
        g = self.group_of[rows]
        return (
            self.pattern_gain[g, day],
            self.noise_sigma[g, day],
            self.independent[g, day],
            {name: self.treatment[g, day, k] for k, name in enumerate(DRUGS)},
        )

    # --- measures ------------------------------------------------------------------------
    def measure_groups(self, with_acuity: bool = False) -> dict[str, dict]:
        """Today's group metrics (pooled over each group's neurons)."""
        inhibition = self.cohort.circuit.pv_inhibition(self.genes)
        r_left, r_right = self.eye_responses()
        if self.sheet:
            odi_maps, orientation, selectivity = self.maps(inhibition, r_left, r_right)
            if len(self.orientation_history) <= self.age:
                self.orientation_history.append(orientation.astype(np.complex64))
                self.od_history.append(odi_maps.astype(np.float32))
        synapses = self.cohort.synapse_counts()
        if with_acuity:
            if self.sheet:
                acu_left, acu_right = sheet.acuity(self.cohort, self.world, inhibition)
            else:
                acu_left, acu_right = acuity(
                    self.cohort.weights,
                    self.world.gratings,
                    self.world.cortical_noise,
                    self.world_params.acuity_sfs,
                    inhibition,
                )
            ceiling = at_ceiling(acu_left, acu_right, self.world_params.acuity_sfs)
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
                each = organism_cbi(r_left[sel], r_right[sel])
                opened_day = self.cohort.circuit.opened_day[sel]
                opened = opened_day[~np.isnan(opened_day)]
                metrics.update(
                    cbi_sd=sample_sd(each),
                    # per animal, in litter order: organism i of every group are littermates
                    per_organism={"cbi": each.tolist(), "window_opened": opened_day.tolist()},
                    acuity_left=float(acu_left[sel].mean()),
                    acuity_right=float(acu_right[sel].mean()),
                    acuity_at_ceiling=float(ceiling[sel].mean()),
                    window_opened_share=opened.size / int(sel.sum()),
                    window_opened=float(opened.mean()) if opened.size else float("nan"),
                    # the sample sd, as batch and validate give spreads; none of one animal
                    window_opened_sd=sample_sd(opened),
                )
                if self.sheet:
                    history = np.array(self.orientation_history)  # (days, o, size, size)
                    metrics.update(
                        maps.group_maps(
                            [
                                maps.organism_maps(
                                    odi_maps[k], history[-1, k], history[:, k], selectivity[k]
                                )
                                for k in np.flatnonzero(sel)
                            ]
                        )
                    )
            out[group.name] = metrics
        return out

    def eye_responses(self, rows: slice | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Today's mean response of every neuron (unit) of organisms ``rows`` (default all)
        to the test patterns through each eye alone, with today's PV inhibition: (R_left,
        R_right), each (o, neurons)."""
        if rows is None and self._responses[0] == self.age:  # today's, measured already
            return self._responses[1]
        whole = rows is None
        rows = slice(None) if rows is None else rows
        inhibition = self.cohort.circuit.pv_inhibition(self.genes)[rows]
        if self.sheet:
            out = sheet.eye_responses(self.cohort, self.world, inhibition, rows)
        else:
            out = eye_responses(self.cohort.weights[rows], self.world.test_patterns, inhibition)
        if whole:
            self._responses = (self.age, out)
        return out

    def maps(self, inhibition=None, r_left=None, r_right=None) -> tuple[np.ndarray, ...]:
        """A sheet's maps today: (OD maps (o, size, size) of ODI, orientation maps (o, size,
        size) complex, from the responses pooled over the test frequencies as imaging pools
        its conditions, and each unit's selectivity at the frequency that drives its sheet
        most (o, units); see :mod:`devsim.maps`)."""
        if not self.sheet:
            raise ValueError('maps: only a sheet cortex (cortex = "sheet") has maps')
        if inhibition is None:
            inhibition = self.cohort.circuit.pv_inhibition(self.genes)
        if r_left is None:
            r_left, r_right = self.eye_responses()
        size = self.cohort.size
        odi = maps.od_map(r_left, r_right, size)
        tuning = sheet.orientation_responses(self.cohort, self.world, inhibition)
        return odi, maps.orientation_map(tuning.mean(axis=1), size), maps.unit_selectivity(tuning)

    def map_record(self) -> dict:
        """A sheet's maps for figures and ``maps.npz``: per organism its ``group`` and
        ``litter`` position, today's ``od`` (ODI) and ``orientation`` maps, and their
        histories ``od_history`` / ``history`` (day, organism, size, size) from age 0."""
        if not self.sheet:
            raise ValueError('map_record: only a sheet cortex (cortex = "sheet") has maps')
        return {
            "group": [self.groups[g].name for g in self.group_of],
            "litter": [agent.litter for agent in self.organisms()],
            "od": self.od_history[-1],
            "orientation": self.orientation_history[-1],
            "od_history": np.array(self.od_history),
            "history": np.array(self.orientation_history),
        }

    def organisms(self, group: str | None = None) -> list[Organism]:
        """The organisms, optionally of one group, in cohort order."""
        if group is not None and group not in (names := [g.name for g in self.groups]):
            raise ValueError(f"no group {group!r}; allowed: {', '.join(names)}")
        agents = sorted(self.agents, key=lambda a: a.row)
        return [a for a in agents if group is None or a.group == group]

    def _collect(self, metrics: dict[str, dict]) -> None:
        """Record today's group metrics (plain values) in the DataCollector's table."""
        self.group_metrics = metrics
        for name, values in metrics.items():
            for metric in DAILY_METRICS:
                self.datacollector.add_table_row(
                    "daily",
                    {"group": name, "day": self.age, "metric": metric, "value": values[metric]},
                )

    def results(self) -> Results:
        """The run's results so far: the tidy daily table and today's final measures."""
        return Results(
            scenario=self.experiment,
            age=self.age,
            daily=self.datacollector.get_table_dataframe("daily"),
            final=self.measure_groups(with_acuity=True),
            seeded=self.seeded,
        )

    def daily(self) -> dict[str, dict[str, list]]:
        """Per group, the daily series of :data:`DAILY_METRICS` for ages 0..age (read from
        the record only: the final measures, acuity and maps, are not computed)."""
        table = self.datacollector.get_table_dataframe("daily")
        return Results(self.experiment, self.age, table, final={}).daily_series()


def scenario_from_settings(settings: dict) -> Scenario:
    """A validated scenario from keyword settings (the notebook convenience)."""
    data = {"name": "model", "groups": [{"name": "control"}], **settings}
    data["groups"] = [
        g.model_dump(by_alias=True) if isinstance(g, Group) else g for g in data["groups"]
    ]
    return parse_scenario(data, "settings")

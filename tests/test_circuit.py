"""The critical window as a circuit (issue 14): it reads the cortex's activity, never the
rearing; treatments act on the circuit only; brakes hold plasticity and can be released.

Behavioural: windows are timed from runs (the opening day, the gate), and treatments are
judged by what they do to the circuit's state, never by a constant.
"""

from __future__ import annotations

import ast

import numpy as np
import pytest
from test_layers import LAYERS, modules

from devsim.cohort import Cohort
from devsim.genome import Genome, gene_table
from devsim.model import DevelopmentModel
from devsim.plasticity import TREATMENTS, Circuit
from devsim.senses import CONDITIONS, VisualWorld


def docstrings(tree: ast.AST) -> set[int]:
    """ids of the string constants that are docstrings (module, class, function)."""
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                out.add(id(body[0].value))
    return out


def test_only_senses_knows_what_a_rearing_condition_is():
    """No module of the numerics or models layers but ``senses`` names a rearing condition
    (in code: a string constant equal to a condition's name), so the circuit cannot branch
    on one. Scenario-building runners (profiles, validation) write conditions; they are
    above the model."""
    names = set(CONDITIONS)
    below = LAYERS["numerics"] | LAYERS["models"]
    offenders = []
    for module, path in modules():
        first = module.split(".")[1]
        if first not in below or first == "senses":
            continue
        tree = ast.parse(path.read_text())
        skip = docstrings(tree)
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                if id(node) not in skip and node.value in names:
                    offenders.append(f"{module}:{node.lineno} {node.value!r}")
    assert not offenders, offenders


def test_the_circuit_takes_activity_and_treatments_not_inputs():
    """The window's daily step is given the activity the circuit produced and the day's
    treatments; nothing of what the eyes were shown."""
    import inspect

    params = list(inspect.signature(Circuit.advance).parameters)
    assert params == ["self", "genes", "activity", "treatments", "day", "days"]


def genes_of(species: str = "mouse", n: int = 4, **overrides) -> dict[str, np.ndarray]:
    table = gene_table([Genome.preset(species)] * n)
    for name, value in overrides.items():
        table[name] = np.full(n, float(value))
    return table


def live(circuit: Circuit, genes, activity: float, days: range, treatments=None) -> None:
    n = len(genes["eta"])
    for day in days:
        doses = {k: np.full(n, v) for k, v in (treatments or {}).items()}
        circuit.dose(genes, doses)  # as a cohort's day: the doses at its start
        circuit.advance(genes, np.full(n, activity * genes["a_ref"][0]), doses, day)


def test_maturation_follows_activity():
    genes = genes_of(mat_noise=0.0)
    seen, quiet = Circuit(4), Circuit(4)
    live(seen, genes, 1.0, range(40))
    live(quiet, genes, 0.0, range(40))
    assert seen.maturity.min() > quiet.maturity.max()
    assert np.all(seen.opened_day < 40)
    # without activity maturation is slower: the share a_vis is driven by it
    assert np.isnan(quiet.opened_day).all() or quiet.opened_day.min() > seen.opened_day.max()


def adult(genes, activity: float = 1.0) -> Circuit:
    circuit = Circuit(len(genes["eta"]))
    live(circuit, genes, activity, range(80))
    return circuit


def test_brakes_close_the_window_and_releasing_any_one_reopens_it():
    genes = genes_of(mat_noise=0.0)
    closed = adult(genes)
    assert closed.triggered.all()
    assert closed.gate(genes).max() < 0.05
    # darkness wears the perineuronal nets off (activity-dependent brake loss)
    dark = adult(genes)
    live(dark, genes, 0.1, range(80, 90))
    assert dark.nets.max() < 0.5 * closed.nets.min()
    assert dark.gate(genes).min() > 5 * closed.gate(genes).max()
    # chondroitinase digests the nets
    digested = adult(genes)
    live(digested, genes, 1.0, range(80, 83), {"chondroitinase": 1.0})
    assert digested.gate(genes).min() > 5 * closed.gate(genes).max()
    # fluoxetine lowers inhibition, through which the brakes act
    fluoxetine = adult(genes)
    live(fluoxetine, genes, 1.0, range(80, 90), {"fluoxetine": 1.0})
    assert fluoxetine.inhibition.max() < closed.inhibition.min()
    assert fluoxetine.gate(genes).min() > 5 * closed.gate(genes).max()
    # without Lynx1 the brakes never hold
    ko = genes_of("lynx1_ko", mat_noise=0.0)
    lynx1_ko = adult(ko)
    assert not lynx1_ko.lynx.any()
    assert lynx1_ko.gate(ko).min() > 0.5


def test_diazepam_triggers_a_window_that_weak_inhibition_never_opens():
    ko = genes_of("gad65_ko", mat_noise=0.0)
    untreated, treated = Circuit(4), Circuit(4)
    live(untreated, ko, 1.0, range(40))
    live(treated, ko, 1.0, range(28), None)
    live(treated, ko, 1.0, range(28, 30), {"diazepam": 1.0})
    live(treated, ko, 1.0, range(30, 32))
    assert not untreated.triggered.any()
    assert treated.triggered.all()
    assert np.all(treated.opened_day == 28)
    # the pulse is over, inhibition is back below theta_open, and the window is open
    assert np.all(treated.inhibition < ko["theta_open"])
    assert treated.gate(ko).min() > 0.5 > untreated.gate(ko).max()


def test_potentiation_is_held_by_part_of_the_brakes_only():
    genes = genes_of(mat_noise=0.0, ltp_brake=0.5)
    circuit = adult(genes)
    assert np.all(circuit.potentiation(genes) > circuit.gate(genes))
    full = genes_of(mat_noise=0.0, ltp_brake=1.0)
    assert np.allclose(adult(full).potentiation(full), adult(full).gate(full))


def opening_days(pattern_gain: float, organisms: int = 6, mat_noise: float = 0.1, days=34):
    """Opening days of a cohort whose eyes deliver patterns at ``pattern_gain`` from P14."""
    rng = np.random.default_rng(5)
    world = VisualWorld(rng)
    genes = genes_of(n=organisms, mat_noise=mat_noise)
    cohort = Cohort(rng, genes, np.arange(organisms), world, presentations_per_day=160)
    sigma, independent = np.full((organisms, 2), 0.3), np.zeros(organisms, bool)
    for day in range(days):
        gain = np.full((organisms, 2), pattern_gain if day >= 14 else 0.0)
        cohort.develop_day(rng, day, gain, sigma, independent)
    return cohort.circuit.opened_day


def test_the_window_opens_later_when_vision_evokes_less_activity():
    """Contrast is no condition: the eyes deliver weaker patterns, the cortex is less
    active and its inhibition matures later."""
    strong, weak = opening_days(1.0), opening_days(0.35)
    assert np.nanmean(strong) + 1 < np.nanmean(np.where(np.isnan(weak), 34, weak))


def test_littermates_open_their_windows_on_different_days():
    assert np.std(opening_days(1.0, organisms=10)) > np.std(
        opening_days(1.0, organisms=10, mat_noise=0.0)
    )


@pytest.mark.parametrize("drug", sorted(TREATMENTS))
def test_treatments_reach_the_circuit_not_the_eyes(drug):
    groups = [
        {"name": "control", "organisms": 2},
        {"name": "treated", "organisms": 2, "treatments": [{"from": 0, "to": 3, "drug": drug}]},
    ]
    model = DevelopmentModel(days=3, groups=groups, presentations_per_day=16)
    control, treated = model.day_inputs(1, slice(0, 2)), model.day_inputs(1, slice(2, 4))
    for a, b in zip(control[:3], treated[:3], strict=True):  # what the eyes deliver
        assert np.array_equal(a, b)
    assert not control[3][drug].any()
    assert treated[3][drug].all()


def test_an_adult_loses_its_nets_while_the_drive_stays_below_the_one_it_is_used_to():
    genes = genes_of(mat_noise=0.0)
    deprived, control = adult(genes, activity=1.3), adult(genes, activity=1.3)
    closed = deprived.gate(genes).copy()
    gates = []
    for day in range(80, 87):  # an MD lowers the PV drive by about a quarter
        live(deprived, genes, 1.0, range(day, day + 1))
        live(control, genes, 1.3, range(day, day + 1))
        gates.append(deprived.gate(genes).mean())
    # plasticity builds up day by day, as in adult MD (Sato & Stryker 2008)
    assert np.all(np.diff(gates) > 0)
    assert gates[-1] > 2 * gates[2] > 2 * closed.mean()
    assert control.gate(genes).max() < 1.1 * closed.max()
    # the lower drive becomes the norm and the window closes again
    live(deprived, genes, 1.0, range(87, 180))
    assert deprived.gate(genes).max() < 1.5 * closed.max()
    # the nets of a cortex used to a drive below normal vision's are kept by normal vision's
    dim = adult(genes, activity=0.6)
    assert dim.nets.min() < 0.5 * control.nets.min()


def test_retinal_waves_not_darkness_before_the_eyes_open():
    from devsim.senses import Span, WorldParams, rearing_inputs

    world = WorldParams()
    gain, sigma, independent, labels = rearing_inputs(6, 3, [Span(0, 5, "dark", None)], world)
    # before eye opening each retina makes its own waves, even in a dark room
    assert np.all(gain[:3] == world.wave_gain)
    assert independent[:3].all()
    # after it darkness is spontaneous activity only
    assert np.all(gain[3:5] == 0.0)
    assert not independent[3:5].any()
    assert np.all(sigma[:5] == world.sigma_dark)
    assert labels[:5] == ("eyes not yet open; dark",) * 3 + ("dark",) * 2


def test_sprouting_needs_more_activity_than_darkness_leaves():
    from devsim.wiring import sprouting_activity

    genes = genes_of(n=1)
    rows = [
        sprouting_activity(
            np.array([v]), genes["sprout_act"], genes["sprout_floor"], genes["sprout_drive"]
        )[0]
        for v in (0.2, 0.35, 1.0)
    ]
    assert rows[0] == 0.0 < rows[1] < rows[2] == 1.0
    # measured, not assumed: a dark-reared mouse does not pile up synapses by P45
    scenario = {
        "species": "mouse",
        "days": 45,
        "seed": 3,
        "groups": [
            {"name": "light", "organisms": 4},
            {
                "name": "dark",
                "organisms": 4,
                "rearing": [{"from": 0, "to": 45, "condition": "dark"}],
            },
        ],
    }
    model = DevelopmentModel(**scenario)
    for _ in range(45):
        model.step()
    synapses = model.cohort.mask.reshape(len(model.group_of), -1).sum(axis=1)
    light, dark = (synapses[model.group_of == g].mean() for g in (0, 1))
    assert 0.8 * light < dark < 1.2 * light


def test_a_dose_acts_on_the_plasticity_of_the_days_it_is_given_and_not_after():
    """Fluoxetine over [70, 72) raises the gate the plasticity kernel is given on days 70
    and 71, not 69 and not 72 (the day's doses were applied at its end, so a course acted
    from its second day to the day after its last)."""
    groups = [
        {"name": "control", "organisms": 2},
        {"name": "treated", "organisms": 2,
         "treatments": [{"from": 70, "to": 72, "drug": "fluoxetine"}]},
    ]  # fmt: skip
    model = DevelopmentModel(days=73, groups=groups, presentations_per_day=16, rng=0)
    kernel, gates = model.cohort._kernel, {}
    prepare = kernel.prepare_day

    def spy(genes, gate, *args, **kwargs):  # the gate each day's plasticity runs under
        gates[model.age] = gate[2:].mean() / gate[:2].mean()  # treated / control
        return prepare(genes, gate, *args, **kwargs)

    kernel.prepare_day = spy
    while model.running:
        model.step()
    assert gates[69] == pytest.approx(1.0)
    assert gates[70] > 3
    assert gates[71] > 3
    assert gates[72] < 1.5


def test_a_treatment_the_circuit_does_not_know_is_refused():
    genes = genes_of()
    with pytest.raises(ValueError, match="unknown treatment"):
        Circuit(4).dose(genes, {"fluoxetin": np.ones(4)})


@pytest.mark.parametrize("drug", sorted(TREATMENTS))
def test_a_dose_gives_the_same_inhibition_at_the_days_start_and_end(drug):
    """The day's inhibition is set twice, by dose at its start (the gate) and by advance at
    its end (the trigger): one formula, so a drug acts the same on both."""
    genes = genes_of(mat_noise=0.0)
    circuit = adult(genes)
    doses = {drug: np.ones(4)}
    circuit.dose(genes, doses)
    started = circuit.inhibition.copy()
    circuit.advance(genes, np.ones(4) * genes["a_ref"][0], doses, 80, days=0.0)
    assert np.array_equal(circuit.inhibition, started)

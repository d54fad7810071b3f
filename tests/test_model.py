"""The Mesa layer: organisms as agents, genomes, graphs, reproducibility."""

from __future__ import annotations

import json

import networkx as nx
import numpy as np
import pytest

from devsim.errors import DevsimInputError
from devsim.genome import DEVELOPMENT_GENES, GENE_BY_NAME, GENE_NAMES, SHEET_GENES, Genome
from devsim.model import DevelopmentModel

GROUPS = [
    {"name": "control", "organisms": 3},
    {"name": "ko", "organisms": 2, "species": "gad65_ko"},
]


def small_model(rng=5, **kw):
    return DevelopmentModel(groups=GROUPS, days=6, presentations_per_day=64, rng=rng, **kw)


def test_organisms_are_agents_with_views_into_the_cohort():
    model = small_model()
    organisms = model.organisms()
    assert len(model.agents) == 5
    assert [o.group for o in organisms] == ["control"] * 3 + ["ko"] * 2
    organism = organisms[4]
    organism.weights[0, 0] = 0.123
    assert model.cohort.weights[4, 0, 0] == np.float32(0.123)
    assert organism.genome["g_inh"] < organisms[0].genome["g_inh"]


def test_an_organisms_odi_leaves_out_the_cells_the_od_measures_call_unresponsive():
    """organism.odi() is NaN where a neuron's summed response is below the floor the OD
    histogram, CBI and maps use (it was NaN only for a response of exactly 0)."""
    from devsim.measures import RESPONSIVE_FLOOR, ocular_dominance_index

    model = small_model()
    model.step()
    organism = model.organisms()[0]
    left, right = organism.responses()
    left[:] = 1.0
    right[:] = 0.5
    left[0], right[0] = RESPONSIVE_FLOOR / 4, RESPONSIVE_FLOOR / 4  # weak, not silent
    odi = organism.odi()
    assert np.isnan(odi[0])
    assert np.allclose(odi[1:], ocular_dominance_index(left[1:], right[1:]))


def test_one_step_is_one_day_and_the_model_stops_at_its_lifetime():
    model = small_model()
    model.step()
    assert model.age == 1
    while model.running:
        model.step()
    assert model.age == 6
    assert len(model.daily()["control"]["day"]) == 7
    assert model.organisms()[0].rearing_history[0] == (0, "eyes not yet open")


def test_synapse_graph_matches_the_arrays():
    model = small_model()
    model.step()
    organism = model.organisms()[1]
    graph = organism.synapse_graph()
    assert isinstance(graph, nx.DiGraph)
    assert graph.number_of_edges() == organism.synapses == int(organism.mask.sum())
    kinds = nx.get_node_attributes(graph, "kind")
    assert sum(k == "cortex" for k in kinds.values()) == model.cohort.neurons
    assert sum(k == "left" for k in kinds.values()) == model.world.channels
    source, target, weight = next(iter(graph.edges(data="weight")))
    assert kinds[target] == "cortex"
    assert kinds[source] in ("left", "right")
    row = target[1]
    col = source[1] + (model.world.channels if source[0] == "right" else 0)
    assert weight == pytest.approx(float(organism.weights[row, col]))


def test_same_seed_same_state_different_seed_differs():
    a, b, c = small_model(rng=1), small_model(rng=1), small_model(rng=2)
    for model in (a, b, c):
        model.step()
        model.step()
    assert np.array_equal(a.cohort.weights, b.cohort.weights)
    assert not np.array_equal(a.cohort.weights, c.cohort.weights)


def test_littermates_start_identical_across_groups():
    model = small_model()
    control, ko = model.organisms("control"), model.organisms("ko")
    assert np.array_equal(control[0].weights, ko[0].weights)
    assert not np.array_equal(control[0].weights, control[1].weights)


def _wiring_groups(bias: float) -> list[dict]:
    return [
        {"name": "control", "organisms": 2},
        {"name": "ipsi", "organisms": 2, "genome": {"contra_bias": bias, "density": 0.2}},
    ]


def _contra_share(model: DevelopmentModel, group: str) -> float:
    """The share of a group's initial synapses that come from the contralateral eye."""
    c = model.world.channels
    mask = np.stack([o.mask for o in model.organisms(group)])
    return float(mask[..., :c].sum() / mask.sum())


def test_a_groups_wiring_genes_wire_its_own_animals_whatever_the_groups_order():
    """Every littermate was wired with the first group's density and contra_bias: a group
    that set them was wired as the control (a sweep over them changed nothing), and listed
    first it wired the control as itself. Its own wiring moves no other group's run."""
    groups = _wiring_groups(0.1)
    first = DevelopmentModel(groups=groups, days=2, presentations_per_day=64, rng=3)
    second = DevelopmentModel(groups=groups[::-1], days=2, presentations_per_day=64, rng=3)
    for model in (first, second):
        assert _contra_share(model, "control") > 0.6  # the mouse's contra_bias 0.7
        assert _contra_share(model, "ipsi") < 0.2
    for group in ("control", "ipsi"):  # the order of the groups changes nobody's wiring
        for a, b in zip(first.organisms(group), second.organisms(group), strict=True):
            assert np.array_equal(a.weights, b.weights)
    # nor do the other group's values (a sweep's points keep the control's run: the own
    # draws took the model's stream, and the smallest genes the shared draw)
    other = DevelopmentModel(groups=_wiring_groups(0.9), days=2, presentations_per_day=64, rng=3)
    for model in (first, other):
        while model.running:
            model.step()
    for a, b in zip(first.organisms("control"), other.organisms("control"), strict=True):
        assert np.array_equal(a.weights, b.weights)
    # a group that sets the control's own values is the control's littermates again
    same = _wiring_groups(0.7)
    same[1]["genome"] = {"contra_bias": Genome.preset("mouse")["contra_bias"]}
    model = DevelopmentModel(groups=same, days=2, presentations_per_day=64, rng=3)
    control, other = model.organisms("control"), model.organisms("ipsi")
    assert np.array_equal(control[0].weights, other[0].weights)


POINT_GENES = [n for n in DEVELOPMENT_GENES if n not in SHEET_GENES]


@pytest.mark.parametrize("name", POINT_GENES)
def test_a_gene_set_in_one_group_acts_on_that_group(name):
    """Every gene a group's genome sets reaches its own animals (density and contra_bias
    were taken from the first group's for every littermate): after 60 days its animals'
    synapses differ from their littermates'."""
    gene, value = GENE_BY_NAME[name], Genome.preset("mouse")[name]
    moved = value + 0.5 * ((gene.high if value < gene.high else gene.low) - value)
    # an MD in both groups: the genes of the brakes' loss act when the drive falls
    # the same MD and adult darkness in both groups: the genes of the brakes' loss act
    # only when the drive falls below what the cortex is used to
    rearing = [
        {"from": 26, "to": 32, "condition": "lid_suture", "eye": "left"},
        {"from": 50, "to": 60, "condition": "dark"},
    ]
    groups = [
        {"name": "control", "organisms": 2, "rearing": rearing},
        {"name": "changed", "organisms": 2, "rearing": rearing, "genome": {name: moved}},
    ]
    model = DevelopmentModel(groups=groups, days=60, rng=2)
    while model.running:
        model.step()
    pairs = zip(model.organisms("control"), model.organisms("changed"), strict=True)
    assert not any(np.array_equal(a.weights, b.weights) for a, b in pairs)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"eta": 1e9}, "gene 'eta' = 1000000000.0 is out of bounds; allowed"),
        ({"nonsense": 1.0}, "unknown gene 'nonsense'"),
        ({"g_inh": "high"}, "gene 'g_inh' must be a number in"),
    ],
)
def test_invalid_genes_name_the_gene_and_its_range(overrides, message):
    with pytest.raises(DevsimInputError, match=message.replace("(", r"\(")):
        Genome.preset("mouse", overrides)


def test_presets_differ_where_the_biology_does():
    mouse, cat, ko = (Genome.preset(s) for s in ("mouse", "cat", "gad65_ko"))
    assert set(mouse.values) == set(GENE_NAMES)
    assert cat.eye_opening_day < mouse.eye_opening_day
    assert cat["r_mat"] < mouse["r_mat"]  # slower maturation: a later, longer window
    assert ko["g_inh"] < mouse["g_inh"]


def test_littermates_reared_alike_stay_identical_and_other_groups_do_not_move_them():
    """Group differences come from rearing and genes, not sampling: two groups reared alike
    stay synapse for synapse the same through pruning and sprouting (their pruning draws
    were one per organism, so littermate controls drifted apart from day 2, by as much as
    a late MD's shift), and a further group no larger than the litter changes nothing."""
    alike = [{"name": "a", "organisms": 3}, {"name": "b", "organisms": 3}]
    pair = DevelopmentModel(groups=alike, days=24, presentations_per_day=64, rng=5)
    with_md = DevelopmentModel(
        groups=[*alike, {"name": "md", "organisms": 2,
                         "rearing": [{"from": 12, "to": 24, "condition": "lid_suture",
                                      "eye": "left"}]}],
        days=24, presentations_per_day=64, rng=5,
    )  # fmt: skip
    for model in (pair, with_md):
        while model.running:
            model.step()
    a, b = pair.organisms("a"), pair.organisms("b")
    assert pair.cohort.mask.sum() != pair.cohort.mask[:1].sum() * 6  # they pruned and grew
    for x, y in zip(a, b, strict=True):
        assert np.array_equal(x.weights, y.weights)
    assert pair.daily()["a"] == pair.daily()["b"]
    assert with_md.daily()["a"] == pair.daily()["a"]
    md = with_md.organisms("md")[0].weights
    assert not np.array_equal(md, with_md.organisms("a")[0].weights)  # deprivation acts


def test_the_results_record_the_seed_the_draws_came_from():
    """rng=99 with a scenario of seed 3 ran seed 99's draws while summary.json said 3; a
    generator passed in names no seed, so the results record none."""
    scenario = DevelopmentModel(groups=GROUPS, days=3, presentations_per_day=32, seed=3).experiment

    def lived(model):
        while model.running:
            model.step()
        return json.loads(json.dumps(model.results().summary()), parse_constant=str)  # NaN

    by_rng = lived(DevelopmentModel(scenario, rng=99))
    by_seed = lived(DevelopmentModel(scenario.model_copy(update={"seed": 99})))
    assert by_rng == by_seed
    assert by_rng["seed"] == 99
    external = lived(DevelopmentModel(scenario, rng=np.random.default_rng(99)))
    assert external["seed"] is None
    assert external["groups"] == by_rng["groups"]
    assert lived(DevelopmentModel(scenario, rng=np.int64(99))) == by_rng  # numpy's integers
    sequence = lived(DevelopmentModel(scenario, rng=np.random.SeedSequence(99)))
    assert sequence["seed"] is None
    for bad in (-1, True, 2**40):
        with pytest.raises(DevsimInputError, match="rng: seed"):
            DevelopmentModel(scenario, rng=bad)


@pytest.mark.parametrize(("condition", "changes"), [("lid_suture", False), ("inactivate", True)])
def test_before_eye_opening_a_suture_changes_nothing_and_ttx_silences_the_waves(condition, changes):
    """Lids not yet open are shut: a lid suture from P5 gave the other eye patterned vision
    nine days before the mouse's eyes open. TTX in one eye still stops its retinal waves."""
    groups = [
        {"name": "control", "organisms": 2},
        {"name": "treated", "organisms": 2,
         "rearing": [{"from": 5, "to": 12, "condition": condition, "eye": "left"}]},
    ]  # fmt: skip
    model = DevelopmentModel(groups=groups, days=12, presentations_per_day=64, rng=3)
    while model.running:
        model.step()
    control, treated = model.organisms("control"), model.organisms("treated")
    same = all(np.array_equal(c.weights, t.weights) for c, t in zip(control, treated, strict=True))
    assert same is not changes
    assert treated[0].rearing_history[-1][1].startswith("eyes not yet open; ")

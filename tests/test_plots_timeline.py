"""The run's timeline figure: below the ODI and the gate, one protocol lane per group that
has rearing, treatments or another strain, so a scenario of many groups stays readable."""

from __future__ import annotations

from matplotlib.figure import Figure

from devsim.experiment import run_scenario
from devsim.plots.development import CONDITION_COLOURS, DRUG_COLOURS, _protocol, timeline
from devsim.scenario import Scenario

SCENARIO = {
    "name": "protocol lanes",
    "days": 6,
    "neurons": 2,
    "presentations_per_day": 16,
    "groups": [
        {"name": "control", "organisms": 1},
        {
            "name": "reverse",
            "organisms": 1,
            "rearing": [
                {"from": 1, "to": 3, "condition": "lid_suture", "eye": "left"},
                {"from": 3, "to": 5, "condition": "lid_suture", "eye": "right"},
            ],
        },
        {
            "name": "two_drugs",
            "organisms": 1,
            "treatments": [
                {"from": 1, "to": 4, "drug": "fluoxetine"},
                {"from": 2, "to": 5, "drug": "chondroitinase"},
            ],
        },
        {"name": "knockout", "organisms": 1, "species": "lynx1_ko"},
    ],
}


def _lanes_drawn():
    scenario = Scenario.model_validate(SCENARIO)
    lanes = [g for g in scenario.groups if g.name != "control"]
    ax = Figure().subplots()
    colours = {"reverse": "#ff0000", "two_drugs": "#00ff00", "knockout": "#0000ff"}
    _protocol(ax, lanes, colours, scenario.species)
    return ax


def test_each_group_with_a_protocol_has_a_lane_named_in_its_colour_first_on_top():
    ax = _lanes_drawn()
    labels = [(t.get_text(), t.get_color()) for t in ax.get_yticklabels()]
    # y grows upward: the last lane is at the bottom
    assert labels == [("knockout", "#0000ff"), ("two_drugs", "#00ff00"), ("reverse", "#ff0000")]


def test_intervals_drugs_and_strains_are_drawn_and_named_once_in_the_legend():
    ax = _lanes_drawn()
    bars = list(ax.patches)
    colours = sorted({tuple(round(c, 3) for c in p.get_facecolor()[:3]) for p in bars})
    assert len(bars) == 4  # two suture intervals, two drug courses
    assert len(colours) == 3  # lid suture, fluoxetine, chondroitinase
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == ["lid suture", "fluoxetine", "chondroitinase"]  # as first drawn
    texts = sorted(t.get_text() for t in ax.texts)
    assert texts == ["left", "lynx1_ko", "right"]  # the closed eye on its bar; the strain
    # two drugs at once share the lane in two thin rows, not on top of each other
    fluoxetine, chabc = (
        next(p for p in bars if p.get_facecolor()[:3] == _rgb(DRUG_COLOURS[d]))
        for d in ("fluoxetine", "chondroitinase")
    )
    assert fluoxetine.get_y() != chabc.get_y()
    suture = [p for p in bars if p.get_facecolor()[:3] == _rgb(CONDITION_COLOURS["lid_suture"])]
    assert [p.get_x() for p in suture] == [1, 3]


def _rgb(hex_colour: str) -> tuple[float, float, float]:
    return tuple(int(hex_colour[i : i + 2], 16) / 255 for i in (1, 3, 5))


def test_the_timeline_draws_a_scenario_of_many_groups(tmp_path):
    data = dict(SCENARIO)
    data["groups"] = SCENARIO["groups"] + [
        {
            "name": f"extra_{k}",
            "organisms": 1,
            "rearing": [{"from": 2, "to": 4, "condition": "dark"}],
        }
        for k in range(9)
    ]
    scenario = Scenario.model_validate(data)
    summary = run_scenario(scenario)[0]
    timeline(summary, scenario, tmp_path / "t.png")
    assert (tmp_path / "t.png").stat().st_size > 1000

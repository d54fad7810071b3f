"""The run's timeline figure and the page's timeline chart: below the ODI and the gate,
one protocol lane per group that has rearing, treatments or another strain, so a scenario
of many groups stays readable."""

from __future__ import annotations

from matplotlib.figure import Figure

from devsim.experiment import run_scenario
from devsim.model import DevelopmentModel
from devsim.plots.development import CONDITION_COLOURS, DRUG_COLOURS, protocol_lanes, timeline
from devsim.scenario import Scenario
from devsim.viz import figures
from devsim.viz.charts import _protocol_rows, timeline_spec

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
    handles = protocol_lanes(ax, lanes, colours, scenario.species)
    return ax, handles


def test_each_group_with_a_protocol_has_a_lane_named_in_its_colour_first_on_top():
    ax, _ = _lanes_drawn()
    labels = [(t.get_text(), t.get_color()) for t in ax.get_yticklabels()]
    # y grows upward: the last lane is at the bottom
    assert labels == [("knockout", "#0000ff"), ("two_drugs", "#00ff00"), ("reverse", "#ff0000")]


def test_intervals_drugs_and_strains_are_drawn_and_named_once_in_the_legend():
    ax, handles = _lanes_drawn()
    bars = list(ax.patches)
    colours = sorted({tuple(round(c, 3) for c in p.get_facecolor()[:3]) for p in bars})
    assert len(bars) == 4  # two suture intervals, two drug courses
    assert len(colours) == 3  # lid suture, fluoxetine, chondroitinase
    assert list(handles) == ["lid suture", "fluoxetine", "chondroitinase"]  # as first drawn
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
        for k in range(20)  # 24 groups: the legend goes under the panels
    ]
    scenario = Scenario.model_validate(data)
    summary = run_scenario(scenario)[0]
    timeline(summary, scenario, tmp_path / "t.png")
    assert (tmp_path / "t.png").stat().st_size > 1000


def test_the_page_timeline_has_the_same_lanes_below_its_panels():
    model = DevelopmentModel(Scenario.model_validate(SCENARIO))
    lanes, bars, texts = _protocol_rows(model)
    assert lanes == ["reverse", "two drugs", "knockout"]  # display names, control has none
    assert [(b["group"], b["kind"], b["what"]) for b in bars] == [
        ("reverse", "rearing", "lid suture (left)"),
        ("reverse", "rearing", "lid suture (right)"),
        ("two drugs", "drug", "fluoxetine"),
        ("two drugs", "drug", "chondroitinase"),
    ]
    assert [t["text"] for t in texts] == ["left", "right", "lynx1_ko"]
    panels = timeline_spec(model)["vconcat"]
    assert len(panels) == 3
    assert panels[2]["height"] == 18 * len(lanes)
    # the two drugs given together are drawn one under the other, not over each other
    drugs = [layer for layer in panels[2]["layer"] if layer["mark"].get("strokeWidth", 9) < 9]
    drawn = {layer["data"]["values"][0]["what"]: layer["mark"]["yOffset"] for layer in drugs}
    assert drawn["fluoxetine"] != drawn["chondroitinase"]
    assert all(-9 < offset < 9 for offset in drawn.values())  # inside the 18 px lane
    # a scenario of controls only draws no protocol panel
    alone = DevelopmentModel(
        Scenario.model_validate({**SCENARIO, "groups": SCENARIO["groups"][:1]})
    )
    assert len(timeline_spec(alone)["vconcat"]) == 2


def test_the_handout_timeline_keeps_long_names_inside_and_the_legend_off_the_axes():
    data = {**SCENARIO, "groups": [dict(g) for g in SCENARIO["groups"]]}
    data["groups"][1]["name"] = "reverse_after_window_chondroitinase"
    data["groups"][2]["name"] = "reverse_after_window_fluoxetine_and_more"
    model = DevelopmentModel(Scenario.model_validate(data))
    for _ in range(model.days):
        model.step()
    fig = figures.timeline_figure(model)
    renderer = fig.canvas.get_renderer()
    legend = fig.legends[0].get_window_extent(renderer)
    top_axes = max(ax.get_window_extent(renderer).y1 for ax in fig.axes)
    assert legend.y0 >= top_axes  # the groups' legend sits above the panels
    lanes = list(fig.axes[2].get_yticklabels())
    assert [t.get_text() for t in lanes][
        -1
    ] == "reverse after window chondroitinase"  # as the legend
    for text in lanes + [t for ax in fig.axes for t in ax.texts]:
        box = text.get_window_extent(renderer)
        assert fig.bbox.x0 <= box.x0, text.get_text()
        assert box.x1 <= fig.bbox.x1, text.get_text()


def test_lane_names_stay_inside_the_figure_at_the_lessons_page_resolution():
    """The lessons page saves the timeline at 150 dpi, where small text renders wider than
    at the 100 dpi its margin is measured at: "reverse after window chondroitinase" lost
    its first letter there."""
    import io

    import numpy as np
    from PIL import Image

    from devsim.scenario import load_scenario
    from devsim.shipped import scenario_path
    from devsim.viz.lessons_page import FIGURE_DPI

    scenario = load_scenario(scenario_path("reverse_suture")).with_changes(neurons=4)
    fig = figures.timeline_figure(DevelopmentModel(scenario))
    for dpi in (figures.DPI, FIGURE_DPI):
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png", dpi=dpi)
        pixels = np.asarray(Image.open(buffer).convert("L"))
        assert (pixels[:, :3] > 200).all(), dpi  # nothing drawn at the left edge


def test_every_condition_and_drug_has_a_colour_of_its_own():
    """A condition or drug added to devsim.senses or devsim.plasticity without a colour was
    drawn grey in the timeline, like any other unknown one."""
    from devsim.plasticity import TREATMENTS
    from devsim.senses import CONDITIONS

    assert set(CONDITION_COLOURS) == set(CONDITIONS)
    assert set(DRUG_COLOURS) == set(TREATMENTS)
    colours = [*CONDITION_COLOURS.values(), *DRUG_COLOURS.values()]
    assert len(set(colours)) == len(colours)

"""The browser page without a browser: solara.render of app.Page in a virtual kernel."""

from __future__ import annotations

import asyncio
import importlib.util
import io
from pathlib import Path

import ipyvuetify as v
import ipywidgets as widgets
import numpy as np
import pytest
import solara
import solara.server.app  # noqa: F401  (solara's ipywidgets/comm patches, as the server has)
import solara.server.kernel
import solara.server.kernel_context
from PIL import Image

from devsim.viz import PageModel, figures, model_params
from devsim.viz.page_model import presets

ROOT = Path(__file__).resolve().parents[1]


def _load_app():
    spec = importlib.util.spec_from_file_location("devsim_app", ROOT / "app.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


app = _load_app()


@pytest.fixture
def kernel_context():
    """A fresh virtual kernel per test: one browser session."""
    loop = asyncio.new_event_loop()
    context = solara.server.kernel_context.VirtualKernelContext(
        id="test", kernel=solara.server.kernel.Kernel(), session_id="s", event_loop=loop
    )
    try:
        with context:
            yield context
    finally:
        with context:
            context.close()
        loop.close()


@solara.component
def InAppLayout(page):
    with solara.AppLayout():  # SolaraViz's Sidebar and AppBar need it
        solara.Column(children=[page])


def _text(rc, cls: str) -> str:
    return rc.find(v.Html, class_=cls).widget.children[0]


def _click(rc, label: str) -> None:
    rc.find(v.Btn, children=[label]).widget.click()


def _set(rc, label: str, value) -> None:
    """Set a sidebar input by its label, as the user would."""
    rc.find(label=label).widget.v_model = value


@pytest.fixture
def page(kernel_context):
    _, rc = solara.render(InAppLayout(app.Page()), handle_error=False)
    yield rc
    rc.close()


def test_page_builds(page):
    assert [b.children for b in page.find(v.Btn).widgets] == [["Reset"], ["▶"], ["Step"]]
    assert _text(page, "devsim-age") == "Age: P0"
    assert _text(page, "devsim-window").startswith("Critical window: not yet open (gate 0.")
    assert len(page.find(widgets.Image).widgets) == 5  # litter, histogram, timeline, graph, RFs
    page.find(v.Html, class_="devsim-error").assert_empty()


def _images(rc) -> list[bytes]:
    return [w.value for w in rc.find(widgets.Image).widgets]


def test_step_advances_one_day_and_redraws(page):
    before = _images(page)
    _click(page, "Step")
    assert _text(page, "devsim-age") == "Age: P1"
    page.find(children=["Time: 1.0"]).assert_single()
    after = _images(page)
    assert all(a != b for a, b in zip(before, after, strict=True))  # every figure redrawn
    _click(page, "Step")
    assert _text(page, "devsim-age") == "Age: P2"


def test_choosing_an_organism_redraws_its_panels(page):
    select = page.find(v.Select, label="Organism to inspect").widget
    assert select.v_model == "lid suture left P24-28 #1"
    before = _images(page)
    select.v_model = "control #3"
    after = _images(page)
    # litter (outline), graph and receptive fields change; histogram and timeline do not
    assert sum(a != b for a, b in zip(before, after, strict=True)) == 3


def test_play_and_pause(page):
    _click(page, "▶")
    page.find(v.Html, class_="devsim-age", children=["Age: P2"]).wait_for(timeout=30)
    _click(page, "❚❚")


def test_parameter_change_and_reset_rebuild_the_model(page):
    _click(page, "Step")
    _set(page, "Organisms per group", 3)
    _set(page, "Seed (whole number)", "11")
    _set(page, "Rearing protocol (custom or a preset)", "md_critical")
    _click(page, "Reset")
    assert _text(page, "devsim-age") == "Age: P0"
    hist = _text(page, "devsim-hist")
    assert "control:" in hist
    assert "md_p24:" in hist
    # the select lists the new model's organisms: 2 groups x 3
    select = page.find(v.Select, label="Organism to inspect").widget
    assert select.items == [f"{g} #{i}" for g in ("control", "md_p24") for i in (1, 2, 3)]


def test_invalid_protocol_shows_an_error(page):
    _set(page, "Custom: from day", 30)
    _set(page, "Custom: to day", 20)  # the suture would end before it starts
    _click(page, "Reset")  # must not raise
    error = page.find(v.Alert, class_="devsim-error").widget
    assert "'to' (20) must be after 'from' (30)" in error.children[0]
    # the session goes on with the default protocol
    _click(page, "Step")
    assert _text(page, "devsim-age") == "Age: P1"


def test_day_outside_life_and_bad_seed_are_errors_too():
    model = PageModel(days=40, rearing_from=38, rearing_to=44)
    assert "outside the simulated life" in model.input_error
    assert model.days == PageModel().days  # the default protocol instead
    assert "seed" in PageModel(seed="x1").input_error
    assert PageModel(seed=" 12 ").input_error is None


def test_every_preset_builds():
    assert {"md_critical", "normal", "gad65"} <= set(presets())
    for name in presets():
        model = PageModel(protocol=name, organisms=1)
        assert model.input_error is None, name
        assert [g.name for g in model.groups] == [g.name for g in presets()[name].groups]


def test_model_params_match_the_model():
    """Every sidebar input is a PageModel argument, and its default the model's default."""
    model = PageModel()
    for name, spec in model_params().items():
        value = model.inputs[name]
        assert str(spec["value"]) == str(value), name
        if "min" in spec:
            assert spec["min"] <= value <= spec["max"], name


def test_gene_sliders_keep_species_values_at_default():
    cat = PageModel(species="cat", organisms=1)
    assert cat.genes["r_mat"][0] < 0.05  # the cat's own slower maturation
    moved = PageModel(species="cat", organisms=1, r_mat=0.1)
    assert moved.genes["r_mat"][0] == pytest.approx(0.1)


@pytest.mark.parametrize(("protocol", "organisms"), [("gad65", 1), ("dark_rearing", 20)])
def test_figures_draw_for_many_groups(protocol, organisms):
    model = PageModel(protocol=protocol, organisms=organisms, neurons=4)
    model.step()
    pngs = [figures.png(fig) for fig in figures.all_figures(model)]
    assert all(p.startswith(b"\x89PNG") for p in pngs)
    assert figures.open_spans([0.0, 0.6, 0.7, 0.2, 0.9]) == [(1, 2), (4, 4)]


def _pixels(png: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"), dtype=int)


@pytest.mark.parametrize("protocol", ["custom", "gad65"])
def test_page_figures_redraw_as_a_full_draw(protocol):
    """The page's day-by-day PNGs (only the changes redrawn) show what a full draw shows."""
    model = PageModel(protocol=protocol, organisms=3, days=30)
    organism = figures.default_organism(model)
    other = model.organisms()[1]
    kept = [
        (figures.LitterFigure(model), lambda f, o: f.update(model, o.row)),
        (figures.HistogramFigure(model), lambda f, o: f.update(model)),
        (figures.TimelineFigure(model), lambda f, o: f.update(model)),
        (figures.SynapseFigure(model), lambda f, o: f.update(o)),
        (figures.ReceptiveFieldFigure(model), lambda f, o: f.update(o)),
    ]
    for day in range(12):
        shown = other if day == 11 else organism  # a new organism chosen on the last day
        for page_figure, update in kept:
            page = update(page_figure, shown).png()
            if day in (0, 9, 10, 11):  # the first picture, then P9 -> P10 (a wider age)
                full = figures.png(page_figure.fig)
                differ = np.abs(_pixels(page) - _pixels(full)).max(axis=2) > 40
                assert differ.mean() < 1e-3, (type(page_figure).__name__, day)
        model.step()


def test_timeline_labels_are_not_cut_at_the_last_day():
    model = PageModel(rearing_from=50, rearing_to=54)
    while model.running:
        model.step()
    fig = figures.timeline_figure(model)
    renderer = fig.canvas.get_renderer()
    texts = [t for ax in fig.axes for t in ax.texts]
    assert any(t.get_text() == "lid suture (left)" for t in texts)
    assert any(t.get_text() == f"today P{model.days}" for t in texts)
    for text in texts:
        assert text.get_window_extent(renderer).x1 <= fig.bbox.x1, text.get_text()

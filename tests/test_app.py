"""The browser page without a browser: solara.render of app.Page in a virtual kernel."""

from __future__ import annotations

import asyncio
import importlib.util
import io
import json
import math
import re
import shutil
import time
import uuid
from pathlib import Path
from urllib.parse import parse_qsl

import ipyvue
import ipyvuetify as v
import ipywidgets as widgets
import numpy as np
import pandas as pd
import pytest
import solara
import solara.server.app  # noqa: F401  (solara's ipywidgets/comm patches, as the server has)
import solara.server.kernel
import solara.server.kernel_context
import solara.server.starlette  # noqa: F401  (as in the server: reactive state is per session)
from PIL import Image

from devsim.genome import SPECIES, Genome
from devsim.plasticity import WINDOW_OPEN_GATE
from devsim.shipped import scenario_dir
from devsim.viz import PageModel, charts, components, figures, model_params
from devsim.viz.page_model import CUSTOM, PAGE_GENES, load_presets, presets

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
        id=f"test-{uuid.uuid4()}",  # a new session: the page's state is per kernel id
        kernel=solara.server.kernel.Kernel(),
        session_id="s",
        event_loop=loop,
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
    with solara.AppLayout():
        solara.Column(children=[page])


def _text(rc, cls: str) -> str:
    return rc.find(v.Html, class_=cls).widget.children[0]


def _click(rc, cls: str) -> None:
    rc.find(v.Btn, class_=cls).widget.click()


def _set(rc, name: str, value) -> None:
    """Set a settings field (``devsim-input-NAME``) as the user would, and wait until a
    setting made at P0 has been applied."""
    components.settings_open.set(True)
    field = rc.find(class_=f"devsim-input-{name}").widget.children[0]
    field.v_model = value
    if isinstance(field, v.TextField):  # a text field reports its value when left
        field.fire_event("focusout", None)
    deadline = time.monotonic() + 10
    while components.check(components.draft.value) is None and components._fresh():
        if components.draft.value == components.session.value.inputs:
            time.sleep(0.3)  # applied; its render (in the timer's thread) ends in a moment
            break
        assert time.monotonic() < deadline, "a setting at P0 was never applied"
        time.sleep(0.05)


def _panels(rc):
    (widget,) = [w for w in rc.find(ipyvue.VueTemplate).widgets if hasattr(w, "specs")]
    return widget


def _charts(rc) -> dict[str, dict]:
    """Each panel: its name -> {"spec", "sets"} as sent to the browser today."""
    widget = _panels(rc)
    today = json.loads(widget.payload)
    return {
        p["name"]: {
            "spec": p["spec"],
            "sets": today["sets"][p["name"]],
            "version": today["version"],
        }
        for p in json.loads(widget.specs)
    }


@pytest.fixture
def page(kernel_context):
    _, rc = solara.render(InAppLayout(app.Page()), handle_error=False)
    yield rc
    rc.close()


def test_page_builds(page):
    labels = [b.children[-1] for b in page.find(v.Btn).widgets if b.children]
    assert {"Step", "Play", "Reset"} <= set(map(str, labels))
    assert _text(page, "devsim-age") == "Age: P0"
    window = _text(page, "devsim-window")
    assert window.startswith("Critical window (control): not yet open (plasticity gate 0.")
    charts_ = _charts(page)
    assert list(charts_) == ["litter", "histogram", "timeline", "synapses", "receptive-fields"]
    page.find(v.Alert, class_="devsim-error").assert_empty()


def test_step_sends_new_data_not_pictures(page):
    before = _charts(page)
    _click(page, "devsim-step")
    assert _text(page, "devsim-age") == "Age: P1"
    after = _charts(page)
    for name in before:
        assert after[name]["spec"] == before[name]["spec"]  # built once per model
        assert after[name]["version"] != before[name]["version"]
    assert page.find(widgets.Image).widgets == []  # no server-drawn pictures


def test_choosing_an_organism_changes_its_panels_only(page):
    panels = _panels(page)
    assert json.loads(panels.payload)["animal"] == "lid suture left P24-28 #1"
    before = _charts(page)
    components.selected_organism.set("control #3")  # what the panel's chooser sends
    after = _charts(page)
    assert json.loads(panels.payload)["animal"] == "control #3"
    changed = {n for n in before if before[n]["sets"] != after[n]["sets"]}
    assert changed == {"litter", "synapses", "receptive-fields"}  # the outline moves too


def test_settings_apply_at_p0_and_are_pending_afterwards(page):
    _set(page, "organisms", 3)  # at P0: applied at once
    assert len(_charts(page)["litter"]["sets"]["litter"]) == 6
    page.find(v.Html, class_="devsim-pending").assert_empty()
    _click(page, "devsim-step")
    _set(page, "protocol", "md_critical")  # after a step: pending until Reset
    assert "press Reset" in _text(page, "devsim-pending")
    assert _text(page, "devsim-age") == "Age: P1"
    assert components.session.value.model.protocol.title.startswith("Custom")
    _click(page, "devsim-reset")
    assert _text(page, "devsim-age") == "Age: P0"
    assert components.session.value.model.protocol.title.startswith("Preset md_critical")
    page.find(v.Html, class_="devsim-pending").assert_empty()
    # the readable names reach the panels, and the previous run is drawn faintly
    rows = _charts(page)["timeline"]["sets"]["series"]
    assert {r["group"] for r in rows if r["run"] == "this run"} == {"control", "MD P24"}
    # the previous run's lines are drawn under the new run's groups, in order: a group whose
    # name changed (a moved suture, another protocol) was drawn under a name the chart did
    # not know, so not at all
    previous = {(r["group"], r["run"]) for r in rows if r["run"] != "this run"}
    assert previous == {
        ("control", "previous run"),
        ("MD P24", "previous run (lid suture left P24-28)"),
    }


def test_the_guide_follows_what_runs(page):
    """The guide promised the mouse's P24-P28 shift to a cat (whose window opens weeks
    later), vanished once its own suggestion (the late suture) was followed, and did not
    say that most of the shift recovers once the eye reopens in the window."""

    def guide() -> str:
        markdown = page.find(class_="devsim-intro").find(v.VuetifyTemplate).widget.template
        return " ".join(getattr(markdown, "template", markdown).split())  # the rendered HTML

    assert "most of the shift recovers" in guide()
    assert components.session.value.model.experiment.species == "mouse"
    assert _text(page, "devsim-protocol").endswith("· mouse")
    _set(page, "rearing_from", 50)
    _set(page, "rearing_to", 54)
    assert "set the suture to P50–P54" in guide()  # still there to check against
    _set(page, "species", "cat")
    assert "Each species has its own window" in guide()
    assert "closes the <em>left</em> eye from P50 to P54" in guide()  # what the cat runs
    assert "P24 to P28" not in guide()
    assert _text(page, "devsim-protocol").endswith("· cat")


def test_the_protocol_menu_reads_each_preset_by_its_title_and_name(page):
    components.settings_open.set(True)
    field = page.find(class_="devsim-input-protocol").widget.children[0]
    items = {item["value"]: item["text"] for item in field.items}
    assert list(items) == [components.CUSTOM, *presets()]
    title = presets()["md_critical"].name
    assert items["md_critical"] == f"{title} (md_critical)"
    assert items[components.CUSTOM].startswith("Custom")


def test_a_sweeps_base_is_no_preset_unless_it_is_an_experiment(tmp_path):
    """cp_profile_base (the profile sweep's starting point, described for developers) was in
    the protocol menu; md_critical, genome_sweep's base and row 2's experiment, stays."""
    assert "cp_profile_base" not in presets()
    assert {"md_critical", "normal", "gad65"} <= set(presets())
    shipped = scenario_dir()
    for name in ("cp_profile_base", "md_critical", "normal"):
        shutil.copy(shipped / f"{name}.toml", tmp_path)
    (tmp_path / "profile.toml").write_text('[sweep]\nbase = "cp_profile_base.toml"\n')
    (tmp_path / "genes.toml").write_text('[sweep]\nbase = "md_critical.toml"\n')
    assert set(load_presets(tmp_path)) == {"md_critical", "normal"}
    (tmp_path / "profile.toml").unlink()
    assert set(load_presets(tmp_path)) == {"cp_profile_base", "md_critical", "normal"}


def test_custom_fields_are_off_for_a_preset(page):
    _set(page, "protocol", "gad65")
    components.settings_open.set(True)
    field = page.find(class_="devsim-input-condition").widget.children[0]
    assert field.disabled


@pytest.mark.parametrize("seed", ["-3", "x1", "1e3", " "])
def test_invalid_settings_are_not_applied_and_say_why(page, seed):
    _set(page, "seed", seed)  # must not raise
    assert "seed: must be a whole number >= 0" in _text(page, "devsim-invalid")
    _click(page, "devsim-reset")  # restarts the run with its valid settings
    _click(page, "devsim-step")
    assert _text(page, "devsim-age") == "Age: P1"


def test_inverted_suture_is_named(page):
    _set(page, "rearing_from", 30)
    _set(page, "rearing_to", 20)
    said = _text(page, "devsim-invalid")
    assert "'to' (20) must be after 'from' (30)" in said
    assert said.count("group '") == 1, said  # named once (the file's error names it too)


def test_state_outlives_the_page_component(kernel_context):
    """Leaving the tab unmounts the page; coming back finds the same run."""
    _, rc = solara.render(InAppLayout(app.Page()), handle_error=False)
    _set(rc, "organisms", 2)
    for _ in range(3):
        _click(rc, "devsim-step")
    rc.close()
    _, rc = solara.render(InAppLayout(app.Page()), handle_error=False)
    assert _text(rc, "devsim-age") == "Age: P3"
    assert len(_charts(rc)["litter"]["sets"]["litter"]) == 4
    rc.close()


def test_keys_play_step_and_reset(page, monkeypatch):
    monkeypatch.setattr(components, "DOUBLE_CLICK", 0.0)  # presses faster than a person's
    components.on_key("step")
    assert _text(page, "devsim-age") == "Age: P1"
    components.speed.set(16)
    components.on_key("play")
    assert components.playing.value
    deadline = time.monotonic() + 30
    while components.session.value.model.age < 4:  # fast: several days per drawn frame
        assert time.monotonic() < deadline
        time.sleep(0.05)
    components.on_key("play")
    assert not components.playing.value
    components.on_key("reset")
    assert components.session.value.model.age == 0
    # a frame of the play loop may still be drawing the old run: the new one shows after it
    page.find(v.Html, class_="devsim-age", children=["Age: P0"]).wait_for(timeout=5)


def test_settings_show_their_numbers_and_the_genes_that_run(page):
    """A slider says its value without being dragged; a gene left at the mouse default says
    the value the chosen species runs; which eye is off for conditions of both eyes."""

    def label(name):
        components.settings_open.set(True)
        return page.find(class_=f"devsim-input-{name}").widget.children[0].label

    def disabled(name):
        return page.find(class_=f"devsim-input-{name}").widget.children[0].disabled

    assert label("days").endswith(f": {components.draft.value['days']}")
    mouse = Genome.preset("mouse").values["g_inh"]
    assert label("g_inh").endswith(f": {mouse:g}")
    _set(page, "species", "gad65_ko")
    ko = Genome.preset("gad65_ko").values["g_inh"]
    assert ko != mouse
    assert label("g_inh").endswith(f": {ko:g} (gad65_ko's own)")
    assert components.session.value.model.protocol.scenario.groups[0].genome == {}
    _set(page, "g_inh", 1.5)  # moved: every group runs the value set
    assert label("g_inh").endswith(": 1.5")
    assert components.session.value.model.protocol.scenario.groups[0].genome == {"g_inh": 1.5}
    _set(page, "protocol", components.CUSTOM)
    _set(page, "condition", "lid_suture")
    assert not disabled("eye")
    _set(page, "condition", "dark")
    assert disabled("eye")
    _set(page, "days", 40)  # a protocol's days reach as far as the life
    slider = page.find(class_="devsim-input-rearing_from").widget.children[0]
    assert slider.max == 40


def test_a_knockout_can_be_given_the_wild_types_gene(page):
    """A gene at the mouse default meant "the species' own": a GAD65 knockout's slider
    moved to the wild type's inhibition (1.0) jumped back to its own 0.35, and no link
    could ask for it."""
    wild = Genome.preset("mouse").values["g_inh"]
    _set(page, "species", "gad65_ko")
    _set(page, "g_inh", wild)
    label = page.find(class_="devsim-input-g_inh").widget.children[0].label
    assert label.endswith(f": {wild:g}")  # not "(gad65_ko's own)"
    run = components.session.value
    assert run.model.protocol.scenario.groups[0].genome == {"g_inh": wild}
    query = components.query_of(components.running_inputs(run))
    assert "explicit=g_inh" in query
    inputs, error = components.parse_inputs(dict(parse_qsl(query)))  # the link runs it again
    assert error is None
    assert PageModel(**{**inputs, "organisms": 1}).genes["g_inh"][0] == wild
    components.own_genes()  # back to the species' own
    assert components.draft.value["explicit"] == ""
    assert components.draft.value["g_inh"] == wild  # the mouse default: gad65_ko's own


def test_a_link_without_the_genes_it_set_keeps_its_meaning():
    """Links made before `explicit` carry every gene; at the mouse default they meant the
    species' own value, and still do."""
    inputs, error = components.parse_inputs({"species": "gad65_ko", "g_inh": "1.0"})
    assert error is None
    assert PageModel(**{**inputs, "organisms": 1}).genes["g_inh"][0] == pytest.approx(0.35)
    _, error = components.parse_inputs({"explicit": "g_inh,w_max"})
    assert error == (
        "link: field explicit: 'w_max' is no gene of the page; allowed: r_mat, g_inh, eta, "
        "tau_theta, joined by commas"
    )


def test_a_gene_slider_stands_at_the_value_it_names(page):
    """The cat's r_mat slider said 0.025 (the cat's own) with its thumb at the mouse's 0.048;
    the thumb stands at the value the species runs, and that value lies on the slider's grid
    (off it, the browser's slider rounds it and sends the rounded value back as a change)."""
    _set(page, "species", "cat")
    components.settings_open.set(True)
    slider = page.find(class_="devsim-input-r_mat").widget.children[0]
    cat = Genome.preset("cat").values["r_mat"]
    assert cat != Genome.preset("mouse").values["r_mat"]
    assert slider.v_model == pytest.approx(cat)
    assert slider.label.endswith(f": {cat:g} (cat's own)")
    assert components.draft.value["r_mat"] == Genome.preset("mouse").values["r_mat"]
    for name, _, low, _, step in PAGE_GENES:
        for species in SPECIES:
            steps = (Genome.preset(species).values[name] - low) / step
            assert steps == pytest.approx(round(steps), abs=1e-6), (name, species)


def test_pause_leaves_the_run_at_the_age_it_shows(page, monkeypatch):
    """Pause lets the day under way end and starts no other: the age beside "Play" stays."""
    monkeypatch.setattr(components, "DOUBLE_CLICK", 0.0)  # presses faster than a person's
    components.speed.set(32)  # several days per frame: a frame is under way most of the time
    for _ in range(5):
        components.toggle_play()
        start = components.session.value.model.age
        deadline = time.monotonic() + 30
        while components.session.value.model.age < start + 2:
            assert time.monotonic() < deadline
            time.sleep(0.01)
        components.toggle_play()
        assert not components.playing.value
        paused_at = components.session.value.model.age
        time.sleep(0.3)  # longer than a frame: an old frame would have stepped by now
        assert components.session.value.model.age == paused_at


def test_play_keeps_the_pace_and_stops_at_the_end(page):
    _set(page, "days", 30)
    assert components.session.value.model.days == 30
    components.speed.set(16)
    start = time.monotonic()
    _click(page, "devsim-play")
    page.find(v.Html, class_="devsim-age", children=["Age: P30"]).wait_for(timeout=30)
    elapsed = time.monotonic() - start
    assert elapsed > 29 / 16  # not faster than the speed
    page.find(v.Btn, class_="devsim-play", children=["Finished"]).wait_for(timeout=5)
    assert "Finished" in _text(page, "devsim-today")


def test_a_server_that_cannot_keep_the_speed_says_the_pace_it_keeps(page, monkeypatch):
    """At 16 days per second a busy server drew fewer frames, each with more days, and
    fell behind silently: the speed menu said 16 while the class saw 3."""
    original = components.advance

    def slow(days=1, *args, **kwargs):  # a day takes 0.25 s: at most 4 days per second
        time.sleep(0.25 * days)
        return original(days, *args, **kwargs)

    monkeypatch.setattr(components, "advance", slow)
    monkeypatch.setattr(components, "DOUBLE_CLICK", 0.0)  # presses faster than a person's
    _set(page, "days", 120)
    components.speed.set(16)
    _click(page, "devsim-play")
    behind = page.find(v.Html, class_="devsim-behind").wait_for(timeout=30)
    kept = float(re.search(r"keeps about ([\d.]+) days", behind.widget.children[0])[1])
    assert 0 < kept <= 4.5
    _click(page, "devsim-play")  # paused: nothing to say
    page.find(v.Html, class_="devsim-behind").wait_for("detached", timeout=10)
    components.speed.set(2)  # a pace the server keeps: nothing said while playing
    monkeypatch.setattr(components, "advance", original)
    _click(page, "devsim-play")
    time.sleep(2 * components.PACE_WINDOW + 0.5)
    assert components.playing.value
    page.find(v.Html, class_="devsim-behind").assert_empty()
    _click(page, "devsim-play")


@pytest.mark.parametrize(
    ("speed", "slow_days", "behind"),
    [(0.5, {5: 0.6}, False), (0.5, {5: 1.0}, False), (0.5, dict.fromkeys(range(40), 3.0), True),
     (4, {}, False), (4, dict.fromkeys(range(40), 0.5), True)],
)  # fmt: skip
def test_the_pace_kept_is_measured_over_days_not_one(kernel_context, monkeypatch, speed,
                                                     slow_days, behind):  # fmt: skip
    """At half a day per second one day 0.55 s slower than usual read as "the server keeps
    about 0.4 days per second" (a 2 s window held a single day); on a fake clock, only a
    server slow day after day is said to fall behind."""
    from types import SimpleNamespace

    clock = [0.0]
    monkeypatch.setattr(components, "time", SimpleNamespace(monotonic=lambda: clock[0]))
    run = SimpleNamespace(model=SimpleNamespace(age=0, days=40))
    said = []

    def advance(days, run_, cancel):  # each day takes its time on the fake clock
        for _ in range(min(days, run_.model.days - run_.model.age)):  # as advance() stops
            clock[0] += slow_days.get(run_.model.age, 0.05)
            run_.model.age += 1
        said.append(components.kept_pace.value)

    class Cancel:
        def is_set(self):
            return False

        def wait(self, seconds):
            clock[0] += seconds

    monkeypatch.setattr(components, "advance", advance)
    components.session.set(run)
    components.speed.set(speed)
    components.playing.set(True)
    components.play_loop(Cancel())
    assert run.model.age == 40
    warned = [value for value in said if value is not None]
    assert bool(warned) == behind, warned
    assert all(value < 0.8 * speed for value in warned)
    assert components.kept_pace.value is None  # the loop over: nothing said


def test_links_round_trip_and_bad_links_say_which_field():
    inputs = {**components.default_inputs(), "species": "cat", "organisms": 3, "seed": "11",
              "diazepam": True, "eta": 0.2}  # fmt: skip
    parsed, error = components.parse_inputs(dict(parse_qsl(components.query_of(inputs))))
    assert error is None
    assert parsed == inputs
    for query, field in [
        ("organisms=many", "organisms"),
        ("species=dog", "species"),
        ("eta=nan", "eta"),
        ("diazepam=maybe", "diazepam"),
        ("colour=red", "colour"),
        ("organisms=200", "organisms"),  # beyond the slider: a class server's minutes
        ("days=3650", "days"),
        ("organisms=0", "organisms"),
    ]:
        parsed, error = components.parse_inputs(dict(parse_qsl(query)))
        assert error.startswith("link: "), error
        assert repr(field) in error, error
        assert parsed == components.default_inputs()


@solara.component
def AtLink(query: str):
    """The page as if opened at ``/?query``."""
    solara.routing.router_context.provide(solara.routing.Router("/?" + query, routes=[]))
    return app.Page()


def test_a_link_builds_its_run(kernel_context):
    query = "species=mouse&protocol=md_critical&organisms=2&seed=5"
    _, rc = solara.render(InAppLayout(AtLink(query)), handle_error=False)
    model = components.session.value.model
    assert model.protocol.title.startswith("Preset md_critical")
    assert model.experiment.seed == 5
    assert len(model.organisms()) == 4
    rc.close()


def _guide(**changes) -> str:
    return " ".join(components.intro_text({**components.default_inputs(), **changes}).split())


def test_the_guide_says_which_suture_runs():
    """The guide told of the left eye at P24-P28 whatever eye and days were set, and told a
    GAD65 or Lynx1 knockout of a cat's window."""
    assert "closes the *left* eye from P24 to P28" in _guide()
    text = _guide(eye="right", rearing_from=30, rearing_to=35)
    assert "closes the *right* eye from P30 to P35" in text
    assert "shift toward the left eye" in text
    assert "set the suture to P50–P54" in _guide(rearing_from=50, rearing_to=54)
    assert "opens weeks later than a mouse" in _guide(species="cat")
    assert "closes the *left* eye from P35 to P45" in _guide(
        species="cat", rearing_from=35, rearing_to=45
    )
    assert "Tick diazepam" in _guide(species="gad65_ko")
    assert "diazepam from P20 to P22" in _guide(
        species="gad65_ko", diazepam=True, diazepam_from=20, diazepam_to=22
    )
    assert "Lynx1 knockout" in _guide(species="lynx1_ko")
    assert "cat" not in _guide(species="lynx1_ko") + _guide(species="gad65_ko")
    assert "suture" not in _guide(condition="dark") + _guide(protocol="md_critical")


def _page_shift(age: int | None = None, **settings) -> float:
    """The page's own run: control CBI minus the sutured group's at ``age`` (default: the
    day the lid opens)."""
    model = PageModel(**{**components.default_inputs(), **settings, "seed": 7})
    while model.age < (age or model.inputs["rearing_to"]):
        model.step()
    control, sutured = model.measure_groups().values()
    return control["cbi"] - sutured["cbi"]


def test_most_of_the_default_shift_recovers_as_the_guide_says():
    assert _page_shift(age=40) <= 0.5 * _page_shift()


@pytest.mark.parametrize(
    ("settings", "low", "high"),
    [
        ({}, 0.15, 0.3),  # "by P28 the CBI has fallen by about 0.2"
        ({"rearing_from": 50, "rearing_to": 54}, -0.05, 0.05),  # "the dip is tiny"
        ({"species": "cat"}, -0.1, 0.1),  # "the mouse's P24-P28 misses it"
        ({"species": "gad65_ko"}, -0.05, 0.05),  # "barely moves its histograms"
        (  # "the window opens"
            {"species": "gad65_ko", "diazepam": True, "diazepam_from": 20, "diazepam_to": 22},
            0.15,
            0.3,
        ),
        ({"species": "lynx1_ko", "rearing_from": 60, "rearing_to": 64, "days": 70}, 0.15, 0.3),
        ({"rearing_from": 60, "rearing_to": 64, "days": 70}, -0.05, 0.05),  # "hardly moves"
    ],
)
def test_what_the_guide_promises_the_page_shows(settings, low, high):
    """Each shift the guide tells a student to look for, on the page's own model (8 animals
    a group, the default seed): no promise the run does not keep."""
    assert low <= _page_shift(**settings) <= high


def _intro(rc) -> str:
    """The page's first words to a student (all the text under .devsim-intro)."""
    found = rc.find(v.Html, class_="devsim-intro").widget
    texts = []

    def walk(widget):
        for child in getattr(widget, "children", []) or []:
            texts.append(child) if isinstance(child, str) else walk(child)
        texts.append(getattr(widget, "template", "") or "")  # Markdown's rendered HTML

    walk(found)
    return " ".join(texts)


@pytest.mark.parametrize(
    ("query", "default_told"), [("", True), ("protocol=gad65&organisms=1", False)]
)
def test_what_to_do_first_comes_first_and_fits_the_protocol(kernel_context, query, default_told):
    """The instructions sat below every panel, and told of the default suture while a
    preset ran."""
    _, rc = solara.render(InAppLayout(AtLink(query)), handle_error=False)
    text = _intro(rc)
    assert "one day per Step" in text
    assert ("closes the <em>left</em> eye from P24 to P28" in text) == default_told
    rc.close()


def test_after_a_bad_link_the_guide_tells_of_what_runs(kernel_context):
    """The guide told of the link's settings (a cat's suture P30-P20) while the default
    protocol ran instead."""
    _, rc = solara.render(InAppLayout(AtLink("species=cat&rearing_from=30&rearing_to=20")),
                          handle_error=False)  # fmt: skip
    assert components.session.value.model.fell_back
    text = _intro(rc)
    assert "closes the <em>left</em> eye from P24 to P28" in text  # the default protocol
    assert "P30" not in text
    rc.close()


def test_a_bad_link_says_so_and_runs_the_rest(kernel_context):
    _, rc = solara.render(InAppLayout(AtLink("organisms=3&seed=-1")), handle_error=False)
    text = rc.find(v.Alert, class_="devsim-error").widget.children[0]
    assert "seed" in text
    assert "the default protocol runs instead" in text  # it did not say what runs
    assert len(components.session.value.model.organisms()) == 2 * 8  # the default protocol
    # one note, not the banner and the bar's "Not applied" both; the address bar and the
    # link to share carry what runs (they kept seed=-1)
    assert rc.find(v.Html, class_="devsim-invalid").widgets == []
    tools = [w for w in rc.find(ipyvue.VueTemplate).widgets if hasattr(w, "query")]
    assert [w.query for w in tools] == [components.query_of(components.default_inputs())]
    rc.close()


def test_a_fixed_setting_after_a_bad_link_says_if_it_is_still_wrong(kernel_context):
    _, rc = solara.render(InAppLayout(AtLink("rearing_from=30&rearing_to=20")), handle_error=False)
    assert "must be after" in rc.find(v.Alert, class_="devsim-error").widget.children[0]
    assert rc.find(v.Html, class_="devsim-invalid").widgets == []
    components.change("rearing_to", 25)  # still before 'from': now the bar says so
    assert "must be after" in _text(rc, "devsim-invalid")
    rc.close()


def test_a_preset_longer_than_the_life_set_says_how_long_it_lives(kernel_context):
    """The link said days=60 and the header P120 without a word why."""
    link = "protocol=recovery&days=60&organisms=2"
    _, rc = solara.render(InAppLayout(AtLink(link)), handle_error=False)
    assert components.session.value.model.days == 120
    components.settings_open.set(True)
    labels = [w.label for w in rc.find(v.Slider).widgets if w.label.startswith("Simulated")]
    assert labels == ["Simulated life (days): 60 (this preset lives to P120)"]
    rc.close()


def test_a_link_with_an_unreadable_field_runs_the_rest(kernel_context):
    _, rc = solara.render(InAppLayout(AtLink("organisms=3&colour=red")), handle_error=False)
    text = rc.find(v.Alert, class_="devsim-error").widget.children[0]
    assert "'colour'" in text
    assert "those fields keep their defaults, the rest apply" in text
    assert len(components.session.value.model.organisms()) == 2 * 3  # the link's organisms
    rc.close()


def test_a_link_with_several_bad_fields_names_each(kernel_context):
    """Every field the link got wrong is named, and what its settings do wrong after them
    (species=dog used to fall back to mouse in silence beside the seed's message)."""
    query = "species=dog&organisms=abc&seed=-1"
    _, rc = solara.render(InAppLayout(AtLink(query)), handle_error=False)
    text = rc.find(v.Alert, class_="devsim-error").widget.children[0]
    for field in ("'species'", "'organisms'", "seed"):
        assert field in text, text
    rc.close()


def test_every_panel_dataset_is_sent_and_is_plain_json():
    for protocol in ("custom", "gad65"):
        model = PageModel(protocol=protocol, organisms=2)
        model.step()
        organism = charts.default_organism(model)
        specs = charts.panel_specs(model)
        data = charts.panel_data(model, organism)
        assert specs.keys() == data.keys()
        for name, spec in specs.items():
            named = set(re.findall(r'"data": \{"name": "(\w+)"\}', json.dumps(spec)))
            assert named == set(data[name]), name
            json.dumps(data[name], allow_nan=False)  # NaN is sent as null, never as NaN


def test_every_layer_has_rows_to_draw():
    """A layer without data draws nothing: the gate panel's dotted line at the open gate,
    promised by its caption, was a rule with only a datum and never appeared."""
    for protocol in ("custom", "gad65", "sheet_mouse"):
        for name, spec in charts.panel_specs(PageModel(protocol=protocol, organisms=1)).items():
            views = spec.get("vconcat", [spec])
            for layer in (layer for view in views for layer in view["layer"]):
                assert "data" in layer, (protocol, name, layer["mark"])
    gate = charts.timeline_spec(PageModel(organisms=1))["vconcat"][1]
    (rule,) = [layer for layer in gate["layer"] if layer.get("name") == "open_gate"]
    assert rule["encoding"]["y"]["datum"] == WINDOW_OPEN_GATE
    assert rule["data"]["values"]


def test_sheet_models_show_maps():
    model = PageModel(protocol="sheet_mouse", organisms=1)
    model.step()
    organism = charts.default_organism(model)
    data = charts.panel_data(model, organism)
    assert "maps" in data
    assert "synapses" not in data
    size = model.cohort.size
    assert len(data["maps"]["maps"]) == 2 * 2 * size * size  # OD and orientation, 2 animals


def test_every_group_of_a_preset_has_its_own_colour():
    """The largest preset (adult_plasticity, 11 groups) drew its 8th group black like the
    control and three MD groups orange: the palette had 7 colours and cycled."""
    largest = max(presets(), key=lambda name: len(presets()[name].groups))
    model = PageModel(protocol=largest, organisms=1)
    scale = charts._group_colour(model)["scale"]
    assert len(scale["domain"]) == len(model.groups) >= 11
    assert len(set(scale["range"])) == len(scale["range"])


def test_a_window_on_its_way_up_is_opening():
    """A kitten's gate at P28 is ~0.2 and rising, and 4 days of MD from P24 already shift
    its CBI by 0.15: the header said "not yet open"."""
    model = PageModel(species="cat")
    while model.age < 28:
        model.step()
    gate = model.daily()[model.reference]["plasticity"]
    assert components.CLOSED_GATE <= gate[-1] < WINDOW_OPEN_GATE
    assert components.window_status(model).startswith("opening (plasticity gate")


def test_a_sheet_preset_keeps_its_own_litter():
    """The page's 8 animals per group made a sheet preset's day take ~1.5 s (Play stalled
    and overshot Pause); a sheet preset keeps its own 2 unless fewer are asked for."""
    own = presets()["sheet_md"].groups[0].organisms
    assert len(PageModel(protocol="sheet_md").organisms("control")) == own
    assert len(PageModel(protocol="sheet_md", organisms=1).organisms("control")) == 1
    assert len(PageModel(protocol="md_critical").organisms("control")) == 8  # point cortex


def test_litter_numbers_only_where_they_fit_and_names_never_overlap():
    """adult_plasticity (11 groups of 8) drew each square's number over its neighbours' and
    ran the group names into each other; a number hid its square's tooltip."""

    def layers(model):
        spec = charts.litter_spec(model)
        texts = [layer for layer in spec["layer"] if layer["mark"]["type"] == "text"]
        return texts[0]["mark"], texts[1:]

    names, numbers = layers(PageModel())  # the default: 2 groups of 8
    assert len(numbers) == 1
    assert "tooltip" in numbers[0]["encoding"]
    names, numbers = layers(PageModel(protocol="adult_plasticity"))
    assert numbers == []
    cols = charts._litter_layout(PageModel(protocol="adult_plasticity"))[2]
    assert names["limit"] <= 5 * charts.WIDTH / (cols + 1)  # a group's own 4 squares + gap


def test_histogram_names_and_captions_stay_within_their_group():
    for protocol in ("custom", "adult_plasticity"):
        model = PageModel(protocol=protocol, organisms=1)
        spec = charts.histogram_spec(model)
        per_row = charts.groups_per_row(len(model.groups))
        for row in spec.get("vconcat", [spec]):
            texts = [lay for lay in row["layer"] if lay["mark"]["type"] == "text"]
            assert len(texts) == 2
            for layer in texts:
                assert layer["mark"]["limit"] <= charts.WIDTH / per_row


@pytest.mark.parametrize("protocol", ["gad65", "dark_rearing", "adult_plasticity"])
def test_many_groups_wrap_into_rows_with_their_names_whole(protocol):
    """Six groups in one 420 px row cut their names to "co…" and ran the OD classes' labels
    together; now more than four groups stand three to a row, each name written whole (on
    more lines if it must) above its own histogram and squares."""
    model = PageModel(protocol=protocol, organisms=1)
    shown = [figures.display_name(g.name) for g in model.groups]
    assert len(shown) >= 5
    spec = charts.histogram_spec(model)
    rows = spec["vconcat"]
    assert len(rows) == math.ceil(len(shown) / 3)
    names = []
    for row in rows:
        (layer,) = [lay for lay in row["layer"] if lay.get("name", "").startswith("group_names")]
        names += [" ".join(item["name"]) for item in layer["data"]["values"]]
        # a row's x range holds three groups: 7 class labels each in >= 15 px
        low, high = row["layer"][1]["encoding"]["x"]["scale"]["domain"]
        assert (charts.WIDTH - 50) / (high - low) * 8 / 7 >= 15
        # each line fits its limit (at ~0.6 em a bold character) rather than being cut
        limit = layer["mark"]["limit"]
        for item in layer["data"]["values"]:
            assert all(len(line) * 0.6 * 11 <= limit for line in item["name"]), item
    assert names == shown
    # the litter: three groups to a row too, their names whole and above their own squares
    cells, labels, cols, (bottom, top) = charts._litter_layout(model)
    assert [" ".join(label["name"]) for label in labels] == shown
    assert len({label["y"] for label in labels}) >= 2  # wrapped
    xs = sorted({label["x"] for label in labels})
    assert len(xs) == 3
    spec = charts.litter_spec(model)
    (layer,) = [lay for lay in spec["layer"] if lay.get("name") == "group_names"]
    for label in labels:
        assert all(len(line) * 0.6 * 12 <= layer["mark"]["limit"] for line in label["name"])
    assert top < min(label["y"] for label in labels)  # the first row's names in the chart


def test_histogram_axis_fits_its_bars_with_room_for_the_captions():
    """The axis was fixed at 0-100 %, so the usual 10-35 % bars were short on a projector.
    Now it is 50 % until a bar outgrows it, and always leaves the captions' rows free."""
    assert figures.histogram_top(0.0) == figures.histogram_top(30.0) == 50.0
    for highest in (43.0, 60.0, 87.5, 100.0):
        top = figures.histogram_top(highest)
        assert top % 10 == 0
        assert top > highest
        # the caption's row (CAPTION_Y px + 10 px of text) stays clear: the chart's 190 px
        # hold its axis titles too, leaving the bars ~140 px, of which the top fifth is free
        assert highest / top <= 0.8
        assert (charts.CAPTION_Y + 10) / 140 < 0.2
    model = PageModel(protocol="custom", organisms=2)
    model.step()
    bars, labels = charts.histogram_rows(model)
    top = figures.histogram_top(max(b["percent"] for b in bars))
    assert [label["top"] for label in labels] == [top] * len(labels)
    layers = charts.histogram_spec(model)["layer"]
    holder = [lay for lay in layers if lay["encoding"]["y"].get("field") == "top"]
    assert len(holder) == 1
    assert holder[0]["mark"]["opacity"] == 0


def test_a_strain_name_starts_at_birth_in_its_lane():
    """gad65_ko was centred on P0.5, so half of it lay over the lanes' names."""
    spec = charts.timeline_spec(PageModel(protocol="gad65", organisms=1))
    texts = [lay for panel in spec["vconcat"] for lay in panel.get("layer", [])
             if lay.get("mark", {}).get("type") == "text"]  # fmt: skip
    strains = [t for t in texts if any("ko" in str(d.get("text", "")) for d in t["data"]["values"])]
    assert strains
    assert all(t["mark"]["align"] == "left" for t in strains)


def test_display_names():
    assert charts.display_name("md_p24") == "MD P24"
    assert charts.display_name("ko_diazepam_md") == "KO diazepam MD"
    assert charts.display_name("md_4d") == "MD 4 days"
    assert charts.display_name("lid suture left P24-28") == "lid suture left P24-28"


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
    pngs = [figures.png(f(model)) for f in (figures.histogram_figure, figures.timeline_figure)]
    assert all(p.startswith(b"\x89PNG") for p in pngs)
    assert figures.open_spans([0.0, 0.6, 0.7, 0.2, 0.9]) == [(1, 2), (4, 4)]


def test_the_timeline_names_each_group_alike_in_its_lanes_and_its_legend():
    """A preset's groups (md_p24, ...) read as the legend reads them in their lanes too."""
    model = PageModel(protocol="gad65", organisms=1, neurons=4)
    model.step()
    fig = figures.timeline_figure(model)
    lanes = {t.get_text() for ax in fig.axes for t in ax.get_yticklabels() if t.get_text()}
    legend = {t.get_text() for legend in fig.legends for t in legend.get_texts()}
    shown = {figures.display_name(g.name) for g in model.groups if g.rearing or g.treatments}
    assert shown
    assert any(g.name != figures.display_name(g.name) for g in model.groups)
    assert shown <= lanes & legend


def _pixels(png: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"), dtype=int)


@pytest.mark.parametrize("protocol", ["custom", "gad65"])
def test_figures_updated_day_by_day_draw_as_new_ones(protocol):
    """A figure kept and updated every day (the lessons' live run) shows what a figure built
    that day shows."""
    model = PageModel(protocol=protocol, organisms=3, days=30)
    kept = [
        (figures.HistogramFigure(model), figures.histogram_figure),
        (figures.TimelineFigure(model), figures.timeline_figure),
    ]
    for day in range(12):
        for page_figure, fresh in kept:
            page_figure.update(model)
            if day in (0, 10, 11):
                a, b = _pixels(figures.png(page_figure.fig)), _pixels(figures.png(fresh(model)))
                assert a.shape == b.shape
                differ = np.abs(a - b).max(axis=2) > 40
                assert differ.mean() < 1e-3, (type(page_figure).__name__, day)
        model.step()


def test_timeline_labels_are_not_cut_at_the_last_day():
    model = PageModel(rearing_from=50, rearing_to=54)
    while model.running:
        model.step()
    fig = figures.timeline_figure(model)
    renderer = fig.canvas.get_renderer()
    texts = [t for ax in fig.axes for t in ax.texts]
    assert any(t.get_text() == "left" for t in texts)  # the closed eye, on its bar
    assert any(t.get_text() == f"today P{model.days}" for t in texts)
    lanes = [t for ax in fig.axes for t in ax.get_yticklabels() if t.get_text()]
    legends = [t for legend in fig.legends for t in legend.get_texts()]
    assert "lid suture" in [t.get_text() for t in legends]
    for text in texts + lanes + legends:  # nothing leaves the figure on either side
        box = text.get_window_extent(renderer)
        assert fig.bbox.x0 <= box.x0, text.get_text()
        assert box.x1 <= fig.bbox.x1, text.get_text()


def test_reset_while_playing_starts_the_new_run_at_p0(page, monkeypatch):
    """The play loop plays its own run: a Reset meanwhile never moves the new one."""
    monkeypatch.setattr(components, "DOUBLE_CLICK", 0.0)  # presses faster than a person's
    components.speed.set(16)
    for _ in range(4):
        components.toggle_play()
        deadline = time.monotonic() + 30
        while components.session.value.model.age < 2:
            assert time.monotonic() < deadline
            time.sleep(0.01)
        components.reset()
        time.sleep(0.5)  # a frame the old loop had begun has ended by now
        assert not components.playing.value
        assert components.session.value.model.age == 0


def test_the_downloads_hold_the_run_so_far_and_name_the_code(page):
    """The page's CSV and Parquet are the running model's tidy table as of today; the
    Parquet carries the code that made it, as devsim run's tables do."""
    from devsim.provenance import code_digest

    _click(page, "devsim-step")
    table = pd.read_parquet(io.BytesIO(components.results_parquet()))
    assert table.attrs["devsim"]["code"] == code_digest()
    assert set(table["day"]) == {0, 1}
    csv = pd.read_csv(io.BytesIO(components.results_csv()))
    assert len(csv) == len(table)


@pytest.mark.parametrize(
    ("preset", "species", "days"),
    [("cat_md_peak", "cat", 45), ("md_critical", "mouse", 28), ("sheet_cat", "cat", 120)],
)
def test_choosing_a_preset_brings_its_species_and_life(kernel_context, preset, species, days):
    """A cat preset ran as a mouse (the page's species was kept), and md_critical lived to
    the page's P60, long after the day its shift is read (P28): the shift had recovered."""
    _, rc = solara.render(InAppLayout(AtLink("species=mouse&days=60")), handle_error=False)
    components.change("protocol", preset)
    assert components.draft.value["species"] == species
    assert components.draft.value["days"] == days  # the slider's top for a longer preset
    components.change("species", "gad65_ko")  # and the user may still change them after
    assert components.draft.value["species"] == "gad65_ko"
    rc.close()


def test_a_link_naming_a_preset_runs_its_own_species_and_life_unless_it_says():
    parsed, error = components.parse_inputs({"protocol": "cat_md_peak"})
    assert error is None
    assert (parsed["species"], parsed["days"]) == ("cat", 45)
    parsed, _ = components.parse_inputs({"protocol": "cat_md_peak", "species": "mouse"})
    assert (parsed["species"], parsed["days"]) == ("mouse", 45)
    model = PageModel(**{k: v for k, v in parsed.items() if k != "seed"}, seed=1)
    assert model.experiment.species == "mouse"  # as the link asked
    parsed, _ = components.parse_inputs({"protocol": CUSTOM, "days": "40"})
    assert (parsed["species"], parsed["days"]) == ("mouse", 40)


def test_a_double_click_on_play_is_one_press(page):
    """A double click started the run and paused it again after one day."""
    components.toggle_play()
    components.toggle_play()  # the second click of a double click
    assert components.playing.value
    time.sleep(components.DOUBLE_CLICK + 0.05)
    components.toggle_play()  # a press of its own: pause
    assert not components.playing.value


def test_a_group_with_its_own_control_is_outlined_against_it():
    """The histograms outlined every group against the reference: adult_plasticity's
    chondroitinase MD against untreated controls, mixing the drug's effect in."""
    from devsim.model import DevelopmentModel

    groups = [
        {"name": "control", "organisms": 2},
        {"name": "drug_control", "organisms": 2, "rearing": [
            {"from": 14, "to": 17, "condition": "dark"}]},
        {"name": "drug_md", "organisms": 2, "control": "drug_control"},
    ]  # fmt: skip
    model = DevelopmentModel(days=17, groups=groups, presentations_per_day=16, neurons=8)
    while model.running:
        model.step()
    bars, _ = charts.histogram_rows(model)
    own = {b["group"]: b["control_group"] for b in bars}
    assert own == {"control": "control", "drug control": "control", "drug MD": "drug control"}
    percent = {g: [b["percent"] for b in bars if b["group"] == g] for g in own}
    outline = [b["control"] for b in bars if b["group"] == "drug MD"]
    assert outline == percent["drug control"] != percent["control"]
    figure = figures.HistogramFigure(model).update(model)
    lines = {control: list(line.get_ydata()) for line, control in figure.outlines}
    assert set(lines) == {"control", "drug_control"}
    assert lines["drug_control"] == pytest.approx(percent["drug control"], abs=0.01)

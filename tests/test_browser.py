"""The Simulation page in a real Chromium: `solara run app.py` on 127.0.0.1, offline.

What a teacher and a class meet: Step and Play, sessions of their own, state kept across tabs,
settings applied at P0 or marked pending, a link that reproduces a run (byte for byte in its
CSV), CSV and PNG downloads, keyboard shortcuts, readable text under a dark theme, a phone
and a tablet. Needs Debian's chromium and Solara's assets in the venv
(scripts/install_system_deps.sh, scripts/install_solara_assets.sh). Screenshots go to
test-output/browser/ (app.png, phone.png, tablet.png, dark.png).
"""

from __future__ import annotations

import itertools
import re
from pathlib import Path

import pytest
from browser_support import CONTRAST, SCREENSHOTS, Tab, chromium, solara_server

pytestmark = pytest.mark.browser

AGE = re.compile(r"Age: P(\d+)")


@pytest.fixture(scope="module")
def app_url(tmp_path_factory):
    with solara_server(tmp_path_factory.mktemp("solara")) as url:
        yield url


@pytest.fixture(scope="module")
def browser():
    with chromium() as b:
        yield b


class Sim(Tab):
    """One session on the Simulation page, its panels drawn."""

    def __init__(self, browser, url: str, **kwargs):
        from playwright.sync_api import expect

        super().__init__(browser, url, **kwargs)
        self.step = self.page.locator(".devsim-step")
        self.play = self.page.locator(".devsim-play")
        self.reset = self.page.locator(".devsim-reset")
        self.age_text = self.page.locator(".devsim-age")
        expect(self.step).to_be_enabled(timeout=60_000)  # rendered and kernel connected
        self.wait_drawn()

    def age(self) -> int:
        return int(AGE.fullmatch(self.age_text.inner_text())[1])

    def wait_drawn(self) -> None:
        """The panels have today's data (the groups' table is headed with the age) and every
        panel on screen shows it (its figure's data-version starts with the age); panels
        below the fold catch up when scrolled to. The table is checked too because with the
        settings open no chart may be on screen, and "every" of none is true at once."""
        self.page.wait_for_function(
            """() => {
                const age = document.querySelector('.devsim-age').innerText.match(/P(\\d+)/)[1];
                const table = document.querySelector('.devsim-metrics h3');
                const charts = [...document.querySelectorAll('figure.devsim-chart')];
                const near = (c) => {
                    const r = c.getBoundingClientRect();
                    return r.top < innerHeight && r.bottom > 0;
                };
                return table !== null && table.innerText.endsWith('P' + age)
                    && charts.length >= 5 && charts.filter(near).every(
                    c => (c.dataset.version || '').startsWith(age + '-'));
            }""",
            timeout=30_000,
        )

    def settings(self):
        """Open the settings panel (once) and return the page."""
        panel = self.page.locator(".devsim-settings")
        if not panel.is_visible():
            self.page.locator(".devsim-settings-toggle").click()
            panel.wait_for(state="visible")
        return self.page

    def choose(self, name: str, value: str) -> None:
        from playwright.sync_api import expect

        page = self.settings()
        shown = page.locator(f".devsim-input-{name} .v-select__selections")
        for _ in range(3):
            page.locator(f".devsim-input-{name} .v-select__slot").click()
            page.locator(".menuable__content__active .v-list-item", has_text=value).first.click()
            # under load the server's echo of an earlier change can redraw the panel and
            # close the menu before the click lands: choose again, as a user would
            try:
                expect(shown).to_contain_text(value, timeout=5000)
                return
            except AssertionError:
                page.keyboard.press("Escape")
        expect(shown).to_contain_text(value)

    def type_in(self, name: str, text: str) -> None:
        field = self.settings().locator(f".devsim-input-{name} input")
        field.fill(text)
        field.press("Enter")

    def slide_to(self, name: str, steps_from_min: int) -> None:
        from playwright.sync_api import expect

        thumb = self.settings().locator(f".devsim-input-{name} [role=slider]")
        thumb.focus()
        thumb.press("Home")
        low = float(thumb.get_attribute("aria-valuemin"))
        expect(thumb).to_have_attribute("aria-valuenow", re.compile(rf"^{low:g}(\.0+)?$"))
        for step in range(1, steps_from_min + 1):
            thumb.press("ArrowRight")
            # one key at a time, each taken before the next: a slider whose value comes back
            # from the server while keys are still arriving drops keys on a loaded machine
            expect(thumb).to_have_attribute(
                "aria-valuenow", re.compile(rf"^{low + step:g}(\.0+)?$")
            )
        # the server's echo of an older value can still arrive and set the slider back (a
        # loaded machine): settle on the value, a key at a time
        target = low + steps_from_min
        for _ in range(5):
            self.page.wait_for_timeout(400)
            now = float(thumb.get_attribute("aria-valuenow"))
            if now == target:
                break
            thumb.press("ArrowRight" if now < target else "ArrowLeft")
        self.page.keyboard.press("Tab")  # leave the slider: keys go to the page again

    def download(self, click) -> bytes:
        with self.page.expect_download(timeout=30_000) as info:
            click()
        return Path(info.value.path()).read_bytes()


def test_step_play_and_sessions(browser, app_url):
    from playwright.sync_api import expect

    a = Sim(browser, app_url, height=1900)
    b = None
    try:
        assert a.age() == 0
        expect(a.page.locator(".devsim-error")).to_have_count(0)
        # the framework's leftovers are gone, and so is the badge
        for text in ("PAGE 0", "Render Interval", "Use Threads", "Time: 0.0", "runs on Solara"):
            expect(a.page.get_by_text(text)).to_have_count(0)
        hist = a.page.locator(".devsim-chart-histogram .marks").screenshot()

        a.step.click()
        expect(a.age_text).to_have_text("Age: P1")
        a.wait_drawn()
        assert a.page.locator(".devsim-chart-histogram .marks").screenshot() != hist

        a.play.click()
        expect(a.play).to_have_text(re.compile("Pause"))
        expect(a.age_text).to_have_text(re.compile(r"Age: P([4-9]|\d\d)"), timeout=30_000)
        a.play.click()
        expect(a.play).to_have_text(re.compile("Play"))
        expect(a.step).to_be_enabled()
        a_age = a.age()

        b = Sim(browser, app_url)  # a second person gets a model of their own
        assert b.age() == 0
        b.step.click()
        expect(b.age_text).to_have_text("Age: P1")
        assert a.age() == a_age  # B's step did not touch A's run
        a.screenshot("app.png")
        assert a.failed == []
        assert b.failed == []
    finally:
        a.close()
        if b is not None:
            b.close()


def test_state_is_kept_across_tabs(browser, app_url):
    from playwright.sync_api import expect

    s = Sim(browser, app_url)
    try:
        s.choose("species", "cat")
        s.slide_to("organisms", 19)  # 20 animals per group
        expect(s.page.locator(".devsim-chart-litter")).to_be_visible()
        for _ in range(3):
            s.step.click()
            s.wait_drawn()
        s.page.get_by_role("tab", name="Lessons").click()
        expect(s.page.locator(".devsim-lesson-card").first).to_be_visible(timeout=30_000)
        s.page.get_by_role("tab", name="Simulation").click()
        expect(s.age_text).to_have_text("Age: P3", timeout=30_000)
        s.wait_drawn()
        assert "species=cat" in s.page.locator(".devsim-share-link").input_value()
        litter = s.page.locator(".devsim-chart-litter")
        litter.scroll_into_view_if_needed()  # a panel scrolled to catches up at once
        expect(litter).to_have_attribute("data-version", re.compile(r"^3-"))
        # still 2 groups x 20 cats to choose from
        assert s.page.locator(".devsim-organism option").count() == 40
    finally:
        s.close()


# Where an animal's square is drawn on the screen, from the litter view's scenegraph.
SQUARE_AT = """(animal) => {
  const grid = document.querySelector('.devsim-grid').__vue__;
  const view = grid.views.litter;
  const found = [];
  (function walk(node, dx, dy) {
    if (!node) return;
    const x = dx + (node.mark && node.mark.marktype === 'group' ? node.x || 0 : 0);
    const y = dy + (node.mark && node.mark.marktype === 'group' ? node.y || 0 : 0);
    if (node.mark && node.mark.marktype === 'rect' && node.datum && node.datum.animal === animal) {
      found.push([x + node.x + node.width / 2, y + node.y + node.height / 2]);
    }
    for (const child of node.items || []) walk(child, x, y);
  })(view.scenegraph().root, 0, 0);
  const [ox, oy] = view.origin();
  const box = view.container().querySelector('canvas').getBoundingClientRect();
  const scale = box.width / view.width();
  if (!found.length) return null;
  return [box.left + (ox + found[0][0]) * scale, box.top + (oy + found[0][1]) * scale];
}"""


# Whether an element's centre is on screen and not covered (by the sticky bar): the topmost
# element there is it or inside it.
UNCOVERED = """(selector) => {
  const el = document.querySelector(selector);
  const box = el.getBoundingClientRect();
  const x = box.left + box.width / 2, y = box.top + box.height / 2;
  if (y < 0 || y > window.innerHeight) return false;
  const top = document.elementFromPoint(x, y);
  return top !== null && el.contains(top);
}"""


# The texts of a view's legends, from its scenegraph: [[label, ...] per legend].
LEGENDS_OF = """(name) => {
  const view = document.querySelector('.devsim-grid').__vue__.views[name];
  const legends = [];
  (function walk(node, texts) {
    if (!node) return;
    if (node.marktype && node.role === 'legend') {  // a legend: its labels in one list
      texts = [];
      legends.push(texts);
    }
    if (node.marktype && node.role === 'legend-label' && texts) {
      for (const item of node.items || []) texts.push(item.text);
    }
    for (const child of node.items || []) walk(child, texts);
  })(view.scenegraph().root, null);
  return legends;
}"""


def test_the_protocol_lanes_have_a_legend_of_their_colours(browser, app_url):
    """A suture's colour and a drug's were named only in tooltips; the groups are keyed once
    (the gate panel repeated the ODI panel's legend when the colours became independent)."""
    s = Sim(browser, app_url + "/?protocol=gad65&organisms=1")
    try:
        s.page.locator(".devsim-chart-timeline").scroll_into_view_if_needed()
        s.wait_drawn()
        legends = s.page.evaluate(LEGENDS_OF, "timeline")
        from devsim.viz.figures import display_name
        from devsim.viz.page_model import presets

        groups = [display_name(g.name) for g in presets()["gad65"].groups]
        assert legends == [groups, ["lid suture", "diazepam"]]
        s.page.locator(".devsim-chart-timeline").screenshot(
            path=str(SCREENSHOTS / "timeline_lanes.png")
        )
    finally:
        s.close()


# The items a view draws for one of its marks (by the mark's name), with their positions.
ITEMS_OF = """([panel, mark]) => {
  const view = document.querySelector('.devsim-grid').__vue__.views[panel];
  const found = [];
  (function walk(node) {
    if (!node) return;
    if (node.marktype && node.name === mark) {
      for (const item of node.items || []) found.push({x: item.x, y: item.y, x2: item.x2});
    }
    for (const child of node.items || []) walk(child);
  })(view.scenegraph().root);
  return found;
}"""


def test_the_gate_panel_draws_the_open_gate_as_a_line(browser, app_url):
    """The caption promises a dotted line where the window counts as open; its layer had no
    rows, so Vega drew nothing."""
    from devsim.plasticity import WINDOW_OPEN_GATE

    s = Sim(browser, app_url + "/?organisms=1")
    try:
        s.page.locator(".devsim-chart-timeline").scroll_into_view_if_needed()
        s.wait_drawn()
        (rule,) = s.page.evaluate(ITEMS_OF, ["timeline", "open_gate_marks"])
        height, top = 110, 1.2  # the gate panel's pixels and its axis' top (charts.py)
        assert rule["y"] == pytest.approx(height * (1 - WINDOW_OPEN_GATE / top), abs=1)
        assert abs(rule["x2"] - rule["x"]) > 300  # across the panel
    finally:
        s.close()


# The group names a view writes: for each, its lines, how many fit their limit when measured
# as drawn, and its bounds.
NAMES_OF = """(panel) => {
  const grid = document.querySelector('.devsim-grid').__vue__;
  const metrics = grid.vega.textMetrics;
  const found = [];
  (function walk(node) {
    if (!node) return;
    if (node.marktype === 'text' && (node.name || '').startsWith('group_names')) {
      for (const item of node.items || []) {
        const lines = [].concat(item.text);
        const b = item.bounds;
        found.push({lines, fit: lines.filter((l) => metrics.width(item, l) <= item.limit).length,
                    box: [b.x1, b.y1, b.x2, b.y2], mark: node.name});
      }
    }
    for (const child of node.items || []) walk(child);
  })(grid.views[panel].scenegraph().root);
  return found;
}"""


def test_six_groups_are_named_whole_in_rows(browser, app_url):
    """reverse_suture's six groups in one row were "co…", "reverse a…", with the OD classes'
    labels run together; three to a row, every name is written whole, none over another."""
    from devsim.viz.figures import display_name
    from devsim.viz.page_model import presets

    groups = [display_name(g.name) for g in presets()["reverse_suture"].groups]
    s = Sim(browser, app_url + "/?protocol=reverse_suture&organisms=1")
    try:
        for panel in ("litter", "histogram"):
            s.page.locator(f".devsim-chart-{panel}").scroll_into_view_if_needed()
            s.wait_drawn()
            names = s.page.evaluate(NAMES_OF, panel)
            assert [" ".join(n["lines"]) for n in names] == groups, panel
            for name in names:
                assert name["fit"] == len(name["lines"]), (panel, name)  # not cut with "…"
            for a, b in itertools.combinations(names, 2):
                if a["mark"] == b["mark"]:  # the same row of the view
                    apart = a["box"][2] <= b["box"][0] or b["box"][2] <= a["box"][0]
                    assert apart or a["box"][3] <= b["box"][1] or b["box"][3] <= a["box"][1]
            s.page.locator(f".devsim-chart-{panel}").screenshot(
                path=str(SCREENSHOTS / f"six_groups_{panel}.png")
            )
    finally:
        s.close()


def test_a_click_on_a_litter_square_shows_that_animal(browser, app_url):
    """The chosen animal's square is outlined, so a student clicks another one: it now
    shows that animal in the synapse panels (it did nothing)."""
    from playwright.sync_api import expect

    s = Sim(browser, app_url)
    try:
        s.step.click()
        expect(s.age_text).to_have_text("Age: P1")
        s.wait_drawn()
        chooser = s.page.locator(".devsim-organism select").first
        options = s.page.locator(".devsim-organism select").first.locator("option")
        target = options.nth(options.count() - 1).get_attribute("value")
        assert chooser.input_value() != target
        s.page.locator(".devsim-chart-litter").scroll_into_view_if_needed()
        point = s.page.evaluate(SQUARE_AT, target)
        assert point is not None
        s.page.mouse.click(*point)
        expect(chooser).to_have_value(target)
        # the panels it changed were below the fold: now in view, their title not under the
        # sticky bar, and flashed
        title = s.page.locator(".devsim-panel-synapses h3")
        s.page.wait_for_function(UNCOVERED, arg=".devsim-panel-synapses h3", timeout=10_000)
        expect(title).to_be_in_viewport()
        assert "devsim-flash" in s.page.locator(".devsim-panel-synapses").get_attribute("class")
        # what the marks mean is written under each panel, not only in its aria-label
        caption = s.page.locator(".devsim-chart-timeline .devsim-caption")
        expect(caption).to_be_visible()
        expect(caption).to_contain_text("the gold band is the control group's open critical")
        expect(s.page.locator(".devsim-chart-litter .devsim-caption")).to_contain_text("click")
    finally:
        s.close()


def test_settings_apply_at_p0_and_are_pending_after(browser, app_url):
    from playwright.sync_api import expect

    s = Sim(browser, app_url)
    try:
        s.choose("protocol", "md_critical")  # at P0: applied at once
        expect(s.page.locator(".devsim-protocol")).to_have_text(re.compile("Preset md_critical"))
        # a preset: the custom fields are off
        expect(s.page.locator(".devsim-input-condition input").first).to_be_disabled()
        s.step.click()
        expect(s.age_text).to_have_text("Age: P1")
        s.choose("protocol", "gad65")  # after a step: pending
        expect(s.page.locator(".devsim-pending")).to_contain_text("press Reset")
        expect(s.page.locator(".devsim-protocol")).to_have_text(re.compile("md_critical"))
        s.reset.click()
        expect(s.page.locator(".devsim-protocol")).to_have_text(re.compile("Preset gad65"))
        expect(s.page.locator(".devsim-pending")).to_have_count(0)
        expect(s.age_text).to_have_text("Age: P0")
        # readable group names, no code names
        s.wait_drawn()
        table = s.page.locator(".devsim-metrics").inner_text()
        assert "KO diazepam MD" in table
        assert "ko_diazepam_md" not in table
        # a bad seed is named, not applied, and no traceback reaches the server log
        for seed in ("-4", "seven"):
            s.type_in("seed", seed)
            expect(s.page.locator(".devsim-invalid")).to_contain_text("seed")
        s.step.click()
        expect(s.age_text).to_have_text("Age: P1")
    finally:
        s.close()


def test_a_cats_gene_sliders_have_room_and_stand_at_the_cats_values(browser, app_url):
    """With the cat chosen, "(cat's own)" beside each gene's slider squeezed tau_theta's to
    nothing, and r_mat's thumb stood at the mouse's 0.048 while its label said 0.025."""
    from devsim.genome import Genome
    from devsim.viz.page_model import PAGE_GENES

    s = Sim(browser, app_url + "/?species=cat&organisms=1")
    try:
        page = s.settings()
        for name, *_ in PAGE_GENES:
            track = page.locator(f".devsim-input-{name} .v-slider").bounding_box()
            assert track["width"] >= 150, (name, track)
        thumb = page.locator(".devsim-input-r_mat [role=slider]")
        cat = Genome.preset("cat").values["r_mat"]
        page.wait_for_timeout(500)  # a value the slider rounded would come back by now
        assert float(thumb.get_attribute("aria-valuenow")) == pytest.approx(cat)
        # nothing was moved: the link keeps the mouse default, which runs the cat's own
        mouse = Genome.preset("mouse").values["r_mat"]
        assert f"r_mat={mouse:g}&" in page.url, page.url
        s.screenshot("cat_genes.png")
    finally:
        s.close()


def test_a_shared_link_reproduces_the_run_byte_for_byte(browser, app_url):
    from playwright.sync_api import expect

    a = Sim(browser, app_url)
    b = None
    try:
        a.type_in("seed", "11")
        a.slide_to("organisms", 2)  # 3 per group
        a.choose("condition", "strabismus")
        expect(a.page.locator(".devsim-protocol")).to_have_text(re.compile("strabismus"))
        for _ in range(3):
            a.step.click()
            a.wait_drawn()
        link = a.page.locator(".devsim-share-link").input_value()
        assert "seed=11" in link
        assert "organisms=3" in link
        assert a.page.url == link  # the address bar carries it too
        csv_a = a.download(lambda: a.page.get_by_role("button", name="Results (CSV)").click())

        b = Sim(browser, link)
        assert "strabismus" in b.page.locator(".devsim-protocol").inner_text()
        b.page.keyboard.press("ArrowRight")
        for day in (2, 3):
            expect(b.age_text).to_have_text(f"Age: P{day - 1}")
            b.page.keyboard.press("ArrowRight")
        expect(b.age_text).to_have_text("Age: P3")
        b.wait_drawn()
        csv_b = b.download(lambda: b.page.get_by_role("button", name="Results (CSV)").click())
        assert csv_a == csv_b
        assert csv_a.startswith(b"group,day,metric,value")
        assert b"final_cbi" in csv_a
    finally:
        a.close()
        if b is not None:
            b.close()


def test_panels_download_as_png_and_svg(browser, app_url):
    s = Sim(browser, app_url)
    try:
        s.step.click()
        s.wait_drawn()
        panel = s.page.locator(".devsim-chart-histogram")
        for kind, magic in (("PNG", b"\x89PNG"), ("SVG", b"<svg")):
            panel.locator("details").evaluate("d => { d.open = true; }")
            data = s.download(lambda k=kind: panel.get_by_text(f"Save as {k}").click())
            assert data.startswith(magic), data[:20]
            name = panel.get_by_text(f"Save as {kind}").get_attribute("download")
            assert name == f"devsim_histogram_P1.{kind.lower()}"  # the day it shows
        parquet = s.download(lambda: s.page.get_by_role("button", name="Results (Parquet)").click())
        assert parquet.startswith(b"PAR1")
    finally:
        s.close()


def test_projector_mode_draws_the_charts_larger(browser, app_url):
    """Large text grows the charts with their cells (as SVG), not only the page's text, and
    they keep updating."""
    from playwright.sync_api import expect

    s = Sim(browser, app_url)
    try:
        chart = s.page.locator(".devsim-chart-histogram .marks")
        before = chart.bounding_box()["width"]
        s.page.get_by_text("Large text (projector)").click()
        expect(s.page.locator(".devsim-chart-histogram svg.marks")).to_have_count(1)
        s.wait_drawn()
        after = s.page.locator(".devsim-chart-histogram .marks").bounding_box()["width"]
        assert after > 1.4 * before, (before, after)
        s.step.click()
        expect(s.age_text).to_have_text("Age: P1")
        s.wait_drawn()
        s.screenshot("projector.png")
        assert s.failed == []
    finally:
        s.close()


def test_the_age_stays_in_view_while_the_charts_are_watched(browser, app_url):
    """On a projector (large text, 720p) the header's age scrolled away as soon as the class
    looked at the charts; the sticky bar now shows it while the header's is out of view."""
    from playwright.sync_api import expect

    s = Sim(browser, app_url, width=1280, height=720)
    try:
        s.page.get_by_text("Large text (projector)").click()
        bar_age = s.page.locator(".devsim-bar-age")
        expect(bar_age).to_be_hidden()  # the header's is in view: said once
        s.step.click()
        expect(s.age_text).to_have_text("Age: P1")
        s.page.locator(".devsim-chart-timeline").scroll_into_view_if_needed()
        expect(bar_age).to_be_visible(timeout=5000)
        expect(bar_age).to_have_text("P1")
        s.page.keyboard.press("ArrowRight")  # a step while scrolled: the bar's age follows
        expect(bar_age).to_have_text("P2")
        s.screenshot("projector_age_scrolled.png")
        s.page.evaluate(
            "() => document.querySelector('.devsim-age').scrollIntoView({block: 'center'})"
        )
        expect(bar_age).to_be_hidden(timeout=5000)
        s.screenshot("projector_age.png")
        assert s.failed == []
    finally:
        s.close()


def test_a_720p_projector_shows_the_histograms_without_scrolling(browser, app_url):
    """At 1280 x 720 the charts began at the screen's bottom edge: the tabs had a row of their
    own and the downloads sat above the panels. The histograms' bars are in view now."""
    s = Sim(browser, app_url, width=1280, height=720)
    try:
        bar = s.page.locator(".devsim-app-bar, .v-app-bar").first.bounding_box()
        assert bar["height"] <= 64, bar  # the tabs share the title's row
        marks = s.page.locator(".devsim-chart-histogram .marks").bounding_box()
        assert marks["y"] + 0.8 * marks["height"] <= 720, marks
        assert s.page.get_by_text("Large text (projector)").is_visible()
        s.screenshot("projector_720.png")
        assert s.failed == []
    finally:
        s.close()


def test_keyboard_shortcuts(browser, app_url):
    from playwright.sync_api import expect

    s = Sim(browser, app_url)
    try:
        keys = s.page.keyboard
        keys.press("ArrowRight")
        expect(s.age_text).to_have_text("Age: P1")
        keys.press(" ")
        expect(s.play).to_have_text(re.compile("Pause"))
        expect(s.age_text).to_have_text(re.compile(r"Age: P([3-9]|\d\d)"), timeout=30_000)
        keys.press(" ")
        expect(s.play).to_have_text(re.compile("Play"))
        keys.press("r")
        expect(s.age_text).to_have_text("Age: P0")
        # typing in a field is typing, not a shortcut
        field = s.settings().locator(".devsim-input-seed input")
        field.fill("")
        field.type("r 7")
        assert s.age() == 0
        assert s.play.inner_text().strip().lower().endswith("play")
    finally:
        s.close()


@pytest.fixture(scope="module")
def dark_url(tmp_path_factory):
    """The app on a machine whose Solara is set to the dark theme."""
    with solara_server(tmp_path_factory.mktemp("dark"), env={"SOLARA_THEME_VARIANT": "dark"}) as u:
        yield u


def test_text_is_readable_under_a_dark_theme(browser, dark_url):
    """WCAG AA (contrast >= 4.5) for the page's text, the lesson text and the tables, with the
    browser in dark mode and Solara's dark theme configured."""
    s = Sim(browser, dark_url, color_scheme="dark")
    try:
        page_text = [".devsim-age", ".devsim-today", ".devsim-protocol", ".devsim-page p",
                     ".devsim-metrics td", ".devsim-metrics th", ".devsim-panel h3"]  # fmt: skip
        results = s.page.evaluate(CONTRAST, page_text)
        s.page.get_by_role("tab", name="Lessons").click()
        s.page.locator(".devsim-lesson-card").first.wait_for(timeout=30_000)
        results += s.page.evaluate(CONTRAST, [".devsim-lesson-card", ".devsim-lessons p",
                                              ".devsim-lessons td"])  # fmt: skip
        s.page.locator(".devsim-lesson-card").first.click()
        s.page.wait_for_timeout(1500)
        results += s.page.evaluate(CONTRAST, [".devsim-lessons p", ".devsim-lessons li"])
        s.screenshot("dark.png")
        assert len({r["sel"] for r in results}) >= 8, results
        poor = [r for r in results if r["ratio"] < 4.5]
        assert poor == [], poor
    finally:
        s.close()


@pytest.mark.parametrize(("width", "height", "name"), [(390, 844, "phone"), (1024, 768, "tablet")])
def test_phone_and_tablet(browser, app_url, width, height, name):
    from playwright.sync_api import expect

    s = Sim(browser, app_url, width=width, height=height, is_mobile=name == "phone",
            has_touch=True, device_scale_factor=3 if name == "phone" else 2)  # fmt: skip
    try:
        page = s.page
        for control in (s.step, s.play, s.reset):
            box = control.bounding_box()
            assert box["x"] >= 0
            assert box["x"] + box["width"] <= width
            assert box["y"] + box["height"] <= height  # in view without scrolling
            # nothing (a drawer, a badge) lies over it
            hit = page.evaluate(
                "([x, y]) => document.elementFromPoint(x, y).closest('.v-btn')?.className || ''",
                [box["x"] + box["width"] / 2, box["y"] + box["height"] / 2],
            )
            assert "devsim-" in hit
        s.step.tap() if name == "phone" else s.step.click()
        expect(s.age_text).to_have_text("Age: P1")
        s.wait_drawn()
        charts = page.locator("figure.devsim-chart .marks")
        scale = page.evaluate("() => devicePixelRatio")
        for k in range(charts.count()):
            box = charts.nth(k).bounding_box()
            assert box["width"] >= min(300, width - 60)  # readable, not a thumbnail
            assert box["x"] + box["width"] <= width + 1  # and not cut at the edge
            # sharp on a high-resolution screen: a canvas pixel per device pixel (or more)
            pixels = charts.nth(k).evaluate("c => c.width")
            assert pixels >= 0.99 * scale * box["width"], (pixels, scale, box)
        # the groups table scrolls sideways inside its panel rather than running off the
        # screen and over the controls (a phone cut its last columns)
        overflow, right = page.evaluate(
            "() => { const m = document.querySelector('.devsim-metrics');"
            " return [getComputedStyle(m).overflowX, m.getBoundingClientRect().right]; }"
        )
        assert overflow in ("auto", "scroll")
        assert right <= width + 1
        # ... and on a phone it fits: the gate column was off screen, a name five lines high
        fits = page.evaluate(
            "() => { const m = document.querySelector('.devsim-metrics');"
            " return m.scrollWidth <= m.clientWidth; }"
        )
        assert fits or name != "phone"
        # the controls stay at hand while scrolling down to the panels
        page.mouse.wheel(0, 1500)
        page.wait_for_timeout(400)
        box = s.step.bounding_box()
        assert 0 <= box["y"] <= height - box["height"]
        s.screenshot(f"{name}.png")
    finally:
        s.close()


def test_no_traceback_from_any_seed(browser, app_url):
    """Negative and text seeds on the Baldwin page are refused on the page; the server log
    (checked when the module's server stops) shows no traceback."""
    from playwright.sync_api import expect

    s = Sim(browser, app_url)
    try:
        s.page.get_by_role("tab", name="Baldwin effect").click()
        seed = s.page.locator(".devsim-baldwin-seed input")
        seed.fill("-5")
        seed.press("Enter")
        expect(s.page.locator(".devsim-baldwin-bad")).to_be_visible()
        expect(s.page.locator(".devsim-baldwin-run")).to_be_disabled()
        seed.fill("abc")
        seed.press("Enter")
        s.page.wait_for_timeout(500)
        seed.fill("3")
        seed.press("Enter")
        expect(s.page.locator(".devsim-baldwin-run")).to_be_enabled()
    finally:
        s.close()

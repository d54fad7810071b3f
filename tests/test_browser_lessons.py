"""The Lessons and Baldwin pages in a real Chromium: `solara run app.py` on 127.0.0.1, offline.

Walks through the Hubel & Wiesel lesson end to end (open it from the Lessons tab, read the
text step by step, predict, run, read the result and the published comparison) and runs the
Baldwin page. Needs Debian's chromium and Solara's assets in the venv (see test_browser.py).
Screenshots: test-output/browser/lessons.png, lesson.png, lesson-compare.png, baldwin.png.
"""

from __future__ import annotations

import re

import pytest
from browser_support import CONTRAST, Tab, chromium, solara_server

from devsim.lessons import lessons
from devsim.viz.lessons_page import COMPARE, PREDICT

pytestmark = pytest.mark.browser

TABS = ["Simulation", "Lessons", "Baldwin effect"]
LESSONS = len(lessons())


@pytest.fixture(scope="module")
def app_url(tmp_path_factory):
    with solara_server(tmp_path_factory.mktemp("solara")) as url:
        yield url


@pytest.fixture(scope="module")
def browser():
    with chromium() as b:
        yield b


def _assert_tabs(page) -> None:
    from playwright.sync_api import expect

    tabs = page.locator(".devsim-tab")
    expect(tabs).to_have_count(len(TABS))
    assert [t.strip() for t in tabs.all_text_contents()] == TABS


def test_a_lesson_end_to_end(browser, app_url):
    from playwright.sync_api import expect

    tab = Tab(browser, app_url, height=1000)
    page = tab.page
    try:
        # the development page is still the home page, with the tabs above it
        expect(page.get_by_role("button", name="Step")).to_be_enabled(timeout=60_000)
        _assert_tabs(page)

        page.get_by_role("tab", name="Lessons").click()
        expect(page).to_have_url(re.compile(r"/lessons$"))
        card = page.locator(".devsim-lesson-card", has_text="Hubel & Wiesel")
        expect(page.locator(".devsim-lesson-card")).to_have_count(LESSONS, timeout=30_000)
        _assert_tabs(page)
        tab.screenshot("lessons.png")
        card.get_by_role("button", name="Start lesson").click()

        title = page.locator(".devsim-step-title")
        expect(title).to_have_text("The question")
        expect(page.locator(".devsim-lesson-step")).to_contain_text("Most neurons")
        expect(page.locator(".devsim-lesson-age")).to_have_text("P0")
        next_ = page.locator(".devsim-next")
        for heading in ("The historical experiment", PREDICT):
            next_.click()
            expect(title).to_have_text(heading)
        page.locator(".devsim-back").click()
        expect(title).to_have_text("The historical experiment")
        next_.click()
        expect(title).to_have_text(PREDICT)

        run = page.locator(".devsim-run")
        expect(run).to_be_disabled()  # no prediction yet
        page.get_by_text("Toward the right eye (the open eye): the CBI falls").click()
        expect(run).to_be_enabled()
        run.click()
        result = page.locator(".devsim-lesson-result")
        expect(result).to_contain_text("You predicted", timeout=60_000)
        expect(result).to_contain_text("At P28 the CBI of MD P24")
        # the verdict is dark on its tint (Vuetify's green on green read at ~2.5:1)
        page.wait_for_timeout(600)  # the box's transition
        readings = page.evaluate(CONTRAST, [".devsim-lesson-result p"])
        assert readings, "no verdict text"
        assert all(r["ratio"] >= 4.5 for r in readings), readings
        expect(page.locator(".devsim-lesson-age")).to_have_text("P28")
        expect(run).to_be_disabled()
        tab.screenshot("lesson.png")

        for _ in range(6):
            if title.inner_text() == COMPARE:
                break
            next_.click()
            page.wait_for_timeout(200)
        expect(title).to_have_text(COMPARE)
        table = page.locator(".devsim-compare-table")
        expect(table).to_contain_text("CBI shift, 4-day MD at P24")
        expect(table).to_contain_text("Gordon & Stryker 1996")
        # row 1 (normal rearing: CBI, binocular share) from the live control group, and row 2
        expect(table.locator(".devsim-agrees, .devsim-differs, .devsim-near")).to_have_count(3)
        tab.screenshot("lesson-compare.png")
        assert tab.failed == []
    finally:
        tab.close()


# Whether an element's top is on screen and not under the app bar.
TITLE_IN_VIEW = """(selector) => {
  const box = document.querySelector(selector).getBoundingClientRect();
  const bar = document.querySelector('.v-app-bar');
  const covered = bar ? Math.max(0, bar.getBoundingClientRect().bottom) : 0;
  return box.top >= covered - 1 && box.bottom <= window.innerHeight;
}"""


def test_back_and_next_bring_the_new_steps_title_into_view(browser, app_url):
    """At 1280 x 720 a long step's buttons lie below the screen: pressed there, Back (or
    Next) left the new step's title above it, so a student read the middle of a step whose
    heading they never saw."""
    from playwright.sync_api import expect

    tab = Tab(browser, app_url + "lessons", width=1280, height=720)
    page = tab.page
    try:
        page.locator(".devsim-lesson-card", has_text="Hubel & Wiesel").get_by_role(
            "button", name="Start lesson"
        ).click()
        title = page.locator(".devsim-step-title")
        expect(title).to_have_text("The question", timeout=30_000)
        counter = page.get_by_text(re.compile(r"^Step \d+ of"))
        step = 1
        while title.inner_text() != COMPARE and step < 7:
            page.locator(".devsim-next").click()
            step += 1  # one step at a time: a click before the last one's render skipped one
            expect(counter).to_have_text(re.compile(rf"^Step {step} of"))
        expect(title).to_have_text(COMPARE)  # the longest step: its table
        # the address follows the step: wait for it, so that its render is not mistaken
        # for the scroll under test
        expect(page).to_have_url(re.compile(rf"step={step}$"))
        back = page.locator(".devsim-back")
        # as a student sees it: at the step's foot, its title above the screen (the step's
        # table may still be drawing, so the foot is found again until the step is long)
        for _ in range(150):
            back.scroll_into_view_if_needed()
            if not page.evaluate(TITLE_IN_VIEW, ".devsim-step-title"):
                break
            page.wait_for_timeout(200)
        assert not page.evaluate(TITLE_IN_VIEW, ".devsim-step-title")
        back.click()
        expect(title).not_to_have_text(COMPARE)
        page.wait_for_function(TITLE_IN_VIEW, arg=".devsim-step-title", timeout=5000)
        # a step whose title is in view stays where it is
        y, before = page.evaluate("() => scrollY"), title.inner_text()
        page.locator(".devsim-back").click()
        expect(title).not_to_have_text(before)
        page.wait_for_timeout(500)
        assert page.evaluate("() => scrollY") == y
    finally:
        tab.close()


def test_the_address_names_the_lesson_and_its_step(browser, app_url):
    """A refresh started a lesson over at the list, and a teacher could not hand a class a
    link to a step: the address now follows the lesson and step, and the page follows the
    address (a link, a refresh, Back and Forward)."""
    from playwright.sync_api import expect

    tab = Tab(browser, app_url + "lessons")
    page = tab.page
    title = page.locator(".devsim-step-title")
    cards = page.locator(".devsim-lesson-card")
    try:
        cards.filter(has_text="Hubel & Wiesel").get_by_role("button", name="Start lesson").click()
        expect(title).to_have_text("The question", timeout=30_000)
        expect(page).to_have_url(re.compile(r"/lessons\?lesson=hubel_wiesel&step=1$"))
        page.locator(".devsim-next").click()
        expect(title).to_have_text("The historical experiment")
        expect(page).to_have_url(re.compile(r"step=2$"))
        page.reload()  # a new session: the address alone brings the step back
        expect(title).to_have_text("The historical experiment", timeout=30_000)
        page.locator(".devsim-back").click()
        expect(title).to_have_text("The question")
        expect(page).to_have_url(re.compile(r"step=1$"))  # written after the render
        page.go_back()
        expect(title).to_have_text("The historical experiment")
        page.go_forward()
        expect(title).to_have_text("The question")
        page.get_by_role("tab", name="Simulation").click()  # another tab and back: kept
        expect(page.get_by_role("button", name="Step")).to_be_visible(timeout=30_000)
        page.get_by_role("tab", name="Lessons").click()
        expect(title).to_have_text("The question")
        expect(page).to_have_url(re.compile(r"/lessons\?lesson=hubel_wiesel&step=1$"))
        # the tab's own "/lessons" was replaced by the lesson's address, not followed by
        # it: one Back goes to the Simulation tab (it closed the lesson at "/lessons")
        page.go_back()
        expect(page).to_have_url(re.compile(r"/\?species="), timeout=30_000)  # its settings
        expect(page.get_by_role("button", name="Step", exact=True)).to_be_visible()
        page.go_forward()
        expect(title).to_have_text("The question", timeout=30_000)
        expect(page).to_have_url(re.compile(r"/lessons\?lesson=hubel_wiesel&step=1$"))
        # links that name what is not there say so in one line, and show what there is;
        # the address then says what is shown, in place of the link's (no entry added)
        page.goto(app_url + "lessons?lesson=hubel_wiesel&step=99")
        entries = page.evaluate("history.length")
        expect(page.locator(".devsim-link-error")).to_contain_text(
            "step '99' is not one of this lesson's", timeout=30_000
        )
        expect(title).to_have_text("The question")
        expect(page).to_have_url(re.compile(r"/lessons\?lesson=hubel_wiesel&step=1$"))
        assert page.evaluate("history.length") == entries
        page.goto(app_url + "lessons?lesson=no_such_lesson")
        expect(page.locator(".devsim-link-error")).to_contain_text(
            "The link names no lesson 'no_such_lesson'", timeout=30_000
        )
        expect(cards).to_have_count(LESSONS)
        expect(page).to_have_url(re.compile(r"/lessons$"))
        # a reload or a new address aborts the requests under way (the favicon's): no
        # failure of the page; any other failed request is
        assert [f for f in tab.failed if "net::ERR_ABORTED" not in f] == []
    finally:
        tab.close()


def test_the_baldwin_page(browser, app_url):
    from playwright.sync_api import expect

    tab = Tab(browser, app_url + "lessons", height=1000)
    page = tab.page
    try:
        expect(page.locator(".devsim-lesson-card")).to_have_count(LESSONS, timeout=60_000)
        page.get_by_role("tab", name="Baldwin effect").click()
        expect(page).to_have_url(re.compile(r"/baldwin$"))
        _assert_tabs(page)
        page.locator(".devsim-baldwin-run").click()
        summary = page.locator(".devsim-baldwin-summary")
        expect(summary).to_contain_text("5 runs × 1000 organisms × 50 generations", timeout=30_000)
        numbers = page.locator(".devsim-baldwin-numbers")
        expect(numbers).to_contain_text("Correct alleles at generation 50")
        expect(numbers).to_contain_text("Hinton & Nowlan 1987")
        expect(page.locator(".devsim-baldwin-figure img")).to_be_visible()
        tab.screenshot("baldwin.png")
        assert tab.failed == []
    finally:
        tab.close()


@pytest.mark.parametrize("path", ["lessons", "baldwin"])
def test_the_pages_are_centred_on_a_wide_screen(browser, app_url, path):
    """At 1920 px the Lessons and Baldwin pages (at most 1600 px wide) sit in the middle:
    Solara's columns carry Vuetify's `ma-0` (margin 0 !important), which kept them left."""
    from playwright.sync_api import expect

    tab = Tab(browser, app_url + path, width=1920, height=1000)
    try:
        body = tab.page.locator(f".devsim-{path}")
        expect(body).to_be_visible(timeout=60_000)
        box = body.bounding_box()
        width = tab.page.evaluate("document.documentElement.clientWidth")
        assert box["width"] <= 1600 + 1
        left, right = box["x"], width - box["x"] - box["width"]
        assert abs(left - right) < 30, (left, right)
    finally:
        tab.close()


@pytest.mark.parametrize(
    ("path", "panel"),
    [("baldwin", ".devsim-baldwin-controls"), ("lessons", ".devsim-lesson-text")],
)
def test_a_phone_gets_one_column(browser, app_url, path, panel):
    """At 390 px the Baldwin controls and a lesson's text kept a third of the width: labels
    broke mid-word and sliders shrank to dots. Stacked, each takes the phone's width; at
    1280 px they stay side by side."""
    from playwright.sync_api import expect

    for width, stacked in ((390, True), (1280, False)):
        tab = Tab(browser, app_url + path, width=width, height=844)
        try:
            if path == "lessons":  # open the first lesson
                card = tab.page.locator(".devsim-lesson-card", has_text="Hubel & Wiesel")
                card.get_by_role("button", name="Start lesson").click(timeout=60_000)
            box = tab.page.locator(panel).first
            expect(box).to_be_visible(timeout=60_000)
            share = box.bounding_box()["width"] / width
            assert (share > 0.8) == stacked, (width, share)
            assert tab.failed == []
        finally:
            tab.close()

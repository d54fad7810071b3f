"""The browser simulation in a real Chromium: `solara run app.py` on 127.0.0.1, offline.

Needs Debian's chromium (/usr/bin/chromium) and Solara's assets in the venv
(scripts/install_system_deps.sh, scripts/install_solara_assets.sh). Saves a screenshot to
test-output/browser/app.png.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from browser_support import chromium, solara_server

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
SCREENSHOT = ROOT / "test-output" / "browser" / "app.png"


@pytest.fixture(scope="module")
def app_url(tmp_path_factory):
    """`python -m solara run app.py` on a free port of 127.0.0.1, stopped afterwards."""
    with solara_server(tmp_path_factory.mktemp("solara")) as url:
        yield url


@pytest.fixture(scope="module")
def browser():
    with chromium() as b:
        yield b


class Session:
    """One browser context (= one Solara session) on the app, recording failed requests."""

    def __init__(self, browser, url: str, height: int = 800):
        from playwright.sync_api import expect

        self.context = browser.new_context(viewport={"width": 1280, "height": height})
        self.page = self.context.new_page()
        self.failed: list[str] = []
        self.page.on("requestfailed", lambda r: self.failed.append(f"{r.url} {r.failure}"))
        self.page.on(
            "response", lambda r: r.status >= 400 and self.failed.append(f"{r.status} {r.url}")
        )
        self.page.goto(url)
        self.step = self.page.get_by_role("button", name="Step")
        expect(self.step).to_be_enabled(timeout=60_000)  # rendered and kernel connected
        self.age = self.page.locator(".devsim-age")
        self.hist = self.page.locator(".devsim-hist")
        self.hist_image = self.page.locator(".devsim-figure-histogram img")

    def settled_age(self, quiet_ms: int = 1500) -> str:
        """The age text once it has stopped changing for ``quiet_ms``."""
        text = self.age.inner_text()
        for _ in range(20):
            self.page.wait_for_timeout(quiet_ms)
            now = self.age.inner_text()
            if now == text:
                return now
            text = now
        raise AssertionError(f"the age never settled (last: {text})")

    def close(self) -> None:
        self.context.close()


def test_step_play_and_sessions(browser, app_url):
    from playwright.sync_api import expect

    a = Session(browser, app_url, height=1900)  # tall: the whole page fits the screenshot
    b = None
    try:
        expect(a.age).to_have_text("Age: P0")
        expect(a.page.locator(".devsim-error")).to_have_count(0)
        hist_text = a.hist.inner_text()
        hist_png = a.hist_image.screenshot()

        a.step.click()
        expect(a.age).to_have_text("Age: P1")
        expect(a.page.get_by_text("Time: 1.0")).to_be_visible()

        a.page.get_by_role("button", name="▶").click()
        pause = a.page.get_by_role("button", name="❚❚")
        expect(pause).to_be_visible()
        expect(a.age).to_have_text(re.compile(r"Age: P([3-9]|\d\d)"), timeout=30_000)
        pause.click()
        expect(a.step).to_be_enabled()
        a_age = a.settled_age()  # a day already under way when paused still completes
        assert int(a_age.removeprefix("Age: P")) >= 3

        # the histogram moved on: its counts and its picture
        assert a.hist.inner_text() != hist_text
        assert a.hist_image.screenshot() != hist_png

        # a second person gets a fresh model of their own
        b = Session(browser, app_url)
        expect(b.age).to_have_text("Age: P0")
        b.step.click()
        expect(b.age).to_have_text("Age: P1")
        expect(a.age).to_have_text(a_age)  # B's step did not touch A's model

        SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
        a.page.screenshot(path=str(SCREENSHOT))
        assert a.failed == []
        assert b.failed == []
    finally:
        a.close()
        if b is not None:
            b.close()

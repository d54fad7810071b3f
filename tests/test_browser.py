"""The browser simulation in a real Chromium: `solara run app.py` on 127.0.0.1, offline.

Needs Debian's chromium (/usr/bin/chromium) and Solara's assets in the venv
(scripts/install_system_deps.sh, scripts/install_solara_assets.sh). Saves a screenshot to
test-output/browser/app.png.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
SCREENSHOT = ROOT / "test-output" / "browser" / "app.png"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def app_url(tmp_path_factory):
    """`python -m solara run app.py` on a free port of 127.0.0.1, stopped afterwards."""
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} not installed (scripts/install_system_deps.sh)")
    log_path = tmp_path_factory.mktemp("solara") / "server.log"
    port = _free_port()
    env = {
        **os.environ,
        "SOLARA_ASSETS_PROXY": "true",  # serve the assets from <venv>/share/solara/cdn
        "SOLARA_ASSETS_CDN": "http://127.0.0.1:9/",  # a cache miss fails fast
        "SOLARA_TELEMETRY_MIXPANEL_ENABLE": "false",
        "PYTHONUNBUFFERED": "1",
    }
    command = [
        sys.executable, "-m", "solara", "run", "app.py",
        "--host", "127.0.0.1", "--port", str(port),
        "--production", "--no-open", "--no-check-version", "--log-level", "warning",
    ]  # fmt: skip
    url = f"http://127.0.0.1:{port}/"
    with open(log_path, "w") as log:
        proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 60
            while True:
                if proc.poll() is not None:
                    raise RuntimeError(f"solara exited {proc.returncode}:\n{log_path.read_text()}")
                try:
                    with urllib.request.urlopen(url + "readyz", timeout=2) as response:
                        if response.status == 200:
                            break
                except OSError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError(f"solara not ready after 60 s:\n{log_path.read_text()}")
                time.sleep(0.2)
            yield url
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
    text = log_path.read_text()
    assert "Could not load URL" not in text, text  # an asset missing from the offline cache
    assert "Traceback" not in text, text


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        try:
            yield b
        finally:
            b.close()


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

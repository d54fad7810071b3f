"""Helpers for browser tests: the app's solara server on 127.0.0.1 and Debian's chromium.

Plain context managers (not fixtures), so each browser test module makes its own
module-scoped fixtures from them. See docs/browser-notes.md for why each flag is there.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from devsim.cli.app import server_env

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
SCREENSHOTS = ROOT / "test-output" / "browser"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def solara_server(
    log_dir: Path,
    app: str = "app.py",
    env: dict[str, str] | None = None,
    proc_out: list | None = None,
) -> Iterator[str]:
    """`python -m solara run app.py` on a free port of 127.0.0.1; yields its URL.

    ``env``: extra environment (e.g. a short ``SOLARA_KERNEL_CULL_TIMEOUT``); ``proc_out``,
    if given, receives the server's ``Popen`` (to watch its memory). Stops the server
    afterwards and fails if its log shows a traceback or an asset missing from the offline
    cache.
    """
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} not installed (scripts/install_system_deps.sh)")
    log_path = log_dir / "server.log"
    port = free_port()
    env = {
        **os.environ,
        **server_env(),  # as `devsim app` serves it
        "SOLARA_ASSETS_CDN": "http://127.0.0.1:9/",  # a cache miss fails fast
        "PYTHONUNBUFFERED": "1",
        **(env or {}),
    }
    command = [
        sys.executable, "-m", "solara", "run", app,
        "--host", "127.0.0.1", "--port", str(port),
        "--production", "--no-open", "--no-check-version", "--log-level", "warning",
    ]  # fmt: skip
    url = f"http://127.0.0.1:{port}/"
    with open(log_path, "w") as log:
        proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        if proc_out is not None:
            proc_out.append(proc)
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


@contextlib.contextmanager
def chromium():
    """Debian's chromium through Playwright (``playwright install`` is not needed)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        try:
            yield browser
        finally:
            browser.close()


class Tab:
    """One browser context (= one Solara session) on a page, recording failed requests."""

    def __init__(self, browser, url: str, width: int = 1280, height: int = 800, **options):
        self.context = browser.new_context(viewport={"width": width, "height": height}, **options)
        self.page = self.context.new_page()
        self.failed: list[str] = []
        self.page.on("requestfailed", lambda r: self.failed.append(f"{r.url} {r.failure}"))
        self.page.on(
            "response", lambda r: r.status >= 400 and self.failed.append(f"{r.status} {r.url}")
        )
        self.page.goto(url)

    def screenshot(self, name: str, full_page: bool = False) -> Path:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / name
        self.page.wait_for_timeout(600)  # let Vuetify's transitions finish
        self.page.screenshot(path=str(path), full_page=full_page)
        return path

    def close(self) -> None:
        self.context.close()


# WCAG contrast of each visible element matching the selectors: its text colour against the
# backgrounds under it, [{sel, text, ratio}].
CONTRAST = """(selectors) => {
    const parse = (c) => {
        const p = c.match(/rgba?\\(([^)]+)\\)/)[1].split(',').map(Number);
        return [p[0], p[1], p[2], p.length > 3 ? p[3] : 1];
    };
    const lum = ([r, g, b]) => {
        const f = (v) => {
            v /= 255;
            return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
        };
        return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
    };
    const background = (el) => {
        const layers = [];
        for (; el; el = el.parentElement) {
            const c = parse(getComputedStyle(el).backgroundColor);
            if (c[3] > 0) { layers.push(c); if (c[3] >= 1) break; }
        }
        let out = [255, 255, 255];
        for (const c of layers.reverse()) out = out.map((v, i) => v * (1 - c[3]) + c[i] * c[3]);
        return out;
    };
    const out = [];
    for (const sel of selectors) {
        for (const el of document.querySelectorAll(sel)) {
            if (!el.innerText || !el.innerText.trim() || !el.offsetParent) continue;
            const a = lum(parse(getComputedStyle(el).color)), b = lum(background(el));
            out.push({sel, text: el.innerText.slice(0, 40),
                      ratio: (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05)});
        }
    }
    return out;
}"""

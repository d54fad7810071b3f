"""The page under a class: click-to-visible latency, thirty sessions playing, and the cull.

    .venv/bin/python benchmarks/bench_classroom.py latency [--clicks 40]
    .venv/bin/python benchmarks/bench_classroom.py class [--sessions 30] [--seconds 35]
    .venv/bin/python benchmarks/bench_classroom.py server [--sessions 30] [--seconds 30]
        [--distinct-seeds]

``latency``: one Chromium session on the default page; for each Step, the time from the click
to the frame on which the new age is on screen, and to the frame on which every panel shows
the new day (measured in the browser with ``performance.now()`` and ``requestAnimationFrame``).

``class``: ``--sessions`` browser contexts in one Chromium on this machine, each pressing Play
on the default page; every session's simulated days per second, the server's memory per
session and CPU, Chromium's CPU; then Chromium is killed (SIGKILL) and the server's /status
page is polled until the sessions are culled (the server runs with a short
``SOLARA_KERNEL_CULL_TIMEOUT``, ``--cull``, default 10s). The browsers share the two cores with
the server, which a real class does not.

``server``: the server alone. ``--sessions`` Solara virtual kernels in this process, each
rendering the default page and pressing Play, exactly as the server does for a browser, with
no browser drawing and no websocket transfer (the widget messages are still built). Their
days per second say what the server itself can carry. Sessions opened from one link share
their visual world (same seed, same banks); ``--distinct-seeds`` gives each its own.

``tests/test_classroom.py`` (``pytest -m load``) runs ``class`` with the issue's thresholds.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import sys
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

LATENCY_JS = """async () => {
    const age = () => document.querySelector('.devsim-age').innerText;
    const want = parseInt(age().match(/P(\\d+)/)[1]) + 1;
    const frame = () => new Promise((r) => requestAnimationFrame(r));
    const t0 = performance.now();
    document.querySelector('.devsim-step').click();
    let seen = null;
    for (;;) {
        await frame();
        const now = performance.now();
        if (seen === null && age() === `Age: P${want}`) seen = now - t0;
        const charts = [...document.querySelectorAll('figure.devsim-chart')];
        const today = (c) => (c.dataset.version || '').startsWith(want + '-');
        if (seen !== null && charts.every(today)) {
            return [seen, now - t0];
        }
        if (now - t0 > 20000) return [seen, null];
    }
}"""

AGE_JS = "() => parseInt(document.querySelector('.devsim-age').innerText.match(/P(\\d+)/)[1])"


def _wait_ready(page) -> None:
    page.locator(".devsim-step").wait_for(timeout=120_000)
    page.wait_for_function(
        "() => [...document.querySelectorAll('figure.devsim-chart')].length >= 5 && "
        "[...document.querySelectorAll('figure.devsim-chart')].every(c => c.dataset.version)",
        timeout=120_000,
    )


def latency(url: str, clicks: int = 40) -> dict:
    from browser_support import chromium

    with chromium() as browser:
        # tall enough for every panel to be on screen: "all panels" means all of them
        context = browser.new_context(viewport={"width": 1280, "height": 2000})
        page = context.new_page()
        page.goto(url)
        _wait_ready(page)
        for _ in range(3):  # warm up: the first steps compile and cache
            page.evaluate(LATENCY_JS)
        age_ms, all_ms = [], []
        for _ in range(clicks):
            seen, drawn = page.evaluate(LATENCY_JS)
            age_ms.append(seen)
            all_ms.append(drawn)
            page.wait_for_timeout(150)
        context.close()
    return {
        "clicks": clicks,
        "age_visible_ms": {"median": statistics.median(age_ms), "p90": _p90(age_ms)},
        "all_panels_ms": {"median": statistics.median(all_ms), "p90": _p90(all_ms)},
    }


def _p90(values: list[float]) -> float:
    return sorted(values)[int(0.9 * (len(values) - 1))]


def _rss(pid: int) -> float:
    return psutil.Process(pid).memory_info().rss / 2**20


def _cpu(procs: list[psutil.Process]) -> float:
    total = 0.0
    for p in procs:
        try:
            t = p.cpu_times()
            total += t.user + t.system
        except psutil.Error:
            pass
    return total


def _status(browser, url: str) -> tuple[int, int, float]:
    """(sessions, models, MiB) from the server's /status page (its own session included)."""
    context = browser.new_context()
    page = context.new_page()
    page.goto(url + "status")
    text = page.locator(".devsim-status").inner_text(timeout=60_000)
    context.close()
    sessions, models, mib = (float(part.split(": ")[1].split()[0]) for part in text.split(" · "))
    return int(sessions), int(models), mib


def classroom(url: str, server_pid: int, sessions: int = 30, seconds: float = 35.0,
              cull_wait: float = 900.0) -> dict:  # fmt: skip
    """Thirty sessions playing, then the browsers killed and the cull watched."""
    from browser_support import chromium
    from playwright.sync_api import sync_playwright

    me = psutil.Process()
    server = psutil.Process(server_pid)
    # one session first, playing a few days, so that imports, compilation and the caches
    # every session shares are not counted per session
    with chromium() as browser:
        base_sessions, _, _ = _status(browser, url)
        context = browser.new_context()
        page = context.new_page()
        page.goto(url)
        _wait_ready(page)
        for _ in range(3):
            page.evaluate(LATENCY_JS)
        context.close()
    time.sleep(2)
    baseline = _rss(server_pid)

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path="/usr/bin/chromium",
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        pages = []
        for _ in range(sessions):
            context = browser.new_context(viewport={"width": 1280, "height": 900})
            page = context.new_page()
            page.goto(url)
            pages.append(page)
        for page in pages:
            _wait_ready(page)
        opened = _rss(server_pid)
        chrome = [c for c in me.children(recursive=True) if "chrom" in c.name().lower()]
        cpu_server0, cpu_chrome0 = _cpu([server]), _cpu(chrome)
        start = time.monotonic()
        pressed_at = []
        for page in pages:  # a click in the page itself: no waiting for a busy Chromium
            page.evaluate("() => document.querySelector('.devsim-play').click()")
            pressed_at.append(time.monotonic())
        pressed = time.monotonic()
        samples = [[] for _ in pages]  # per session: (time, age) as read in its page
        peak = opened
        while time.monotonic() - pressed < seconds:
            time.sleep(2.0)
            for k, page in enumerate(pages):
                age = page.evaluate(AGE_JS)
                samples[k].append((time.monotonic(), age))
            peak = max(peak, _rss(server_pid))
        elapsed = time.monotonic() - start
        cpu_server = (_cpu([server]) - cpu_server0) / elapsed
        cpu_chrome = (_cpu(chrome) - cpu_chrome0) / elapsed
        days = pages[0].evaluate("() => parseInt(document.querySelector('.devsim-age')"
                                 ".nextElementSibling.innerText.match(/P(\\d+)/)[1])")  # fmt: skip
        rates = []
        for k in range(sessions):
            # from Play (at P0) to the last sample before the session reached the end of
            # life; a session already at the end by the first sample gets the lower bound
            # days / (time of that sample - Play)
            series = samples[k]
            running = [(t, a) for t, a in series if 0 < a < days]
            t, a = running[-1] if running else next((t, a) for t, a in series if a >= days)
            rates.append(a / (t - pressed_at[k]))
        slowest = min(range(sessions), key=rates.__getitem__)
        slowest_series = [(round(t - pressed_at[slowest], 1), a) for t, a in samples[slowest]]
        # a class that closes its laptops: chromium killed, no goodbye to the server
        for proc in chrome:
            try:
                proc.send_signal(signal.SIGKILL)
            except psutil.Error:
                pass
        killed = time.monotonic()
        try:
            browser.close()
        except Exception:  # noqa: BLE001  (the browser is gone on purpose)
            pass
    with chromium() as browser:
        history = []
        while True:
            time.sleep(5)
            count, models, mib = _status(browser, url)
            history.append((round(time.monotonic() - killed, 1), count, models, mib))
            if count <= base_sessions or time.monotonic() - killed > cull_wait:
                break
    time.sleep(30)  # the server collects closed sessions' cycles a moment later
    after = _rss(server_pid)
    return {
        "sessions": sessions,
        "seconds_playing": round(elapsed, 1),
        "days_per_second": {
            "min": min(rates),
            "median": statistics.median(rates),
            "max": max(rates),
        },  # fmt: skip
        "slowest_session": slowest_series,  # (s after its Play, age)
        "server_mib": {
            "baseline": round(baseline, 1),
            "opened": round(opened, 1),
            "peak": round(peak, 1),
            "after_cull": round(after, 1),
        },  # fmt: skip
        "mib_per_session": round((peak - baseline) / sessions, 2),
        "server_cpu_cores": round(cpu_server, 2),
        "chromium_cpu_cores": round(cpu_chrome, 2),
        "cull": {
            "sessions_left": history[-1][1],
            "models_left": history[-1][2],
            "seconds_to_cull": history[-1][0],
            "history": history,  # (s after the kill, sessions, models, MiB)
        },
    }


def server_alone(sessions: int = 30, seconds: float = 30.0, seeds: bool = False) -> dict:
    """``sessions`` virtual kernels in this process playing the default page (``seeds``:
    each with a seed of its own, so no two share their visual world)."""
    import asyncio
    import uuid

    import solara
    import solara.server.app  # noqa: F401  (the server's ipywidgets patches)
    import solara.server.kernel
    import solara.server.kernel_context
    import solara.server.starlette  # noqa: F401  (per-session state, as in the server)

    from devsim.viz import app, components

    @solara.component
    def _AtLink(query: str):
        """The page as opened at ``/?query`` (a link a student was given)."""
        solara.routing.router_context.provide(solara.routing.Router("/?" + query, routes=[]))
        return app.Page()

    loop = asyncio.new_event_loop()
    kernels = []
    base = _rss(os.getpid())
    for _ in range(sessions):
        context = solara.server.kernel_context.VirtualKernelContext(
            id=str(uuid.uuid4()), kernel=solara.server.kernel.Kernel(), session_id="s",
            event_loop=loop,
        )  # fmt: skip
        with context:
            query = f"seed={len(kernels)}" if seeds else ""
            _, rc = solara.render(_AtLink(query), handle_error=False)
        kernels.append((context, rc))
    opened = _rss(os.getpid())
    cpu0 = time.process_time()
    start = time.monotonic()
    for context, _ in kernels:
        with context:
            components.toggle_play()
    time.sleep(seconds)
    ages = []
    for context, _ in kernels:
        with context:
            ages.append(components.session.value.model.age)
            components.playing.set(False)
    elapsed = time.monotonic() - start
    cpu = (time.process_time() - cpu0) / elapsed
    played = _rss(os.getpid())
    for context, rc in kernels:
        with context:
            rc.close()
            context.close()
    rates = [a / elapsed for a in ages]
    return {
        "sessions": sessions,
        "seconds": round(elapsed, 1),
        "days_per_second": {
            "min": round(min(rates), 2),
            "median": statistics.median(rates),
            "max": round(max(rates), 2),
        },  # fmt: skip
        "mib_per_session": round((max(opened, played) - base) / sessions, 2),
        "mib": {"before": round(base, 1), "opened": round(opened, 1), "played": round(played, 1)},
        "cpu_cores": round(cpu, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("what", choices=["latency", "class", "server"])
    parser.add_argument("--clicks", type=int, default=40)
    parser.add_argument("--sessions", type=int, default=30)
    parser.add_argument("--seconds", type=float, default=35.0)
    parser.add_argument("--cull", default="10s", help="the server's session timeout")
    parser.add_argument(
        "--distinct-seeds",
        action="store_true",
        help="server: every session with a seed of its own (no shared visual world)",
    )
    args = parser.parse_args()
    if args.what == "server":
        from devsim.cli.app import server_env

        wanted = server_env()
        if any(os.environ.get(k) != v for k, v in wanted.items() if k.startswith("MALLOC")):
            # glibc reads these at start: run again as `devsim app` would start the server
            os.execve(sys.executable, [sys.executable, *sys.argv], {**os.environ, **wanted})
        print(json.dumps(server_alone(args.sessions, args.seconds, args.distinct_seeds), indent=1))
        return
    from browser_support import solara_server

    procs: list = []
    log = Path(os.environ.get("TMPDIR", "/tmp")) / f"bench_classroom_{os.getpid()}"
    log.mkdir(exist_ok=True)
    env = {"SOLARA_KERNEL_CULL_TIMEOUT": args.cull}
    with solara_server(log, env=env, proc_out=procs) as url:
        if args.what == "latency":
            result = latency(url, args.clicks)
        else:
            result = classroom(url, procs[0].pid, args.sessions, args.seconds)
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()

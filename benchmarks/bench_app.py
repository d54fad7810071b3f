"""Time the server's side of one day on the browser page: a step and the panels' data.

Runs the default ``PageModel`` (the model a new browser session gets) for ``--steps`` days
from ``--start`` and, after each step, computes what the page sends: every panel's datasets
(:func:`devsim.viz.charts.panel_data`) and their JSON, as :mod:`devsim.viz.components` does.
No server or browser: Solara's rendering, the websocket and the browser's drawing are in
``benchmarks/bench_classroom.py`` (click-to-visible latency, thirty sessions).

    .venv/bin/python benchmarks/bench_app.py [--steps 30] [--start 10]
    .venv/bin/python benchmarks/bench_app.py --protocol sheet_md --organisms 2 --start 30
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

from devsim.viz import PageModel, charts
from devsim.viz.page_model import presets


def _row(name: str, values: list[float]) -> str:
    mean, median = statistics.mean(values), statistics.median(values)
    return f"{name:18s} ms: mean {mean:7.1f}  median {median:7.1f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--start", type=int, default=10, help="days to run before timing")
    parser.add_argument("--protocol", default=None, help="a preset (default: the page's own)")
    parser.add_argument("--organisms", type=int, default=None, help="animals per group")
    args = parser.parse_args()

    settings = {}
    if args.protocol:
        preset = presets()[args.protocol]
        settings = {"protocol": args.protocol, "species": preset.species, "days": preset.days}
    if args.organisms:
        settings["organisms"] = args.organisms
    model = PageModel(**settings)
    for _ in range(args.start):
        model.step()
    organism = charts.default_organism(model)
    charts.panel_specs(model)

    step_ms, data_ms, json_ms, total_ms, cpu_ms, sizes = [], [], [], [], [], []
    for _ in range(args.steps):
        c0 = time.process_time()
        t0 = time.perf_counter()
        model.step()
        t1 = time.perf_counter()
        data = charts.panel_data(model, organism)
        t2 = time.perf_counter()
        payloads = [json.dumps({"version": model.age, "sets": sets}) for sets in data.values()]
        t3 = time.perf_counter()
        cpu_ms.append(1000 * (time.process_time() - c0))
        step_ms.append(1000 * (t1 - t0))
        data_ms.append(1000 * (t2 - t1))
        json_ms.append(1000 * (t3 - t2))
        total_ms.append(1000 * (t3 - t0))
        sizes.append(sum(map(len, payloads)))

    cortex = f"{model.cohort.size}x{model.cohort.size} sheet" if model.sheet else "point cortex"
    print(
        f"page model: {len(model.groups)} groups, {len(model.group_of)} organisms, "
        f"{model.cohort.neurons} neurons ({cortex})"
    )
    print(f"steps timed: {args.steps} (from P{args.start})")
    print(_row("model step", step_ms))
    print(_row("panel data", data_ms))
    print(_row("JSON", json_ms))
    print(_row("total", total_ms))
    print(_row("total CPU time", cpu_ms))  # steadier than wall time on a busy machine
    print(f"sent per day: {statistics.mean(sizes) / 1024:.1f} KiB of JSON (5 panels)")


if __name__ == "__main__":
    main()

"""Time one day of the browser page: a step of the default page model plus its figures.

Runs the default ``PageModel`` (the model a new browser session gets) for ``--steps`` days
from ``--start`` and, after each step, draws every figure the page shows with the same
functions the components call, rendered to PNG as ``solara.FigureMatplotlib`` does. No
server or browser; websocket transfer and the browser's own drawing are not included.

    .venv/bin/python benchmarks/bench_app.py [--steps 30] [--start 10]
"""

from __future__ import annotations

import argparse
import statistics
import time

from devsim.viz import PageModel, figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--start", type=int, default=10, help="days to run before timing")
    args = parser.parse_args()

    model = PageModel()
    for _ in range(args.start):
        model.step()
    organism = figures.default_organism(model)
    for fig in figures.all_figures(model, organism):  # warm up fonts and caches
        figures.png(fig)

    step_ms, draw_ms, total_ms = [], [], []
    for _ in range(args.steps):
        t0 = time.perf_counter()
        model.step()
        t1 = time.perf_counter()
        for fig in figures.all_figures(model, organism):
            figures.png(fig)
        t2 = time.perf_counter()
        step_ms.append(1000 * (t1 - t0))
        draw_ms.append(1000 * (t2 - t1))
        total_ms.append(1000 * (t2 - t0))

    groups = len(model.groups)
    organisms = len(model.group_of)
    print(f"page model: {groups} groups, {organisms} organisms, {model.cohort.neurons} neurons")
    print(f"steps timed: {args.steps} (from P{args.start})")
    for name, values in (("model step", step_ms), ("figures", draw_ms), ("total", total_ms)):
        mean, median = statistics.mean(values), statistics.median(values)
        print(f"{name:10s} ms: mean {mean:7.1f}  median {median:7.1f}")


if __name__ == "__main__":
    main()

"""Time one day of the browser page: a step of the default page model plus its figures.

Runs the default ``PageModel`` (the model a new browser session gets) for ``--steps`` days
from ``--start`` and, after each step, produces every figure the page shows as the page
does: one :class:`~devsim.viz.figures.PageFigure` per panel kept for the session, updated
to the new day and turned into PNG bytes (the same calls as :mod:`devsim.viz.components`).
No server or browser; websocket transfer and the browser's own drawing are not included.
For comparison it also times building and drawing every figure from scratch
(``figures.all_figures``; the lessons page draws its figures that way).

    .venv/bin/python benchmarks/bench_app.py [--steps 30] [--start 10]
    .venv/bin/python benchmarks/bench_app.py --protocol sheet_md --organisms 2 --start 30

``--protocol`` runs a preset as the page does (a sheet preset shows the maps panel in place
of the synaptic graph), ``--organisms`` sets the animals per group.
"""

from __future__ import annotations

import argparse
import statistics
import time

from devsim.viz import PageModel, figures
from devsim.viz.page_model import presets


def page_panels(model: PageModel, organism) -> dict:
    """name -> (the session's figure, how the page redraws it after a step)."""
    return {
        "litter": (figures.LitterFigure(model), lambda f: f.update(model, organism.row).png()),
        "histogram": (figures.HistogramFigure(model), lambda f: f.update(model).png()),
        "timeline": (figures.TimelineFigure(model), lambda f: f.update(model).png()),
        **(
            {"maps": (figures.MapFigure(model), lambda f: f.update(model, organism.row).png())}
            if model.sheet
            else {"synapses": (figures.SynapseFigure(model), lambda f: f.update(organism).png())}
        ),
        "receptive fields": (
            figures.ReceptiveFieldFigure(model),
            lambda f: f.update(organism).png(),
        ),
    }


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
    organism = figures.default_organism(model)
    panels = page_panels(model, organism)
    for fig, draw in panels.values():  # the page's first picture; warms fonts and caches
        draw(fig)

    step_ms, draw_ms, total_ms, cpu_ms = [], [], [], []
    panel_ms: dict[str, list[float]] = {name: [] for name in panels}
    for _ in range(args.steps):
        c0 = time.process_time()
        t0 = time.perf_counter()
        model.step()
        t1 = time.perf_counter()
        for name, (fig, draw) in panels.items():
            start = time.perf_counter()
            draw(fig)
            panel_ms[name].append(1000 * (time.perf_counter() - start))
        t2 = time.perf_counter()
        cpu_ms.append(1000 * (time.process_time() - c0))
        step_ms.append(1000 * (t1 - t0))
        draw_ms.append(1000 * (t2 - t1))
        total_ms.append(1000 * (t2 - t0))

    # the same figures built and drawn from scratch, on the final day (not part of a step)
    scratch_ms = []
    for _ in range(min(args.steps, 5)):
        t0 = time.perf_counter()
        for fig in figures.all_figures(model, organism):
            figures.png(fig)
        scratch_ms.append(1000 * (time.perf_counter() - t0))

    groups = len(model.groups)
    organisms = len(model.group_of)
    cortex = f"{model.cohort.size}x{model.cohort.size} sheet" if model.sheet else "point cortex"
    print(
        f"page model: {groups} groups, {organisms} organisms, {model.cohort.neurons} neurons "
        f"({cortex})"
    )
    print(f"steps timed: {args.steps} (from P{args.start})")
    print(_row("model step", step_ms))
    print(_row("figures", draw_ms))
    for name, values in panel_ms.items():
        print(_row(f"  {name}", values))
    print(_row("total", total_ms))
    print(_row("total CPU time", cpu_ms))  # steadier than wall time on a busy machine
    print(_row("(from scratch)", scratch_ms))


if __name__ == "__main__":
    main()

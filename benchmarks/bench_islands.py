"""Evolution throughput: a generation against the development kernel's own time, and the
island model on 1 vs 2 Dask workers.

    .venv/bin/python benchmarks/bench_islands.py [--generations 3] [--islands 4] [--epochs 3]

1. Overhead of evolution: ``window_fixed_world`` (64 organisms, 60 days, 32 neurons, 640
   presentations a day) steps ``--generations`` generations with a
   :class:`devsim.cohort.PhaseTimer` on the model; the time of a generation is set against
   the time its cohort spent in :meth:`Cohort.develop_day` (the kernel's own time for the
   same organism-days; the rest is breeding, drawing worlds, building the cohort, laying
   down the template, assessing vision and recording) and against ``devsim bench``'s
   standard model developing as many organisms for as many days (normal rearing in the
   point-cortex world, daily measures included).
2. Islands: the same organisms as ``--islands`` islands of 32 (a 4 x 4 grid, 2 a cell),
   migration every 2 generations, ``--epochs`` epochs; serially, then on a local cluster
   of 2 workers already running (its start-up timed on its own). Throughput in
   organism-lifetimes per second; the generations must be the same bytes.

Prints numbers only; no assertions. Other processes on the machine distort the numbers.
"""

from __future__ import annotations

import argparse
import hashlib
import time
from contextlib import ExitStack

from devsim.bench import build_model, time_days
from devsim.cohort import PhaseTimer
from devsim.evolution import build_evolution_model
from devsim.evolution_runs import WARM
from devsim.evolution_scenario import load_evolution_scenario
from devsim.islands import run_islands
from devsim.runner import cluster_client
from devsim.shipped import scenario_path


def overhead(generations: int) -> None:
    scenario = load_evolution_scenario(scenario_path("window_fixed_world", "evolution"))
    model = build_evolution_model(scenario)  # founders (and numba's first compile)
    model.timer = PhaseTimer()
    start = time.perf_counter()
    for _ in range(generations):
        model.step()
    total = time.perf_counter() - start
    kernel = model.timer.seconds["day"]
    organisms = len(model.agents)
    bench = build_model(organisms, scenario.days)
    start = time.perf_counter()
    time_days(bench, scenario.days)
    standard = time.perf_counter() - start
    days = organisms * scenario.days
    print(f"1. evolution vs kernel: {scenario.name!r}, {organisms} organisms x {scenario.days} d")
    for label, seconds in (
        ("generation", total / generations),
        ("its kernel days", kernel / generations),
        ("devsim bench model", standard),
    ):
        print(f"   {label:<19} {seconds:6.2f} s  ({days / seconds:6.0f} organism-days/s)")
    print(f"   generation / its kernel days      {total / kernel:5.2f} x   (target <= 1.3)")
    print(f"   generation / devsim bench model   {total / generations / standard:5.2f} x")


def islands(count: int, epochs: int) -> None:
    base = load_evolution_scenario(scenario_path("window_fixed_world", "evolution"))
    scenario = base.with_changes(
        grid=(4, 4),
        per_cell=2,
        generations=2 * epochs,
        islands={"count": count, "migration_every": 2, "migrants": 2},
    )
    lives = count * 32 * (scenario.generations + 1)
    print(f"2. islands: {count} islands x 32 organisms, {scenario.generations} generations")
    start = time.perf_counter()
    serial, _ = run_islands(scenario, 1)
    one = time.perf_counter() - start
    with ExitStack() as stack:
        start = time.perf_counter()
        client = cluster_client(stack, 2, None, WARM)
        client.wait_for_workers(2)
        up = time.perf_counter() - start
        start = time.perf_counter()
        parallel, _ = run_islands(scenario, 1, workers=2, scheduler=client)
        two = time.perf_counter() - start
    same = digest(serial) == digest(parallel)
    print(f"   1 process       {one:7.1f} s  ({lives / one:6.2f} organism-lifetimes/s)")
    print(f"   2 workers       {two:7.1f} s  ({lives / two:6.2f} organism-lifetimes/s)")
    print(f"   speed-up        {one / two:7.2f} x   (target >= 1.6; cluster start-up {up:.1f} s)")
    print(f"   same generations byte for byte: {same}")


def digest(table) -> str:
    return hashlib.sha256(table.to_csv(index=False).encode()).hexdigest()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--generations", type=int, default=3)
    parser.add_argument("--islands", type=int, default=4)
    parser.add_argument("--epochs", type=int, default=3)
    args = parser.parse_args()
    overhead(args.generations)
    islands(args.islands, args.epochs)


if __name__ == "__main__":
    main()

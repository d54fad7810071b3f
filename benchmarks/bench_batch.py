"""Batch throughput: serial vs a 2-worker local Dask cluster, and the Dask per-run overhead.

    .venv/bin/python benchmarks/bench_batch.py [--points 10] [--seeds 4]

1. A 40-run sweep (10 MD start days x 4 seeds of a small scenario, ~1 s per run): wall time
   serial (``workers=1``, in process) and with ``workers=2`` (LocalCluster, start-up
   included), the speed-up, and the start-up cost of the cluster on its own.
   For reference, the same runs in a bare ``multiprocessing`` pool of 2 spawned processes
   (no Dask, no files, start-up excluded): what this machine gives 2 processes right now,
   the ceiling of the Dask speed-up (2.0x only on an idle machine).
2. 40 trivially short runs (1 day, 1 organism) serial vs on an already running 1-worker
   local cluster (warmed up: devsim imported): the per-run overhead of the Dask path
   (submit, schedule, transfer the summary, write it from the client).
3. 400 no-op jobs (``math:sqrt``) through :func:`devsim.runner.run_jobs` on that warm
   cluster: the runner's own per-job cost, nothing of devsim's.

Prints numbers only; no assertions. Other processes on the machine distort the numbers.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from devsim.batch import load_sweep, run_sweep
from devsim.runner import Job, local_cluster, run_jobs

BASE = """
name = "bench"
seed = 1
days = {days}
neurons = {neurons}
presentations_per_day = {ppd}
batch_size = 16

[[groups]]
name = "control"
organisms = {organisms}

[[groups]]
name = "md"
organisms = {organisms}
{rearing}
"""

SWEEP = """
[sweep]
name = "{name}"
base = "{base}"
seeds = {seeds}
seed = 99

[sweep.grid]
{grid}
"""


def make_sweep(
    folder: Path,
    name: str,
    points: int,
    seeds: int,
    *,
    days: int,
    organisms: int,
    neurons: int = 32,
    ppd: int = 640,
) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    rearing = ""
    if days >= 20:  # a 4-day suture whose start day varies
        rearing = 'rearing = [{ from = 14, to = 18, condition = "lid_suture", eye = "left" }]'
        starts = [14 + (days - 18) * k // max(points - 1, 1) for k in range(points)]
        grid = (
            f'"groups.md.rearing.0.from" = {starts}\n\n[sweep.link]\n'
            '"groups.md.rearing.0.to" = "groups.md.rearing.0.from + 4"'
        )
    else:  # too short a life for a suture: vary a gene instead
        grid = f'"genome.eta" = {[round(0.05 + 0.01 * k, 3) for k in range(points)]}'
    (folder / f"{name}_base.toml").write_text(
        BASE.format(days=days, organisms=organisms, neurons=neurons, ppd=ppd, rearing=rearing)
    )
    text = SWEEP.format(name=name, base=f"{name}_base.toml", seeds=seeds, grid=grid)
    path = folder / f"{name}.toml"
    path.write_text(text)
    return path


def timed(label: str, fn) -> float:
    start = time.perf_counter()
    fn()
    seconds = time.perf_counter() - start
    print(f"  {label:<46s} {seconds:8.2f} s", flush=True)
    return seconds


STARTUP = """
import time
from contextlib import ExitStack
import devsim.batch
from devsim.runner import cluster_client
start = time.perf_counter()
with ExitStack() as stack:
    cluster_client(stack, 2, None, "devsim.batch:warm_up").wait_for_workers(2)
print(time.perf_counter() - start)
"""


def startup_seconds() -> float:
    """A new 2-worker local cluster started (workers warm) and stopped, as ``run_sweep``
    makes it, in a fresh process (in this one the fork server is already warm)."""
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-c", STARTUP], capture_output=True, text=True, check=True
    )
    return float(done.stdout.split()[-1])


def pool_seconds(path: Path) -> float:
    """The sweep's runs in a bare pool of 2 spawned processes (warmed; no Dask, no files)."""
    import multiprocessing

    from devsim.batch import WARM_SCENARIO, run_one

    scenarios = [run.scenario for run in load_sweep(path).runs]
    with multiprocessing.get_context("spawn").Pool(2) as pool:
        pool.map(run_one, [WARM_SCENARIO, WARM_SCENARIO], chunksize=1)
        start = time.perf_counter()
        pool.map(run_one, scenarios, chunksize=1)
        return time.perf_counter() - start


def failures(*folders: Path) -> str:
    """How many runs failed in each batch folder (a fast failure is no speed-up)."""
    import pandas as pd

    counts = []
    for folder in folders:
        table = pd.read_parquet(folder / "results.parquet").drop_duplicates("run_id")
        counts.append(f"{folder.name} {int((table['status'] != 'ok').sum())}")
    return "  failed runs: " + ", ".join(counts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=10)
    parser.add_argument("--seeds", type=int, default=4)
    parser.add_argument("--days", type=int, default=40)
    parser.add_argument("--organisms", type=int, default=10)
    args = parser.parse_args()

    from distributed import Client

    print(
        f"devsim batch benchmark: {os.cpu_count()} cores, load average "
        f"{', '.join(f'{v:.2f}' for v in os.getloadavg())}"
    )
    with tempfile.TemporaryDirectory(prefix="bench_batch.") as tmp:
        tmp = Path(tmp)
        # --- 1. throughput -----------------------------------------------------------------
        path = make_sweep(
            tmp, "main", args.points, args.seeds, days=args.days, organisms=args.organisms
        )
        n = len(load_sweep(path).runs)
        print(
            f"1. {n} runs ({args.points} points x {args.seeds} seeds; {args.days} days, "
            f"2 groups x {args.organisms} organisms)"
        )
        serial = timed(
            "serial (workers=1)", lambda: run_sweep(path, tmp / "serial", workers=1, progress=False)
        )
        dask2 = timed(
            "LocalCluster workers=2 (start-up included)",
            lambda: run_sweep(path, tmp / "dask2", workers=2, progress=False),
        )

        start = startup_seconds()
        print(f"  {'  of which: cluster start + stop alone':<46s} {start:8.2f} s")
        print(failures(tmp / "serial", tmp / "dask2"))
        pool = pool_seconds(path)
        print(f"  {'bare 2-process pool (no Dask, start-up excluded)':<46s} {pool:8.2f} s")
        print(f"  per run: serial {serial / n:.3f} s")
        print(
            f"  speed-up 2 workers vs serial: {serial / dask2:.2f}x (start-up included), "
            f"{serial / max(dask2 - start, 1e-9):.2f}x (start-up excluded); target >= 1.7x"
        )
        print(f"  speed-up of the bare pool (this machine's ceiling now): {serial / pool:.2f}x")

        # --- 2. per-run overhead ---------------------------------------------------------
        short = make_sweep(tmp, "short", 10, 4, days=1, organisms=1, neurons=4, ppd=16)
        warm = make_sweep(tmp, "warm", 1, 1, days=1, organisms=1, neurons=4, ppd=16)
        m = len(load_sweep(short).runs)
        print(f"2. {m} trivially short runs (1 day, 1 organism per group)")
        t_serial = timed(
            "serial (workers=1)",
            lambda: run_sweep(short, tmp / "short_serial", workers=1, progress=False),
        )
        with (
            local_cluster(1) as cluster,
            Client(cluster) as client,
        ):
            run_sweep(warm, tmp / "warm", scheduler=client, progress=False)  # import devsim
            t_dask = timed(
                "running 1-worker LocalCluster (warm)",
                lambda: run_sweep(short, tmp / "short_dask", scheduler=client, progress=False),
            )
            noop = [Job(str(k), "math:sqrt", (float(k),)) for k in range(400)]
            t_noop = timed(
                "3. 400 no-op jobs, warm 1-worker LocalCluster",
                lambda: run_jobs(noop, lambda job, outcome: None, scheduler=client),
            )
        print(
            f"  per run: serial {1000 * t_serial / m:.1f} ms, Dask {1000 * t_dask / m:.1f} ms; "
            f"Dask overhead {1000 * (t_dask - t_serial) / m:+.1f} ms per run"
        )
        print(failures(tmp / "short_serial", tmp / "short_dask"))
        print(f"  runner overhead per job (no-op jobs): {1000 * t_noop / len(noop):.2f} ms")
    print(f"load average at the end: {', '.join(f'{v:.2f}' for v in os.getloadavg())}")


if __name__ == "__main__":
    main()

"""``devsim batch SWEEP --out DIR``: run a sweep of scenarios (resumable; serial or Dask)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from devsim.errors import DevsimInputError


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "batch",
        help="run a sweep of parameters x seeds (resumable; serial or Dask)",
        description="Run every (parameter point, seed) of a sweep file and write "
        "runs/<run_id>/summary.json as each finishes, then results.parquet, "
        "manifest.json and figures/ into --out. Rerun the same command to "
        "resume: finished runs are skipped. Exit code 1 if a run failed.",
    )
    parser.add_argument("sweep", type=Path, help="sweep TOML file (see devsim.batch)")
    parser.add_argument("--out", type=Path, required=True, help="output folder")
    parser.add_argument(
        "--workers",
        type=int,
        default=2,
        help="worker processes of a local Dask cluster; 1 = serial, in process (default 2)",
    )
    parser.add_argument(
        "--scheduler",
        default=None,
        metavar="ADDRESS",
        help="use an existing Dask cluster, e.g. tcp://10.0.0.5:8786 (--workers is then ignored)",
    )
    parser.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    import pandas as pd

    from devsim.batch import load_sweep, run_sweep, summary_table
    from devsim.cli.run import check_out

    if args.workers < 1:
        raise DevsimInputError(f"--workers: must be >= 1, got {args.workers}")
    sweep = load_sweep(args.sweep)
    check_out(args.out)
    try:
        table = run_sweep(sweep, args.out, workers=args.workers, scheduler=args.scheduler)
    except KeyboardInterrupt:
        print("devsim batch: interrupted; rerun the same command to resume", file=sys.stderr)
        return 130
    counts = table.attrs["batch"]
    summary = summary_table(table, sweep.parameters)
    print(
        f"{sweep.name}: {counts['total']} runs ({sweep.n_points} points x "
        f"{len(sweep.seeds)} seeds): {counts['ran']} run now, {counts['reused']} reused, "
        f"{counts['failed']} failed"
    )
    with pd.option_context("display.max_rows", 200, "display.width", 160):
        print(summary.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    if counts["failed"]:
        failed = table[table["status"] == "failed"].drop_duplicates("run_id")
        for run_id, error in zip(failed["run_id"], failed["error"], strict=True):
            print(f"failed: {run_id}: {error} (see {args.out / 'runs' / run_id / 'error.txt'})")
    print(f"results in {args.out}/ (results.parquet, manifest.json, runs/, figures/)")
    return 1 if counts["failed"] else 0

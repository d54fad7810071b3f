"""``devsim batch SWEEP --out DIR``: run a sweep of scenarios (resumable; serial or Dask)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from devsim.budget import MAX_RUNS
from devsim.budget import add_arguments as add_budget_arguments
from devsim.errors import DevsimInputError


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "batch",
        help="run a sweep of parameters x seeds (resumable; serial or Dask)",
        description="Run every (parameter point, seed) of a sweep file and write "
        "runs/<run_id>/summary.json as each finishes, then results.parquet, "
        "manifest.json and figures/ into --out. Rerun the same command to "
        "resume: finished runs are skipped. One batch at a time per folder; a folder "
        "holds one sweep (its grid values and seeds may change). Exit code 1 if a run "
        "failed.",
    )
    parser.add_argument(
        "sweep", type=str, help="shipped sweep name (e.g. cp_profile_sweep) or sweep TOML file"
    )
    parser.add_argument("--out", type=str, required=True, help="output folder")
    parser.add_argument(
        "--workers",
        type=int,
        default=None,
        help="worker processes of a local Dask cluster; 1 = serial, in process "
        "(default: 2, or 1 on a one-core machine; at most the machine's cores)",
    )
    parser.add_argument(
        "--scheduler",
        default=None,
        metavar="ADDRESS",
        help="use an existing Dask cluster, e.g. tcp://10.0.0.5:8786 (--workers is then ignored)",
    )
    parser.add_argument(
        "--max-runs",
        type=int,
        default=MAX_RUNS,
        metavar="N",
        help=f"refuse a sweep of more than N runs, counted before any is built "
        f"(default {MAX_RUNS:,})",
    )
    add_budget_arguments(parser)
    parser.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    from devsim.budget import check_workers, default_workers
    from devsim.outputs import check_out, check_own_folder, printable

    out = check_out(args.out, stages=False)  # writes inside --out, not beside it
    check_own_folder(out, "devsim batch")
    workers = default_workers() if args.workers is None else args.workers
    workers = check_workers(workers, args.scheduler)
    if args.max_runs < 1:
        raise DevsimInputError(f"--max-runs: must be >= 1, got {args.max_runs}")
    try:
        return _batch(args, out, workers, printable)
    except KeyboardInterrupt:
        print("devsim batch: interrupted; rerun the same command to resume", file=sys.stderr)
        return 130


def _batch(args: argparse.Namespace, out: Path, workers: int, printable) -> int:
    import pandas as pd

    from devsim.batch import load_sweep, run_sweep, summary_table
    from devsim.budget import limits
    from devsim.outputs import count_of, table_text
    from devsim.plots import batch as batch_plots
    from devsim.shipped import resolve

    sweep = load_sweep(resolve(args.sweep, "sweep", "sweep"), max_runs=args.max_runs)
    table = run_sweep(
        sweep,
        out,
        workers=workers,
        scheduler=args.scheduler,
        limits=limits(args),
        draw=batch_plots.render_figures,
    )
    counts = table.attrs["batch"]
    columns = list(sweep.columns.values())
    summary = summary_table(table, columns)
    for col in (*columns, "group"):  # names and values as the terminal can show them
        if not pd.api.types.is_numeric_dtype(summary[col]):
            summary[col] = summary[col].map(lambda v: printable(str(v), 60))
    print(
        f"{printable(sweep.name, 200)}: {count_of(counts['total'], 'run')} "
        f"({count_of(sweep.n_points, 'point')} x {count_of(len(sweep.seeds), 'seed')}): "
        f"{counts['ran']} run now, {counts['reused']} reused, "
        f"{counts['failed']} failed"
    )
    # over seeds: each run's group measure (results.parquet's cbi_sd is between animals)
    print("each group's final CBI and shift: runs, mean and sd over the point's seeds")
    print(table_text(summary))  # to_string prints every row and column, whatever the options
    shown = printable(str(out), 300)
    drawn = (out / "figures").is_dir() and any((out / "figures").iterdir())
    written = "results.parquet, manifest.json, runs/" + (", figures/" if drawn else "")
    print(f"results in {shown}/ ({written})")
    if not counts["failed"]:
        return 0
    failed = table[table["status"] == "failed"].drop_duplicates("run_id")
    for run_id, error in zip(failed["run_id"], failed["error"], strict=True):
        where = printable(str(out / "runs" / run_id / "error.txt"), 300)
        print(f"failed: {run_id}: {printable(str(error), 300)} (see {where})")
    first = printable(str(failed["error"].iloc[0]), 300)
    print(
        f"devsim batch: {counts['failed']} of {count_of(counts['total'], 'run')} failed "
        f"(first: {first}; each run's error.txt under {shown}/runs/); rerun the same "
        "command to run them again",
        file=sys.stderr,
    )
    return 1

"""``devsim bench [--quick] [--json] [--checks]``: time the development kernel."""

from __future__ import annotations

import argparse
import json

from devsim.defaults import BENCH_SEEDS
from devsim.errors import DevsimInputError


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "bench",
        help="time the development kernel against a bare-numpy floor and naive stepping",
        description="Time a standard workload (100 organisms x 90 days in one model), a "
        "large one (10,000 organisms, a few days) and a cortical-sheet one (cats on a 32x32 "
        "sheet, 1 and 64 organisms x 90 days): wall time, organism-days/s, synapse "
        "updates/s, the bare-numpy floors and naive one-organism-at-a-time stepping, peak "
        "memory, bytes per synapse (per organism on the sheet) and the growth of a day's "
        "time with organisms (and with the sheet's side).",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="small workloads (20 organisms x 10 days; large 2,000 organisms x 2 days; "
        "sheet 1 and 8 organisms x 10 days)",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument(
        "--checks",
        action="store_true",
        help="also check the MD shift for batch 16 vs 1 and vs 32, and float32 vs float64",
    )
    parser.add_argument(
        "--seeds",
        type=int,
        default=BENCH_SEEDS,
        help="seeds per variant for --checks (default %(default)s)",
    )
    parser.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    from devsim.bench import format_report, run_bench

    if args.seeds < 2:
        raise DevsimInputError(f"--seeds: need at least 2 for a spread, got {args.seeds}")
    result = run_bench(quick=args.quick, checks=args.checks, seeds=args.seeds)
    if args.json:
        print(json.dumps(result, indent=1))
    else:
        print(format_report(result))
    return 0

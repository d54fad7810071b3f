"""``devsim run SCENARIO --out DIR``: simulate one scenario and write its results."""

from __future__ import annotations

import argparse
from pathlib import Path

from devsim.budget import add_arguments as add_budget_arguments
from devsim.budget import check_cost, limits, scenario_cost
from devsim.errors import DevsimInputError
from devsim.experiment import final_table, run_scenario, summary_json, timeline_table
from devsim.measures import FINAL_METRICS
from devsim.outputs import check_out, printable, staged
from devsim.scenario import SEED_MAX, load_scenario
from devsim.shipped import resolve

# The printed table: the CBI first, the OD histogram last (it is the widest column).
TABLE_COLUMNS = [
    "group",
    "cbi",
    *(m for m in FINAL_METRICS if m not in ("cbi", "od_histogram")),
    "od_histogram",
]


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "run",
        help="simulate one scenario",
        description="Simulate a scenario (a shipped name, see devsim scenarios, or a TOML "
        "file) and write summary.json, timeline.parquet and figures/ into --out.",
    )
    parser.add_argument(
        "scenario", type=str, help="shipped scenario name (e.g. md_critical) or TOML file"
    )
    parser.add_argument("--out", type=str, required=True, help="output folder")
    parser.add_argument("--seed", type=int, default=None, help="override the scenario's seed")
    add_budget_arguments(parser)
    parser.set_defaults(func=main)


def write_run(out: Path, summary: dict, scenario) -> None:
    """Write summary.json, timeline.parquet and figures/*.png; all or nothing."""
    from devsim.plots.development import od_histograms, timeline

    with staged(out) as staging:
        (staging / "summary.json").write_text(summary_json(summary), encoding="utf-8")
        timeline_table(summary).to_parquet(staging / "timeline.parquet", index=False)
        (staging / "figures").mkdir()
        od_histograms(summary, staging / "figures" / "od_histograms.png")
        timeline(summary, scenario, staging / "figures" / "timeline.png")


def main(args: argparse.Namespace) -> int:
    out = check_out(args.out)
    scenario = load_scenario(resolve(args.scenario, "scenario"))
    if args.seed is not None:
        if not 0 <= args.seed <= SEED_MAX:
            raise DevsimInputError(f"--seed: must be in 0..{SEED_MAX}, got {args.seed}")
        scenario = scenario.with_changes(seed=args.seed)
    check_cost(scenario_cost(scenario), *limits(args), what=printable(scenario.name, 80))
    summary, _ = run_scenario(scenario)
    write_run(out, summary, scenario)
    table = final_table(summary)[TABLE_COLUMNS]
    print(
        f"{printable(scenario.name)}  (species {scenario.species}, seed {scenario.seed}, "
        f"age {scenario.days} days)"
    )
    table["group"] = [printable(name, 60) for name in table["group"]]
    print(table.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    print(f"results in {printable(str(out))}/ (summary.json, timeline.parquet, figures/)")
    return 0

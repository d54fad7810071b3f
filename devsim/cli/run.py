"""``devsim run SCENARIO --out DIR``: simulate one scenario and write its results."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import numpy as np

from devsim.budget import add_arguments as add_budget_arguments
from devsim.budget import check_cost, limits, scenario_cost
from devsim.errors import DevsimInputError
from devsim.experiment import (
    cbi_shift,
    final_table,
    md_end_day,
    run_scenario,
    summary_json,
    timeline_table,
)
from devsim.maps import MAP_METRICS
from devsim.measures import FINAL_METRICS
from devsim.outputs import check_out, check_own_folder, check_room, printable, staged, table_text
from devsim.provenance import code_digest, provenance, recorded_code
from devsim.runner import Progress
from devsim.scenario import SEED_MAX, load_scenario
from devsim.senses import REARING_STATISTICS
from devsim.shipped import resolve

# The printed table: the CBI, its spread between animals and the shift first, the OD
# histogram last (it is the widest column).
_FIRST = ("cbi", "cbi_sd", "shift")
TABLE_COLUMNS = [
    "group",
    *_FIRST,
    *(m for m in FINAL_METRICS if m not in (*_FIRST, "od_histogram")),
    "od_histogram",
]


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "run",
        help="simulate one scenario",
        description="Simulate a scenario (a shipped name, see devsim scenarios, a TOML file, "
        "or an earlier run's scenario.json to run it again) and write summary.json, "
        "scenario.json, timeline.parquet and figures/ into --out.",
    )
    parser.add_argument(
        "scenario",
        type=str,
        help="shipped scenario name (e.g. md_critical), TOML file, or a run's scenario.json",
    )
    parser.add_argument("--out", type=str, required=True, help="output folder")
    parser.add_argument("--seed", type=int, default=None, help="override the scenario's seed")
    parser.add_argument(
        "--quiet",
        action="store_true",
        help="no progress on stderr (a bar on a terminal, else a line every 10 s)",
    )
    add_budget_arguments(parser)
    parser.set_defaults(func=main)


# What a run writes into --out: these on every cortex, SHEET_FILES besides on a sheet.
RUN_FILES = ("summary.json", "scenario.json", "timeline.parquet", "figures/od_histograms.png",
             "figures/timeline.png")  # fmt: skip
SHEET_FILES = ("maps.npz", "figures/od_maps.png", "figures/orientation_maps.png",
               "figures/map_development.png")  # fmt: skip


def run_files(scenario) -> tuple[str, ...]:
    return RUN_FILES + (SHEET_FILES if scenario.cortex == "sheet" else ())


def write_run(
    out: Path, summary: dict, scenario, maps: dict | None = None, seeded: bool = True
) -> None:
    """Write summary.json, timeline.parquet and figures/*.png (and, for a sheet, its
    ``maps``: maps.npz and the map figures); all or nothing. A previous run's sheet files
    that this run does not write are removed: a folder holds one run's results. Not
    ``seeded`` (drawn from a generator the caller gave): scenario.json's seed is null, as
    summary.json's is, for no seed reproduces the run."""
    from devsim.plots.development import od_histograms
    from devsim.plots.development import timeline as plot_timeline

    with staged(out) as staging:
        (staging / "summary.json").write_text(summary_json(summary), encoding="utf-8")
        # what ran, whole (groups, rearing, genome overrides, neurons, presentations): a
        # folder says its protocol without the TOML file it came from
        (staging / "scenario.json").write_text(scenario_json(scenario, seeded), encoding="utf-8")
        timeline = timeline_table(summary)
        timeline.attrs["devsim"] = provenance()  # the table carries what made it
        timeline.to_parquet(staging / "timeline.parquet", index=False)
        (staging / "figures").mkdir()
        od_histograms(summary, staging / "figures" / "od_histograms.png")
        plot_timeline(summary, scenario, staging / "figures" / "timeline.png")
        if maps is not None:
            from devsim.plots.maps import map_figures

            save_maps(staging / "maps.npz", maps)
            map_figures(maps, staging / "figures")
    for name in SHEET_FILES if maps is None else ():  # a sheet run's maps, left from before
        stale = out / name
        try:
            if stale.is_file():
                stale.unlink()
        except OSError as exc:  # the new results are published; say what is left
            print(f"devsim run: note: a previous run's {printable(str(stale))} could not be "
                  f"removed ({exc.strerror or exc})", file=sys.stderr)  # fmt: skip


def save_run(model, out: str | os.PathLike) -> Path:
    """Write ``model``'s results so far as ``devsim run`` writes them (summary.json,
    scenario.json, timeline.parquet, figures/; a sheet's maps.npz and map figures) into the
    folder ``out``, created if need be: the Python API's way to keep a run
    (``devsim.save_run``). Returns the folder."""
    from devsim.model import DevelopmentModel

    if not isinstance(model, DevelopmentModel):
        raise TypeError(f"save_run: expected a DevelopmentModel, got {type(model).__name__}")
    if model.age < model.days:  # its scenario.json would run to the end: not this run
        raise DevsimInputError(
            f"save_run: the model has lived {model.age} of its {model.days} days; step it "
            "to the end (while model.running: model.step()), or build it with the days it "
            "should live, so that its scenario.json runs it again"
        )
    unrecorded = model.world_params.apparatus_changes()
    if unrecorded:
        raise DevsimInputError(
            f"save_run: this model's world sets {', '.join(unrecorded)}, which a scenario "
            "cannot record, so its scenario.json would not run it again; a scenario's "
            f"[world] table sets {', '.join(REARING_STATISTICS)}"
        )
    folder = check_out(os.fspath(out), flag="out")
    check_own_folder(folder, "devsim run", flag="out")
    check_room(folder, run_files(model.experiment), flag="out")
    results = model.results()
    write_run(folder, results.summary(), model.experiment,
              model.map_record() if model.sheet else None, seeded=results.seeded)  # fmt: skip
    return folder


def scenario_json(scenario, seeded: bool = True) -> str:
    """The scenario as run (``devsim run``'s ``scenario.json``), with the code that ran it
    (devsim's version, the code digest, Python's version); the seed null if not ``seeded``."""
    ran = scenario.model_dump(mode="json", by_alias=True)
    if not seeded:
        ran["seed"] = None
    content = {**provenance(), "scenario": ran}
    return json.dumps(content, indent=1) + "\n"


def save_maps(path: Path, record: dict) -> None:
    """``maps.npz``: the sheet's maps (arrays as in :meth:`DevelopmentModel.map_record`)."""
    arrays = {k: np.asarray(v) for k, v in record.items()}
    arrays["group"] = np.asarray(record["group"], dtype=str)
    with open(path, "wb") as handle:
        np.savez_compressed(handle, **arrays)


def main(args: argparse.Namespace) -> int:
    out = check_out(args.out)
    if args.seed is not None and not 0 <= args.seed <= SEED_MAX:
        raise DevsimInputError(f"--seed: must be in 0..{SEED_MAX}, got {args.seed}")
    path = resolve(args.scenario, "scenario")
    scenario = load_scenario(path, seed=args.seed)
    # named as given, as the loader names the file (or the shipped name: md_critical)
    check_cost(scenario_cost(scenario), *limits(args), what=printable(args.scenario, 200))
    check_own_folder(out, "devsim run")
    check_room(out, run_files(scenario))
    if path.suffix == ".json" and (made := recorded_code(path)) != code_digest():
        code = made or "its code not recorded"  # (said once every check has passed)
        print(
            f"note: {printable(str(path), 200)} was run by other devsim code ({printable(code)});"
            " this run may not give its numbers"
        )
    # a bar of days on a terminal; in a log, a line every 10 s of a long run (none if short)
    bar = Progress(scenario.days, 0, not args.quiet, "devsim run", unit="day", every=10.0,
                   quiet_if_fast=True)  # fmt: skip
    try:
        summary, model = run_scenario(scenario, on_day=lambda _age: bar.update(False))
    finally:
        bar.close()
    write_run(out, summary, scenario, model.map_record() if model.sheet else None)
    columns = TABLE_COLUMNS[:-1] + [m for m in MAP_METRICS if model.sheet] + TABLE_COLUMNS[-1:]
    controls = {g.name: scenario.control_of(g.name) for g in scenario.groups}
    table = final_table(summary, controls)[columns]
    print(
        f"{printable(scenario.name)}  (species {scenario.species}, seed {scenario.seed}, "
        f"age {scenario.days} days)"
    )
    table["group"] = [printable(name, 60) for name in table["group"]]
    print(table_text(table))
    own = sorted({c for n, c in controls.items() if c != summary["reference_group"] and c != n})
    against = printable(summary["reference_group"], 60) + (
        f" (or the group's own control: {printable(', '.join(own), 120)})" if own else ""
    )
    print(
        f"shift: {against}'s CBI minus the group's (CBI pooled over a group's cells; cbi_sd: "
        "sd between its animals' own CBIs, each animal's in summary.json, per_organism)"
    )
    for group in scenario.groups:  # a shift read days after the deprivation ended
        end = md_end_day(group.model_dump(by_alias=True))
        control = controls[group.name]
        if end is not None and end < scenario.days and group.name != control:
            then = cbi_shift(summary, group.name, control, day=end)
            print(
                f"note: {printable(group.name, 60)}'s deprivation ended on day {end}; its shift "
                f"from {printable(control, 60)} then was {then:.3f}, "
                f"{scenario.days - end} days before the table's"
            )
    top = model.world_params.acuity_sfs[-1]
    for name, group in summary["groups"].items():
        share = group["final"]["acuity_at_ceiling"]
        if share:  # a bound is not a measurement: say so beside the table
            print(
                f"note: {share:.0%} of {printable(name, 60)} told apart the finest gratings "
                f"tested ({top:g} cycles per channel); their acuity is at least that"
            )
    written = (
        "summary.json, scenario.json, timeline.parquet, maps.npz, figures/"
        if model.sheet
        else ("summary.json, scenario.json, timeline.parquet, figures/")
    )
    print(f"results in {printable(str(out))}/ ({written})")
    return 0

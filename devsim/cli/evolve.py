"""``devsim evolve SCENARIO --out DIR``: evolve developmental genomes and write the record.

One scenario and one seed write ``DIR/generations.parquet`` (one row per generation),
``DIR/summary.json`` (the last generation, habitat maps, mutation-scale ratios) and
``DIR/figures/*.png``. Several scenarios and/or ``--seeds N`` write one such folder per run
(``DIR/<scenario>/seed<S>/``, ``<scenario>`` the file's name without ``.toml``) plus
``DIR/comparison.csv`` (every run's end state), ``DIR/comparison_summary.csv`` (each
scenario's mean and spread over seeds) and ``DIR/comparison.png``. The file names label
the runs, so two files with one name (or one file given twice) are refused rather than
written into one folder. Those runs go to Dask with
``--workers N`` (a local cluster) or ``--scheduler ADDRESS`` (an existing one); folders
already written are kept, so rerunning an interrupted batch finishes it. One island
scenario (``[islands]``) sends its islands there instead and continues from its
``checkpoint.npz`` when rerun (:mod:`devsim.islands`).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from devsim.budget import add_arguments as add_budget_arguments
from devsim.budget import check_workers
from devsim.defaults import SEEDS_MAX
from devsim.errors import DevsimInputError, DevsimRunError
from devsim.evolution_runs import TAIL, WARM, end_state, evolve, summarise
from devsim.outputs import (
    atomic_write,
    check_out,
    check_own_folder,
    check_room,
    printable,
    staged,
)
from devsim.scenario import SEED_MAX
from devsim.shipped import resolve

SUMMARY_TRAITS = (
    "fitness_mean",
    "quality_mean",
    "plasticity_mean",
    "innate_mean",
    "template_match_mean",
    "innate_effective_mean",
    "eta_mean",
    "floor_adult_mean",
    "window_open_mean",
    "window_close_mean",
    "adult_gate_mean",
    "effective_size",  # of the generation bred (none for the founders)
)
RUN_FILES = (  # what a run's folder receives (checked for things in the way before any work)
    "generations.parquet",
    "scenario.json",
    "summary.json",
    "figures/traits.png",
    "figures/genes.png",
    "figures/mutation_scales.png",
    "figures/habitat_map.png",
)
RESERVED = (  # files of --out, not scenario folders
    "comparison.csv",
    "comparison.png",
    "comparison_summary.csv",
    "timescales.csv",
    "timescales.png",
    "predictions.csv",
)
DRIFT = "drift"  # --drift: DIR/drift/<label>/seed<S>/, the same runs without selection


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "evolve",
        help="evolve developmental genomes over generations",
        description="Evolve a population of developing organisms (EvolutionModel) and write "
        "generations.parquet, summary.json and figures/ into --out. Several scenarios or "
        "--seeds N write one folder per run plus comparison.csv, comparison_summary.csv "
        "(mean, sd, 95% interval) and comparison.png.",
    )
    parser.add_argument(
        "scenario",
        type=str,
        nargs="+",
        help="shipped evolution scenario name(s) (e.g. assimilation_constant) or TOML "
        "file(s); each file's name (without .toml) names its "
        "folder in --out and its rows in comparison.csv, so the names must differ",
    )
    parser.add_argument("--out", type=str, required=True, help="output folder")
    parser.add_argument(
        "--generations", type=int, default=None, help="override generations (1..100000)"
    )
    parser.add_argument(
        "--seed", type=int, default=None, help=f"override the scenario's seed (0..{SEED_MAX})"
    )
    parser.add_argument(
        "--seeds", type=int, default=1, help=f"runs with seeds S, S+1, ... (1..{SEEDS_MAX})"
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=1,
        help="several runs, or the islands of one island scenario, on a local Dask cluster of "
        "N processes (default 1: in this process)",
    )
    parser.add_argument(
        "--scheduler",
        default=None,
        help="several runs, or the islands of one island scenario, on an existing Dask "
        "cluster, e.g. tcp://127.0.0.1:8786",
    )
    parser.add_argument(
        "--drift",
        action="store_true",
        help="also run every scenario and seed without selection (its tournaments on "
        "fitness shuffled each generation: drift at a generation's effective size), the "
        "drift baseline, into DIR/drift/<scenario>/",
    )
    parser.add_argument(
        "--quick", action="store_true", help="the scenario's reduced [quick] settings (tests)"
    )
    add_budget_arguments(parser)
    parser.set_defaults(func=main)


def _load(path: str):
    """The validated scenario of one file; any problem reading it is one line naming it."""
    from devsim.evolution_scenario import load_evolution_scenario

    shown = printable(path, 200)
    if not path.strip() or "\x00" in path:
        raise DevsimInputError(f"scenario file {shown!r}: not a file name")
    try:
        return load_evolution_scenario(path)
    except DevsimInputError:
        raise
    except OSError as exc:  # e.g. a name too long, a loop of symbolic links
        problem = exc.strerror or exc.__class__.__name__
        raise DevsimInputError(f"{shown}: cannot read scenario file ({problem})") from None
    except RecursionError:
        raise DevsimInputError(f"{shown}: scenario file is nested too deeply") from None


def quick_changes(full, quick, given: tuple[str, ...] = ()) -> str:
    """What ``--quick`` changed of a scenario, in one line (it replaces the file's own
    values: an edit to them does not reach a quick run); ``given``: the fields an option
    set instead (``--generations``), which the quick settings did not change."""
    fields = ("generations", "grid", "per_cell", "neurons", "presentations_per_day",
              "batch_size")  # fmt: skip
    fields = tuple(f for f in fields if f not in given)
    changed = [
        f"{name} {_setting(getattr(quick, name))} (the file: {_setting(getattr(full, name))})"
        for name in fields
        if getattr(quick, name) != getattr(full, name)
    ]
    what = ", ".join(changed) if changed else "nothing (the file is as small)"
    return (f"--quick runs {printable(full.name)} at its [quick] settings: {what}; a smoke "
            "test, not evidence")  # fmt: skip


def _say_notes(args: argparse.Namespace) -> None:
    for note in getattr(args, "notes", []):
        print(f"devsim evolve: note: {note}", file=sys.stderr)


def _setting(value) -> str:
    return " x ".join(map(str, value)) if isinstance(value, tuple | list) else str(value)


def _scenario(path: str, args: argparse.Namespace):
    """The scenario of ``path`` with the command line's changes, each validated like the
    file (a value out of range is a one-line error naming the option, the file and the
    field)."""
    scenario = _load(path)
    if args.quick:  # said once every check has passed (_say_notes): a refusal is one line
        full, scenario = scenario, scenario.quick_version()
        given = ("generations",) if args.generations is not None else ()
        args.notes = [*getattr(args, "notes", []), quick_changes(full, scenario, given)]
    if args.generations is not None:
        scenario = scenario.with_changes(
            source=f"--generations {args.generations} ({scenario.source})",
            generations=args.generations,
        )
    if args.seed is not None:
        scenario = scenario.with_changes(
            source=f"--seed {args.seed} ({scenario.source})", seed=args.seed
        )
    last = scenario.seed + args.seeds - 1
    if last > SEED_MAX:
        given = f"--seed {args.seed}" if args.seed is not None else f"{printable(path)}: seed"
        raise DevsimInputError(
            f"{given}: {scenario.seed} with --seeds {args.seeds} would use seeds up to {last}; "
            f"seeds must stay in 0..{SEED_MAX}"
        )
    return scenario


def _shown(value: float, width: int = 8) -> str:
    """A measure as printed: three decimals, or ``n/a`` where there is none (no window
    opened, one seed for an interval), never ``nan``."""
    return f"{value:{width}.3f}" if math.isfinite(value) else f"{'n/a':>{width}}"


def _evolves(column: str, scenario) -> bool:
    """Whether a results column ``<gene>_<measure>`` is of a gene the scenario evolves."""
    from devsim.evolution import base_gene

    return base_gene(column.rpartition("_")[0]) in scenario.evolve


def _labels(paths: list[str]) -> list[str]:
    """Each scenario file's label: its name without ``.toml``, which names its folder in
    --out and its rows in comparison.csv. Two files with one name (or one file given twice)
    would share a folder and a label, so they are refused."""
    labels: dict[str, str] = {}
    files: dict[tuple[int, int], str] = {}
    out = []
    for path in paths:
        st = os.stat(path)
        first = files.get((st.st_dev, st.st_ino))
        files.setdefault((st.st_dev, st.st_ino), path)
        if first is not None:
            raise DevsimInputError(
                f"{printable(path)}: the same scenario file is given twice (also as "
                f"{printable(first)}); list each file once and use --seeds N for more runs"
            )
        label = Path(path).stem
        key = label.casefold()  # folders differing only in case clash on macOS / Windows
        if not label.strip(".") or label.startswith("."):  # "..toml", "...toml": not a folder
            raise DevsimInputError(
                f"{printable(path)}: a scenario file's name (without .toml) names its folder "
                f"in --out, so it may not start with a dot; got {printable(label)!r}; rename it"
            )
        if key in RESERVED:
            raise DevsimInputError(
                f"{printable(path)}: a scenario file may not be named {printable(label)!r} "
                f"(that is a file of --out); rename it"
            )
        first = labels.get(key)
        labels.setdefault(key, path)
        if first is not None:
            raise DevsimInputError(
                f"{printable(first)} and {printable(path)}: both scenario files are named "
                f"{printable(label)!r} (letter case aside: folders on a case-insensitive file "
                "system are one), which names each file's folder in --out and its rows in "
                "comparison.csv; rename one of them"
            )
        out.append(label)
    return out


def write_run(out: Path, scenario, result: dict) -> None:
    """Write one run's folder (generations.parquet, summary.json, figures/) atomically: it
    appears complete or not at all. An island run's checkpoint goes once it is written."""
    from devsim.islands import CHECKPOINT, fingerprint
    from devsim.plots.evolution import plot_genes, plot_habitat_maps, plot_sigmas, plot_traits
    from devsim.provenance import provenance

    table, evolving = result["table"], result["evolving"]
    pool = result.get("pooled", table)
    with staged(out) as staging:
        table.attrs["devsim"] = provenance()  # the table carries what made it
        table.to_parquet(staging / "generations.parquet", index=False)
        (staging / "scenario.json").write_text(
            fingerprint(scenario, result["summary"]["seed"]), encoding="utf-8"
        )
        (staging / "summary.json").write_text(
            json.dumps(result["summary"], indent=1, sort_keys=False) + "\n", encoding="utf-8"
        )
        fig = staging / "figures"
        fig.mkdir()
        plot_traits(pool, fig / "traits.png", title=scenario.title)
        plot_genes(pool, evolving, fig / "genes.png", title=scenario.title)
        plot_sigmas(pool, evolving, fig / "mutation_scales.png", title=scenario.title)
        plot_habitat_maps(result["maps_shown"], fig / "habitat_map.png", title=scenario.title)
    (out / CHECKPOINT).unlink(missing_ok=True)


def run_one(
    scenario,
    seed: int,
    out: Path,
    progress: bool = True,
    workers: int = 1,
    scheduler: str | None = None,
) -> pd.DataFrame:
    """Evolve one scenario with one seed from this process (an island scenario's islands on
    ``workers`` / ``scheduler``, resuming from its checkpoint in ``out``); write its folder;
    return the generation table."""
    result = evolve(scenario, seed, progress, out, workers, scheduler)
    write_run(out, scenario, result)
    return result["table"]


def _finished(scenario, seed: int, out: Path) -> pd.DataFrame | None:
    """The generation table of this very run (same scenario and seed) written earlier, or
    None."""
    from devsim.islands import fingerprint

    try:
        if (out / "scenario.json").read_text(encoding="utf-8") != fingerprint(scenario, seed):
            return None
        summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
        if (summary["seed"], summary["generations"]) != (seed, scenario.generations):
            return None  # summary.json is published last: a rerun stopped half-way
        return pd.read_parquet(out / "generations.parquet")
    except (OSError, ValueError, KeyError):
        return None


def _other_code(out: Path) -> bool:
    """``out`` holds a finished run made by other devsim code (its ``scenario.json``'s code
    digest, which names devsim's version too, is not this one's, or it records none)."""
    from devsim.provenance import code_digest

    try:
        made = json.loads((out / "scenario.json").read_text(encoding="utf-8"))
        return made.get("code") != code_digest()
    except (OSError, ValueError, RecursionError, AttributeError):  # none, or not a run's
        return False


def run_many(jobs: list, workers: int, scheduler: str | None) -> list[pd.DataFrame]:
    """Run ``jobs`` ((scenario, seed, out) each) and return their tables in job order.

    A folder holding this very run (same scenario and seed, see ``scenario.json``) is read,
    not rerun, so an interrupted batch resumes. The rest go to :func:`devsim.runner.run_jobs`:
    in this process (``workers`` 1, no ``scheduler``) or on Dask (a LocalCluster of
    ``workers`` single-threaded processes on 127.0.0.1, or the cluster at ``scheduler``).
    Workers compute; this process writes each run's folder as it completes (workers need no
    shared file system). A run that raises leaves ``error.txt`` (its traceback) in its folder
    and the others go on; then :class:`DevsimRunError` names it (a rerun retries it)."""
    from devsim.runner import Job, Progress, run_jobs

    tables: list[pd.DataFrame | None] = [_finished(*job) for job in jobs]
    todo = [k for k, table in enumerate(tables) if table is None]
    if len(todo) < len(jobs):
        print(
            f"{len(jobs) - len(todo)} of {len(jobs)} runs already done; skipping them",
            file=sys.stderr,
        )
    redo = sum(_other_code(jobs[k][2]) for k in todo)
    if redo:
        print(
            f"{redo} of {len(jobs)} runs were made by other devsim code; running them again",
            file=sys.stderr,
        )
    serial = workers == 1 and scheduler is None  # in process: each run prints its progress
    work = [
        Job(str(k), "devsim.evolution_runs:evolve", jobs[k][:2], {"progress": serial}) for k in todo
    ]
    failed: list[str] = []
    # a bar on a terminal while runs go to Dask (in process, each run prints its progress)
    bar = Progress(len(jobs), len(jobs) - len(todo), not serial, "devsim evolve", plain=False)
    try:
        run_jobs(work, _writer(jobs, tables, failed, bar), workers, scheduler, warm=WARM)
    finally:
        bar.close()
    if failed:
        raise DevsimRunError(f"{len(failed)} of {len(work)} runs failed: {failed[0]}")
    return tables


def _writer(jobs: list, tables: list, failed: list[str], bar):
    """The runner's callback: write a finished run's folder (or its error.txt)."""
    from devsim.runner import error_line, write_failure

    def on_result(job, outcome) -> None:
        k = int(job.key)
        scenario, seed, out = jobs[k]
        if not outcome.ok:
            write_failure(out / "error.txt", outcome)
            failed.append(
                f"{printable(scenario.name, 40)} seed {seed}: "
                f"{printable(error_line(outcome.error), 300)} "
                f"(traceback in {printable(str(out / 'error.txt'))})"
            )
            bar.update(failed=True)
            return
        write_run(out, scenario, outcome.value)
        (out / "error.txt").unlink(missing_ok=True)
        tables[k] = outcome.value["table"]
        bar.update(failed=False)
        if bar.enabled:  # on Dask: one line a run (in process, the run printed its own)
            bar.write(
                f"  [{printable(scenario.name, 40)} seed {seed}] done in "
                f"{outcome.value['seconds']:.0f} s -> {printable(str(out))}"
            )

    return on_result


def comparison_columns(innate: bool) -> list[str]:
    """Columns of the comparison figure: the template's traits if it evolves, else the
    window's timing and adult floor."""
    middle = (
        ["innate_mean", "innate_effective_mean"]
        if innate
        else ["window_open_mean", "floor_adult_mean"]
    )
    return ["fitness_mean", "plasticity_mean", *middle, "window_close_mean", "adult_gate_mean"]


def write_comparison_figure(path: Path, runs: dict[str, list[pd.DataFrame]], innate: bool):
    from devsim.plots.evolution import plot_comparison

    # a world of features has regional genes' columns per feature (floor_adult@f_mean)
    tables = [t for ts in runs.values() for t in ts]
    columns = [c for c in comparison_columns(innate) if all(c in t for t in tables)]
    atomic_write(path, lambda tmp: plot_comparison(runs, columns, tmp))


def check_job_cost(scenarios, args: argparse.Namespace) -> None:
    """Every run's cost (:mod:`devsim.budget`) before any of them starts: the largest
    generation's memory times the runs held at once, and all organism-days."""
    from devsim.budget import Cost, check_cost, evolution_cost, limits

    total = Cost(0.0, 0.0)
    for _, scenario in scenarios:
        one = evolution_cost(scenario)
        arms = 2 if args.drift else 1  # --drift: every run again without selection
        total = total + Cost(one.memory, one.organism_days * args.seeds * arms)
    runs = len(scenarios) * args.seeds * (2 if args.drift else 1)
    at_once = runs if runs > 1 else scenarios[0][1].islands.count  # one run: its islands
    held = 1 if args.scheduler else min(args.workers, at_once)
    check_cost(Cost(total.memory * held, total.organism_days), *limits(args), what="evolve")


def main(args: argparse.Namespace) -> int:
    out = check_out(args.out, stages=False)  # writes inside --out, not beside it
    check_own_folder(out, "devsim evolve")
    check_workers(args.workers, args.scheduler)
    if not 1 <= args.seeds <= SEEDS_MAX:
        raise DevsimInputError(f"--seeds: must be in 1..{SEEDS_MAX}, got {args.seeds}")
    if args.seed is not None and not 0 <= args.seed <= SEED_MAX:
        raise DevsimInputError(f"--seed: must be in 0..{SEED_MAX}, got {args.seed}")
    args.scenario = [str(resolve(arg, "evolution")) for arg in args.scenario]  # name or path
    scenarios = [(path, _scenario(path, args)) for path in args.scenario]
    single = len(scenarios) == 1 and args.seeds == 1 and not args.drift
    if single and scenarios[0][1].islands.count == 1 and (args.scheduler or args.workers > 1):
        flag = "--scheduler" if args.scheduler else "--workers"
        raise DevsimInputError(
            f"{flag}: one run of a scenario without islands runs in this process; allowed "
            "with several scenarios, --seeds N, --drift or an island scenario"
        )
    check_job_cost(scenarios, args)
    start = time.perf_counter()
    if single:
        _single(out, scenarios[0][1], args)
    else:
        _many(out, scenarios, args)
    print(f"run time {time.perf_counter() - start:.0f} s", file=sys.stderr)
    return 0


def _single(out: Path, scenario, args: argparse.Namespace) -> None:
    """One scenario, one seed: evolve here (progress printed; an island scenario's islands
    on --workers / --scheduler), write ``out``, summarise."""
    seed = scenario.seed
    check_room(out, RUN_FILES)
    _say_notes(args)
    table = run_one(scenario, seed, out, True, args.workers, args.scheduler)
    if "island" in table:
        from devsim.islands import pooled

        count = scenario.islands.count
        print(f"{count} islands, {len(table) // count} generations each; mean of the islands:")
        table = pooled(table)
    last = table.iloc[-1]
    print(f"{printable(scenario.name)}  (seed {seed}, {int(last['generation'])} generations)")
    for key in (k for k in SUMMARY_TRAITS if k in table):  # a gene may be regional
        print(f"  {key:<22} {_shown(table.iloc[0][key])} -> {_shown(last[key])}")
    shares = [c for c in table if c.endswith("_fst") and _evolves(c, scenario)]
    if shares:  # the marker's: what drift and migration alone leave between islands
        print("  F_ST, the share of each evolving gene's variance between the islands:")
        for c in shares:
            print(f"    {c.removesuffix('_fst'):<20} {_shown(last[c])}")
    print(f"results in {printable(str(out))}/ (generations.parquet, summary.json, figures/)")


def _many(out: Path, scenarios: list, args: argparse.Namespace) -> None:
    """Every scenario x seed (one folder each, :func:`run_many`), with --drift the same
    without selection, then the comparison."""
    labels = _labels(args.scenario)
    arms = [(label, "on", scenario) for label, (_, scenario) in zip(labels, scenarios, strict=True)]
    if args.drift:
        for label in labels:
            if label.casefold() == DRIFT:
                raise DevsimInputError(
                    f"--drift: a scenario file may not be named {DRIFT!r} (that is the drift "
                    "baselines' folder of --out); rename it"
                )
        arms += [(label, "off", _without_selection(scenario)) for label, _, scenario in arms]
    jobs, tags = [], []
    for label, selection, scenario in arms:
        base = out / label if selection == "on" else out / DRIFT / label
        for k in range(args.seeds):
            seed = scenario.seed + k
            jobs.append((scenario, seed, base / f"seed{seed}"))
            tags.append((label, selection))
    check_room(out, RESERVED, stages=False)
    for _, _, folder in jobs:
        check_own_folder(folder, "devsim evolve")
        check_room(folder, RUN_FILES)
    _say_notes(args)
    tables = run_many(jobs, args.workers, args.scheduler)
    _compare(out, scenarios, jobs, tags, tables)


def _without_selection(scenario):
    """The drift baseline: the same scenario, its tournaments run on shuffled fitness (the
    same variance in offspring number, so the same effective size, without selection)."""
    return scenario.with_changes(source=f"--drift ({scenario.source})", selection=False)


def _compare(out: Path, scenarios: list, jobs: list, tags: list, tables: list) -> None:
    """Write comparison.csv (each run's end state), comparison_summary.csv (mean, sd and a
    95 % confidence interval over seeds) and comparison.png; print the summary."""
    from devsim.evolution import base_gene, sigma_change
    from devsim.islands import pooled

    records = []
    runs: dict[str, list[pd.DataFrame]] = {}
    for (scenario, seed, _), (label, selection), table in zip(jobs, tags, tables, strict=True):
        table = pooled(table)
        name = label if selection == "on" else f"{label} (drift)"
        runs.setdefault(name, []).append(table)
        genes = [c.removesuffix("_sigma") for c in table if c.endswith("_sigma")]
        changes = {
            f"{g}_sigma_change": sigma_change(table, g)
            for g in genes
            if base_gene(g) in scenario.evolve
        }
        records.append(
            {"scenario": label, "selection": selection, "seed": seed, **end_state(table), **changes}
        )
    comparison = pd.DataFrame(records)
    atomic_write(out / "comparison.csv", lambda tmp: comparison.to_csv(tmp, index=False))
    summary = summarise(comparison)
    atomic_write(out / "comparison_summary.csv", lambda tmp: summary.to_csv(tmp, index=False))
    innate = any("innate_strength" in scenario.evolve for _, scenario in scenarios)
    write_comparison_figure(out / "comparison.png", runs, innate)
    written = ["comparison.csv", "comparison_summary.csv", "comparison.png"]
    if any(scenario.features for _, scenario in scenarios):
        _timescales(out, jobs, tags, comparison)
        written += ["timescales.csv", "predictions.csv", "timescales.png"]
    print(f"end state: mean [95% CI] over seeds of the last {TAIL} bred generations (all of "
          f"them in a shorter run; never the founders)")  # fmt: skip
    shown = summary[summary["metric"].isin(SUMMARY_TRAITS)]
    for (label, selection), rows in shown.groupby(["scenario", "selection"], sort=False):
        drift = "" if selection == "on" else ", no selection (drift)"
        print(f"  {printable(label)}  (seeds: {int(rows['n'].iloc[0])}{drift})")
        for row in rows.itertuples():
            interval = f"[{_shown(row.ci_low, 0)}, {_shown(row.ci_high, 0)}]"
            print(f"    {row.metric:<22} {_shown(row.mean)} {interval}")
    print(f"results in {printable(str(out))}/ (one folder per run, {', '.join(written)})")


def _timescales(out: Path, jobs: list, tags: list, comparison: pd.DataFrame) -> None:
    """The timescale spectrum of runs in worlds of several features: every feature's layer
    measures over seeds (``timescales.csv``), the headline figure (``timescales.png``) and
    the predictions checked for each scenario (printed, and ``predictions.csv``)."""
    from devsim.plots.evolution import plot_timescales
    from devsim.timescales import (
        ALPHA,
        claims,
        feature_timescale,
        layer_loads,
        predictions,
        run_layers,
        shares,
        smallest_p,
        timescale_label,
        versus_drift,
    )

    records, order, checks = [], {}, []
    for (scenario, _, _), run in zip(jobs, comparison.to_dict(orient="records"), strict=True):
        if not scenario.features:  # a world of one feature has no spectrum
            continue
        row = {k: run[k] for k in ("scenario", "selection", "seed")}
        for f in scenario.features:
            order.setdefault(f.name, feature_timescale(f, scenario.days))
        row.update(run_layers(run, [f.name for f in scenario.features], scenario.days))
        records.append(row)
    summary = summarise(pd.DataFrame(records))
    summary = summary[summary["n"] > 0]  # a feature another scenario's world has
    atomic_write(out / "timescales.csv", lambda tmp: summary.to_csv(tmp, index=False))
    features = sorted(order, key=lambda f: -order[f])
    means = {  # what each scenario measured (another scenario's features are not its own)
        key: {k: v for k, v in rows.set_index("metric")["mean"].items() if np.isfinite(v)}
        for key, rows in summary.groupby(["scenario", "selection"], sort=False)
    }
    first = next((key for key in means if key[1] == "on"), next(iter(means)))
    print("which layer carries each feature (mean over seeds, last generations):")
    seeds = {  # each arm's seeds' layer measures, for the test against drift
        key: [dict(r) for r in rows.drop(columns=["scenario", "selection", "seed"])
              .to_dict(orient="records")]
        for key, rows in pd.DataFrame(records).groupby(["scenario", "selection"], sort=False)
    }  # fmt: skip
    for (label, selection), mean in means.items():
        timescales = {f: order[f] for f in features if f"eta@{f}" in mean}
        if selection != "on" or not timescales:
            continue
        # the same checks on the drift baseline, and selection's seeds tested against its:
        # a prediction is evidence of selection only where selection differs from drift
        drift = means.get((label, "off"))
        made = predictions(mean, timescales)
        missing = len(claims(timescales)) - len(made)
        under_drift = {c["claim"]: c for c in predictions(drift, timescales)} if drift else {}
        p_drift = versus_drift(timescales, seeds[label, "on"], seeds[label, "off"]) if drift else {}
        # with few seeds no p can fall below ALPHA: say so, not "not beyond drift"
        floor = smallest_p(len(seeds[label, "on"]), len(seeds.get((label, "off"), [])), timescales)
        testable = floor < ALPHA
        against = "   (drift: the same check without selection; p: selection's seeds vs drift's)"
        print(f"  {printable(label)}" + (against if drift else ""))
        if drift and not testable:
            print(f"    (too few seeds to test against drift: the smallest p they allow is "
                  f"{floor:.2g}, not below {ALPHA:g})")  # fmt: skip
        for c in made:
            d, p = under_drift.get(c["claim"]), p_drift.get(c["claim"], math.nan)
            tested = testable and math.isfinite(p)
            c = {"scenario": label, **c, "drift_value": d and d["value"],
                 "holds_under_drift": d and d["holds"], "p_vs_drift": p, "tested": tested,
                 "beyond_drift": bool(c["holds"] and tested and p < ALPHA)}  # fmt: skip
            checks.append(c)
            mark = "yes" if c["holds"] else "NO"
            line = f"    {c['claim']:<44} {c['value']:9.3g}  {c['target']:<10} {mark:<3}"
            if d is not None:
                line += f"   drift {d['value']:9.3g} {'yes' if d['holds'] else 'NO':<3}  p {p:.2g}"
            print(line)
        held = [c for c in checks if c["scenario"] == label and c["holds"]]
        total = sum(c["scenario"] == label for c in checks)
        beyond = sum(c["beyond_drift"] for c in held)
        untested = sum(not c["tested"] for c in held)
        print(f"    {len(held)} of {total} hold" + (
            f"; {beyond} of them beyond drift (p < {ALPHA:g}): evidence of selection"
            + (f"; {untested} untested" if untested else "") if drift
            else "; run with --drift to test them against drift")
            + (f"; {missing} not measured (a measure they read is missing or zero: e.g. a "
               "gene that did not evolve)" if missing else ""))  # fmt: skip
    atomic_write(out / "predictions.csv", lambda tmp: pd.DataFrame(checks).to_csv(tmp, index=False))
    notes = [
        f"{_verdict(c)}  {c['claim']}: {c['value']:.3g} ({c['target']})"
        for c in checks
        if c["scenario"] == first[0]
    ]
    loads = layer_loads(means[first], [f for f in features if f"eta@{f}" in means[first]])
    atomic_write(
        out / "timescales.png",
        lambda tmp: plot_timescales(
            summary,
            [(f, _tick(f, timescale_label(order[f]))) for f in features],
            shares(loads),
            tmp,
            title=f"Which memory layer carries each feature ({first[0]}: shares)",
            notes=notes,
        ),
    )


def _verdict(check: dict) -> str:
    """A prediction's mark on the figure: MISS; ok (beyond drift); ok, not beyond drift; or
    ok, untested (no drift baseline, too few seeds, or a prediction no test can tell)."""
    if not check["holds"]:
        return "MISS"
    if check.get("drift_value") is None or not check.get("tested"):
        return "ok, untested"
    return "ok" if check["beyond_drift"] else "ok, not beyond drift"


def _tick(feature: str, timescale: str) -> str:
    """A feature's label on the spectrum's axis: its name and, if that does not say it,
    its timescale."""
    return feature if feature == timescale else f"{feature}\n({timescale})"

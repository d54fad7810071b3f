"""``devsim evolve SCENARIO --out DIR``: evolve developmental genomes and write the record.

One scenario and one seed write ``DIR/generations.parquet`` (one row per generation),
``DIR/summary.json`` (the last generation, habitat maps, mutation-scale ratios) and
``DIR/figures/*.png``. Several scenarios and/or ``--seeds N`` write one such folder per run
(``DIR/<scenario>/seed<S>/``) plus ``DIR/comparison.csv`` and ``DIR/comparison.png``:
every scenario's end state, mean and spread over seeds. Those runs go to Dask with
``--workers N`` (a local cluster) or ``--scheduler ADDRESS`` (an existing one); folders
already written are kept, so rerunning an interrupted batch finishes it.
"""

from __future__ import annotations

import argparse
import json
import math
import shutil
import time
from contextlib import ExitStack
from pathlib import Path

import numpy as np
import pandas as pd

from devsim.errors import DevsimInputError
from devsim.outputs import atomic_write, publish_directory, staging_dir

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
)
TAIL = 10  # comparisons average the last TAIL generations of each run


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "evolve",
        help="evolve developmental genomes over generations",
        description="Evolve a population of developing organisms (EvolutionModel) and write "
        "generations.parquet, summary.json and figures/ into --out. Several scenarios or "
        "--seeds N write one folder per run plus comparison.csv / comparison.png.",
    )
    parser.add_argument("scenario", type=Path, nargs="+", help="evolution scenario TOML file(s)")
    parser.add_argument("--out", type=Path, required=True, help="output folder")
    parser.add_argument("--generations", type=int, default=None, help="override generations")
    parser.add_argument("--seed", type=int, default=None, help="override the scenario's seed")
    parser.add_argument("--seeds", type=int, default=1, help="runs with seeds S, S+1, ...")
    parser.add_argument(
        "--workers",
        type=int,
        default=1,
        help="several runs on a local Dask cluster of N processes (default 1: in this process)",
    )
    parser.add_argument(
        "--scheduler",
        default=None,
        help="several runs on an existing Dask cluster, e.g. tcp://127.0.0.1:8786",
    )
    parser.add_argument(
        "--quick", action="store_true", help="the scenario's reduced [quick] settings (tests)"
    )
    parser.set_defaults(func=main)


def _scenario(path: Path, args: argparse.Namespace):
    from devsim.evolution import load_evolution_scenario

    scenario = load_evolution_scenario(path)
    if args.quick:
        scenario = scenario.quick_version()
    if args.generations is not None:
        if args.generations < 1:
            raise DevsimInputError(f"--generations: must be >= 1, got {args.generations}")
        scenario = scenario.model_copy(update={"generations": args.generations})
    return scenario


def _clean(value):
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    if isinstance(value, float | np.floating):
        value = float(value)
        return None if not math.isfinite(value) else round(value, 6)
    if isinstance(value, np.integer):
        return int(value)
    return value


def evolve(scenario, seed: int, progress: bool = True) -> dict:
    """Evolve one scenario with one seed; return what :func:`write_run` writes (pure: the
    result depends on the scenario and the seed only, so a Dask worker can compute it)."""
    from devsim.evolution import MAP_TRAITS, build_evolution_model, gene_sigma_ratio, sigma_change

    start = time.perf_counter()
    model = build_evolution_model(scenario, seed)
    every = max(1, scenario.generations // 10)
    for g in range(1, scenario.generations + 1):
        model.step()
        if progress and (g % every == 0 or g == scenario.generations):
            row = model.last_row
            print(
                f"  [{scenario.name[:40]} seed {seed}] generation {g}/{scenario.generations}: "
                f"fitness {row['fitness_mean']:.3f}, plasticity {row['plasticity_mean']:.3f}, "
                f"innate {row['innate_mean']:.3f}  ({time.perf_counter() - start:.0f} s)",
                flush=True,
            )
    table = model.history()
    evolving = [n for n in model.gene_names if n in scenario.evolve]
    maps = {t: model.habitat_map(t) for t in MAP_TRAITS}
    maps.update({f"gene:{n}": model.habitat_map(f"gene:{n}") for n in evolving})
    last = table.iloc[-1]
    summary = {
        "scenario": scenario.name,
        "seed": seed,
        "generations": int(last["generation"]),
        "population": len(model.agents),
        "days": scenario.days,
        "evolving_genes": evolving,
        "final": {k: last[k] for k in table.columns},
        "sigma_change": {n: sigma_change(table, n) for n in evolving},
        "sigma_ratio_to_marker": (
            {n: gene_sigma_ratio(table, n, "marker") for n in evolving if n != "marker"}
            if "marker" in evolving and scenario.self_adaptive
            else {}
        ),
        "habitat_map": {k: v.tolist() for k, v in maps.items()},
    }
    shown = {k: maps[k] for k in ("plasticity", "innate", "window_close", "adult_gate")}
    if "innate_orientation" in evolving:
        shown["innate_orientation (deg)"] = maps["gene:innate_orientation"]
        shown["innate_effective"] = maps["innate_effective"]
    if scenario.environment.orientation == "habitat":
        shown["world orientation (deg)"] = model.grid.orientation.data
    for layer in ("deprivation", "world_change"):
        data = getattr(model.grid, layer).data
        if np.ptp(data) > 0:
            shown[f"habitat: {layer} risk"] = data
    return {
        "table": table,
        "summary": _clean(summary),
        "evolving": evolving,
        "maps_shown": shown,
        "seconds": time.perf_counter() - start,
    }


def write_run(out: Path, scenario, result: dict) -> None:
    """Write one run's folder (generations.parquet, summary.json, figures/) atomically: it
    appears complete or not at all."""
    from devsim.plots.evolution import plot_genes, plot_habitat_maps, plot_sigmas, plot_traits

    table, evolving = result["table"], result["evolving"]
    staging = staging_dir(out)
    try:
        table.to_parquet(staging / "generations.parquet", index=False)
        (staging / "scenario.json").write_text(
            _fingerprint(scenario, result["summary"]["seed"]), encoding="utf-8"
        )
        (staging / "summary.json").write_text(
            json.dumps(result["summary"], indent=1, sort_keys=False) + "\n", encoding="utf-8"
        )
        fig = staging / "figures"
        fig.mkdir()
        plot_traits(table, fig / "traits.png", title=scenario.name)
        plot_genes(table, evolving, fig / "genes.png", title=scenario.name)
        plot_sigmas(table, evolving, fig / "mutation_scales.png", title=scenario.name)
        plot_habitat_maps(result["maps_shown"], fig / "habitat_map.png", title=scenario.name)
        out.mkdir(parents=True, exist_ok=True)
        publish_directory(staging, out)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)


def run_one(scenario, seed: int, out: Path, progress: bool = True) -> pd.DataFrame:
    """Evolve one scenario with one seed in this process; write its folder; return the
    generation table."""
    result = evolve(scenario, seed, progress)
    write_run(out, scenario, result)
    return result["table"]


def _evolve_quietly(scenario, seed: int) -> dict:
    return evolve(scenario, seed, progress=False)


def _fingerprint(scenario, seed: int) -> str:
    """The resolved scenario and seed of a run, as written to its ``scenario.json``."""
    content = {"seed": seed, "scenario": scenario.model_dump(mode="json")}
    return json.dumps(content, indent=1, sort_keys=True) + "\n"


def _finished(scenario, seed: int, out: Path) -> pd.DataFrame | None:
    """The generation table of this very run (same scenario and seed) written earlier, or
    None."""
    try:
        if (out / "scenario.json").read_text(encoding="utf-8") != _fingerprint(scenario, seed):
            return None
        summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
        if (summary["seed"], summary["generations"]) != (seed, scenario.generations):
            return None  # summary.json is published last: a rerun stopped half-way
        return pd.read_parquet(out / "generations.parquet")
    except (OSError, ValueError, KeyError):
        return None


def run_many(jobs: list, workers: int, scheduler: str | None) -> list[pd.DataFrame]:
    """Run ``jobs`` ((scenario, seed, out) each) and return their tables in job order.

    A folder holding this very run (same scenario and seed, see ``scenario.json``) is read,
    not rerun, so an interrupted batch resumes. The rest run in this process (``workers`` 1, no
    ``scheduler``) or on Dask: a LocalCluster of ``workers`` single-threaded processes on
    127.0.0.1, or the cluster at ``scheduler``. Workers compute; this process writes each
    run's folder as it completes (workers need no shared file system)."""
    tables: list[pd.DataFrame | None] = [_finished(*job) for job in jobs]
    todo = [k for k, table in enumerate(tables) if table is None]
    if len(todo) < len(jobs):
        print(f"{len(jobs) - len(todo)} of {len(jobs)} runs already done; skipping them")
    if not todo:
        return tables
    if workers == 1 and scheduler is None:
        for k in todo:
            scenario, seed, out = jobs[k]
            tables[k] = run_one(scenario, seed, out)
        return tables
    from distributed import Client, as_completed

    from devsim.batch import _connect, local_cluster

    with ExitStack() as stack:
        if scheduler is None:
            cluster = stack.enter_context(local_cluster(min(workers, len(todo))))
            client = stack.enter_context(Client(cluster))
        else:
            client = stack.enter_context(_connect(scheduler))
        futures = {
            client.submit(_evolve_quietly, jobs[k][0], jobs[k][1], pure=False): k for k in todo
        }
        try:
            for future in as_completed(futures):
                k = futures[future]
                scenario, seed, out = jobs[k]
                result = future.result()  # a failed run raises here: nothing half-written
                write_run(out, scenario, result)
                tables[k] = result["table"]
                print(
                    f"  [{scenario.name[:40]} seed {seed}] done in {result['seconds']:.0f} s "
                    f"-> {out}",
                    flush=True,
                )
        finally:
            client.cancel([f for f in futures if not f.done()])
    return tables


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

    columns = comparison_columns(innate)
    atomic_write(path, lambda tmp: plot_comparison(runs, columns, tmp))


def end_state(table: pd.DataFrame, tail: int = TAIL) -> dict[str, float]:
    """Mean of the last ``tail`` generations of a run (smooths generation-to-generation noise)."""
    return table.tail(tail).mean(numeric_only=True).to_dict()


def main(args: argparse.Namespace) -> int:
    if args.out.exists() and not args.out.is_dir():
        raise DevsimInputError(f"{args.out}: --out must be a folder, not a file")
    if args.seeds < 1:
        raise DevsimInputError(f"--seeds: must be >= 1, got {args.seeds}")
    if args.workers < 1:
        raise DevsimInputError(f"--workers: must be >= 1, got {args.workers}")
    if args.seed is not None and args.seed < 0:
        raise DevsimInputError(f"--seed: must be >= 0, got {args.seed}")
    scenarios = [(path, _scenario(path, args)) for path in args.scenario]
    start = time.perf_counter()

    if len(scenarios) == 1 and args.seeds == 1:
        path, scenario = scenarios[0]
        seed = scenario.seed if args.seed is None else args.seed
        table = run_one(scenario, seed, args.out)
        last = table.iloc[-1]
        print(f"{scenario.name}  (seed {seed}, {int(last['generation'])} generations)")
        for key in SUMMARY_TRAITS:
            print(f"  {key:<22} {table.iloc[0][key]:8.3f} -> {last[key]:8.3f}")
        print(f"results in {args.out}/ (generations.parquet, summary.json, figures/)")
        print(f"run time {time.perf_counter() - start:.0f} s")
        return 0

    jobs = []
    for path, scenario in scenarios:
        base = scenario.seed if args.seed is None else args.seed
        for k in range(args.seeds):
            jobs.append((scenario, base + k, args.out / path.stem / f"seed{base + k}"))
    tables = run_many(jobs, args.workers, args.scheduler)
    records = []
    runs: dict[str, list[pd.DataFrame]] = {}
    for (_, seed, out), table in zip(jobs, tables, strict=True):
        label = out.parent.name
        runs.setdefault(label, []).append(table)
        records.append({"scenario": label, "seed": seed, **end_state(table)})
    comparison = pd.DataFrame(records)
    atomic_write(args.out / "comparison.csv", lambda tmp: comparison.to_csv(tmp, index=False))
    innate = any("innate_strength" in scenario.evolve for _, scenario in scenarios)
    write_comparison_figure(args.out / "comparison.png", runs, innate)
    print(f"end state: mean (sd) over seeds of the last {TAIL} generations")
    keys = [k for k in SUMMARY_TRAITS if k in comparison]
    grouped = comparison.groupby("scenario", sort=False)[keys]
    mean, sd = grouped.mean(), grouped.std(ddof=1).fillna(0.0)
    for label in mean.index:
        print(f"  {label}  (seeds: {args.seeds})")
        for key in keys:
            print(f"    {key:<22} {mean.loc[label, key]:8.3f} ({sd.loc[label, key]:.3f})")
    print(f"results in {args.out}/ (one folder per run, comparison.csv, comparison.png)")
    print(f"run time {time.perf_counter() - start:.0f} s")
    return 0

"""``devsim evolve SCENARIO --out DIR``: evolve developmental genomes and write the record.

One scenario and one seed write ``DIR/generations.parquet`` (one row per generation),
``DIR/summary.json`` (the last generation, habitat maps, mutation-scale ratios) and
``DIR/figures/*.png``. Several scenarios and/or ``--seeds N`` write one such folder per run
(``DIR/<scenario>/seed<S>/``) plus ``DIR/comparison.csv`` and ``DIR/comparison.png``:
every scenario's end state, mean and spread over seeds.
"""

from __future__ import annotations

import argparse
import json
import math
import shutil
import time
from concurrent.futures import ProcessPoolExecutor
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
    parser.add_argument("--jobs", type=int, default=1, help="runs in parallel processes")
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


def run_one(scenario, seed: int, out: Path, progress: bool = True) -> pd.DataFrame:
    """Evolve one scenario with one seed; write its folder; return the generation table."""
    from devsim.evolution import MAP_TRAITS, build_evolution_model, gene_sigma_ratio, sigma_change
    from devsim.plots.evolution import plot_genes, plot_habitat_maps, plot_sigmas, plot_traits

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
    staging = staging_dir(out)
    try:
        table.to_parquet(staging / "generations.parquet", index=False)
        (staging / "summary.json").write_text(
            json.dumps(_clean(summary), indent=1, sort_keys=False) + "\n", encoding="utf-8"
        )
        fig = staging / "figures"
        fig.mkdir()
        plot_traits(table, fig / "traits.png", title=scenario.name)
        plot_genes(table, evolving, fig / "genes.png", title=scenario.name)
        plot_sigmas(table, evolving, fig / "mutation_scales.png", title=scenario.name)
        shown = {k: maps[k] for k in ("plasticity", "innate", "window_close", "adult_gate")}
        if "innate_orientation" in evolving:
            shown["innate_orientation (deg)"] = maps["gene:innate_orientation"]
            shown["innate_effective"] = maps["innate_effective"]
        env = scenario.environment
        if env.orientation == "habitat":
            shown["world orientation (deg)"] = model.grid.orientation.data
        for layer in ("deprivation", "world_change"):
            data = getattr(model.grid, layer).data
            if np.ptp(data) > 0:
                shown[f"habitat: {layer} risk"] = data
        plot_habitat_maps(shown, fig / "habitat_map.png", title=scenario.name)
        out.mkdir(parents=True, exist_ok=True)
        publish_directory(staging, out)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    return table


def _job(item):
    scenario, seed, out = item
    return run_one(scenario, seed, out)


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
    if args.jobs < 1:
        raise DevsimInputError(f"--jobs: must be >= 1, got {args.jobs}")
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
    if args.jobs > 1:
        with ProcessPoolExecutor(max_workers=args.jobs) as pool:
            tables = list(pool.map(_job, jobs))
    else:
        tables = [_job(job) for job in jobs]
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

"""One evolution run and the comparison of runs: what ``devsim evolve`` computes.

:func:`evolve` runs one scenario with one seed (the job a Dask worker is handed; an island
scenario sends its islands on, :mod:`devsim.islands`) and returns its generation table,
its summary and the maps its figures show; :func:`end_state` and :func:`summarise` turn
runs into the comparison of scenarios over seeds. ``devsim.cli.evolve`` writes them.
"""

from __future__ import annotations

import functools
import math
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from devsim.errors import DevsimInputError
from devsim.outputs import printable
from devsim.scenario import SEED_MAX

TAIL = 10  # comparisons average the last TAIL generations of each run
CONFIDENCE = 0.95
WARM = "devsim.evolution_runs:warm_up"  # loaded by each local Dask worker before it joins


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


def evolve(
    scenario,
    seed: int,
    progress: bool = True,
    folder: Path | None = None,
    workers: int = 1,
    scheduler: str | None = None,
) -> dict:
    """Evolve one scenario with one seed; return what :func:`write_run` writes (pure: the
    result depends on the scenario and the seed only, so a Dask worker can compute it).
    An island scenario runs its islands on ``workers`` / ``scheduler`` and keeps its
    checkpoint in ``folder`` (:mod:`devsim.islands`)."""
    from devsim.evolution import build_evolution_model
    from devsim.evolution_scenario import EvolutionScenario

    if not isinstance(scenario, EvolutionScenario):  # (a name or a path has no islands)
        raise TypeError(
            "scenario: expected an EvolutionScenario (devsim.evolution_scenario."
            f"load_evolution_scenario(path)); got {type(scenario).__name__}"
        )
    if (
        isinstance(seed, bool)
        or not isinstance(seed, int | np.integer)
        or not 0 <= seed <= SEED_MAX
    ):
        raise DevsimInputError(f"seed: a whole number 0..{SEED_MAX}; got {seed!r}")
    seed = int(seed)
    start = time.perf_counter()
    if scenario.islands.count > 1:
        from devsim.islands import island_models, pooled, run_islands

        report = functools.partial(print, file=sys.stderr, flush=True) if progress else None
        table, states = run_islands(scenario, seed, folder, workers, scheduler, report)
        models = island_models(scenario, seed, states)
        return _result(scenario, seed, table, pooled(table), models, start)
    model = build_evolution_model(scenario, seed)
    every = max(1, scenario.generations // 10)
    for g in range(1, scenario.generations + 1):
        model.step()
        if progress and (g % every == 0 or g == scenario.generations):
            row = model.last_row
            print(
                f"  [{printable(scenario.name, 40)} seed {seed}] generation "
                f"{g}/{scenario.generations}: "
                f"fitness {row['fitness_mean']:.3f}, plasticity {row['plasticity_mean']:.3f}, "
                f"innate {row['innate_mean']:.3f}  ({time.perf_counter() - start:.0f} s)",
                file=sys.stderr,  # progress, as every command's: stdout holds the results
                flush=True,
            )
    table = model.history()
    return _result(scenario, seed, table, table, [model], start)


def _result(scenario, seed: int, table, pool, models: list, start: float) -> dict:
    """What :func:`write_run` writes: ``table`` (generations.parquet), the figures and the
    summary of ``pool`` (one row per generation) and of the last generation's habitat maps
    (the mean over islands)."""
    from devsim.evolution import (
        MAP_TRAITS,
        base_gene,
        gene_sigma_ratio,
        realised_heritability,
        sigma_change,
    )

    model = models[0]
    evolving = [n for n in model.gene_names if base_gene(n) in scenario.evolve]
    keys = [*MAP_TRAITS, *(f"gene:{n}" for n in evolving)]
    maps = {k: _mean_map([m.habitat_map(k) for m in models], k, model) for k in keys}
    last = pool.iloc[-1]
    summary = {
        "scenario": scenario.name,
        "seed": seed,
        "generations": int(last["generation"]),
        "population": sum(len(m.agents) for m in models),
        "days": scenario.days,
        "evolving_genes": evolving,
        "final": {k: last[k] for k in pool.columns},
        "sigma_change": {n: sigma_change(pool, n) for n in evolving},
        # R / S over the run (none under drift: no selection to respond to)
        "realised_heritability": (
            realised_heritability(pool) if scenario.selection else float("nan")
        ),
        # only for the genes whose mutation the marker copies (innate_orientation and its
        # regional copies): another gene's range and ceiling give it another drift
        "sigma_ratio_to_marker": (
            {
                n: gene_sigma_ratio(pool, n, "marker")
                for n in evolving
                if base_gene(n) == "innate_orientation"
            }
            if "marker" in evolving and scenario.self_adaptive
            else {}
        ),
        "habitat_map": {k: v.tolist() for k, v in maps.items()},
    }
    if len(models) > 1:
        islands = scenario.islands
        summary["islands"] = {
            "count": islands.count,
            "migration_every": islands.migration_every,
            "migrants": islands.migrants,
            "topology": islands.topology,
            "final": table[table["generation"] == table["generation"].max()]
            .drop(columns="generation")
            .to_dict(orient="records"),
        }
    shown = {k: maps[k] for k in ("plasticity", "innate", "window_close", "adult_gate")}
    if "innate_orientation" in evolving:
        shown["innate_orientation (deg)"] = maps["gene:innate_orientation"]
        shown["innate_effective"] = maps["innate_effective"]
    if scenario.environment.orientation == "habitat":
        shown["world orientation (deg)"] = model.grid.orientation.data
    for layer in model.habitat_layers():
        data = getattr(model.grid, layer).data
        if np.ptp(data) > 0:
            shown[f"habitat: {layer} risk"] = data
    return {
        "table": table,
        "pooled": pool,
        "summary": _clean(summary),
        "evolving": evolving,
        "maps_shown": shown,
        "seconds": time.perf_counter() - start,
    }


def _mean_map(maps: list[np.ndarray], key: str, model) -> np.ndarray:
    """The mean of the islands' habitat maps (a circular mean for a periodic gene)."""
    from devsim.evolution import PERIODIC_GENES, base_gene, circular_mean_sd

    if len(maps) == 1:
        return maps[0]
    stack = np.stack(maps)
    gene = key.removeprefix("gene:")
    if key.startswith("gene:") and base_gene(gene) in PERIODIC_GENES:
        j = model.gene_names.index(gene)
        period = model.high[j] - model.low[j]
        out = np.full(stack.shape[1:], np.nan)
        for index in np.ndindex(*out.shape):
            values = stack[(slice(None), *index)]
            values = values[np.isfinite(values)]
            if values.size:
                out[index] = circular_mean_sd(values, period)[0]
        return out
    count = np.isfinite(stack).sum(axis=0)
    total = np.where(np.isfinite(stack), stack, 0.0).sum(axis=0)
    return np.where(count > 0, total / np.maximum(count, 1), np.nan)


def warm_up() -> None:
    """What a local Dask worker loads before it joins: the evolution model's code."""
    import devsim.evolution  # noqa: F401


def end_state(table: pd.DataFrame, tail: int = TAIL) -> dict[str, float]:
    """Mean of the last ``tail`` bred generations of a run (smooths generation-to-generation
    noise; circular for an angle); an island run's islands are pooled first. The founders
    (generation 0) count only in a run that bred none: a 2-generation run's "end" averaged
    them in, so the same run read differently alone and among seeds."""
    from devsim.evolution import circular_columns
    from devsim.islands import pooled

    table = pooled(table)
    bred = table[table["generation"] > 0]
    last = (bred if len(bred) else table).tail(tail)
    return circular_columns(last.mean(numeric_only=True), last).to_dict()


def summarise(comparison: pd.DataFrame) -> pd.DataFrame:
    """Per scenario, selection and metric: seeds, mean, sd and the 95 % confidence interval
    of the mean (Student's t; NaN with one seed); an angle's mean and sd are circular. A
    metric whose every value is positive also has the geometric mean and its interval
    (``geo_mean``, ``geo_ci_low`` … ``geo_ci_high``: Student's t on the logs), the summary
    of a ratio or a rate that varies over decades between seeds; NaN otherwise."""
    from scipy.stats import t

    from devsim.evolution import circular_mean_sd, column_mean, column_period

    metrics = [c for c in comparison.columns if c not in ("scenario", "selection", "seed")]
    rows = []
    for (label, selection), runs in comparison.groupby(["scenario", "selection"], sort=False):
        for metric in metrics:
            values = runs[metric].to_numpy(dtype=float)
            values = values[np.isfinite(values)]
            n = values.size
            mean = column_mean(values, metric)
            sd = float(values.std(ddof=1)) if n > 1 else math.nan
            if (period := column_period(metric)) is not None and n > 1:  # an angle
                sd = circular_mean_sd(values, period)[1]  # the circular sd
            quantile = float(t.ppf(0.5 + CONFIDENCE / 2, n - 1)) if n > 1 else math.nan
            half = quantile * sd / math.sqrt(n) if n > 1 else math.nan
            geo = [math.nan] * 3
            if n and period is None and (values > 0).all():
                logs = np.log(values)
                centre = float(logs.mean())
                spread = quantile * float(logs.std(ddof=1)) / math.sqrt(n) if n > 1 else math.nan
                geo = [math.exp(centre), math.exp(centre - spread), math.exp(centre + spread)]
            rows.append(
                {
                    "scenario": label,
                    "selection": selection,
                    "metric": metric,
                    "n": n,
                    "mean": mean,
                    "sd": sd,
                    "ci_low": mean - half,
                    "ci_high": mean + half,
                    "geo_mean": geo[0],
                    "geo_ci_low": geo[1],
                    "geo_ci_high": geo[2],
                }
            )
    return pd.DataFrame(rows)

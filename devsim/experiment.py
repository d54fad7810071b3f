"""Run a scenario to its end and summarise it (``summary.json``, the per-day table)."""

from __future__ import annotations

import json
import math

import pandas as pd

from devsim import __version__
from devsim.model import DAILY_METRICS, DevelopmentModel, build_model
from devsim.scenario import Scenario

FINAL_METRICS = (
    "od_histogram",
    "mean_odi",
    "cbi",
    "binocular_fraction",
    "responsive_fraction",
    "response_left",
    "response_right",
    "acuity_left",
    "acuity_right",
    "synapses",
)


def run_scenario(scenario: Scenario) -> tuple[dict, DevelopmentModel]:
    """Simulate ``scenario`` from birth to ``days``; return (summary, model)."""
    model = build_model(scenario)
    while model.running:
        model.step()
    final = model.measure_groups(with_acuity=True)
    daily = model.daily()
    summary = {
        "devsim_version": __version__,
        "scenario": scenario.name,
        "species": scenario.species,
        "seed": scenario.seed,
        "days": scenario.days,
        "reference_group": scenario.reference,
        "groups": {
            name: {
                "organisms": next(g.organisms for g in scenario.groups if g.name == name),
                "final": {m: final[name][m] for m in FINAL_METRICS},
                "daily": {k: daily[name][k] for k in ("day", *DAILY_METRICS)},
            }
            for name in final
        },
    }
    return summary, model


def _clean(value):
    """JSON-safe, rounded values (NaN -> null) so the file is stable and valid JSON."""
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    if isinstance(value, float):
        return None if math.isnan(value) else round(value, 6)
    return value


def summary_json(summary: dict) -> str:
    """The canonical text of ``summary.json`` (same scenario and seed, same bytes)."""
    return json.dumps(_clean(summary), indent=1, sort_keys=False) + "\n"


def timeline_table(summary: dict) -> pd.DataFrame:
    """The tidy per-day table: one row per (group, day) with every daily metric."""
    frames = []
    for name, group in summary["groups"].items():
        frame = pd.DataFrame(group["daily"])
        frame.insert(0, "group", name)
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


def final_table(summary: dict) -> pd.DataFrame:
    """One row per group with the final metrics (the table ``devsim run`` prints)."""
    rows = []
    for name, group in summary["groups"].items():
        row = {"group": name, **group["final"]}
        row["od_histogram"] = " ".join(str(v) for v in row["od_histogram"])
        rows.append(row)
    return pd.DataFrame(rows)

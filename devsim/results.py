"""A run's results, owned by the model that produced them (:meth:`DevelopmentModel.results`).

Every reader -- ``devsim run``, validation, profiles, batches, lessons, the browser page --
goes through :class:`Results`: the tidy table, the daily series per group and the text of
``summary.json`` are all made here, once.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass

import pandas as pd

from devsim import __version__
from devsim.maps import MAP_METRICS
from devsim.measures import DAILY_METRICS, FINAL_METRICS


def final_metrics(scenario) -> tuple[str, ...]:
    """The final measures a run of ``scenario`` reports: :data:`FINAL_METRICS`, and on a
    sheet cortex the map measures :data:`devsim.maps.MAP_METRICS` after them."""
    sheet = getattr(scenario, "cortex", "point") == "sheet"
    return FINAL_METRICS + MAP_METRICS if sheet else FINAL_METRICS


@dataclass(frozen=True)
class Results:
    """The record of a run up to ``age``.

    ``daily``: one row per (group, day, metric) with the group's value that day (ages
    0..age); ``final``: per group, every measure of :func:`final_metrics` at ``age`` (on a
    sheet the map measures too) and ``per_organism``, each animal's own.
    """

    scenario: object  # devsim.scenario.Scenario (not imported: results sit below scenarios)
    age: int
    daily: pd.DataFrame
    final: dict[str, dict]
    seeded: bool = True  # False: the draws came from a generator passed in, not from a seed

    def daily_series(self) -> dict[str, dict[str, list]]:
        """Per group, ``day`` (0..age) and the series of each of :data:`DAILY_METRICS`."""
        out: dict[str, dict[str, list]] = {}
        rows = self.daily.itertuples(index=False)
        for group, day, metric, value in rows:
            series = out.setdefault(group, {"day": []})
            if metric == DAILY_METRICS[0]:
                series["day"].append(day)
            series.setdefault(metric, []).append(value)
        return out

    def summary(self) -> dict:
        """The content of ``summary.json``: the run's identity and, per group, the final
        measures and the daily series."""
        scenario = self.scenario
        daily = self.daily_series()
        metrics = final_metrics(scenario)
        identity = {
            "devsim_version": __version__,
            "scenario": scenario.name,
            "species": scenario.species,
            "seed": scenario.seed if self.seeded else None,  # no seed names the draws
            "days": scenario.days,
        }
        if metrics is not FINAL_METRICS:  # a sheet (point runs keep their bytes)
            identity.update(cortex=scenario.cortex, sheet_size=scenario.sheet_size)
        return {
            **identity,
            "reference_group": scenario.reference,
            "groups": {
                group.name: {
                    "organisms": group.organisms,
                    "final": {m: self.final[group.name][m] for m in metrics},
                    # each animal's own measures at the end (litter order), for statistics
                    # with n = animals
                    "per_organism": self.final[group.name]["per_organism"],
                    "daily": {k: daily[group.name][k] for k in ("day", *DAILY_METRICS)},
                }
                for group in scenario.groups
            },
        }

    def tidy(self) -> pd.DataFrame:
        """One row per (group, day, metric, value): the daily group measures, then the
        final ones at ``age``, named ``final_<metric>`` (``final_cbi`` beside the daily
        ``cbi``; the OD histogram as ``od_class_1`` .. ``_7``). Every measure is pooled over
        the group's organisms."""
        final = [
            {"group": name, "day": self.age, "metric": metric, "value": value}
            for name, measures in self.final.items()
            for metric, value in _flat(measures, final_metrics(self.scenario))
        ]
        return pd.concat([self.daily, pd.DataFrame(final)], ignore_index=True)


def _flat(measures: dict, metrics: tuple[str, ...]):
    for metric in metrics:
        value = measures[metric]
        if metric == "od_histogram":
            yield from ((f"od_class_{k + 1}", float(v)) for k, v in enumerate(value))
        else:
            yield f"final_{metric}", value


def clean(value):
    """JSON-safe, rounded values (NaN -> null) so the file is stable and valid JSON."""
    if isinstance(value, dict):
        return {k: clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [clean(v) for v in value]
    if isinstance(value, float):
        return None if math.isnan(value) else round(value, 6)
    return value


def summary_json(summary: dict) -> str:
    """The canonical text of ``summary.json`` (same scenario and seed, same bytes)."""
    return json.dumps(clean(summary), indent=1, sort_keys=False) + "\n"

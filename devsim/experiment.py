"""Run a scenario to its end (the run contract: scenario -> model -> results).

``summary.json`` and the per-day table are made by :class:`devsim.results.Results`; this
module only runs the model and lays its results out as tables.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import pandas as pd

from devsim.measures import FINAL_METRICS
from devsim.model import DevelopmentModel
from devsim.results import summary_json
from devsim.scenario import Scenario
from devsim.senses import MONOCULAR_DEPRIVATIONS, WorldParams

__all__ = [
    "FINAL_METRICS",
    "cbi_shift",
    "day_value",
    "final_table",
    "md_end_day",
    "run_scenario",
    "summary_json",
    "timeline_table",
]


def run_scenario(
    scenario: Scenario,
    world: WorldParams | None = None,
    on_day: Callable[[int], None] | None = None,
) -> tuple[dict, DevelopmentModel]:
    """Simulate ``scenario`` from birth to ``days`` (in ``world``, default the standard
    visual world); return (summary, model). ``on_day(age)`` is called after each day."""
    model = DevelopmentModel(scenario, world=world)
    while model.running:
        model.step()
        if on_day is not None:
            on_day(model.age)
    return model.results().summary(), model


def timeline_table(summary: dict) -> pd.DataFrame:
    """The tidy per-day table: one row per (group, day) with every daily metric."""
    frames = []
    for name, group in summary["groups"].items():
        frame = pd.DataFrame(group["daily"])
        frame.insert(0, "group", name)
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


def final_table(summary: dict, controls: dict[str, str] | None = None) -> pd.DataFrame:
    """One row per group with the final metrics (the table ``devsim run`` prints) and
    ``shift``, its control's CBI minus the group's (``shift_cbi`` of a batch): ``controls``
    names each group's control (:meth:`Scenario.control_of`), default the reference."""
    groups = summary["groups"]
    controls = controls or {}
    # the OD classes in columns: every count as wide as the widest of any group
    width = max((len(str(v)) for g in groups.values() for v in g["final"]["od_histogram"]),
                default=1)  # fmt: skip
    rows = []
    for name, group in groups.items():
        row = {"group": name, **group["final"]}
        row["shift"] = cbi_shift(summary, name, controls.get(name))
        # the widest column last
        row["od_histogram"] = " ".join(f"{v:>{width}}" for v in row.pop("od_histogram"))
        rows.append(row)
    return pd.DataFrame(rows)


def md_end_day(group: dict) -> int | None:
    """The day a group's last one-eye deprivation (lid suture, TTX) ends; None if it has
    none. ``group`` as a scenario file writes it (``rearing`` items with ``to``)."""
    ends = [r["to"] for r in group.get("rearing", ()) if r["condition"] in MONOCULAR_DEPRIVATIONS]
    return max(ends) if ends else None


def day_value(daily: dict, metric: str, day: int) -> float:
    """A summary's daily ``metric`` on ``day``; NaN where it was not measured or is null."""
    try:
        value = daily[metric][daily["day"].index(day)]
    except (KeyError, ValueError, IndexError):
        return math.nan
    return math.nan if value is None else float(value)


def cbi_shift(
    summary: dict, group: str, reference: str | None = None, day: int | None = None
) -> float:
    """The OD shift: the reference group's CBI minus ``group``'s (``reference`` default the
    summary's ``reference_group``), at the end of the run or on ``day``; NaN where either
    CBI is undefined (no responsive cell)."""
    groups = summary["groups"]
    ref = groups[summary["reference_group"] if reference is None else reference]
    if day is None:
        values = (ref["final"]["cbi"], groups[group]["final"]["cbi"])
        return math.nan if None in values else float(values[0] - values[1])
    return day_value(ref["daily"], "cbi", day) - day_value(groups[group]["daily"], "cbi", day)

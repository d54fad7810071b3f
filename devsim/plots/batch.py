"""Figures of a batch (``DIR/figures/<metric>_vs_<param>.png``): mean +/- sd over seeds.

Drawn in memory and handed to :func:`devsim.batch.run_sweep` (``draw=render_figures``),
which writes them atomically with the results.
"""

from __future__ import annotations

import io
from typing import Any

import pandas as pd
from matplotlib.figure import Figure

from devsim.batch import FIGURE_METRICS, Sweep, figure_names
from devsim.outputs import count_of, printable
from devsim.plots import figure


def _text(value: Any, limit: int = 120) -> str:
    """Text for a figure: control characters escaped (``$`` stays literal: maths is off)."""
    return printable(str(value), limit)


@figure
def render_figures(table: pd.DataFrame, sweep: Sweep) -> dict[str, bytes]:
    """The PNG bytes of every figure, by file name: mean +/- sd over seeds, one line per
    group (and per value of the other swept parameters while that stays readable; beyond
    12 lines they are pooled, and the title says so).

    Names are drawn as plain text (no mathtext, no LaTeX), so ``$`` or ``_`` in a scenario,
    group or parameter name is shown as written."""
    ok = table[table["status"] == "ok"]
    pngs: dict[str, bytes] = {}
    if ok.empty:
        return pngs
    columns = sweep.columns
    names = figure_names(sweep)
    for param in sweep.swept:  # names are plain text: devsim.plots turns mathtext off
        # one line per value of the parameters varied independently of this one (those
        # zipped with it, or set by the same points, move along its axis)
        along = sweep.varied_with(param)
        others = [columns[p] for p in sweep.swept if p != param and p not in along]
        keys = ["group", *others]
        if ok.groupby(keys, sort=False).ngroups > 12:
            keys = ["group"]
        for metric in FIGURE_METRICS:
            if ok[metric].notna().sum() == 0:
                continue
            pngs[names[(metric, param)]] = _figure(ok, sweep, param, metric, keys)
    return pngs


def _figure(ok: pd.DataFrame, sweep: Sweep, param: str, metric: str, keys: list[str]) -> bytes:
    """One figure's PNG: ``metric`` against ``param``, a line per value of ``keys``."""
    col = sweep.columns[param]
    fig = Figure(figsize=(6.4, 4.2), layout="constrained")
    ax = fig.subplots()
    numeric = pd.api.types.is_numeric_dtype(ok[col])
    for key, sub in ok.groupby(keys, sort=False):
        stats = sub.groupby(col, sort=True)[metric].agg(["mean", "std"])
        if stats["mean"].notna().sum() == 0:
            continue
        x = stats.index.to_numpy() if numeric else stats.index.astype(str).to_numpy()
        if not numeric:
            x = [_text(v, 30) for v in x]
        ax.errorbar(
            x,
            stats["mean"],
            yerr=stats["std"].fillna(0),
            marker="o",
            capsize=3,
            lw=1.4,
            label=_line_label(sweep, keys, key),
        )
    if metric.startswith("shift"):
        ax.axhline(0, color="grey", lw=0.6)
    along = sweep.varied_with(param)
    ax.set_xlabel(
        _text(param)
        + "".join(f"\n(with {_text(p, 60)})" for p in along[:3])
        + (f"\n(and {len(along) - 3} more)" if len(along) > 3 else "")
    )
    ax.set_ylabel(FIGURE_METRICS[metric], fontsize=9)
    # too many lines to draw one per value of the other swept parameters: they are pooled,
    # and the title says the spread is over them too
    pooled = [
        p for p in sweep.swept if p != param and p not in along and sweep.columns[p] not in keys
    ]
    # a parameter varied with this one is pooled too where one x has several of its values
    # (points or zip rows that repeat this parameter's value)
    at_x = ok.groupby([*keys, col], sort=False)
    pooled += [p for p in along if (at_x[sweep.columns[p]].nunique(dropna=False) > 1).any()]
    # the seeds behind each point: fewer where a run failed or its measure is undefined
    seeds = ok[ok[metric].notna()].groupby([*keys, col], sort=False)["seed"].nunique()
    fewest, most = int(seeds.min()), int(seeds.max())
    over = count_of(most, "seed") if fewest == most else f"{fewest}-{most} seeds a point"
    over += "".join(f" and every {_text(p, 40)}" for p in pooled)
    ax.set_title(
        f"{_text(sweep.name, 100)}\n{metric} vs {_text(param)} (mean ± sd over {over})",
        fontsize=9,
    )
    ax.legend(frameon=False, fontsize=7)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100)
    return buffer.getvalue()


def _line_label(sweep: Sweep, keys: list[str], key: Any) -> str:
    """A line's legend: its group, then the other swept parameters' values."""
    param_of = {c: p for p, c in sweep.columns.items()}
    key = key if isinstance(key, tuple) else (key,)
    return ", ".join(
        [
            _text(key[0], 40),
            *(
                f"{_text(param_of[k], 60)}={_text(v, 30)}"
                for k, v in zip(keys[1:], key[1:], strict=True)
            ),
        ]
    )

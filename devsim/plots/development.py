"""Figures of a development scenario: OD histograms and ODI / gate over age."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from devsim.outputs import printable
from devsim.plasticity import WINDOW_OPEN_GATE
from devsim.scenario import Scenario

PANELS_PER_ROW = 6
LEGEND_CHARS = 40  # a group's name in a legend or a label (its middle elided beyond)
CLASS_LABELS = [str(k) for k in range(1, 8)]
CONDITION_COLOURS = {
    "lid_suture": "#d62728",
    "inactivate": "#9467bd",
    "binocular_suture": "#8c564b",
    "dark": "#444444",
    "strabismus": "#ff7f0e",
    "normal": "#2ca02c",
}


def od_histograms(summary: dict, path: Path | str, reference: str | None = None) -> None:
    """Hubel & Wiesel style 7-class OD histograms, one panel per group.

    Bars are percentages of responsive cells; the control's histogram is drawn as an
    outline on every other panel for reference. Class 1 = driven only by the
    contralateral (left) eye, 7 = only by the ipsilateral eye.
    """
    groups = summary["groups"]
    reference = reference or summary.get("reference_group")
    columns = min(len(groups), PANELS_PER_ROW)  # wrap, so the figure stays readable
    rows = -(-len(groups) // columns)
    fig = Figure(figsize=(3.2 * columns, 3.0 * rows), layout="constrained")
    axes = np.atleast_1d(fig.subplots(rows, columns, sharey=True, squeeze=False)).ravel()
    for ax in axes[len(groups) :]:
        ax.set_visible(False)
    ref = _percent(groups[reference]["final"]["od_histogram"]) if reference in groups else None
    for ax, (name, group) in zip(axes, groups.items(), strict=False):
        final = group["final"]
        ax.bar(CLASS_LABELS, _percent(final["od_histogram"]), color="#4c72b0")
        if ref is not None and name != reference:
            ax.step(np.arange(7), ref, where="mid", color="black", lw=1.2, label=reference)
            ax.legend(frameon=False, fontsize=8)
        cbi = final["cbi"]
        ax.set_title(f"{name}\nCBI {cbi:.2f}" if cbi is not None else name, fontsize=10)
        ax.set_xlabel("OD class (1 = contra, 7 = ipsi)")
    for ax in axes[::columns]:
        ax.set_ylabel("% of responsive cells")
    fig.savefig(path, dpi=110)


def _percent(hist) -> np.ndarray:
    hist = np.asarray(hist, dtype=float)
    return 100 * hist / hist.sum() if hist.sum() else hist


def timeline(summary: dict, scenario: Scenario, path: Path | str) -> None:
    """Mean ODI and the plasticity gate over age, window shaded, rearing events marked."""
    fig = Figure(figsize=(8, 5.5), layout="constrained")
    ax_odi, ax_gate = fig.subplots(2, 1, sharex=True)
    reference = summary["reference_group"]
    for name, group in summary["groups"].items():
        daily = group["daily"]
        odi = [np.nan if v is None else v for v in daily["mean_odi"]]
        label = printable(name, LEGEND_CHARS)  # a long name would squeeze the axes away
        ax_odi.plot(daily["day"], odi, label=label, lw=1.8 if name == reference else 1.2)
        ax_gate.plot(daily["day"], daily["plasticity"], label=label)
    gate = np.asarray(summary["groups"][reference]["daily"]["plasticity"])
    open_days = np.nonzero(gate >= WINDOW_OPEN_GATE)[0]
    if len(open_days):
        for ax in (ax_odi, ax_gate):
            ax.axvspan(open_days[0], open_days[-1], color="gold", alpha=0.25, lw=0)
        ax_gate.text(open_days[0], gate.max() * 1.02, "critical window", fontsize=8)
    for k, group in enumerate(scenario.groups):
        for item in group.rearing:
            colour = CONDITION_COLOURS.get(item.condition, "grey")
            y = -1.0 + 0.06 * k
            ax_odi.plot([item.start, item.end], [y, y], color=colour, lw=4, solid_capstyle="butt")
            label = item.condition + (f" {item.eye}" if item.eye else "")
            name = printable(group.name, LEGEND_CHARS)
            ax_odi.text(item.end + 0.5, y, f"{name}: {label}", fontsize=7, va="center")
        for item in group.treatments:
            ax_gate.axvspan(item.start, item.end, color="#17becf", alpha=0.2, lw=0)
    ax_odi.axhline(0, color="grey", lw=0.5)
    ax_odi.set_ylim(-1.05, 1.0)
    ax_odi.set_ylabel("mean ODI (+1 = contra)")
    ax_odi.legend(frameon=False, fontsize=8, ncol=2)
    ax_gate.set_ylabel("plasticity gate g(t)")
    ax_gate.set_xlabel("age (days)")
    ax_gate.set_ylim(0, 1.05)
    fig.suptitle(summary["scenario"], fontsize=11)
    fig.savefig(path, dpi=110)

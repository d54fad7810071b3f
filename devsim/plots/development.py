"""Figures of a development scenario: OD histograms and ODI / gate over age."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib import colormaps
from matplotlib.figure import Figure

from devsim.outputs import printable
from devsim.plasticity import WINDOW_OPEN_GATE
from devsim.plots import figure, shown
from devsim.scenario import Scenario

PANELS_PER_ROW = 6
LEGEND_CHARS = 40  # a group's name in a legend or a label (its middle elided beyond)
LEGEND_ROWS = 14  # groups named in one column beside a panel
CLASS_LABELS = [str(k) for k in range(1, 8)]
# Neither red nor blue: the page draws the right eye red and the left eye blue, and a red
# bar with "left" on it read as the right eye.
CONDITION_COLOURS = {
    "lid_suture": "#bf812d",
    "inactivate": "#9467bd",
    "binocular_suture": "#8c564b",
    "binocular_inactivation": "#54278f",  # a darker TTX purple: both eyes
    "dark": "#444444",
    "strabismus": "#ff7f0e",
    "normal": "#2ca02c",
}
DRUG_COLOURS = {"diazepam": "#01665e", "fluoxetine": "#17becf", "chondroitinase": "#bcbd22"}


@figure
def od_histograms(
    summary: dict,
    path: Path | str | None = None,
    reference: str | None = None,
    label=None,
    per_row: int = PANELS_PER_ROW,
) -> Figure:
    """Hubel & Wiesel style 7-class OD histograms, one panel per group, written to ``path``
    (PNG, SVG, PDF: by its suffix) when given; the figure is returned (a notebook shows it).

    Bars are percentages of responsive cells; the control's histogram is drawn as an
    outline on every other panel for reference. Class 1 = driven only by the
    contralateral (left) eye, 7 = only by the ipsilateral eye. Groups are named
    ``label(name)`` when given (a handout's :func:`devsim.plots.display_name`), else as
    the scenario names them; ``per_row`` panels a row at most (a printed page: 3).
    """
    label = label or (lambda name: name)
    groups = summary["groups"]
    reference = reference or summary.get("reference_group")
    columns = min(len(groups), per_row)  # wrap, so the figure stays readable
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
            ax.step(np.arange(7), ref, where="mid", color="black", lw=1.2, label=label(reference))
            ax.legend(frameon=False, fontsize=8)
        cbi = final["cbi"]
        ax.set_title(f"{label(name)}\nCBI {shown(cbi, '.2f')}", fontsize=10)
        ax.set_xlabel("OD class (1 = contra, 7 = ipsi)")
    for ax in axes[::columns]:
        ax.set_ylabel("% of responsive cells")
    if path is not None:
        fig.savefig(path, dpi=110)
    return fig


def _percent(hist) -> np.ndarray:
    hist = np.asarray(hist, dtype=float)
    return 100 * hist / hist.sum() if hist.sum() else hist


def strain(group, species: str) -> str | None:
    """A group's own species or strain where it is not the scenario's ``species`` (a
    knockout among wild types), else None."""
    return group.species if group.species not in (None, species) else None


def protocol_groups(groups, species: str) -> list:
    """The groups that get a protocol lane: rearing, treatments or another strain."""
    return [g for g in groups if g.rearing or g.treatments or strain(g, species)]


def drug_rows(group) -> list[tuple]:
    """Each treatment of ``group`` with its thin row under the lane and the lane's count of
    rows: one row per drug, so two drugs given at once are drawn one under the other (the
    figures and the page's chart alike)."""
    drugs = sorted({t.drug for t in group.treatments})
    return [(item, drugs.index(item.drug), len(drugs)) for item in group.treatments]


@figure
def timeline(
    summary: dict, scenario: Scenario, path: Path | str | None = None, label=None
) -> Figure:
    """Mean ODI and the plasticity gate over age, window shaded; below them the protocol,
    one lane per group that has rearing, treatments or another strain. Groups are named
    ``label(name)`` when given, else as the scenario names them. Written to ``path`` when
    given; the figure is returned."""
    label = label or (lambda name: name)
    lanes = protocol_groups(scenario.groups, scenario.species)
    ratios = [3.0, 2.0] + ([0.9 + 0.32 * len(lanes)] if lanes else [])
    # up to LEGEND_ROWS groups are named beside the ODI panel, more in columns underneath
    below = len(summary["groups"]) > LEGEND_ROWS
    extra = 0.3 + 0.17 * -(-len(summary["groups"]) // 4) if below else 0.0
    fig = Figure(figsize=(8.5, 1.1 * sum(ratios) + extra), layout="constrained")
    axes = fig.subplots(len(ratios), 1, sharex=True, height_ratios=ratios)
    ax_odi, ax_gate = axes[0], axes[1]
    reference = summary["reference_group"]
    if len(summary["groups"]) > 10:  # the default cycle repeats after 10 colours
        ax_odi.set_prop_cycle(color=colormaps["tab20"].colors)
    colours = {}
    for name, group in summary["groups"].items():
        daily = group["daily"]
        odi = [np.nan if v is None else v for v in daily["mean_odi"]]
        shown_as = printable(label(name), LEGEND_CHARS)  # a long name squeezes the axes away
        width = 1.8 if name == reference else 1.2
        (line,) = ax_odi.plot(daily["day"], odi, label=shown_as, lw=width)
        colours[name] = line.get_color()
        ax_gate.plot(daily["day"], daily["plasticity"], color=colours[name])
    gate = np.asarray(summary["groups"][reference]["daily"]["plasticity"])
    open_days = np.nonzero(gate >= WINDOW_OPEN_GATE)[0]
    if len(open_days):
        for ax in axes:
            band = ax.axvspan(open_days[0], open_days[-1], color="gold", alpha=0.25, lw=0)
        # named beside the panel, as the groups are (over the curves it hid them and ran
        # past the frame when the window opened late)
        window = (
            f"critical window\n({printable(label(reference), 30)}: gate ≥ {WINDOW_OPEN_GATE:g})"
        )
        ax_gate.legend([band], [window], frameon=False, fontsize=7, loc="upper left",
                       bbox_to_anchor=(1.01, 1.0))  # fmt: skip
    ax_odi.axhline(0, color="grey", lw=0.5)
    ax_odi.set_ylim(-1.05, 1.05)
    ax_odi.set_ylabel("mean ODI (+1 = contra)")
    if below:
        fig.legend(*ax_odi.get_legend_handles_labels(), frameon=False, fontsize=7, ncol=4,
                   loc="outside lower center")  # fmt: skip
    else:
        ax_odi.legend(frameon=False, fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    ax_gate.set_ylabel("plasticity gate g(t)")
    # where the gold band starts: the window counts as open from this gate on
    ax_gate.axhline(WINDOW_OPEN_GATE, color="#8a6d00", lw=0.6, ls=(0, (2, 3)))
    ax_gate.set_ylim(0, 1.05)
    if lanes:
        handles = protocol_lanes(axes[2], lanes, colours, scenario.species, label=label)
        axes[2].legend(
            list(handles.values()),
            list(handles),
            frameon=False,
            fontsize=7,
            loc="upper left",
            bbox_to_anchor=(1.01, 1.0),
        )
    axes[-1].set_xlabel("age (days)")
    fig.suptitle(summary["scenario"], fontsize=11)
    if path is not None:
        fig.savefig(path, dpi=110)
    return fig


def protocol_lanes(
    ax,
    lanes: list,
    colours: dict[str, str],
    scenario_species: str,
    fontsize: float = 7,
    label=None,
) -> dict[str, object]:
    """Each group's rearing as a bar coloured by condition (the closed or silenced eye
    written on it), its treatments as thin bars under it, another species or strain by
    name; the group's name in its colour (``label(name)`` when given, as the figure's
    legend names it). Returns the legend's handles by label."""
    shown: dict[str, object] = {}
    for k, group in enumerate(lanes):
        y = len(lanes) - 1 - k  # the first group on top
        for item in group.rearing:
            colour = CONDITION_COLOURS.get(item.condition, "grey")
            bar = ax.barh(
                y + 0.12,
                item.end - item.start,
                left=item.start,
                height=0.5,
                color=colour,
                edgecolor="white",
                lw=0.8,  # back-to-back intervals stay apart
            )
            shown.setdefault(item.condition.replace("_", " "), bar)
            if item.eye:
                middle = (item.start + item.end) / 2
                ax.text(
                    middle,
                    y + 0.12,
                    item.eye,
                    fontsize=fontsize - 1,
                    color="white",
                    ha="center",
                    va="center",
                )
        if other := strain(group, scenario_species):  # a knockout: no bar, its name
            ax.text(1, y, other, fontsize=fontsize, color="#555555", va="center", style="italic")
        for item, row, rows in drug_rows(group):
            colour = DRUG_COLOURS.get(item.drug, "grey")
            height = 0.3 / rows
            bottom = y - 0.16 - row * height
            bar = ax.barh(
                bottom, item.end - item.start, left=item.start, height=height, color=colour
            )
            shown.setdefault(item.drug, bar)
    ax.set_yticks(range(len(lanes)))
    label = label or (lambda name: name)
    names = [printable(label(g.name), LEGEND_CHARS) for g in reversed(lanes)]
    ax.set_yticklabels(names, fontsize=fontsize)
    for tick, group in zip(ax.get_yticklabels(), reversed(lanes), strict=True):
        tick.set_color(colours.get(group.name, "black"))
    ax.set_ylim(-0.6, len(lanes) - 0.4)
    ax.tick_params(axis="y", length=0)
    return shown

"""Figures of evolution runs: traits and genes over generations, mutation scales, habitat maps,
and comparisons of scenarios over seeds."""

from __future__ import annotations

import os
import textwrap
import warnings
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from devsim.evolution import PERIODIC_GENES
from devsim.outputs import printable
from devsim.plasticity import WINDOW_OPEN_GATE
from devsim.plots import figure, plain_log_labels

# Scenario names and file names are the user's text: shown as they are, never parsed as
# matplotlib maths ($...$) or TeX, control characters escaped.
PLAIN = {"parse_math": False, "usetex": False}

TRAIT_PANELS = (
    ("fitness_mean", "fitness"),
    ("quality_mean", "visual quality (discriminability)"),
    ("plasticity_mean", "plasticity  (eta x integrated gate)"),
    ("innate_mean", "innate template strength"),
    ("template_match_mean", "template match  cos 2(psi - phi)"),
    ("innate_effective_mean", "world-specific template (strength x match)"),
    ("window_close_mean", f"window closes (day, gate < {WINDOW_OPEN_GATE})"),
    ("adult_gate_mean", "gate at maturity"),
    ("eta_mean", "eta (learning rate)"),
)


def _suptitle(fig: Figure, title: str, default: str) -> None:
    fig.suptitle(printable(title, 200) if title else default, fontsize=10, **PLAIN)


def _plain_legend(legend) -> None:
    for text in legend.get_texts():
        text.set_parse_math(False)
        text.set_usetex(False)


def _band(ax, x, mean, sd, colour, label=None):
    ax.plot(x, mean, color=colour, lw=1.6, label=label)
    if sd is not None:
        ax.fill_between(x, mean - sd, mean + sd, color=colour, alpha=0.2, lw=0)


@figure
def plot_traits(table: pd.DataFrame, path: str | os.PathLike, title: str = "") -> Figure:
    """Population means of the derived traits over generations."""
    panels = [(c, label) for c, label in TRAIT_PANELS if c in table]
    cols = 4
    rows = -(-len(panels) // cols)
    fig = Figure(figsize=(3.2 * cols, 2.6 * rows), layout="constrained")
    x = table["generation"].to_numpy()
    for i, (column, label) in enumerate(panels):
        ax = fig.add_subplot(rows, cols, i + 1)
        sd = table["fitness_sd"].to_numpy() if column == "fitness_mean" else None
        gene = column.removesuffix("_mean")
        if f"{gene}_sd" in table and column != "fitness_mean":
            sd = table[f"{gene}_sd"].to_numpy()
        _band(ax, x, table[column].to_numpy(dtype=float), sd, "tab:blue")
        ax.set_title(label, fontsize=9)
        ax.set_xlabel("generation", fontsize=8)
        ax.tick_params(labelsize=7)
        ax.grid(alpha=0.3)
    _suptitle(fig, title, "Evolved traits (population mean)")
    fig.savefig(path, format="png", dpi=110)
    return fig


@figure
def plot_genes(
    table: pd.DataFrame, genes: Sequence[str], path: str | os.PathLike, title: str = ""
) -> Figure:
    """Mean +- sd of the evolving genes over generations (the figure is returned too)."""
    cols = 4
    rows = max(1, -(-len(genes) // cols))
    fig = Figure(figsize=(3.2 * cols, 2.4 * rows), layout="constrained")
    x = table["generation"].to_numpy()
    for i, gene in enumerate(genes):
        ax = fig.add_subplot(rows, cols, i + 1)
        mean = table[f"{gene}_mean"].to_numpy(dtype=float, copy=True)
        label = gene
        if gene.split("@")[0] in PERIODIC_GENES:
            # an orientation: 178° and 2° are neighbours, so the circular mean is drawn
            # unwrapped (no 0 -> 178 -> 0 spikes where it crosses the period's ends)
            finite = np.isfinite(mean)
            mean[finite] = np.unwrap(mean[finite], period=180.0)
            label = f"{gene} (degrees, unwrapped)"
        _band(ax, x, mean, table[f"{gene}_sd"].to_numpy(), "tab:green")
        ax.set_title(label, fontsize=9)
        ax.tick_params(labelsize=7)
        ax.grid(alpha=0.3)
    _suptitle(fig, f"{title}: evolving genes (mean +- sd within the population)" if title
              else "", "Evolving genes (mean +- sd within the population)")  # fmt: skip
    fig.savefig(path, format="png", dpi=110)
    return fig


@figure
def plot_sigmas(
    table: pd.DataFrame, genes: Sequence[str], path: str | os.PathLike, title: str = ""
) -> Figure:
    """Each evolving gene's mean heritable mutation scale relative to generation 0 (log)."""
    fig = Figure(figsize=(7.0, 4.2), layout="constrained")
    ax = fig.add_subplot()
    x = table["generation"].to_numpy()
    for gene in genes:
        s = table[f"{gene}_sigma"].to_numpy(dtype=float)
        if s[0] > 0:
            ax.plot(x, s / s[0], lw=1.5, label=gene)
    ax.set_yscale("log")
    plain_log_labels(ax.yaxis)
    ax.axhline(1.0, color="k", lw=0.6)
    ax.set_xlabel("generation")
    ax.set_ylabel("mutation scale / generation 0")
    ax.grid(alpha=0.3, which="both")
    if ax.get_legend_handles_labels()[0]:  # no gene evolves: nothing to name
        ax.legend(fontsize=7, ncols=2, frameon=False)
    else:
        ax.text(0.5, 0.5, "no gene's mutation scale evolves", ha="center", transform=ax.transAxes)
    ax.set_title(
        printable(title, 200) if title else "Heritable mutation scales", fontsize=10, **PLAIN
    )
    fig.savefig(path, format="png", dpi=110)
    return fig


@figure
def plot_habitat_maps(
    maps: Mapping[str, np.ndarray], path: str | os.PathLike, title: str = ""
) -> Figure:
    """Per-cell means of evolved traits in the last generation (columns left to right)."""
    names = list(maps)
    cols = min(4, len(names))
    rows = -(-len(names) // cols)
    fig = Figure(figsize=(3.6 * cols, 2.9 * rows), layout="constrained")
    for i, name in enumerate(names):
        ax = fig.add_subplot(rows, cols, i + 1)
        data = np.asarray(maps[name], dtype=float).T  # rows = grid rows, x = columns
        if "orientation" in name:  # periodic (0 = 180 degrees): a cyclic colour map
            im = ax.imshow(data, origin="lower", cmap="twilight", vmin=0, vmax=180, aspect="auto")
        else:
            im = ax.imshow(data, origin="lower", cmap="viridis", aspect="auto")
        fig.colorbar(im, ax=ax, shrink=0.85)
        ax.set_title(name, fontsize=9)
        ax.set_xlabel("habitat column", fontsize=8)
        ax.set_ylabel("row", fontsize=8)
        ax.tick_params(labelsize=7)
    _suptitle(fig, title, "Habitat map of evolved traits (last generation)")
    fig.savefig(path, format="png", dpi=110)
    return fig


@figure
def plot_comparison(
    runs: Mapping[str, Sequence[pd.DataFrame]],
    columns: Sequence[str],
    path: str | os.PathLike,
    title: str = "",
) -> Figure:
    """Scenarios side by side: mean over seeds (line) and the range over seeds (band)."""
    cols = min(3, len(columns))
    rows = -(-len(columns) // cols)
    fig = Figure(figsize=(3.8 * cols, 3.0 * rows), layout="constrained")
    colours = ["tab:blue", "tab:orange", "tab:green", "tab:red", "tab:purple", "tab:brown"]
    for i, column in enumerate(columns):
        ax = fig.add_subplot(rows, cols, i + 1)
        lines = []  # labels given with their lines: one starting with "_" is still shown
        for j, (label, tables) in enumerate(runs.items()):
            stacked = np.array([t[column].to_numpy(dtype=float) for t in tables])
            x = tables[0]["generation"].to_numpy()
            colour = colours[j % len(colours)]
            with warnings.catch_warnings():  # a trait can be undefined (NaN) in every run
                warnings.simplefilter("ignore", RuntimeWarning)
                mean = np.nanmean(stacked, axis=0)
                low, high = np.nanmin(stacked, axis=0), np.nanmax(stacked, axis=0)
            (line,) = ax.plot(x, mean, color=colour, lw=1.6)
            lines.append((line, printable(str(label), 80)))
            ax.fill_between(x, low, high, color=colour, alpha=0.2)
        ax.set_title(column, fontsize=9)
        ax.set_xlabel("generation", fontsize=8)
        ax.tick_params(labelsize=7)
        ax.grid(alpha=0.3)
        if i == 0:
            handles, labels = zip(*lines, strict=True) if lines else ((), ())
            _plain_legend(ax.legend(handles, labels, fontsize=7, frameon=False))
    _suptitle(fig, title, "Scenarios compared (mean and range over seeds)")
    fig.savefig(path, format="png", dpi=110)
    return fig


TIMESCALE_PANELS = (  # measure, title, log scale (learning: drift spreads it over decades)
    ("innate_effective", "genome: world-specific template\n(strength x match)", False),
    ("sigma_ratio", "genome: orientation gene's sigma change\n/ the neutral marker's", True),
    ("window_learning", "window: eta x gate-days\nbefore the window closes", True),
    ("adult_learning", "adult: eta x gate-days\nafter the window closes", True),
)
LAYER_COLOURS = {"genome": "tab:green", "window": "tab:blue", "adult": "tab:red"}


@figure
def plot_timescales(
    summary: pd.DataFrame,
    features: Sequence[tuple[str, str]],
    shares: Mapping[str, Mapping[str, float]],
    path: str | os.PathLike,
    title: str = "",
    notes: Sequence[str] = (),
) -> Figure:
    """The timescale spectrum (the figure is returned too): features ordered from the slowest
    to the fastest (x); first the share of each memory layer per feature (stacked), then
    each layer's measure, mean and 95 % confidence interval over seeds for every scenario
    and selection (``summary``: rows of scenario, selection, metric ``<measure>@<feature>``,
    mean, ci_low, ci_high, and geo_mean, geo_ci_low, geo_ci_high as
    :func:`devsim.evolution_runs.summarise` writes them); a panel on a log scale shows the
    geometric mean and its interval, where every seed's value is positive (else the mean,
    without a lower whisker where its interval reaches 0); ``notes`` (the predictions
    checked) fill the last panel."""
    names = [f for f, _ in features]
    x = np.arange(len(names))
    fig = Figure(figsize=(4.2 * 3, 3.4 * 2), layout="constrained")
    ax = fig.add_subplot(2, 3, 1)
    bottom = np.zeros(len(names))
    for layer, colour in LAYER_COLOURS.items():
        height = np.array([shares.get(f, {}).get(layer, np.nan) for f in names])
        ax.bar(x, np.nan_to_num(height), bottom=bottom, color=colour, label=layer, width=0.7)
        bottom += np.nan_to_num(height)
    ax.set_ylim(0, 1.15)
    ax.set_yticks([0, 0.25, 0.5, 0.75, 1.0])
    ax.set_title("share carried by each layer", fontsize=9)
    _plain_legend(ax.legend(fontsize=7, frameon=False, loc="upper center", ncols=3))
    arms = list(dict.fromkeys(zip(summary["scenario"], summary["selection"], strict=True)))
    colours = ["black", "tab:purple", "tab:orange", "tab:brown"]
    axes = [ax]
    for i, (measure, label, log) in enumerate(TIMESCALE_PANELS):
        ax = fig.add_subplot(2, 3, i + 2)
        axes.append(ax)
        positive = False  # a log axis needs a positive value to show
        reaches_zero = False
        geometric = False  # a point is a geometric mean
        for j, (scenario, selection) in enumerate(arms):
            rows = summary[(summary["scenario"] == scenario) & (summary["selection"] == selection)]
            by_metric = rows.set_index("metric")
            keys = [f"{measure}@{f}" for f in names]

            def column(name: str, by_metric=by_metric, keys=keys) -> np.ndarray:
                """The summary's ``name`` for each feature (NaN where it has none)."""
                values = by_metric[name] if name in by_metric else pd.Series(dtype=float)
                return np.array([values.get(k, np.nan) for k in keys], dtype=float)

            mean, low, high = column("mean"), column("ci_low"), column("ci_high")
            if log:
                # a ratio or a rate spread over decades between seeds is summarised on the
                # log scale it is drawn on: the geometric mean and its interval, never below 0
                geo = column("geo_mean")
                logged = np.isfinite(geo)
                geometric |= bool(logged.any())
                mean = np.where(logged, geo, mean)
                low = np.where(logged, column("geo_ci_low"), low)
                high = np.where(logged, column("geo_ci_high"), high)
            spread = np.nan_to_num(np.stack([mean - low, high - mean]))
            positive |= bool((mean > 0).any())
            if log:
                # an arithmetic interval reaching 0 or below (a seed's value of 0 leaves no
                # geometric one) has no lower end on a log axis: its lower whisker is left
                # out and said so (it was drawn to mean/1000, three decades of spread that
                # are not in the data)
                open_below = low <= 0
                reaches_zero |= bool((open_below & (mean > 0)).any())
                spread[0] = np.where(open_below, 0.0, spread[0])
            offset = (j - (len(arms) - 1) / 2) * 0.12
            drift = selection == "off"
            ax.errorbar(
                x + offset,
                mean,
                yerr=spread,
                fmt="o" if not drift else "s",
                ms=4,
                capsize=2,
                color=colours[j % len(colours)],
                mfc="white" if drift else None,
                lw=1,
                label=printable(f"{scenario}{' (drift)' if drift else ''}", 60),
            )
        if log and positive:
            ax.set_yscale("log")
            plain_log_labels(ax.yaxis)
        if measure == "sigma_ratio":  # as much change as the neutral marker
            ax.axhline(1.0, color="grey", lw=0.8, ls=":")
        if log and positive and geometric:
            label += " (geometric mean)"
        if log and positive and reaches_zero:
            label += "\n(no lower whisker: its 95 % interval reaches 0)"
        ax.set_title(label, fontsize=9)
        if i == 0:
            _plain_legend(ax.legend(fontsize=7, frameon=False))
    for ax in axes:
        ticks = ["\n".join(printable(line, 30) for line in t.split("\n")) for _, t in features]
        ax.set_xticks(x, ticks, rotation=30, ha="right")
        ax.tick_params(labelsize=7)
        ax.grid(alpha=0.3, axis="y")
    ax = fig.add_subplot(2, 3, 6)
    ax.axis("off")
    text = "\n".join(
        textwrap.fill(printable(n, 120), 52, subsequent_indent="      ") for n in notes
    )
    ax.text(0, 1, text, va="top", ha="left", fontsize=7, family="monospace", **PLAIN)
    _suptitle(fig, title, "Which memory layer carries each feature (slowest to fastest)")
    fig.savefig(path, format="png", dpi=110)
    return fig

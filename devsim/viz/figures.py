"""The page's figures, as plain functions of a model (matplotlib ``Figure``, no pyplot).

The Solara components in :mod:`devsim.viz.components` draw exactly these figures, and
``benchmarks/bench_app.py`` times them. Colours follow one convention everywhere: the
left (contralateral) eye is blue, the right (ipsilateral) eye red, and ODI runs on the
diverging ``RdBu`` map from -1 (red, right eye only) to +1 (blue, left eye only).
"""

from __future__ import annotations

import io
import math
import textwrap

import numpy as np
from matplotlib import colormaps
from matplotlib.collections import LineCollection
from matplotlib.colors import Normalize
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from devsim.measures import eye_responses, ocular_dominance_index, responsive
from devsim.model import DevelopmentModel
from devsim.organism import Organism
from devsim.plots.development import CONDITION_COLOURS

LEFT_COLOUR = "#2166ac"
RIGHT_COLOUR = "#b2182b"
ODI_CMAP = colormaps["RdBu"]
ODI_NORM = Normalize(-1.0, 1.0)
WEIGHT_CMAP = colormaps["PiYG"].with_extremes(bad="#e6e6e6")
GROUP_COLOURS = ["#222222", "#e08214", "#1b9e77", "#7570b3", "#e7298a", "#66a61e", "#a6761d"]
CLASS_COLOURS = [ODI_CMAP(ODI_NORM(v)) for v in (0.9, 0.6, 0.3, 0.0, -0.3, -0.6, -0.9)]
WINDOW_GATE = 0.5  # the window counts as open while the gate is at least this
DPI = 100
WIDTH = 4.4  # inches: about the width of a SolaraViz grid cell at 100 dpi
FONT = 8
# Fast PNG encoding: the page redraws every figure every day, compression is not worth it.
SAVE_KWARGS = {"pil_kwargs": {"compress_level": 1}}


def png(fig: Figure) -> bytes:
    """The figure as PNG bytes, as ``solara.FigureMatplotlib(fig, format="png")`` makes it."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", **SAVE_KWARGS)
    return buffer.getvalue()


def _wrap(name: str, width: int = 22) -> str:
    return "\n".join(textwrap.wrap(name, width)) or name


def _panel_grid(fig: Figure, count: int, per_row: int = 3):
    rows = math.ceil(count / per_row)
    cols = min(count, per_row)
    axes = np.atleast_1d(fig.subplots(rows, cols, squeeze=False).ravel())
    for ax in axes[count:]:
        ax.set_visible(False)
    return axes[:count]


# --- per-organism numbers -------------------------------------------------------------
def organism_odi(model: DevelopmentModel) -> np.ndarray:
    """Mean ODI of each organism's responsive neurons, (o,); NaN if none responds."""
    r_left, r_right = eye_responses(model.cohort.weights, model.world.test_patterns)
    ok = responsive(r_left, r_right)
    odi = np.where(ok, ocular_dominance_index(r_left, r_right), 0.0)
    count = ok.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, odi.sum(axis=1) / np.maximum(count, 1), np.nan)


def neuron_odi(organism: Organism) -> np.ndarray:
    """ODI of each neuron of one organism (NaN where unresponsive)."""
    r_left, r_right = organism.responses()
    odi = ocular_dominance_index(r_left, r_right)
    return np.where(responsive(r_left, r_right), odi, np.nan)


def organism_label(organism: Organism) -> str:
    return f"{organism.group} #{organism.litter + 1}"


# --- the litter -------------------------------------------------------------------------
def _block_shape(n: int) -> tuple[int, int]:
    """(rows, cols) of one group's block of organism cells."""
    cols = min(n, max(2, math.ceil(math.sqrt(2 * n))))
    return math.ceil(n / cols), cols


def litter_figure(model: DevelopmentModel, selected_row: int | None = None) -> Figure:
    """One cell per organism coloured by its mean ODI; the groups' blocks side by side.

    The selected organism (the one in the synapse panels) is outlined.
    """
    odi = organism_odi(model)
    members = [np.nonzero(model.group_of == gi)[0] for gi in range(len(model.groups))]
    shapes = [_block_shape(len(m)) for m in members]
    per_row = 3 if len(members) > 2 else 2
    block_h = max(r for r, _ in shapes)
    block_w = max(c for _, c in shapes)
    wrap = 32 if per_row == 2 else 20
    titles = [
        _wrap(f"{g.name} (n={len(m)})", wrap) for g, m in zip(model.groups, members, strict=True)
    ]
    label_h = 0.45 + 0.35 * max(t.count("\n") + 1 for t in titles)  # cell rows for titles
    n_rows = math.ceil(len(members) / per_row)
    width = min(len(members), per_row) * (block_w + 1) - 1  # in cells
    height = n_rows * (block_h + label_h + 0.4) - 0.4
    fig_w, top, bottom = WIDTH, 0.35, 0.6  # inches: title above, colour scale below
    cell = min(0.5, (fig_w - 0.2) / (width + 0.2))
    ax_h = cell * (height - 0.15)
    fig = Figure(figsize=(fig_w, top + ax_h + bottom), dpi=DPI)
    fig_h = top + ax_h + bottom
    ax_w = cell * (width + 0.2)
    ax = fig.add_axes(((fig_w - ax_w) / 2 / fig_w, bottom / fig_h, ax_w / fig_w, ax_h / fig_h))
    for gi, (rows, (_, nc)) in enumerate(zip(members, shapes, strict=True)):
        x0 = (gi % per_row) * (block_w + 1) + (block_w - nc) / 2
        y0 = (gi // per_row) * (block_h + label_h + 0.4) + label_h
        ax.text(x0 + nc / 2 - 0.5, y0 - 0.65, titles[gi], ha="center", va="bottom",
                fontsize=7.5, fontweight="bold")  # fmt: skip
        for k, row in enumerate(rows):
            r, c = divmod(k, nc)
            x, y = x0 + c, y0 + r
            value = odi[row]
            colour = (0.8, 0.8, 0.8, 1.0) if np.isnan(value) else ODI_CMAP(ODI_NORM(value))
            ax.add_patch(Rectangle((x - 0.5, y - 0.5), 1, 1, fc=colour, ec="white", lw=1.0))
            if len(rows) <= 16 and cell >= 0.3:
                text = "–" if np.isnan(value) else f"{value:+.2f}"
                dark = not np.isnan(value) and abs(value) > 0.55
                ax.text(x, y, text, ha="center", va="center", fontsize=6.5,
                        color="white" if dark else "black")  # fmt: skip
            if row == selected_row:
                ax.add_patch(Rectangle((x - 0.45, y - 0.45), 0.9, 0.9, fill=False, lw=2.0))
    ax.set_xlim(-0.6, width - 0.4)
    ax.set_ylim(height - 0.4, -0.25)
    ax.axis("off")
    _odi_scale(fig, 0.3 / fig_h, 0.1 / fig_h)
    fig.suptitle(f"The litter at P{model.age}: mean ODI of each organism", fontsize=FONT + 1,
                 fontweight="bold", y=1 - 0.06 / fig_h, va="top")  # fmt: skip
    return fig


def _odi_scale(fig: Figure, y: float, h: float) -> None:
    """A horizontal ODI colour scale at the bottom of the figure."""
    bar = fig.add_axes((0.2, y, 0.6, h))
    bar.imshow(np.linspace(-1, 1, 128)[None, :], cmap=ODI_CMAP, norm=ODI_NORM, aspect="auto")
    bar.set_xticks([0, 63.5, 127], ["−1 right eye", "0 both", "+1 left eye"], fontsize=7)
    bar.set_yticks([])
    bar.tick_params(length=2, pad=1)


# --- OD histograms -------------------------------------------------------------------------
def histogram_counts(model: DevelopmentModel) -> dict[str, list[int]]:
    """Today's 7-class OD histogram (cell counts) of each group."""
    return {name: list(m["od_histogram"]) for name, m in model.group_metrics.items()}


def _percent(hist) -> np.ndarray:
    hist = np.asarray(hist, dtype=float)
    return 100 * hist / hist.sum() if hist.sum() else hist


def histogram_figure(model: DevelopmentModel) -> Figure:
    """Hubel & Wiesel's 7-class OD histogram per group, the control's as an outline."""
    counts = histogram_counts(model)
    reference = model.reference
    per_row = 3 if len(counts) > 2 else 2
    rows = math.ceil(len(counts) / per_row)
    titles = [_wrap(name, 24 if per_row == 3 else 36) for name in counts]
    title_lines = max(t.count("\n") + 2 for t in titles)
    # inches: suptitle + panel titles above each row, x labels below the last
    head, gap, foot = 0.3 + 0.14 * title_lines, 0.3 + 0.14 * title_lines, 0.42
    panel = 1.75 if rows == 1 else 1.3
    height = head + rows * panel + (rows - 1) * gap + foot
    fig = Figure(figsize=(WIDTH, height), dpi=DPI)
    axes = _panel_grid(fig, len(counts), per_row)
    fig.subplots_adjust(left=0.11, right=0.98, bottom=foot / height, top=1 - head / height,
                        wspace=0.12, hspace=gap / panel)  # fmt: skip
    ref = _percent(counts[reference])
    top = max([50.0] + [float(_percent(h).max()) + 5 for h in counts.values()])
    x = np.arange(1, 8)
    legend = True
    for k, (ax, (name, hist)) in enumerate(zip(axes, counts.items(), strict=True)):
        ax.bar(x, _percent(hist), color=CLASS_COLOURS, edgecolor="#333333", lw=0.4, width=0.8)
        if name != reference:
            ax.step(x, ref, where="mid", color="black", lw=1.2, label=f"{reference} (outline)")
            if legend:
                ax.legend(frameon=False, fontsize=6.5, loc="upper right", handlelength=1.2)
                legend = False
        cbi = model.group_metrics[name]["cbi"]
        cbi_text = "CBI –" if cbi is None or math.isnan(cbi) else f"CBI {cbi:.2f}"
        ax.set_title(f"{titles[k]}\n{cbi_text}, {sum(hist)} cells", fontsize=7.5)
        ax.set_xticks(x)
        ax.set_ylim(0, top)
        ax.tick_params(labelsize=7, length=2, pad=1.5)
        if k % per_row:
            ax.tick_params(labelleft=False)
        else:
            ax.set_ylabel("% of responsive cells", fontsize=7)
        if k >= len(counts) - per_row:
            xlabel = (
                "OD class (1 left … 7 right)"
                if per_row == 3
                else "OD class (1 left eye … 7 right eye)"
            )
            ax.set_xlabel(xlabel, fontsize=6.5)
        ax.spines[["top", "right"]].set_visible(False)
    fig.suptitle(f"Ocular dominance at P{model.age}", fontsize=FONT + 1, fontweight="bold",
                 y=1 - 0.05 / height, va="top")  # fmt: skip
    return fig


# --- ODI and the plasticity gate over age ---------------------------------------------
def open_spans(gate, threshold: float = WINDOW_GATE) -> list[tuple[int, int]]:
    """Contiguous day spans ``[start, end]`` where the gate is at least ``threshold``."""
    spans, start = [], None
    for day, value in enumerate(gate):
        if value >= threshold and start is None:
            start = day
        elif value < threshold and start is not None:
            spans.append((start, day - 1))
            start = None
    if start is not None:
        spans.append((start, len(gate) - 1))
    return spans


def timeline_figure(model: DevelopmentModel) -> Figure:
    """Mean ODI and the plasticity gate over age: window shaded, rearing marked, today."""
    daily = model.daily()
    fig = Figure(figsize=(WIDTH, 3.5), dpi=DPI)
    ax_odi, ax_gate = fig.subplots(2, 1, sharex=True, height_ratios=[1.25, 1])
    legend_rows = math.ceil(len(daily) / (2 if len(daily) <= 4 else 3))
    top = 0.87 - 0.035 * (legend_rows - 1)
    fig.subplots_adjust(left=0.16, right=0.97, bottom=0.12, top=top, hspace=0.12)
    reference = model.reference
    for k, (name, series) in enumerate(daily.items()):
        colour = GROUP_COLOURS[k % len(GROUP_COLOURS)]
        odi = np.array([np.nan if v is None else v for v in series["mean_odi"]], dtype=float)
        lw = 2.0 if name == reference else 1.4
        ax_odi.plot(series["day"], odi, color=colour, lw=lw, label=_wrap(name, 30))
        ax_gate.plot(series["day"], series["plasticity"], color=colour, lw=lw)
    for start, end in open_spans(daily[reference]["plasticity"]):
        for ax in (ax_odi, ax_gate):
            ax.axvspan(start, max(end, start + 0.5), color="gold", alpha=0.3, lw=0)
        ax_gate.text(start + 0.3, 1.08, "window open", fontsize=6.5, color="#8a6d00")
    for k, group in enumerate(model.groups):
        colour = GROUP_COLOURS[k % len(GROUP_COLOURS)]
        y = -0.95 + 0.12 * k
        for item in group.rearing:
            bar = CONDITION_COLOURS.get(item.condition, "grey")
            ax_odi.plot([item.start, item.end], [y, y], color=bar, lw=4, solid_capstyle="butt")
            label = item.condition.replace("_", " ") + (f" ({item.eye})" if item.eye else "")
            ax_odi.text(item.end + 0.6, y, label, fontsize=6.5, va="center", color=colour)
        for item in group.treatments:
            ax_gate.axvspan(item.start, item.end, color="#17becf", alpha=0.25, lw=0)
            ax_gate.text(item.start, 0.92, item.drug, fontsize=6.5, color="#0e7c86")
    for ax in (ax_odi, ax_gate):
        ax.axvline(model.age, color="#555555", lw=1.0, ls="--")
        ax.spines[["top", "right"]].set_visible(False)
        ax.tick_params(labelsize=7)
    ax_odi.text(model.age + 0.6, 0.93, f"today P{model.age}", fontsize=7, va="top")
    ax_odi.axhline(0, color="grey", lw=0.5)
    ax_odi.set_ylim(-1.05, 1.0)
    ax_odi.set_ylabel("mean ODI\n(+1 left eye)", fontsize=7)
    ncol = 2 if len(daily) <= 4 else 3
    fig.legend(frameon=False, fontsize=6.5, loc="upper center", ncol=ncol,
               bbox_to_anchor=(0.5, 0.945), handlelength=1.5, columnspacing=1.2)  # fmt: skip
    ax_gate.set_ylim(0, 1.2)
    ax_gate.set_xlim(0, model.days)
    ax_gate.set_ylabel("plasticity gate", fontsize=7)
    ax_gate.set_xlabel("age (postnatal day)", fontsize=7)
    fig.suptitle("Eye preference and plasticity over age", fontsize=FONT + 1, fontweight="bold")
    return fig


# --- one organism: synaptic graph and receptive fields ---------------------------------------
def graph_layout(neurons: int, channels: int) -> dict[tuple[str, int], tuple[float, float]]:
    """Fixed node positions: each eye's inputs on a square grid, the cortex in a row above."""
    side = math.isqrt(channels)
    pos = {}
    for k in range(channels):
        r, c = divmod(k, side)
        pos[("left", k)] = (c, r)
        pos[("right", k)] = (side + 3 + c, r)
    width = 2 * side + 2
    for j in range(neurons):
        pos[("cortex", j)] = (width * (j + 0.5) / neurons, side + 5)
    return pos


def synapse_figure(organism: Organism) -> Figure:
    """The organism's synaptic graph: edge colour = eye, width = strength; pruned are gone."""
    graph = organism.synapse_graph()
    channels = organism.model.world.channels
    neurons = organism.weights.shape[0]
    pos = graph_layout(neurons, channels)
    edges = list(graph.edges(data="weight"))
    strength = np.abs(np.array([w for _, _, w in edges], dtype=float))
    scale = strength.max() if strength.size and strength.max() > 0 else 1.0
    order = np.argsort(strength)
    segments, colours, widths = [], [], []
    for i in order:
        source, target, _ = edges[i]
        rel = strength[i] / scale
        base = LEFT_COLOUR if source[0] == "left" else RIGHT_COLOUR
        segments.append((pos[source], pos[target]))
        colours.append((*_rgb(base), 0.08 + 0.7 * rel))
        widths.append(0.2 + 2.4 * rel)
    fig = Figure(figsize=(WIDTH, 3.2), dpi=DPI)
    ax = fig.add_axes((0.01, 0.01, 0.98, 0.83))
    ax.add_collection(LineCollection(segments, colors=colours, linewidths=widths))
    side = math.isqrt(channels)
    for eye, colour in (("left", LEFT_COLOUR), ("right", RIGHT_COLOUR)):
        xy = np.array([pos[(eye, k)] for k in range(channels)])
        ax.scatter(xy[:, 0], xy[:, 1], s=9, color=colour, zorder=3, lw=0)
        centre = xy[:, 0].mean()
        ax.text(centre, -1.4, f"{eye} eye ({side}×{side})", ha="center", va="top",
                fontsize=7.5, color=colour, fontweight="bold")  # fmt: skip
    cortex = np.array([pos[("cortex", j)] for j in range(neurons)])
    odi = neuron_odi(organism)
    face = [(0.8, 0.8, 0.8, 1.0) if np.isnan(v) else ODI_CMAP(ODI_NORM(v)) for v in odi]
    ax.scatter(cortex[:, 0], cortex[:, 1], s=70, c=face, edgecolors="black", lw=0.6, zorder=4)
    ax.text(cortex[:, 0].mean(), cortex[0, 1] + 1.1, "cortical neurons (colour = ODI)",
            ha="center", va="bottom", fontsize=7.5)  # fmt: skip
    ax.set_xlim(-1, 2 * side + 3)
    ax.set_ylim(-2.6, side + 7)
    ax.set_aspect("equal")
    ax.axis("off")
    possible = organism.mask.size
    fig.suptitle(f"Synapses of {organism_label(organism)} at P{organism.age}",
                 fontsize=FONT + 1, fontweight="bold", y=0.985, va="top")  # fmt: skip
    fig.text(0.5, 0.905, f"{graph.number_of_edges()} of {possible} possible synapses; "
             "line width = strength", ha="center", va="top", fontsize=7)  # fmt: skip
    return fig


def _rgb(colour: str) -> tuple[float, float, float]:
    colour = colour.lstrip("#")
    return tuple(int(colour[i : i + 2], 16) / 255 for i in (0, 2, 4))


def receptive_field_figure(organism: Organism, count: int = 6) -> Figure:
    """Each eye's 8x8 weights for the first ``count`` neurons, as one mosaic image.

    Green = strong excitatory synapse, pink = negative weight, grey = no synapse (pruned
    or never formed).
    """
    weights = organism.weights
    mask = organism.mask
    channels = organism.model.world.channels
    side = math.isqrt(channels)
    count = min(count, weights.shape[0])
    odi = neuron_odi(organism)
    shown = np.abs(weights[:count][mask[:count]])
    vmax = float(shown.max()) if shown.size and shown.max() > 0 else 1.0
    gap = 2
    mosaic = np.full((2 * side + gap, count * (side + gap) - gap), np.nan)
    absent = np.zeros(mosaic.shape, dtype=bool)
    for j in range(count):
        x = j * (side + gap)
        for r, cols in enumerate((slice(0, channels), slice(channels, 2 * channels))):
            y = r * (side + gap)
            mosaic[y : y + side, x : x + side] = weights[j, cols].reshape(side, side)
            absent[y : y + side, x : x + side] = ~mask[j, cols].reshape(side, side)
    fig = Figure(figsize=(WIDTH, 2.5), dpi=DPI)
    ax = fig.add_axes((0.1, 0.1, 0.88, 0.66))
    ax.imshow(np.where(absent, 0.5, np.nan), cmap="Greys", vmin=0, vmax=1,
              interpolation="nearest")  # fmt: skip
    ax.imshow(np.ma.masked_where(absent | np.isnan(mosaic), mosaic), cmap=WEIGHT_CMAP,
              vmin=-vmax, vmax=vmax, interpolation="nearest")  # fmt: skip
    for j in range(count):
        x = j * (side + gap)
        for r, colour in enumerate((LEFT_COLOUR, RIGHT_COLOUR)):
            y = r * (side + gap)
            ax.add_patch(Rectangle((x - 0.5, y - 0.5), side, side, fill=False, ec=colour, lw=1.5))
        odi_text = "–" if np.isnan(odi[j]) else f"{odi[j]:+.2f}"
        ax.text(x + side / 2 - 0.5, -1.2, f"neuron {j + 1}\nODI {odi_text}", ha="center",
                va="bottom", fontsize=7)  # fmt: skip
    for r, (eye, colour) in enumerate((("left", LEFT_COLOUR), ("right", RIGHT_COLOUR))):
        ax.text(-1.5, r * (side + gap) + side / 2 - 0.5, f"{eye}\neye", ha="right",
                va="center", fontsize=7.5, color=colour, fontweight="bold")  # fmt: skip
    ax.axis("off")
    fig.suptitle(f"Receptive fields of {organism_label(organism)} at P{organism.age}",
                 fontsize=FONT + 1, fontweight="bold", y=0.98)  # fmt: skip
    fig.text(0.5, 0.03, "8×8 weights per eye: green excitatory, pink negative, grey no synapse",
             ha="center", fontsize=7)  # fmt: skip
    return fig


def default_organism(model: DevelopmentModel) -> Organism:
    """The first organism of the first manipulated group (else of the control group)."""
    others = [g.name for g in model.groups if g.name != model.reference]
    group = others[0] if others else model.reference
    return model.organisms(group)[0]


def all_figures(model: DevelopmentModel, organism: Organism | None = None) -> list[Figure]:
    """Every figure the page shows (for the benchmark)."""
    organism = organism or default_organism(model)
    return [
        litter_figure(model, organism.row),
        histogram_figure(model),
        timeline_figure(model),
        synapse_figure(organism),
        receptive_field_figure(organism),
    ]

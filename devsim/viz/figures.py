"""matplotlib versions of the page's panels (``Figure``, no pyplot), for the lessons page
and handouts; the Simulation page draws its live panels in the browser
(:mod:`devsim.viz.charts`), which reuses this module's per-organism numbers and colours.
Colours follow one convention everywhere: the left (contralateral) eye is blue, the right
(ipsilateral) eye red, and ODI runs on the diverging ``RdBu`` map from -1 (red, right eye
only) to +1 (blue, left eye only).

Each figure is a :class:`PageFigure`: built once per model (the static parts: axes, ticks,
labels, legends), then updated day by day; :meth:`PageFigure.png` redraws only what changed
(the Simulation page used it before its panels moved to the browser). The ``*_figure``
functions build one and fill it in a single call (the lessons page, tests).
"""

from __future__ import annotations

import io
import math
import textwrap

import numpy as np
from matplotlib import colormaps
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import LineCollection, PatchCollection, PolyCollection
from matplotlib.colors import Normalize
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle
from matplotlib.text import Text

from devsim.measures import ocular_dominance_index, responsive
from devsim.model import DevelopmentModel
from devsim.organism import Organism
from devsim.plasticity import WINDOW_OPEN_GATE
from devsim.plots.development import CONDITION_COLOURS

LEFT_COLOUR = "#2166ac"
RIGHT_COLOUR = "#b2182b"
ODI_CMAP = colormaps["RdBu"]
ODI_NORM = Normalize(-1.0, 1.0)
NO_ODI = (0.8, 0.8, 0.8, 1.0)  # an organism or neuron that responds to neither eye
WEIGHT_CMAP = colormaps["PiYG"].with_extremes(bad="#e6e6e6")
GROUP_COLOURS = ["#222222", "#e08214", "#1b9e77", "#7570b3", "#e7298a", "#66a61e", "#a6761d"]
CLASS_COLOURS = [ODI_CMAP(ODI_NORM(v)) for v in (0.9, 0.6, 0.3, 0.0, -0.3, -0.6, -0.9)]
DPI = 100
WIDTH = 4.4  # inches: a panel's width at 100 dpi
FONT = 8
# Fast PNG encoding: the lessons page redraws its live figures often; compression is not worth it.
PNG_COMPRESS_LEVEL = 1
SAVE_KWARGS = {"pil_kwargs": {"compress_level": PNG_COMPRESS_LEVEL}}


def png(fig: Figure) -> bytes:
    """The figure as PNG bytes, drawn in full (as ``solara.FigureMatplotlib`` would)."""
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


def _odi_colours(odi: np.ndarray) -> np.ndarray:
    """RGBA of each ODI value, (n, 4); grey where NaN."""
    colours = ODI_CMAP(ODI_NORM(odi))
    colours[np.isnan(odi)] = NO_ODI
    return colours


# --- a figure updated day by day ----------------------------------------------------------
class PageFigure:
    """A figure built once per model (axes, ticks, labels, legends) and updated day by day.

    Subclasses build the static figure in ``__init__`` and set a day's data in ``update``
    (which returns ``self``); ``fig`` is an ordinary Figure.
    """

    def __init__(self, fig: Figure):
        self.fig = fig
        FigureCanvasAgg(fig)  # text extents need a renderer before the first draw


class _Line:
    """A one-line figure text set from parts: ``set("Ocular dominance at ", "P12")``."""

    def __init__(self, fig: Figure, x: float, y: float, **kwargs):
        self.text = fig.text(x, y, "", **kwargs)

    def set(self, *parts: str) -> None:
        self.text.set_text("".join(parts))


# --- per-organism numbers -------------------------------------------------------------
def organism_odi(model: DevelopmentModel) -> np.ndarray:
    """Mean ODI of each organism's responsive neurons, (o,); NaN if none responds."""
    r_left, r_right = model.eye_responses()
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


class LitterFigure(PageFigure):
    """One cell per organism coloured by its mean ODI; the groups' blocks side by side.

    The selected organism (the one in the synapse panels) is outlined.
    """

    def __init__(self, model: DevelopmentModel):
        members = [np.nonzero(model.group_of == gi)[0] for gi in range(len(model.groups))]
        shapes = [_block_shape(len(m)) for m in members]
        per_row = 3 if len(members) > 2 else 2
        block_h = max(r for r, _ in shapes)
        block_w = max(c for _, c in shapes)
        wrap = 32 if per_row == 2 else 20
        titles = [
            _wrap(f"{g.name} (n={len(m)})", wrap)
            for g, m in zip(model.groups, members, strict=True)
        ]
        label_h = 0.45 + 0.35 * max(t.count("\n") + 1 for t in titles)  # cell rows for titles
        n_rows = math.ceil(len(members) / per_row)
        width = min(len(members), per_row) * (block_w + 1) - 1  # in cells
        height = n_rows * (block_h + label_h + 0.4) - 0.4
        fig_w, top, bottom = WIDTH, 0.35, 0.6  # inches: title above, colour scale below
        cell = min(0.5, (fig_w - 0.2) / (width + 0.2))
        ax_h = cell * (height - 0.15)
        fig_h = top + ax_h + bottom
        super().__init__(Figure(figsize=(fig_w, fig_h), dpi=DPI))
        ax_w = cell * (width + 0.2)
        ax = self.fig.add_axes(
            ((fig_w - ax_w) / 2 / fig_w, bottom / fig_h, ax_w / fig_w, ax_h / fig_h)
        )
        self.rows: list[int] = []  # organism row of each cell
        self.centre: dict[int, tuple[float, float]] = {}  # cell centre of each row
        self.values: dict[int, Text] = {}  # the ODI printed in a cell, if the cells are big
        for gi, (rows, (_, nc)) in enumerate(zip(members, shapes, strict=True)):
            x0 = (gi % per_row) * (block_w + 1) + (block_w - nc) / 2
            y0 = (gi // per_row) * (block_h + label_h + 0.4) + label_h
            ax.text(x0 + nc / 2 - 0.5, y0 - 0.65, titles[gi], ha="center", va="bottom",
                    fontsize=7.5, fontweight="bold")  # fmt: skip
            for k, row in enumerate(rows.tolist()):
                r, c = divmod(k, nc)
                x, y = x0 + c, y0 + r
                self.rows.append(row)
                self.centre[row] = (x, y)
                if len(rows) <= 16 and cell >= 0.3:
                    self.values[row] = ax.text(x, y, "", ha="center", va="center", fontsize=6.5)
        # one collection for all cells: far quicker to draw than a patch per organism
        self.cells = PatchCollection(
            [Rectangle((x - 0.5, y - 0.5), 1, 1) for x, y in self.centre.values()],
            edgecolors="white",
            linewidths=1.0,
        )
        ax.add_collection(self.cells, autolim=False)
        self.outline = ax.add_patch(Rectangle((0, 0), 0.9, 0.9, fill=False, lw=2.0))
        ax.set_xlim(-0.6, width - 0.4)
        ax.set_ylim(height - 0.4, -0.25)
        ax.axis("off")
        _odi_scale(self.fig, 0.3 / fig_h, 0.1 / fig_h)
        self.title = _Line(self.fig, 0.5, 1 - 0.06 / fig_h, ha="center", va="top",
                           fontsize=FONT + 1, fontweight="bold")  # fmt: skip

    def update(self, model: DevelopmentModel, selected_row: int | None = None) -> LitterFigure:
        odi = organism_odi(model)
        self.cells.set_facecolor(_odi_colours(odi[self.rows]))
        for row, text in self.values.items():
            value = float(odi[row])
            dark = not np.isnan(value) and abs(value) > 0.55
            text.set_text("–" if np.isnan(value) else f"{value:+.2f}")
            text.set_color("white" if dark else "black")
        self.outline.set_visible(selected_row in self.centre)
        if selected_row in self.centre:
            x, y = self.centre[selected_row]
            self.outline.set_xy((x - 0.45, y - 0.45))
        self.title.set("The litter at ", f"P{model.age}", ": mean ODI of each organism")
        return self


def litter_figure(model: DevelopmentModel, selected_row: int | None = None) -> Figure:
    """The litter today (see :class:`LitterFigure`)."""
    return LitterFigure(model).update(model, selected_row).fig


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


class HistogramFigure(PageFigure):
    """Hubel & Wiesel's 7-class OD histogram per group, the control's as an outline."""

    def __init__(self, model: DevelopmentModel):
        names = list(model.group_metrics)
        self.reference = model.reference
        per_row = 3 if len(names) > 2 else 2
        rows = math.ceil(len(names) / per_row)
        self.names = [_wrap(name, 24 if per_row == 3 else 36) for name in names]
        title_lines = max(t.count("\n") + 2 for t in self.names)
        # inches: suptitle + panel titles above each row, x labels below the last
        head, gap, foot = 0.3 + 0.14 * title_lines, 0.3 + 0.14 * title_lines, 0.42
        panel = 1.75 if rows == 1 else 1.3
        height = head + rows * panel + (rows - 1) * gap + foot
        super().__init__(Figure(figsize=(WIDTH, height), dpi=DPI))
        self.axes = axes = _panel_grid(self.fig, len(names), per_row)
        self.fig.subplots_adjust(left=0.11, right=0.98, bottom=foot / height, top=1 - head / height,
                                 wspace=0.12, hspace=gap / panel)  # fmt: skip
        x = np.arange(1, 8)
        zeros = np.zeros(7)
        self.bars, self.outlines, self.subtitles = [], [], []
        legend = True
        for k, (ax, name) in enumerate(zip(axes, names, strict=True)):
            self.bars.append(
                ax.bar(x, zeros, color=CLASS_COLOURS, edgecolor="#333333", lw=0.4, width=0.8)
            )
            if name != self.reference:
                (line,) = ax.step(x, zeros, where="mid", color="black", lw=1.2,
                                  label=f"{self.reference} (outline)")  # fmt: skip
                self.outlines.append(line)
                if legend:
                    ax.legend(frameon=False, fontsize=6.5, loc="upper right", handlelength=1.2)
                    legend = False
            # the group's name stays, its second line (CBI and cells) changes daily
            ax.set_title(f"{self.names[k]}\n", fontsize=7.5)
            self.subtitles.append(ax.text(0.5, 1.0, "", transform=ax.title.get_transform(),
                                          ha="center", va="baseline", fontsize=7.5))  # fmt: skip
            ax.set_xticks(x)
            ax.tick_params(labelsize=7, length=2, pad=1.5)
            if k % per_row:
                ax.tick_params(labelleft=False)
            else:
                ax.set_ylabel("% of responsive cells", fontsize=7)
            if k >= len(names) - per_row:
                xlabel = (
                    "OD class (1 left … 7 right)"
                    if per_row == 3
                    else "OD class (1 left eye … 7 right eye)"
                )
                ax.set_xlabel(xlabel, fontsize=6.5)
            ax.spines[["top", "right"]].set_visible(False)
        self.title = _Line(self.fig, 0.5, 1 - 0.05 / height, ha="center", va="top",
                           fontsize=FONT + 1, fontweight="bold")  # fmt: skip

    def update(self, model: DevelopmentModel) -> HistogramFigure:
        counts = histogram_counts(model)
        percent = {name: _percent(hist) for name, hist in counts.items()}
        # a round top that only moves when a bar outgrows it (moving it redraws the axes)
        top = max(50.0, 10 * math.ceil((max(float(p.max()) for p in percent.values()) + 5) / 10))
        for line in self.outlines:
            line.set_ydata(percent[self.reference])
        for k, (ax, (name, hist)) in enumerate(zip(self.axes, counts.items(), strict=True)):
            for bar, height in zip(self.bars[k], percent[name].tolist(), strict=True):
                bar.set_height(height)
            cbi = model.group_metrics[name]["cbi"]
            cbi_text = "CBI –" if cbi is None or math.isnan(cbi) else f"CBI {cbi:.2f}"
            self.subtitles[k].set_text(f"{cbi_text}, {sum(hist)} cells")
            ax.set_ylim(0, top)
        self.title.set("Ocular dominance at ", f"P{model.age}")
        return self


def histogram_figure(model: DevelopmentModel) -> Figure:
    """Today's OD histograms (see :class:`HistogramFigure`)."""
    return HistogramFigure(model).update(model).fig


# --- ODI and the plasticity gate over age ---------------------------------------------
def open_spans(gate, threshold: float = WINDOW_OPEN_GATE) -> list[tuple[int, int]]:
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


def _text_width(fig: Figure, text: str, fontsize: float) -> float:
    """Width of ``text`` in inches."""
    label = fig.text(0, 0, text, fontsize=fontsize)
    width = label.get_window_extent(fig.canvas.get_renderer()).width / fig.dpi
    label.remove()
    return width


def _rearing_label(item) -> str:
    return item.condition.replace("_", " ") + (f" ({item.eye})" if item.eye else "")


class TimelineFigure(PageFigure):
    """Mean ODI and the plasticity gate over age: window shaded, rearing marked, today.

    Nothing is cut at the last day: the axes leave room on the right for the rearing labels
    and "today" moves to the left of its line near the end.
    """

    LEFT, RIGHT = 0.16, 0.97  # axes edges, as fractions of the width (right: at most)

    def __init__(self, model: DevelopmentModel):
        self.names = names = [group.name for group in model.groups]
        self.days = model.days
        super().__init__(Figure(figsize=(WIDTH, 3.5), dpi=DPI))
        fig = self.fig
        ax_odi, ax_gate = fig.subplots(2, 1, sharex=True, height_ratios=[1.25, 1])
        self.ax_odi, self.ax_gate = ax_odi, ax_gate
        ncol = 2 if len(names) <= 4 else 3
        legend_rows = math.ceil(len(names) / ncol)
        top = 0.87 - 0.035 * (legend_rows - 1)
        # narrow the axes until every rearing label, right of its bar, ends inside the figure
        axes_w = (self.RIGHT - self.LEFT) * WIDTH  # inches
        for group in model.groups:
            for item in group.rearing:
                at = (item.end + 0.6) / model.days  # where the label starts, along the axes
                room = WIDTH * (1 - self.LEFT) - 0.05 - _text_width(fig, _rearing_label(item), 6.5)
                if at > 0 and room > 0:
                    axes_w = min(axes_w, room / at)
        right = self.LEFT + axes_w / WIDTH
        fig.subplots_adjust(left=self.LEFT, right=right, bottom=0.12, top=top, hspace=0.12)
        ax_gate.set_xlim(0, model.days)
        self.reference = model.reference
        # the open window, drawn under everything else; its spans are set every day
        self.window = []
        for ax in (ax_odi, ax_gate):
            spans = PolyCollection([], facecolors="gold", alpha=0.3, linewidths=0)
            spans.set_transform(ax.get_xaxis_transform())  # x in days, y in axes height
            self.window.append(ax.add_collection(spans, autolim=False))
        self.window_text: list[Text] = []
        self.odi_lines, self.gate_lines = [], []
        for k, name in enumerate(names):
            colour = GROUP_COLOURS[k % len(GROUP_COLOURS)]
            lw = 2.0 if name == self.reference else 1.4
            (odi,) = ax_odi.plot([], [], color=colour, lw=lw, label=_wrap(name, 30))
            (gate,) = ax_gate.plot([], [], color=colour, lw=lw)
            self.odi_lines.append(odi)
            self.gate_lines.append(gate)
        days_per_inch = model.days / axes_w
        self._window_days = days_per_inch * _text_width(fig, "window open", 6.5)
        for k, group in enumerate(model.groups):
            colour = GROUP_COLOURS[k % len(GROUP_COLOURS)]
            y = -0.95 + 0.12 * k
            for item in group.rearing:
                bar = CONDITION_COLOURS.get(item.condition, "grey")
                ax_odi.plot([item.start, item.end], [y, y], color=bar, lw=4, solid_capstyle="butt")
                ax_odi.text(item.end + 0.6, y, _rearing_label(item), fontsize=6.5, va="center",
                            color=colour)  # fmt: skip
            for item in group.treatments:
                ax_gate.axvspan(item.start, item.end, color="#17becf", alpha=0.25, lw=0)
                ax_gate.text(item.start, 0.92, item.drug, fontsize=6.5, color="#0e7c86")
        self.today = [ax.axvline(0, color="#555555", lw=1.0, ls="--") for ax in (ax_odi, ax_gate)]
        for ax in (ax_odi, ax_gate):
            ax.spines[["top", "right"]].set_visible(False)
            ax.tick_params(labelsize=7)
        self.today_text = ax_odi.text(0, 0.93, "", fontsize=7, va="top")
        self._today_days = days_per_inch * _text_width(fig, f"today P{model.days}", 7)
        ax_odi.axhline(0, color="grey", lw=0.5)
        ax_odi.set_ylim(-1.05, 1.0)
        ax_odi.set_ylabel("mean ODI\n(+1 left eye)", fontsize=7)
        fig.legend(frameon=False, fontsize=6.5, loc="upper center", ncol=ncol,
                   bbox_to_anchor=(0.5, 0.945), handlelength=1.5, columnspacing=1.2)  # fmt: skip
        ax_gate.set_ylim(0, 1.2)
        ax_gate.set_ylabel("plasticity gate", fontsize=7)
        ax_gate.set_xlabel("age (postnatal day)", fontsize=7)
        fig.suptitle("Eye preference and plasticity over age", fontsize=FONT + 1,
                     fontweight="bold")  # fmt: skip

    def _beside(self, right: float, left: float, days: float) -> tuple[float, str]:
        """(x, ha) of a label ``days`` long: starting at ``right`` if it ends by the last day,
        else ending at ``left``."""
        return (right, "left") if right + days <= self.days else (left, "right")

    def update(self, model: DevelopmentModel) -> TimelineFigure:
        daily = model.daily()
        for k, name in enumerate(self.names):
            series = daily[name]
            odi = np.array([np.nan if v is None else v for v in series["mean_odi"]], dtype=float)
            self.odi_lines[k].set_data(series["day"], odi)
            self.gate_lines[k].set_data(series["day"], series["plasticity"])
        spans = open_spans(daily[self.reference]["plasticity"])
        ends = [(start, max(end, start + 0.5)) for start, end in spans]
        for window in self.window:  # full height, as axvspan
            window.set_verts([[(s, 0), (e, 0), (e, 1), (s, 1)] for s, e in ends])
        for text in self.window_text:
            text.remove()
        self.window_text = []
        for start, _ in spans:
            x, ha = self._beside(start + 0.3, self.days, self._window_days)
            self.window_text.append(
                self.ax_gate.text(x, 1.08, "window open", fontsize=6.5, ha=ha, color="#8a6d00")
            )
        for line in self.today:
            line.set_xdata([model.age, model.age])
        x, ha = self._beside(model.age + 0.6, model.age - 0.6, self._today_days)
        self.today_text.set_text(f"today P{model.age}")
        self.today_text.set_x(x)
        self.today_text.set_horizontalalignment(ha)
        return self


def timeline_figure(model: DevelopmentModel) -> Figure:
    """Mean ODI and the gate up to today (see :class:`TimelineFigure`)."""
    return TimelineFigure(model).update(model).fig


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


class SynapseFigure(PageFigure):
    """One organism's synaptic graph: edge colour = eye, width = strength; pruned are gone.

    The edges are those of :meth:`Organism.synapse_graph` (one per unpruned synapse), taken
    straight from the organism's mask and weights.
    """

    def __init__(self, model: DevelopmentModel):
        channels = model.world.channels
        neurons = model.cohort.neurons
        pos = graph_layout(neurons, channels)
        inputs = [pos[("left", k)] for k in range(channels)]
        inputs += [pos[("right", k)] for k in range(channels)]
        self.inputs = np.array(inputs, dtype=float)  # input k of the weight matrix
        self.cortex = np.array([pos[("cortex", j)] for j in range(neurons)], dtype=float)
        self.channels = channels
        super().__init__(Figure(figsize=(WIDTH, 3.2), dpi=DPI))
        ax = self.fig.add_axes((0.01, 0.01, 0.98, 0.83))
        self.edges = ax.add_collection(LineCollection([]))
        side = math.isqrt(channels)
        for eye, colour in (("left", LEFT_COLOUR), ("right", RIGHT_COLOUR)):
            xy = np.array([pos[(eye, k)] for k in range(channels)])
            ax.scatter(xy[:, 0], xy[:, 1], s=9, color=colour, zorder=3, lw=0)
            centre = xy[:, 0].mean()
            ax.text(centre, -1.4, f"{eye} eye ({side}×{side})", ha="center", va="top",
                    fontsize=7.5, color=colour, fontweight="bold")  # fmt: skip
        self.neurons = ax.scatter(self.cortex[:, 0], self.cortex[:, 1], s=70, c=[NO_ODI] * neurons,
                                  edgecolors="black", lw=0.6, zorder=4)  # fmt: skip
        ax.text(self.cortex[:, 0].mean(), self.cortex[0, 1] + 1.1,
                "cortical neurons (colour = ODI)", ha="center", va="bottom",
                fontsize=7.5)  # fmt: skip
        ax.set_xlim(-1, 2 * side + 3)
        ax.set_ylim(-2.6, side + 7)
        ax.set_aspect("equal")
        ax.axis("off")
        self.title = _Line(self.fig, 0.5, 0.985, ha="center", va="top",
                           fontsize=FONT + 1, fontweight="bold")  # fmt: skip
        self.count = _Line(self.fig, 0.5, 0.905, ha="center", va="top", fontsize=7)

    def update(self, organism: Organism) -> SynapseFigure:
        js, ks = np.nonzero(organism.mask)
        strength = np.abs(organism.weights[js, ks]).astype(float)
        scale = strength.max() if strength.size and strength.max() > 0 else 1.0
        order = np.argsort(strength)  # the strongest on top
        js, ks, rel = js[order], ks[order], strength[order] / scale
        left = (ks < self.channels)[:, None]
        colours = np.empty((len(rel), 4))
        colours[:, :3] = np.where(left, _rgb(LEFT_COLOUR), _rgb(RIGHT_COLOUR))
        colours[:, 3] = 0.08 + 0.7 * rel
        self.edges.set_segments(np.stack([self.inputs[ks], self.cortex[js]], axis=1))
        self.edges.set_color(colours)
        self.edges.set_linewidth(0.2 + 2.4 * rel)
        self.neurons.set_facecolor(_odi_colours(neuron_odi(organism)))
        self.title.set(f"Synapses of {organism_label(organism)} at ", f"P{organism.age}")
        self.count.set(
            str(len(rel)), f" of {organism.mask.size} possible synapses; line width = strength"
        )
        return self


def synapse_figure(organism: Organism) -> Figure:
    """The organism's synaptic graph today (see :class:`SynapseFigure`)."""
    return SynapseFigure(organism.model).update(organism).fig


def _rgb(colour: str) -> tuple[float, float, float]:
    colour = colour.lstrip("#")
    return tuple(int(colour[i : i + 2], 16) / 255 for i in (0, 2, 4))


class ReceptiveFieldFigure(PageFigure):
    """Each eye's 8x8 weights for the first ``count`` neurons, as one mosaic image.

    Green = strong excitatory synapse, pink = negative weight, grey = no synapse (pruned
    or never formed).
    """

    GAP = 2  # pixels between the fields

    def __init__(self, model: DevelopmentModel, count: int = 6):
        self.channels = channels = model.world.channels
        self.side = side = math.isqrt(channels)
        self.count = count = min(count, model.cohort.neurons)
        gap = self.GAP
        shape = (2 * side + gap, count * (side + gap) - gap)
        super().__init__(Figure(figsize=(WIDTH, 2.5), dpi=DPI))
        ax = self.fig.add_axes((0.1, 0.1, 0.88, 0.66))
        self.absent = ax.imshow(np.full(shape, np.nan), cmap="Greys", vmin=0, vmax=1,
                                interpolation="nearest")  # fmt: skip
        self.weights = ax.imshow(np.ma.masked_all(shape), cmap=WEIGHT_CMAP, vmin=-1, vmax=1,
                                 interpolation="nearest")  # fmt: skip
        self.odi: list[Text] = []
        for j in range(count):
            x = j * (side + gap)
            for r, colour in enumerate((LEFT_COLOUR, RIGHT_COLOUR)):
                y = r * (side + gap)
                ax.add_patch(
                    Rectangle((x - 0.5, y - 0.5), side, side, fill=False, ec=colour, lw=1.5)
                )
            # "neuron j" stays; the ODI line under it ("\nODI ...") changes daily
            for label, daily in ((f"neuron {j + 1}\n", False), ("", True)):
                text = ax.text(x + side / 2 - 0.5, -1.2, label, ha="center", va="bottom",
                               fontsize=7)  # fmt: skip
                if daily:
                    self.odi.append(text)
        for r, (eye, colour) in enumerate((("left", LEFT_COLOUR), ("right", RIGHT_COLOUR))):
            ax.text(-1.5, r * (side + gap) + side / 2 - 0.5, f"{eye}\neye", ha="right",
                    va="center", fontsize=7.5, color=colour, fontweight="bold")  # fmt: skip
        ax.axis("off")
        self.title = _Line(self.fig, 0.5, 0.98, ha="center", va="top",
                           fontsize=FONT + 1, fontweight="bold")  # fmt: skip
        self.fig.text(0.5, 0.03,
                      "8×8 weights per eye: green excitatory, pink negative, grey no synapse",
                      ha="center", fontsize=7)  # fmt: skip

    def update(self, organism: Organism) -> ReceptiveFieldFigure:
        weights = organism.weights
        mask = organism.mask
        channels, side, count, gap = self.channels, self.side, self.count, self.GAP
        odi = neuron_odi(organism)
        shown = np.abs(weights[:count][mask[:count]])
        vmax = float(shown.max()) if shown.size and shown.max() > 0 else 1.0
        mosaic = np.full(self.weights.get_array().shape, np.nan)
        absent = np.zeros(mosaic.shape, dtype=bool)
        for j in range(count):
            x = j * (side + gap)
            for r, cols in enumerate((slice(0, channels), slice(channels, 2 * channels))):
                y = r * (side + gap)
                mosaic[y : y + side, x : x + side] = weights[j, cols].reshape(side, side)
                absent[y : y + side, x : x + side] = ~mask[j, cols].reshape(side, side)
            odi_text = "–" if np.isnan(odi[j]) else f"{odi[j]:+.2f}"
            self.odi[j].set_text(f"\nODI {odi_text}")
        self.absent.set_data(np.where(absent, 0.5, np.nan))
        self.weights.set_data(np.ma.masked_where(absent | np.isnan(mosaic), mosaic))
        self.weights.set_clim(-vmax, vmax)
        self.title.set(f"Receptive fields of {organism_label(organism)} at ", f"P{organism.age}")
        return self


def receptive_field_figure(organism: Organism, count: int = 6) -> Figure:
    """The organism's receptive fields today (see :class:`ReceptiveFieldFigure`)."""
    return ReceptiveFieldFigure(organism.model, count).update(organism).fig


# --- a sheet's maps ---------------------------------------------------------------------------
class MapFigure(PageFigure):
    """A sheet's maps today: the shown organism's OD map (autoradiograph: its contralateral
    eye's label white) and orientation map (colour wheel, pinwheels circled), beside its
    littermate control's, from the maps the model measured today (nothing recomputed)."""

    def __init__(self, model: DevelopmentModel):
        size = model.cohort.size
        super().__init__(Figure(figsize=(WIDTH, 4.3), dpi=DPI))
        blank = np.zeros((size, size))
        self.od, self.orientation, self.marks, self.labels = [], [], [], []
        for c in range(2):
            ax_od = self.fig.add_axes((0.04 + 0.49 * c, 0.47, 0.43, 0.40))
            ax_or = self.fig.add_axes((0.04 + 0.49 * c, 0.02, 0.43, 0.40))
            self.od.append(ax_od.imshow(blank, cmap="gray", vmin=0, vmax=1,
                                        interpolation="nearest"))  # fmt: skip
            self.orientation.append(ax_or.imshow(np.zeros((size, size, 3)),
                                                 interpolation="nearest"))  # fmt: skip
            (mark,) = ax_or.plot([], [], "o", ms=3, mfc="none", mec="white", mew=0.8)
            self.marks.append(mark)
            for ax in (ax_od, ax_or):
                ax.set_xlim(-0.5, size - 0.5)
                ax.set_ylim(size - 0.5, -0.5)
                ax.set_xticks([])
                ax.set_yticks([])
            self.labels.append(
                ax_od.text(
                    0.5, 1.02, "", transform=ax_od.transAxes, ha="center", va="bottom", fontsize=7
                )  # fmt: skip
            )
        self.title = _Line(self.fig, 0.5, 0.985, ha="center", va="top",
                           fontsize=FONT + 1, fontweight="bold")  # fmt: skip

    def update(self, model: DevelopmentModel, row: int) -> MapFigure:
        from devsim import maps
        from devsim.plots.maps import contra_label, od_span, orientation_rgb

        control = model.organisms(model.reference)
        litter = model.organisms()[row].litter
        mate = next((o.row for o in control if o.litter == litter), control[0].row)
        od, orientation = model.od_history[-1], model.orientation_history[-1]
        seen_od = {k: maps.as_imaged(od[k]) for k in (row, mate)}
        span = od_span(list(seen_od.values()))
        for c, (k, who) in enumerate(((row, "shown"), (mate, "control"))):
            organism = model.organisms()[k]
            self.od[c].set_data(contra_label(seen_od[k], span))
            seen = maps.as_imaged(orientation[k])
            self.orientation[c].set_data(orientation_rgb(seen))
            where = maps.pinwheel_positions(seen)
            self.marks[c].set_data(where[:, 1], where[:, 0])
            share = maps.eye_share(od[k], "left")
            share_text = "–" if np.isnan(share) else f"{share:.0%}"
            self.labels[c].set_text(f"{organism_label(organism)} ({who}): contra eye {share_text}")
        self.title.set("Maps on the cortical sheet at ", f"P{model.age}")
        return self


def map_figure(model: DevelopmentModel, row: int) -> Figure:
    """A sheet's maps today (see :class:`MapFigure`)."""
    return MapFigure(model).update(model, row).fig


def default_organism(model: DevelopmentModel) -> Organism:
    """The first organism of the first manipulated group (else of the control group)."""
    others = [g.name for g in model.groups if g.name != model.reference]
    group = others[0] if others else model.reference
    return model.organisms(group)[0]


def all_figures(model: DevelopmentModel, organism: Organism | None = None) -> list[Figure]:
    """Every figure the page shows, each built and drawn from scratch."""
    organism = organism or default_organism(model)
    if model.sheet:  # the sheet's maps in place of the synaptic graph
        return [
            litter_figure(model, organism.row),
            histogram_figure(model),
            timeline_figure(model),
            map_figure(model, organism.row),
            receptive_field_figure(organism),
        ]
    return [
        litter_figure(model, organism.row),
        histogram_figure(model),
        timeline_figure(model),
        synapse_figure(organism),
        receptive_field_figure(organism),
    ]

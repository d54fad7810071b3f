"""The lessons page's live figures (matplotlib ``Figure``, no pyplot): the OD histograms
with the control's outline and ODI and the gate over age. The Simulation page draws its
panels in the browser (:mod:`devsim.viz.charts`) with the same colours: the left
(contralateral) eye blue, the right (ipsilateral) eye red, the OD classes on the diverging
``RdBu`` map from the left eye to the right.

Each figure is a :class:`PageFigure`: built once per model (the static parts: axes, ticks,
labels, legends), then updated day by day; the ``*_figure`` functions build one and fill it
in a single call.
"""

from __future__ import annotations

import io
import math
import textwrap

import numpy as np
from matplotlib import colormaps
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import PolyCollection
from matplotlib.colors import Normalize
from matplotlib.figure import Figure
from matplotlib.text import Text

from devsim.model import DevelopmentModel
from devsim.outputs import printable
from devsim.plasticity import WINDOW_OPEN_GATE
from devsim.plots import display_name
from devsim.plots.development import (
    LEGEND_CHARS,
    protocol_groups,
    protocol_lanes,
)

LEFT_COLOUR = "#2166ac"
RIGHT_COLOUR = "#b2182b"
ODI_CMAP = colormaps["RdBu"]
ODI_NORM = Normalize(-1.0, 1.0)
# One colour per group, distinct for the largest shipped preset (adult_plasticity, 11 groups);
# no blue or red, which stand for the eyes.
GROUP_COLOURS = [
    "#222222", "#e08214", "#1b9e77", "#7570b3", "#e7298a", "#66a61e", "#a6761d",
    "#17becf", "#6a3d9a", "#bcbd22", "#999999", "#b15928",
]  # fmt: skip
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


# --- OD histograms -------------------------------------------------------------------------
def histogram_counts(model: DevelopmentModel) -> dict[str, list[int]]:
    """Today's 7-class OD histogram (cell counts) of each group."""
    return {name: list(m["od_histogram"]) for name, m in model.group_metrics.items()}


def _percent(hist) -> np.ndarray:
    hist = np.asarray(hist, dtype=float)
    return 100 * hist / hist.sum() if hist.sum() else hist


class HistogramFigure(PageFigure):
    """Hubel & Wiesel's 7-class OD histogram per group, its control's as an outline (the
    group it names as its ``control``, else the reference)."""

    def __init__(self, model: DevelopmentModel):
        names = list(model.group_metrics)
        self.controls = {name: model.experiment.control_of(name) for name in names}
        per_row = 3 if len(names) > 2 else 2
        rows = math.ceil(len(names) / per_row)
        self.names = [_wrap(display_name(name), 24 if per_row == 3 else 36) for name in names]
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
        self.bars, self.subtitles = [], []
        self.outlines: list[tuple[object, str]] = []  # (line, the control it outlines)
        said = set()  # controls a legend has named
        for k, (ax, name) in enumerate(zip(axes, names, strict=True)):
            self.bars.append(
                ax.bar(x, zeros, color=CLASS_COLOURS, edgecolor="#333333", lw=0.4, width=0.8)
            )
            control = self.controls[name]
            if name != control:
                (line,) = ax.step(x, zeros, where="mid", color="black", lw=1.2,
                                  label=f"{display_name(control)} (outline)")  # fmt: skip
                self.outlines.append((line, control))
                if control not in said:  # each control named once, where it first appears
                    ax.legend(frameon=False, fontsize=6.5, loc="upper right", handlelength=1.2)
                    said.add(control)
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
        top = histogram_top(max(float(p.max()) for p in percent.values()))
        for line, control in self.outlines:
            line.set_ydata(percent[control])
        for k, (ax, (name, hist)) in enumerate(zip(self.axes, counts.items(), strict=True)):
            for bar, height in zip(self.bars[k], percent[name].tolist(), strict=True):
                bar.set_height(height)
            cbi = model.group_metrics[name]["cbi"]
            cbi_text = "CBI –" if cbi is None or math.isnan(cbi) else f"CBI {cbi:.2f}"
            self.subtitles[k].set_text(f"{cbi_text}, {sum(hist)} cells")
            ax.set_ylim(0, top)
        self.title.set("Ocular dominance at ", f"P{model.age}")
        return self


def histogram_top(highest: float) -> float:
    """The OD histograms' y axis top (%) for a tallest bar of ``highest`` %: at least 50,
    rounded up to 10, with room above the bar for a group's caption. Fixed at 50 while the
    bars are that low, so the axis moves only when a bar outgrows it (both renderers)."""
    return max(50.0, 10.0 * math.ceil(1.25 * highest / 10.0))  # the top fifth kept free


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


class TimelineFigure(PageFigure):
    """Mean ODI and the plasticity gate over age: window shaded, today marked; below them
    each group's protocol in its own lane (:func:`devsim.plots.development.protocol_lanes`).

    Nothing is cut at the last day: "today" and "window open" move to the left of their
    line near the end, and the left margin fits the longest lane name.
    """

    LEFT, RIGHT = 0.16, 0.97  # axes edges, as fractions of the width (left: at least)
    LANE = 0.17  # inches per protocol lane

    def __init__(self, model: DevelopmentModel):
        self.names = names = [group.name for group in model.groups]
        self.days = model.days
        lanes = protocol_groups(model.groups, model.experiment.species)
        lanes_h = self.LANE * len(lanes) + 0.12 if lanes else 0.0
        ncol = 2 if len(names) <= 4 or max(map(len, names)) > 18 else 3
        rows = math.ceil(len(names) / ncol)  # the groups' legend, above the panels
        height = 3.5 + lanes_h + (0.2 if lanes else 0.0) + 0.13 * max(rows - 2, 0)
        super().__init__(Figure(figsize=(WIDTH, height), dpi=DPI))
        fig = self.fig
        ratios = [1.25, 1.0] + ([lanes_h / 1.2] if lanes else [])
        axes = fig.subplots(len(ratios), 1, sharex=True, height_ratios=ratios)
        ax_odi, ax_gate = axes[0], axes[1]
        self.ax_odi, self.ax_gate = ax_odi, ax_gate
        left = self.LEFT
        if lanes:  # room for the longest lane name, as drawn (its display name)
            shown = [printable(display_name(g.name), LEGEND_CHARS) for g in lanes]
            widest = max(_text_width(fig, text, 6) for text in shown)
            # small text renders ~5 % wider at the lessons page's 150 dpi than at this 100
            left = max(left, (1.08 * widest + 0.12) / WIDTH)
        bottom = (0.42 + (0.22 if lanes else 0.0)) / height
        fig.subplots_adjust(left=left, right=self.RIGHT, bottom=bottom, top=0.8, hspace=0.12)
        axes_w = (self.RIGHT - left) * WIDTH  # inches
        axes[-1].set_xlim(0, model.days)
        self.reference = model.reference
        # the open window, drawn under everything else; its spans are set every day
        self.window = []
        for ax in axes:
            spans = PolyCollection([], facecolors="gold", alpha=0.3, linewidths=0)
            spans.set_transform(ax.get_xaxis_transform())  # x in days, y in axes height
            self.window.append(ax.add_collection(spans, autolim=False))
        self.window_text: list[Text] = []
        self.odi_lines, self.gate_lines = [], []
        colours = {}
        for k, name in enumerate(names):
            colour = colours[name] = GROUP_COLOURS[k % len(GROUP_COLOURS)]
            lw = 2.0 if name == self.reference else 1.4
            (odi,) = ax_odi.plot([], [], color=colour, lw=lw, label=_wrap(display_name(name), 30))
            (gate,) = ax_gate.plot([], [], color=colour, lw=lw)
            self.odi_lines.append(odi)
            self.gate_lines.append(gate)
        days_per_inch = model.days / axes_w
        self._window_days = days_per_inch * _text_width(fig, "window open", 6.5)
        self.today = [ax.axvline(0, color="#555555", lw=1.0, ls="--") for ax in axes]
        for ax in axes:
            ax.spines[["top", "right"]].set_visible(False)
            ax.tick_params(labelsize=7)
        self.today_text = ax_odi.text(0, 0.93, "", fontsize=7, va="top")
        self._today_days = days_per_inch * _text_width(fig, f"today P{model.days}", 7)
        ax_odi.axhline(0, color="grey", lw=0.5)
        ax_odi.set_ylim(-1.05, 1.0)
        ax_odi.set_ylabel("mean ODI\n(+1 left eye)", fontsize=7)
        legend = fig.legend(frameon=False, fontsize=6.5, loc="upper center", ncol=ncol,
                            bbox_to_anchor=(0.5, 1 - 0.3 / height), handlelength=1.5,
                            columnspacing=1.2)  # fmt: skip
        # the axes start under the legend, however many lines its names take
        legend_h = legend.get_window_extent(fig.canvas.get_renderer()).height / fig.dpi
        fig.subplots_adjust(top=1 - (0.3 + legend_h + 0.1) / height)
        ax_gate.set_ylim(0, 1.2)
        # where the gold band starts: the window counts as open from this gate on
        ax_gate.axhline(WINDOW_OPEN_GATE, color="#8a6d00", lw=0.6, ls=(0, (2, 3)))
        ax_gate.set_ylabel("plasticity gate", fontsize=7)
        if lanes:
            handles = protocol_lanes(
                axes[2], lanes, colours, model.experiment.species, 6, label=display_name
            )
            axes[2].tick_params(axis="y", labelsize=6)
            fig.legend(list(handles.values()), list(handles), frameon=False, fontsize=6.5,
                       loc="lower center", ncol=min(len(handles), 4),
                       bbox_to_anchor=(0.5, 0.0), handlelength=1.2)  # fmt: skip
        axes[-1].set_xlabel("age (postnatal day)", fontsize=7)
        fig.suptitle("Eye preference and plasticity over age", fontsize=FONT + 1,
                     fontweight="bold", y=1 - 0.05 / height)  # fmt: skip

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

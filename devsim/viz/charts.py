"""The page's live panels as Vega-Lite charts: the server computes, the browser draws.

Each panel is a fixed Vega-Lite specification, built once per model (axes, scales, legends,
the rearing events and treatments it already knows), whose named datasets are replaced
every day. :func:`panel_data` computes those datasets (small lists of plain rows) from the
model; the browser's widget (:file:`panels.vue`) swaps them into a live Vega view,
so a step sends numbers, not pictures. matplotlib (:mod:`devsim.viz.figures`) stays for the
lessons' handouts, the CLI and the figures a run writes.

The colours are the figures' own: the left (contralateral) eye blue, the right eye red,
ODI on the diverging red-blue scale from -1 (right eye only) to +1 (left eye only).
"""

from __future__ import annotations

import math
import textwrap

import numpy as np
from matplotlib.colors import to_hex

from devsim.measures import ocular_dominance_index, responsive
from devsim.model import DevelopmentModel
from devsim.organism import Organism
from devsim.plasticity import WINDOW_OPEN_GATE
from devsim.plots.development import (
    CONDITION_COLOURS,
    DRUG_COLOURS,
    drug_rows,
    protocol_groups,
    strain,
)
from devsim.viz import figures
from devsim.viz.figures import (
    GROUP_COLOURS,
    LEFT_COLOUR,
    RIGHT_COLOUR,
    display_name,
    histogram_counts,
    open_spans,
)

SCHEMA = "https://vega.github.io/schema/vega-lite/v5.json"
WIDTH = 420  # px: the charts are drawn at this width and scaled to their cell by CSS
NO_DATA = "#cccccc"  # an organism or neuron that responds to neither eye
CLASS_COLOURS = [to_hex(c) for c in figures.CLASS_COLOURS]  # OD classes 1..7, as the lessons'
RF_SHOWN = 6  # neurons in the receptive-field panel
RF_GAP = 2  # pixels between two receptive fields
WRAP_AFTER = 4  # groups: more are drawn in rows of WRAPPED_GROUPS (litter, histograms)
WRAPPED_GROUPS = 3


# --- per-organism numbers -------------------------------------------------------------------
def organism_odi(model: DevelopmentModel) -> np.ndarray:
    """Mean ODI of each organism's responsive neurons, (o,); NaN if none responds."""
    r_left, r_right = model.eye_responses()
    ok = responsive(r_left, r_right)
    odi = np.where(ok, ocular_dominance_index(r_left, r_right), 0.0)
    count = ok.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, odi.sum(axis=1) / np.maximum(count, 1), np.nan)


def default_organism(model: DevelopmentModel) -> Organism:
    """The first organism of the first manipulated group (else of the control group)."""
    others = [g.name for g in model.groups if g.name != model.reference]
    group = others[0] if others else model.reference
    return model.organisms(group)[0]


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


def _value(x) -> float | None:
    """A float for the browser: NaN and None become null (drawn as 'no data')."""
    if x is None:
        return None
    x = float(x)
    return None if math.isnan(x) else round(x, 4)


def _base(height: int, description: str) -> dict:
    return {
        "$schema": SCHEMA,
        "description": description,
        "width": WIDTH,
        "height": height,
        "autosize": {"type": "fit", "contains": "padding"},
        "background": "white",
        "config": {"view": {"stroke": None}, "axis": {"labelFontSize": 11, "titleFontSize": 12},
                   "legend": {"labelFontSize": 11, "titleFontSize": 12}},
    }  # fmt: skip


def _odi_colour(field: str) -> dict:
    return {
        "condition": {"test": f"datum.{field} === null", "value": NO_DATA},
        "field": field,
        "type": "quantitative",
        "scale": {"scheme": "redblue", "domain": [-1, 1]},
        "legend": {"title": "ODI (+1 left eye, −1 right eye)", "orient": "bottom",
                   "direction": "horizontal", "gradientLength": 220},
    }  # fmt: skip


def groups_per_row(groups: int) -> int:
    """How many groups the litter and the histograms draw side by side: all of them up to
    :data:`WRAP_AFTER`, else :data:`WRAPPED_GROUPS` a row (six groups in one row of 420 px
    cut their names to "co…" and ran the OD classes' labels together)."""
    return groups if groups <= WRAP_AFTER else WRAPPED_GROUPS


def name_lines(name: str, px: float, font_px: float = 11) -> list[str]:
    """A group's name broken into lines of at most ``px`` pixels (at ~0.6 em a character,
    bold), so it is written whole rather than cut."""
    chars = max(6, int(px / (0.6 * font_px)))
    return textwrap.wrap(name, chars, break_long_words=False, break_on_hyphens=False) or [name]


# --- the litter ------------------------------------------------------------------------------
LINE_PX = 14  # px per line of a group's name
LITTER_HEIGHT = (90, 420)  # px: the litter's squares, at least and at most


def _litter_layout(model: DevelopmentModel) -> tuple[dict[int, tuple[int, int]], list, int, list]:
    """Each organism's cell (column, row); the groups' labels; the grid's columns; its y
    extent [bottom, top] (above each row of groups, room for their names)."""
    n_groups = len(model.groups)
    per_row = groups_per_row(n_groups)
    members = [np.nonzero(model.group_of == gi)[0] for gi in range(n_groups)]
    cols = [min(len(m), max(2, math.ceil(math.sqrt(2 * len(m))))) for m in members]
    block = max(cols)  # a group's columns: the groups of a wrapped row stand in columns
    rows = max(math.ceil(len(m) / c) for m, c in zip(members, cols, strict=True))
    width = per_row * (block + 1) - 1
    cell = WIDTH / (width + 1)  # px per square, about (the chart fits its width)
    lines = [name_lines(display_name(g.name), cell * (block + 0.8), 12) for g in model.groups]
    gap = max(1.2, (LINE_PX * max(map(len, lines)) + 4) / cell)  # squares above a row
    cells, labels = {}, []
    for gi, group_members in enumerate(members):
        r, c = divmod(gi, per_row)
        x0, y0 = c * (block + 1), r * (rows + gap)
        for k, row in enumerate(group_members):
            cells[int(row)] = (x0 + k % cols[gi], y0 + k // cols[gi])
        # a name's last line sits on its squares; Vega writes further lines below the first
        above = (len(lines[gi]) - 1) * LINE_PX / cell
        labels.append({"x": x0 + cols[gi] / 2, "y": y0 - 0.15 - above, "name": lines[gi],
                       "cells": cols[gi]})  # fmt: skip
    r_last = (n_groups - 1) // per_row
    return cells, labels, width, [r_last * (rows + gap) + rows, -gap]


def litter_spec(model: DevelopmentModel) -> dict:
    cells, labels, cols, extent = _litter_layout(model)
    cell = WIDTH / (cols + 1)  # px per square, about (the chart fits its width)
    height = int(min(LITTER_HEIGHT[1], max(LITTER_HEIGHT[0], cell * (extent[0] - extent[1]))))
    x = {"scale": {"domain": [0, cols]}, "axis": None}
    y = {"scale": {"domain": extent}, "axis": None}
    spec = _base(height + 60, "The litter: one square per animal, coloured by its mean ODI; "
                              "click a square to show that animal below")  # fmt: skip
    # a group's name may take its own squares' width, never its neighbour's (11 groups ran
    # their names into each other); longer names take more lines (name_lines)
    name_limit = max(24, int(cell * min(label["cells"] for label in labels) + cell * 0.8))
    tooltip = [{"field": "animal", "title": "animal"},
               {"field": "odi", "title": "mean ODI", "format": "+.2f"}]  # fmt: skip
    spec["layer"] = [
        {
            "name": "group_names",
            "data": {"values": labels},
            "mark": {"type": "text", "fontWeight": "bold", "fontSize": 12, "baseline": "bottom",
                     "limit": name_limit, "lineHeight": LINE_PX},  # fmt: skip
            "encoding": {"x": {"field": "x", "type": "quantitative", **x},
                         "y": {"field": "y", "type": "quantitative", **y},
                         "text": {"field": "name"}},
        },
        {
            "data": {"name": "litter"},
            "mark": {"type": "rect", "cornerRadius": 2, "invalid": None, "cursor": "pointer"},
            "encoding": {
                "x": {"field": "x", "type": "quantitative", **x}, "x2": {"field": "x2"},
                "y": {"field": "y", "type": "quantitative", **y}, "y2": {"field": "y2"},
                "color": _odi_colour("odi"),
                "stroke": {"condition": {"test": "datum.selected", "value": "#000"},
                           "value": None},
                "strokeWidth": {"condition": {"test": "datum.selected", "value": 3}, "value": 0},
                "tooltip": tooltip,
            },
        },
    ]  # fmt: skip
    if cell >= 30:  # the number fits its square ("+0.25" is ~28 px at 10 px); else a smear
        spec["layer"].append({
            "data": {"name": "litter"},
            "mark": {"type": "text", "fontSize": 10},
            "encoding": {
                "x": {"field": "xc", "type": "quantitative", **x},
                "y": {"field": "yc", "type": "quantitative", **y},
                "text": {"field": "text"},
                "color": {"condition": {"test": "datum.odi !== null && abs(datum.odi) > 0.55",
                                        "value": "white"}, "value": "black"},
                "tooltip": tooltip,  # hovering the number shows the animal too
            },
        })  # fmt: skip
    return spec


def litter_rows(model: DevelopmentModel, selected_row: int | None) -> list[dict]:
    cells, *_ = _litter_layout(model)
    odi = organism_odi(model)
    organisms = model.organisms()
    out = []
    for row, (cx, cy) in cells.items():
        value = _value(odi[row])
        out.append({
            "x": cx + 0.05, "x2": cx + 0.95, "y": cy + 0.05, "y2": cy + 0.95,
            "xc": cx + 0.5, "yc": cy + 0.5, "odi": value,
            "text": "–" if value is None else f"{value:+.2f}",
            "animal": _animal(organisms[row]), "selected": row == selected_row,
        })  # fmt: skip
    return out


def _animal(organism: Organism) -> str:
    return f"{display_name(organism.group)} #{organism.litter + 1}"


def animal_label(organism: Organism) -> str:
    """The organism as the page names it (readable group name and litter number)."""
    return _animal(organism)


CAPTION_Y = 11  # px below the top of the histograms: a group's CBI and cell count


# --- OD histograms -----------------------------------------------------------------------------
HISTOGRAM_HEIGHT = 190  # px: the histograms in one row; wrapped, each row is lower
WRAPPED_HISTOGRAM_HEIGHT = 150


def histogram_spec(model: DevelopmentModel) -> dict:
    """The groups' histograms side by side on one axis (class k of group g at 8 g + k), so
    the spec stays fixed while the data stream in; more than :data:`WRAP_AFTER` groups are
    drawn in rows (each row its own view of the same data, the groups of its x range)."""
    n = len(model.groups)
    per_row = groups_per_row(n)
    # a group's name and caption stay within its own histogram (11 groups ran them together);
    # a long name takes more lines instead of being cut
    limit = max(24, int(0.9 * WIDTH / per_row) - 4)
    names = []
    for g, group in enumerate(model.groups):
        lines = name_lines(display_name(group.name), limit)
        # px above the chart: the last line on its top (Vega writes lines below the first)
        names.append({"x": 8 * g + 4, "name": lines, "y": -(len(lines) - 1) * LINE_PX})
    rows = [_histogram_row(model, names, r * per_row, min(n, (r + 1) * per_row), per_row, limit)
            for r in range(math.ceil(n / per_row))]  # fmt: skip
    description = "Ocular dominance histograms of each group, the control's as a black outline"
    if len(rows) == 1:
        spec = _base(HISTOGRAM_HEIGHT, description)
        spec["layer"] = rows[0]["layer"]
        return spec
    spec = _base(0, description)
    del spec["width"], spec["height"]
    for row in rows[:-1]:  # the axis' title once, under the last row
        for layer in row["layer"]:
            if "axis" in layer["encoding"]["x"]:
                layer["encoding"]["x"]["axis"] = {**layer["encoding"]["x"]["axis"], "title": None}
    spec.update({"vconcat": rows, "spacing": 8,
                 "resolve": {"scale": {"x": "independent", "y": "shared"}}})  # fmt: skip
    return spec


def _histogram_row(
    model: DevelopmentModel, names: list[dict], first: int, end: int, per_row: int, limit: int
) -> dict:
    """The histograms of groups ``first`` .. ``end - 1``: a layered view whose x range is
    ``per_row`` groups wide (a short last row keeps the others' columns)."""
    lo, hi = 8 * first, 8 * (first + per_row)
    ticks = [8 * g + k for g in range(first, end) for k in range(1, 8)]
    x = {"type": "quantitative", "scale": {"domain": [lo + 0.3, hi - 0.3], "nice": False},
         "axis": {"values": ticks, "labelExpr": "(datum.value % 8)", "grid": False,
                  "title": "OD class: 1 = left eye only ... 7 = right eye only"}}  # fmt: skip
    # the top comes with the data (histogram_top: 50 % until a bar outgrows it), so the
    # usual 10-35 % bars fill the chart; names and captions sit at fixed pixels above them
    y = {"type": "quantitative", "scale": {"domain": {"unionWith": [0, 50]}, "nice": False}}
    mine = [{"filter": f"datum.x >= {lo} && datum.x < {8 * end}"}]  # this row's groups
    wrapped = per_row < len(model.groups)
    return {
        "width": WIDTH - 50 if wrapped else WIDTH,
        "height": WRAPPED_HISTOGRAM_HEIGHT if wrapped else HISTOGRAM_HEIGHT,
        "layer": [
            {"name": f"group_names_{first // per_row}", "data": {"values": names[first:end]},
             "mark": {"type": "text", "fontWeight": "bold", "fontSize": 11, "baseline": "bottom",
                      "limit": limit, "lineHeight": LINE_PX},
             "encoding": {"x": {"field": "x", **x}, "text": {"field": "name"},
                          "y": {"field": "y", "type": "quantitative", "scale": None}}},
            {"data": {"name": "histogram"}, "transform": mine, "mark": {"type": "rect"},
             "encoding": {
                 "x": {"field": "x", **x}, "x2": {"field": "x2"},
                 "y": {"field": "percent", **y, "title": "% of cells"}, "y2": {"datum": 0},
                 "color": {"field": "od_class", "type": "ordinal", "legend": None,
                           "scale": {"domain": list(range(1, 8)), "range": CLASS_COLOURS}},
                 "stroke": {"value": "#777"}, "strokeWidth": {"value": 0.5},
                 "tooltip": [{"field": "group"}, {"field": "od_class", "title": "OD class"},
                             {"field": "cells", "title": "cells"},
                             {"field": "percent", "title": "%", "format": ".0f"},
                             {"field": "control", "title": "control %", "format": ".0f"},
                             {"field": "control_group", "title": "its control"}]}},
            {"data": {"name": "histogram"}, "transform": mine,
             "mark": {"type": "rule", "color": "black", "strokeWidth": 2},
             "encoding": {"x": {"field": "x", **x}, "x2": {"field": "x2"},
                          "y": {"field": "control", **y}}},
            {"data": {"name": "histogram_labels"}, "transform": mine,
             "mark": {"type": "text", "fontSize": 10, "baseline": "top", "limit": limit},
             "encoding": {"x": {"field": "x", **x}, "y": {"value": CAPTION_Y},
                          "text": {"field": "text"}}},
            # nothing drawn: it holds the axis top (the labels' rows carry it)
            {"data": {"name": "histogram_labels"}, "transform": mine,
             "mark": {"type": "point", "opacity": 0, "aria": False},
             "encoding": {"x": {"field": "x", **x}, "y": {"field": "top", **y}}},
        ],
    }  # fmt: skip


def _percent(hist) -> list[float]:
    total = float(sum(hist))
    return [100.0 * h / total if total else 0.0 for h in hist]


def histogram_rows(model: DevelopmentModel) -> tuple[list[dict], list[dict]]:
    """(bars, labels): each group's classes in percent with its control's (the group it
    names as its ``control``, else the reference), and its CBI."""
    counts = histogram_counts(model)
    percents = {name: _percent(hist) for name, hist in counts.items()}
    top = figures.histogram_top(max(max(p) for p in percents.values()))
    bars, labels = [], []
    for g, (name, hist) in enumerate(counts.items()):
        group = display_name(name)
        own = model.experiment.control_of(name)
        control = percents[own]
        for k, (cells, pct) in enumerate(zip(hist, percents[name], strict=True)):
            bars.append({"group": group, "od_class": k + 1, "x": 8 * g + k + 0.6,
                         "x2": 8 * g + k + 1.4, "cells": int(cells), "percent": round(pct, 2),
                         "control": round(control[k], 2),
                         "control_group": display_name(own)})  # fmt: skip
        cbi = _value(model.group_metrics[name]["cbi"])
        cbi_text = "CBI –" if cbi is None else f"CBI {cbi:.2f}"
        labels.append({"x": 8 * g + 4, "text": f"{cbi_text}, {sum(hist)} cells", "top": top})
    return bars, labels


# --- ODI and the plasticity gate over age -------------------------------------------------------
def _group_colour(model: DevelopmentModel) -> dict:
    names = [display_name(g.name) for g in model.groups]
    colours = [GROUP_COLOURS[k % len(GROUP_COLOURS)] for k in range(len(names))]
    return {"field": "group", "type": "nominal", "scale": {"domain": names, "range": colours},
            "legend": {"orient": "top", "title": None, "columns": 3}}  # fmt: skip


def _protocol_rows(model: DevelopmentModel) -> tuple[list[str], list[dict], list[dict]]:
    """The protocol panel's lanes (groups with rearing, treatments or another strain, by
    display name), its bars (rearing thick, drugs thin) and its texts (the closed eye on its
    bar, a strain's name)."""
    lanes, bars, texts = [], [], []
    species = model.experiment.species
    for group in protocol_groups(model.groups, species):
        other = strain(group, species)
        name = display_name(group.name)
        lanes.append(name)
        for item in group.rearing:
            label = item.condition.replace("_", " ") + (f" ({item.eye})" if item.eye else "")
            bars.append({"group": name, "start": item.start, "end": item.end, "what": label,
                         "key": item.condition.replace("_", " "),
                         "colour": CONDITION_COLOURS.get(item.condition, "grey"),
                         "kind": "rearing"})  # fmt: skip
            if item.eye:
                texts.append({"group": name, "x": (item.start + item.end) / 2,
                              "text": item.eye, "colour": "white"})  # fmt: skip
        for item, row, rows in drug_rows(group):
            bars.append({"group": name, "start": item.start, "end": item.end, "what": item.drug,
                         "key": item.drug, "colour": DRUG_COLOURS.get(item.drug, "grey"),
                         "kind": "drug", "row": row, "rows": rows})  # fmt: skip
        if other:
            texts.append({"group": name, "x": 0.5, "text": other, "colour": "#555555",
                          "strain": True})  # fmt: skip
    return lanes, bars, texts


def _lane_colour(bars: list[dict]) -> dict:
    """The lanes' colours, keyed under the lanes: each condition and drug once."""
    keys = dict.fromkeys((bar["key"], bar["colour"]) for bar in bars)
    return {"field": "key", "type": "nominal",
            "scale": {"domain": [k for k, _ in keys], "range": [c for _, c in keys]},
            "legend": {"orient": "bottom", "title": None, "direction": "horizontal",
                       "symbolType": "stroke", "symbolStrokeWidth": 4}}  # fmt: skip


def _drug_layers(bars: list[dict], age: dict, lane: dict, when: list) -> list[dict]:
    """The drugs' thin bars under each lane, one layer per place: a group's only drug 3 px
    thick, 5 px below the lane's centre; ``n`` drugs of one group share those 5 px in
    rows, one under another (as the figures draw them)."""
    places: dict[tuple[float, float], list[dict]] = {}
    for bar in bars:
        if bar["kind"] == "drug":
            width = min(3.0, 5.0 / bar["rows"])
            places.setdefault((width, 3.5 + width * (bar["row"] + 0.5)), []).append(bar)
    return [
        {
            "data": {"values": values},
            "mark": {"type": "rule", "strokeWidth": width, "yOffset": offset},
            "encoding": {
                "x": {**age, "field": "start"},
                "x2": {"field": "end"},
                "y": lane,
                "color": _lane_colour(bars),
                "tooltip": when,
            },
        }
        for (width, offset), values in sorted(places.items()) or [((3.0, 5.0), [{}])]
    ]


def timeline_spec(model: DevelopmentModel) -> dict:
    days = model.days
    x = {"field": "day", "type": "quantitative", "scale": {"domain": [0, days], "nice": False}}
    lanes, bars, texts = _protocol_rows(model)
    window = {
        "data": {"name": "window"},
        "mark": {"type": "rect", "color": "gold", "opacity": 0.3},
        "encoding": {
            "x": {**x, "field": "start"},
            "x2": {"field": "end"},
            "tooltip": [{"field": "text", "title": "critical window"}],
        },
    }
    today = {
        "data": {"name": "today"},
        "mark": {"type": "rule", "strokeDash": [4, 3], "color": "#555"},
        "encoding": {"x": x},
    }
    line = {
        "mark": {"type": "line", "strokeWidth": 2, "interpolate": "linear"},
        "encoding": {
            "x": {**x, "axis": {"title": None, "labels": False}},
            "color": _group_colour(model),
            "detail": {"field": "run"},
            "opacity": {
                "condition": {"test": "indexof(datum.run, 'previous run') === 0", "value": 0.35},
                "value": 1,
            },
            "strokeDash": {
                "condition": {"test": "indexof(datum.run, 'previous run') === 0", "value": [5, 3]},
                "value": [1, 0],
            },
        },
    }
    tooltip = [{"field": "group"}, {"field": "run"}, {"field": "day"}]
    age = {**x, "title": "age (postnatal day)"}
    odi_panel = {
        "width": WIDTH - 50, "height": 150,
        "layer": [
            window,
            {"data": {"name": "series"}, **line,
             "encoding": {**line["encoding"],
                          "y": {"field": "odi", "type": "quantitative",
                                "title": "mean ODI (+1 left eye)",
                                "scale": {"domain": [-1.05, 1]}},
                          "tooltip": [*tooltip, {"field": "odi", "format": "+.2f",
                                                 "title": "mean ODI"}]}},
            today,
        ],
    }  # fmt: skip
    gate_panel = {
        "width": WIDTH - 50, "height": 110,
        "layer": [
            window,
            {"data": {"name": "series"}, **line,
             "encoding": {**line["encoding"],
                          "x": age if not lanes else line["encoding"]["x"],
                          "color": {**_group_colour(model), "legend": None},  # the ODI's
                          "y": {"field": "gate", "type": "quantitative",
                                "title": "plasticity gate", "scale": {"domain": [0, 1.2]}},
                          "tooltip": [*tooltip, {"field": "gate", "format": ".2f",
                                                 "title": "gate"}]}},
            # where the gold band starts: the window counts as open from this gate on (one
            # row of its own: a layer without data draws nothing)
            {"name": "open_gate", "data": {"values": [{}]},
             "mark": {"type": "rule", "strokeDash": [2, 3], "color": "#8a6d00"},
             "encoding": {"y": {"datum": WINDOW_OPEN_GATE}}},
            today,
        ],
    }  # fmt: skip
    panels = [odi_panel, gate_panel]
    if lanes:
        axis = {"title": None, "labelFontSize": 10, "ticks": False, "domain": False}
        lane = {"field": "group", "type": "nominal", "sort": lanes, "scale": {"domain": lanes},
                "axis": axis}  # fmt: skip
        when = [{"field": "group"}, {"field": "what"}, {"field": "start", "title": "from P"},
                {"field": "end", "title": "to P"}]  # fmt: skip
        panels.append({
            "width": WIDTH - 50, "height": 18 * len(lanes),
            "layer": [
                window,
                {"data": {"values": [b for b in bars if b["kind"] == "rearing"] or [{}]},
                 "mark": {"type": "rule", "strokeWidth": 9, "yOffset": -2},
                 "encoding": {"x": {**age, "field": "start"}, "x2": {"field": "end"}, "y": lane,
                              "color": _lane_colour(bars), "tooltip": when}},
                *_drug_layers(bars, age, lane, when),
                # the closed eye centred on its bar; a strain's name starts at P0 (centred
                # there, half of it lay over the lanes' names)
                *({"data": {"values": [t for t in texts if t.get("strain") == strain] or [{}]},
                   "mark": {"type": "text", "fontSize": 8, "yOffset": -2,
                            "align": "left" if strain else "center"},
                   "encoding": {"x": {**age, "field": "x"}, "y": lane, "text": {"field": "text"},
                                "color": {"value": "#555555" if strain else "white"}}}
                  for strain in (None, True)),
                today,
            ],
        })  # fmt: skip
    spec = _base(0, "Mean ODI and the plasticity gate of each group over age; the gold band is "
                    "the control group's open critical window (its gate at least "
                    f"{WINDOW_OPEN_GATE:g}, the dotted line; plasticity is lower, not "
                    "zero, outside it); a faint dashed line is "
                    "the previous run; below, each group's protocol: rearing (thick, the "
                    "closed eye written on it) and drugs (thin), their colours keyed "
                    "under the lanes")  # fmt: skip
    del spec["width"], spec["height"]
    # the groups' colours (legend above) and the lanes' conditions (legend below) differ
    spec.update({"vconcat": panels, "spacing": 6,
                 "resolve": {"scale": {"color": "independent"}}})  # fmt: skip
    return spec


def series_rows(daily: dict, run: str = "this run", names: list[str] | None = None) -> list[dict]:
    """Each group's mean ODI and gate per day so far (the timeline's lines), from
    :meth:`DevelopmentModel.daily`. ``names``: the groups to draw them as, in order (the
    previous run's lines under the new run's groups, whose names changed with a moved
    suture: drawn under a name the chart did not know, they were not drawn at all); the
    ``run`` field then says what the group was called."""
    out = []
    for k, (name, series) in enumerate(daily.items()):
        group, this = display_name(name), run
        if names is not None and k < len(names) and names[k] != group:
            group, this = names[k], f"{run} ({group})"
        elif names is not None and group not in names:
            continue  # a group the new run does not have: no colour of its own
        for day, odi, gate in zip(
            series["day"], series["mean_odi"], series["plasticity"], strict=True
        ):
            out.append({"group": group, "run": this, "day": int(day), "odi": _value(odi),
                        "gate": _value(gate)})  # fmt: skip
    return out


def window_rows(daily: dict, reference: str) -> list[dict]:
    gate = daily[reference]["plasticity"]
    return [
        {
            "start": s,
            "end": max(e, s + 0.5),
            "text": f"open P{s}–P{e} (control group: gate ≥ {WINDOW_OPEN_GATE:g})",
        }
        for s, e in open_spans(gate)
    ]


# --- one animal's synapses and receptive fields -------------------------------------------------
def synapse_spec(model: DevelopmentModel) -> dict:
    channels, neurons = model.world.channels, model.cohort.neurons
    pos = graph_layout(neurons, channels)
    side = math.isqrt(channels)
    inputs = [{"x": x, "y": y, "eye": eye} for (eye, k), (x, y) in pos.items() if eye != "cortex"]
    eyes = {
        "field": "eye",
        "type": "nominal",
        "legend": None,
        "scale": {"domain": ["left", "right"], "range": [LEFT_COLOUR, RIGHT_COLOUR]},
    }
    x = {"type": "quantitative", "scale": {"domain": [-1, 2 * side + 3]}, "axis": None}
    y = {"type": "quantitative", "scale": {"domain": [-2.6, side + 7]}, "axis": None}
    labels = [{"x": side / 2 - 0.5, "y": -1.6, "text": f"left eye ({side}×{side})",
               "eye": "left"},
              {"x": side + 3 + side / 2 - 0.5, "y": -1.6, "text": f"right eye ({side}×{side})",
               "eye": "right"}]  # fmt: skip
    spec = _base(300, "One animal's synaptic graph: a line per synapse, blue from the left eye, "
                      "red from the right, wider and darker when stronger")  # fmt: skip
    spec["layer"] = [
        {"data": {"name": "synapses"}, "mark": {"type": "rule"},
         "transform": [  # a row is (j, k, r): the synapse from input k to neuron j, strength r
             {"calculate": f"datum.k < {channels} ? 'left' : 'right'", "as": "eye"},
             {"calculate": f"datum.k % {channels}", "as": "p"},
             {"calculate": f"(datum.k < {channels} ? 0 : {side + 3}) + datum.p % {side}",
              "as": "x"},
             {"calculate": f"floor(datum.p / {side})", "as": "y"},
             {"calculate": f"{2 * side + 2} * (datum.j + 0.5) / {neurons}", "as": "x2"},
             {"calculate": f"{side + 5}", "as": "y2"},
             {"calculate": "0.08 + 0.7 * datum.r", "as": "o"},
             {"calculate": "0.2 + 2.4 * datum.r", "as": "w"},
         ],
         "encoding": {"x": {"field": "x", **x}, "y": {"field": "y", **y},
                      "x2": {"field": "x2"}, "y2": {"field": "y2"}, "color": eyes,
                      "opacity": {"field": "o", "type": "quantitative", "scale": None},
                      "strokeWidth": {"field": "w", "type": "quantitative", "scale": None}}},
        {"data": {"values": inputs}, "mark": {"type": "circle", "size": 14, "opacity": 1},
         "encoding": {"x": {"field": "x", **x}, "y": {"field": "y", **y}, "color": eyes}},
        {"data": {"values": labels}, "mark": {"type": "text", "fontWeight": "bold",
                                              "fontSize": 11},
         "encoding": {"x": {"field": "x", **x}, "y": {"field": "y", **y}, "text": {"field": "text"},
                      "color": eyes}},
        {"data": {"name": "neurons"},
         "mark": {"type": "circle", "size": 110, "stroke": "black", "strokeWidth": 0.6,
                  "opacity": 1, "invalid": None},
         "encoding": {"x": {"field": "x", **x}, "y": {"field": "y", **y},
                      "color": {**_odi_colour("odi"), "legend": None},
                      "tooltip": [{"field": "neuron"},
                                  {"field": "odi", "title": "ODI", "format": "+.2f"},
                                  {"field": "synapses"}]}},
    ]  # fmt: skip
    return spec


def synapse_rows(organism: Organism) -> tuple[list[dict], list[dict]]:
    """(synapses, neurons): a row per unpruned synapse, the strongest drawn last."""
    model = organism.model
    channels, neurons = model.world.channels, model.cohort.neurons
    pos = graph_layout(neurons, channels)
    js, ks = np.nonzero(organism.mask)
    strength = np.abs(organism.weights[js, ks]).astype(float)
    scale = strength.max() if strength.size and strength.max() > 0 else 1.0
    order = np.argsort(strength, kind="stable")
    js, ks, rel = js[order], ks[order], strength[order] / scale
    # the browser places them (synapse_spec's transform mirrors graph_layout)
    synapses = [
        {"j": j, "k": k, "r": round(r, 3)}
        for j, k, r in zip(js.tolist(), ks.tolist(), rel.tolist(), strict=True)
    ]
    odi = organism.odi()
    counts = organism.mask.sum(axis=1)
    cells = [
        {"x": round(pos[("cortex", j)][0], 3), "y": pos[("cortex", j)][1], "odi": _value(odi[j]),
         "neuron": j + 1, "synapses": int(counts[j])}
        for j in range(neurons)
    ]  # fmt: skip
    return synapses, cells


def receptive_field_spec(model: DevelopmentModel) -> dict:
    channels = model.world.channels
    side = math.isqrt(channels)
    count = min(RF_SHOWN, model.cohort.neurons)
    span = count * (side + RF_GAP) - RF_GAP
    x = {"type": "quantitative", "scale": {"domain": [-4, span]}, "axis": None}
    y = {"type": "quantitative", "scale": {"domain": [2 * side + RF_GAP, -4]}, "axis": None}
    eyes = [
        {"x": -0.6, "y": r * (side + RF_GAP) + side / 2, "text": f"{eye} eye", "c": colour}
        for r, (eye, colour) in enumerate((("left", LEFT_COLOUR), ("right", RIGHT_COLOUR)))
    ]
    spec = _base(190, f"Receptive fields: each eye's {side}×{side} weights of the first {count} "
                      "neurons (their ODI above them); green excitatory, pink negative, "
                      "grey no synapse")  # fmt: skip
    spec["layer"] = [
        {"data": {"name": "fields"}, "mark": {"type": "rect", "invalid": None},
         "transform": [  # a row is (i, w): pixel i of neuron i // (2 C), eye (i // C) % 2
             {"calculate": f"floor(datum.i / {2 * channels})", "as": "n"},
             {"calculate": f"floor(datum.i / {channels}) % 2", "as": "e"},
             {"calculate": f"datum.i % {channels}", "as": "p"},
             {"calculate": f"datum.n * {side + RF_GAP} + datum.p % {side}", "as": "x"},
             {"calculate": f"datum.e * {side + RF_GAP} + floor(datum.p / {side})", "as": "y"},
             {"calculate": "datum.x + 1", "as": "x2"},
             {"calculate": "datum.y + 1", "as": "y2"},
         ],
         "encoding": {"x": {"field": "x", **x}, "x2": {"field": "x2"},
                      "y": {"field": "y", **y}, "y2": {"field": "y2"},
                      "color": {"condition": {"test": "datum.w === null", "value": "#e6e6e6"},
                                "field": "w", "type": "quantitative",
                                "scale": {"scheme": "pinkyellowgreen", "domain": [-1, 1]},
                                "legend": {"title": "weight (of the strongest)",
                                           "orient": "bottom", "direction": "horizontal",
                                           "gradientLength": 160}}}},
        {"data": {"name": "field_labels"}, "mark": {"type": "text", "fontSize": 9,
                                                     "baseline": "bottom"},
         "encoding": {"x": {"field": "x", **x}, "y": {"datum": -0.8, **y},
                      "text": {"field": "text"}}},
        {"data": {"values": eyes}, "mark": {"type": "text", "align": "right", "fontSize": 11,
                                            "fontWeight": "bold"},
         "encoding": {"x": {"field": "x", **x}, "y": {"field": "y", **y},
                      "text": {"field": "text"}, "color": {"field": "c", "scale": None}}},
    ]  # fmt: skip
    return spec


def receptive_field_rows(organism: Organism) -> tuple[list[dict], list[dict]]:
    model = organism.model
    channels = model.world.channels
    side = math.isqrt(channels)
    count = min(RF_SHOWN, model.cohort.neurons)
    weights, mask = organism.weights[:count], organism.mask[:count]
    shown = np.abs(weights[mask])
    vmax = float(shown.max()) if shown.size and shown.max() > 0 else 1.0
    odi = organism.odi()
    shown_w = np.where(mask, np.round(weights / vmax, 3), np.nan).ravel().tolist()
    fields = [{"i": i, "w": None if w != w else w} for i, w in enumerate(shown_w)]
    labels = []
    for j in range(count):
        text = "–" if np.isnan(odi[j]) else f"{odi[j]:+.2f}"
        labels.append({"x": j * (side + RF_GAP) + side / 2, "text": f"#{j + 1}: {text}"})
    return fields, labels


# --- a sheet's maps ----------------------------------------------------------------------------
def map_spec(model: DevelopmentModel) -> dict:
    size = model.cohort.size
    gap = 3
    key = 8  # map units below the maps for the key
    x = {"type": "quantitative", "scale": {"domain": [0, 2 * size + gap]}, "axis": None}
    y = {"type": "quantitative", "scale": {"domain": [2 * size + gap + key, -4]}, "axis": None}
    spec = _base(WIDTH + 70, "Maps on the cortical sheet: ocular dominance (left eye's territory "
                             "white) and orientation preference (hue), shown animal and its "
                             "littermate control")  # fmt: skip
    bottom = 2 * size + gap
    lines = [
        {"y": bottom + 3.5, "text": "top: which eye wins (white: left eye, black: right eye)"},
        {"y": bottom + 7, "text": "bottom: preferred orientation (colour); circles: pinwheels"},
    ]
    spec["layer"] = [
        {"data": {"name": "maps"}, "mark": {"type": "rect"},
         "encoding": {"x": {"field": "x", **x}, "x2": {"field": "x2"},
                      "y": {"field": "y", **y}, "y2": {"field": "y2"},
                      "color": {"field": "c", "type": "nominal", "scale": None}}},
        {"data": {"name": "pinwheels"}, "mark": {"type": "point", "color": "white", "size": 18},
         "encoding": {"x": {"field": "x", **x}, "y": {"field": "y", **y}}},
        {"data": {"name": "map_labels"}, "mark": {"type": "text", "fontSize": 10,
                                                   "baseline": "bottom"},
         "encoding": {"x": {"field": "x", **x}, "y": {"datum": -0.5, **y},
                      "text": {"field": "text"}}},
        {"data": {"values": lines}, "mark": {"type": "text", "fontSize": 10, "align": "left",
                                              "color": "#444"},
         "encoding": {"x": {"datum": 0, **x}, "y": {"field": "y", **y},
                      "text": {"field": "text"}}},
    ]  # fmt: skip
    return spec


def _hex(rgb: np.ndarray) -> np.ndarray:
    """(..., 3) floats in [0, 1] -> '#rrggbb' strings."""
    v = np.clip(np.rint(np.asarray(rgb) * 255), 0, 255).astype(int)
    return np.array([f"#{r:02x}{g:02x}{b:02x}" for r, g, b in v.reshape(-1, 3)])


def map_rows(model: DevelopmentModel, row: int) -> tuple[list[dict], list[dict], list[dict]]:
    from devsim import maps
    from devsim.plots.maps import contra_label, od_span, orientation_rgb, selectivity_top

    size = model.cohort.size
    gap = 3
    control = model.organisms(model.reference)
    litter = model.organisms()[row].litter
    mate = next((o.row for o in control if o.litter == litter), control[0].row)
    od, orientation = model.od_history[-1], model.orientation_history[-1]
    seen_od = {k: maps.as_imaged(od[k]) for k in (row, mate)}
    span = od_span(list(seen_od.values()))
    seen_z = {k: maps.as_imaged(orientation[k]) for k in (row, mate)}
    top = selectivity_top(list(seen_z.values()))  # one brightness, as one grey scale
    cells, wheels, labels = [], [], []
    ii, jj = np.meshgrid(np.arange(size), np.arange(size), indexing="ij")
    for c, (k, who) in enumerate(((row, "shown"), (mate, "control"))):
        x0 = c * (size + gap)
        grey = np.clip(contra_label(seen_od[k], span), 0, 1)
        seen = seen_z[k]
        for y0, colours in ((0, _hex(np.repeat(grey[..., None], 3, axis=-1))),
                            (size + gap, _hex(orientation_rgb(seen, top)))):  # fmt: skip
            cells += [
                {"x": x0 + int(j), "x2": x0 + int(j) + 1, "y": y0 + int(i), "y2": y0 + int(i) + 1,
                 "c": str(col)}
                for i, j, col in zip(ii.ravel(), jj.ravel(), colours, strict=True)
            ]  # fmt: skip
        for r_, c_ in maps.pinwheel_positions(seen):
            wheels.append({"x": x0 + float(c_) + 0.5, "y": size + gap + float(r_) + 0.5})
        share = maps.eye_share(od[k], "left")
        share_text = "–" if np.isnan(share) else f"{share:.0%}"
        organism = model.organisms()[k]
        labels.append({"x": x0 + size / 2, "text": f"{_animal(organism)} ({who}): "
                                                   f"left eye {share_text}"})  # fmt: skip
    return cells, wheels, labels


# --- everything the page draws ------------------------------------------------------------------
def panel_specs(model: DevelopmentModel) -> dict[str, dict]:
    """The page's panels, by name, as Vega-Lite specifications (built once per model)."""
    specs = {
        "litter": litter_spec(model),
        "histogram": histogram_spec(model),
        "timeline": timeline_spec(model),
    }
    if model.sheet:
        specs["maps"] = map_spec(model)
    else:
        specs["synapses"] = synapse_spec(model)
    specs["receptive-fields"] = receptive_field_spec(model)
    return specs


def panel_data(
    model: DevelopmentModel,
    organism: Organism,
    previous: list[dict] | None = None,
    panels: tuple[str, ...] | None = None,
) -> dict[str, dict[str, list]]:
    """Today's datasets of the ``panels`` named (default: all of the model's), by panel then
    dataset; only those are computed.

    ``previous``: the timeline rows of the run before the last Reset (drawn faintly).
    """

    def timeline() -> dict:
        daily = model.daily()
        return {
            "series": [*(previous or []), *series_rows(daily)],
            "window": window_rows(daily, model.reference),
            "today": [{"day": model.age}],
        }

    makers = {
        "litter": lambda: {"litter": litter_rows(model, organism.row)},
        "histogram": lambda: dict(
            zip(("histogram", "histogram_labels"), histogram_rows(model), strict=True)
        ),
        "timeline": timeline,
        "maps": lambda: dict(
            zip(("maps", "pinwheels", "map_labels"), map_rows(model, organism.row), strict=True)
        ),
        "synapses": lambda: dict(zip(("synapses", "neurons"), synapse_rows(organism), strict=True)),
        "receptive-fields": lambda: dict(
            zip(("fields", "field_labels"), receptive_field_rows(organism), strict=True)
        ),
    }
    names = [n for n in makers if n != ("synapses" if model.sheet else "maps")]
    return {n: makers[n]() for n in names if panels is None or n in panels}


PANEL_TITLES = {
    "litter": "The litter: mean eye preference (ODI) of each animal",
    "histogram": "Ocular dominance of each group (control outlined)",
    "timeline": "Eye preference and plasticity over age",
    "synapses": "Synapses of the animal shown",
    "maps": "Maps on the cortical sheet",
    "receptive-fields": "Receptive fields (neuron: ODI) of the animal shown",
}

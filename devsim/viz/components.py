"""Solara components of the development page (each takes the model, as SolaraViz passes it).

Every figure component reads ``update_counter`` (Mesa's per-session re-render signal after
Step/Play) and memoises its picture on ``model.age`` (and the organism shown), so unrelated
re-renders (a moved slider) do not redraw it. Each keeps one :class:`figures.PageFigure`
per model, which redraws only what changed since the day before.
"""

from __future__ import annotations

import reacton.ipywidgets as rw
import solara
from mesa.visualization.utils import update_counter

from devsim.model import DevelopmentModel
from devsim.plasticity import WINDOW_OPEN_GATE
from devsim.viz import figures

TITLE = "devsim: the critical period of ocular dominance"
CLOSED_GATE = 0.1  # after the window, a gate below this counts as closed

# The organism shown in the synapse and receptive-field panels, by label. Module-level
# solara.reactive values are kept per virtual kernel, i.e. per browser session.
selected_organism = solara.reactive("")

INTRO = """
**A litter grows up, one day per Step.** Each animal's visual cortex gets synapses from
both eyes. Experience strengthens some and prunes others, but mostly while the
**critical window** is open.

* **The litter**: one square per animal, coloured by its eye preference, the mean
  ocular-dominance index (ODI): blue means the left eye, red the right eye.
* **Ocular dominance**: Hubel & Wiesel's 7 classes over all neurons of a group. The black
  outline shows the control group.
* **Over age**: mean ODI and the plasticity gate. The gold band is the open window,
  coloured bars are rearing events and the dashed line is today.
* **Synapses and receptive fields** of one animal (choose it above the graph).

**Try this.** Press ▶. The default protocol closes the *left* eye from P24 to P28, at the
peak of the window: watch the histogram shift to the right eye. Then set the suture to
P50–P54 (sidebar), press **Reset** and play again: after the window has closed, almost
nothing happens. Also try the `gad65` preset (weak inhibition: no window until diazepam)
or the species `cat`. Sidebar changes take effect on **Reset**. Gene sliders left at
their mouse defaults keep each species' own values.
"""


def window_status(model: DevelopmentModel) -> str:
    """The control group's critical window today: not yet open, open, closing or closed."""
    gate = model.daily()[model.reference]["plasticity"]
    today = gate[-1]
    if today >= WINDOW_OPEN_GATE:
        state = "open"
    elif any(g >= WINDOW_OPEN_GATE for g in gate):
        state = "closing" if today >= CLOSED_GATE else "closed"
    else:
        state = "not yet open"
    return f"{state} (gate {today:.2f})"


def today_conditions(model: DevelopmentModel) -> str:
    """What each group lives through today (the day that the next Step simulates)."""
    if model.age >= model.days:
        return f"The simulated life is over (P{model.days}). Press Reset to start again."
    parts = [
        f"{name}: {labels[model.age].replace('_', ' ')}"
        for name, labels in model.condition_labels.items()
    ]
    return f"Next Step lives P{model.age} → P{model.age + 1}. " + " · ".join(parts)


# Figures shrink to fit SolaraViz's fixed-height grid cells (about 390 px) and their width.
CSS = """
.devsim-figure img { max-width: 100%; max-height: 330px; width: auto; height: auto; }
.devsim-figure { text-align: center; }
.devsim-metrics table { border-collapse: collapse; font-size: 0.95em; }
.devsim-metrics th, .devsim-metrics td { padding: 2px 6px; }
.devsim-metrics td:first-child { white-space: nowrap; }
/* SolaraViz's sliders show their value only while dragged: print it under the thumb */
.v-slider__thumb-container::after {
  content: attr(aria-valuenow);
  position: absolute; top: 9px; left: 50%; transform: translateX(-50%);
  font-size: 10px; line-height: 1; color: #555; white-space: nowrap;
}
"""


@solara.component
def Header(model: DevelopmentModel):
    """The day counter, the protocol, any input error and what to try."""
    update_counter.get()
    solara.Style(CSS)
    status = window_status(model)
    colours = {"open": "#b58900", "closing": "#cb4b16", "closed": "#586e75", "not": "#268bd2"}
    colour = colours[status.split()[0]]
    protocol = getattr(model, "protocol", None)
    with solara.Card(style={"width": "100%"}, margin=0):
        error = getattr(model, "input_error", None)
        if error:
            solara.Error(
                f"Invalid parameters: {error}. Showing the default protocol instead: "
                "fix the inputs in the sidebar and press Reset.",
                classes=["devsim-error"],
            )
        with solara.Columns([2, 3]):
            with solara.Column(gap="6px"):
                with solara.Row(style={"align-items": "baseline"}):
                    solara.Text(
                        f"Age: P{model.age}",
                        classes=["devsim-age"],
                        style={"font-size": "2.4em", "font-weight": "700", "line-height": "1.1"},
                    )
                    solara.Text(f"of P{model.days}", style={"font-size": "1.1em", "color": "#666"})
                solara.Text(
                    f"Critical window: {status}",
                    classes=["devsim-window"],
                    style={"font-size": "1.1em", "font-weight": "600", "color": colour},
                )
                solara.Text(today_conditions(model), style={"font-size": "0.9em"})
                if protocol is not None:
                    solara.Text(protocol.title, style={"font-weight": "600", "margin-top": "8px"})
                    solara.Text(protocol.description, style={"font-size": "0.9em"})
            solara.Markdown(INTRO, style={"font-size": "0.9em"})


@solara.component
def _Figure(name: str, model: DevelopmentModel, kind: type, draw, dependencies: list):
    """A page figure of ``kind``, built once per model and redrawn when ``dependencies`` change.

    ``draw(figure)`` updates the figure to today and returns its PNG. The dependencies must
    be props (not read inside): reacton skips re-rendering a child whose props compare
    equal, and ``draw`` closes over the same mutable model every day.
    """
    figure = solara.use_memo(lambda: kind(model), dependencies=[model])  # Reset: new model
    image = solara.use_memo(lambda: draw(figure), dependencies=[figure, *dependencies])
    with solara.Div(classes=["devsim-figure", f"devsim-figure-{name}"]):
        rw.Image(value=image, format="png")


def _selected(model: DevelopmentModel):
    """The organism chosen in this session (default: first of the first manipulated group)."""
    by_label = {figures.organism_label(o): o for o in model.organisms()}
    organism = by_label.get(selected_organism.value) or figures.default_organism(model)
    return organism, list(by_label)


@solara.component
def LitterPanel(model: DevelopmentModel):
    update_counter.get()
    organism, _ = _selected(model)
    _Figure(
        "litter",
        model,
        figures.LitterFigure,
        lambda fig: fig.update(model, organism.row).png(),
        [model.age, organism.row],
    )


@solara.component
def HistogramPanel(model: DevelopmentModel):
    update_counter.get()
    _Figure(
        "histogram",
        model,
        figures.HistogramFigure,
        lambda fig: fig.update(model).png(),
        [model.age],
    )
    counts = figures.histogram_counts(model)
    solara.Text(
        "Cells per OD class 1–7: " + "; ".join(f"{k}: {v}" for k, v in counts.items()),
        classes=["devsim-hist"],
        style={"font-size": "0.75em", "color": "#555"},
    )


@solara.component
def TimelinePanel(model: DevelopmentModel):
    update_counter.get()
    _Figure(
        "timeline", model, figures.TimelineFigure, lambda fig: fig.update(model).png(), [model.age]
    )


@solara.component
def SynapsePanel(model: DevelopmentModel):
    """The shown organism's synaptic graph; on a cortical sheet, its maps (a graph of
    hundreds of units would be a blur) beside its littermate control's."""
    update_counter.get()
    organism, labels = _selected(model)
    solara.Select(
        label="Organism to inspect",
        values=labels,
        value=figures.organism_label(organism),
        on_value=selected_organism.set,
        dense=True,
        classes=["devsim-organism"],
    )
    if model.sheet:
        _Figure(
            "maps",
            model,
            figures.MapFigure,
            lambda fig: fig.update(model, organism.row).png(),
            [model.age, organism.row],
        )
        return
    _Figure(
        "synapses",
        model,
        figures.SynapseFigure,
        lambda fig: fig.update(organism).png(),
        [model.age, organism.row],
    )


@solara.component
def ReceptiveFieldPanel(model: DevelopmentModel):
    update_counter.get()
    organism, _ = _selected(model)
    _Figure(
        "receptive-fields",
        model,
        figures.ReceptiveFieldFigure,
        lambda fig: fig.update(organism).png(),
        [model.age, organism.row],
    )


def _number(value, fmt: str) -> str:
    return "–" if value is None or value != value else format(value, fmt)


def metrics_table(model: DevelopmentModel) -> str:
    """Today's group metrics as a Markdown table."""
    rows = [
        "| group | ODI | CBI | resp. L | resp. R | synapses | gate |",
        "|:--|--:|--:|--:|--:|--:|--:|",
    ]
    for name, m in model.group_metrics.items():
        rows.append(
            f"| {name} | {_number(m['mean_odi'], '+.2f')} | {_number(m['cbi'], '.2f')} "
            f"| {_number(m['response_left'], '.2f')} | {_number(m['response_right'], '.2f')} "
            f"| {_number(m['synapses'], '.0f')} | {_number(m['plasticity'], '.2f')} |"
        )
    return "\n".join(rows)


METRICS_NOTE = """
**Reading the numbers.** *ODI*: mean ocular-dominance index, +1 = left eye only,
−1 = right eye only. *CBI*: contralateral bias index, 1 when all cells prefer the left eye,
0.5 when balanced (a normal mouse has about 0.7). *Resp. L / R*: mean response to test
images shown to the left or right eye alone: a closed eye's response falls first.
*Synapses* per animal. *Gate*: today's plasticity, from 0 to 1.
"""


@solara.component
def MetricsPanel(model: DevelopmentModel):
    update_counter.get()
    with solara.Column(
        style={"padding": "8px 12px", "font-size": "0.85em"}, classes=["devsim-metrics"]
    ):
        solara.Text(f"The groups at P{model.age}", style={"font-weight": "700"})
        solara.Markdown(metrics_table(model))
        solara.Markdown(METRICS_NOTE)


# (component, SolaraViz page index): everything on the first page, two per row.
PANELS = [
    (LitterPanel, 0),
    (HistogramPanel, 0),
    (TimelinePanel, 0),
    (SynapsePanel, 0),
    (ReceptiveFieldPanel, 0),
    (MetricsPanel, 0),
]

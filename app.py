"""The browser simulation: ``solara run app.py`` (or ``make app``, bound to 127.0.0.1:8765).

Assembles the components of :mod:`devsim.viz`. ``Page`` builds the model once per browser
session (``solara.use_memo``), so two people never share a model; Reset in SolaraViz
rebuilds it from the sidebar's parameters.
"""

import solara
from mesa.visualization import SolaraViz

from devsim.viz import MODEL_PARAMS, PANELS, TITLE, Header, PageModel


@solara.component
def Page():
    initial = solara.use_memo(PageModel, dependencies=[])  # one model per session
    model = solara.use_reactive(initial)  # SolaraViz's Reset swaps model.value
    with solara.Column(style={"width": "100%"}):
        Header(model.value)
        # Two simulated days per second: a pace a teacher can narrate, and comfortably longer
        # than one day's step plus the redraw of every panel (benchmarks/bench_app.py).
        SolaraViz(
            model, components=PANELS, model_params=MODEL_PARAMS, name=TITLE, play_interval=500
        )

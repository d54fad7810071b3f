"""The browser app: ``solara run app.py`` (or ``make app``, bound to 127.0.0.1:8765).

The top-level ``app.py`` of a checkout re-exports this module; an installed package runs it
as ``solara run devsim.viz.app``.

Three pages, with tabs in the app bar on every one of them:

* ``/``: the development simulation (``Page``), assembled from :mod:`devsim.viz`.
  ``Page`` builds the model once per browser session (``solara.use_memo``), so two people
  never share a model; Reset in SolaraViz rebuilds it from the sidebar's parameters.
* ``/lessons``: the lessons, step by step, beside a live simulation
  (:mod:`devsim.viz.lessons_page`).
* ``/baldwin``: Hinton & Nowlan's Baldwin effect (:mod:`devsim.viz.baldwin_page`).

Solara picks up ``routes``; the ``Layout`` of the root route wraps every page.
"""

import solara
from mesa.visualization import SolaraViz

from devsim.viz import PANELS, TITLE, Header, PageModel, model_params
from devsim.viz.baldwin_page import BaldwinPage
from devsim.viz.lessons_page import LessonsPage


@solara.component
def Page():
    initial = solara.use_memo(PageModel, dependencies=[])  # one model per session
    model = solara.use_reactive(initial)  # SolaraViz's Reset swaps model.value
    params = solara.use_memo(model_params, dependencies=[])  # reads the presets on first use
    with solara.Column(style={"width": "100%"}):
        Header(model.value)
        # Two simulated days per second: a pace a teacher can narrate, and comfortably longer
        # than one day's step plus the redraw of every panel (benchmarks/bench_app.py).
        SolaraViz(model, components=PANELS, model_params=params, name=TITLE, play_interval=500)


# (path, label): the tabs of the app bar
PAGES = (("/", "Simulation"), ("/lessons", "Lessons"), ("/baldwin", "Baldwin effect"))


@solara.component
def Layout(children=[]):  # noqa: B006  (solara's Layout signature)
    """Solara's AppLayout with the pages as tabs in the app bar."""
    with solara.AppLayout(children=children):  # the page, exactly as the default layout has it
        with solara.AppBar():
            with solara.lab.Tabs(align="center"):
                for path, label in PAGES:
                    solara.lab.Tab(label, path_or_route=path, classes=["devsim-tab"])


routes = [
    solara.Route(path="/", component=Page, label="Simulation", layout=Layout),
    solara.Route(path="lessons", component=LessonsPage, label="Lessons"),
    solara.Route(path="baldwin", component=BaldwinPage, label="Baldwin effect"),
]

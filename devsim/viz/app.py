"""The browser app: ``devsim app`` (or ``make app``; ``solara run devsim.viz.app`` works too).

The top-level ``app.py`` of a checkout re-exports this module.

Pages, with tabs in the app bar on every one of them:

* ``/``: the development simulation (:mod:`devsim.viz.components`). Its state is kept per
  browser session, so switching tabs and coming back finds the same run.
* ``/lessons``: the lessons, step by step, beside a live simulation
  (:mod:`devsim.viz.lessons_page`).
* ``/baldwin``: Hinton & Nowlan's Baldwin effect (:mod:`devsim.viz.baldwin_page`).
* ``/status`` (no tab): the server's sessions and memory, for the teacher.

Solara picks up ``routes``; the ``Layout`` of the root route wraps every page.
"""

import gc
import os

import psutil
import solara
import solara.lab

from devsim.plots import use_text_settings
from devsim.viz.baldwin_page import BaldwinPage
from devsim.viz.components import LIVE_MODELS, Page
from devsim.viz.lessons_page import LessonsPage

# The server is the app's own process, whose threads draw figures at once.
use_text_settings()

# (path, label): the tabs of the app bar
PAGES = (("/", "Simulation"), ("/lessons", "Lessons"), ("/baldwin", "Baldwin effect"))


@solara.component
def Layout(children=[]):  # noqa: B006  (solara's Layout signature)
    """Solara's AppLayout with the pages as tabs in the app bar; always the light theme
    (the lessons and panels are written for it, and it reads best on a projector)."""
    solara.lab.theme.dark = False
    solara.Style(
        # on a phone the tabs need the title's room
        "@media (max-width: 600px) { .v-toolbar__title { display: none; } }\n"
        # the "runs on Solara" badge covered panels, a lesson card and the Baldwin chart
        'div:has(> b > a[href="https://solara.dev"]) { display: none !important; }'
    )
    with solara.AppLayout(children=children, title="devsim", navigation=False):
        with solara.AppBar():
            # inside a Div the tabs share the title's row (as a direct child of the app bar
            # they get a row of their own): 48 px more of the page on a 720p projector
            with solara.Div(style={"flex": "1 1 auto", "min-width": "0"}):
                with solara.lab.Tabs(align="center", background_color="transparent"):
                    for path, label in PAGES:
                        solara.lab.Tab(label, path_or_route=path, classes=["devsim-tab"])


def server_status() -> dict:
    """Live sessions (virtual kernels), the models they hold and the server's memory."""
    from solara.server import kernel_context

    gc.collect()  # a closed session's cycles, so that "models" counts the live ones
    rss = psutil.Process(os.getpid()).memory_info().rss
    return {
        "sessions": len(kernel_context.contexts),
        "models": len(LIVE_MODELS),
        "rss_mib": round(rss / 2**20, 1),
    }


@solara.component
def StatusPage():
    """How loaded the server is (this page's own session included)."""
    status = server_status()
    solara.Text(
        f"sessions: {status['sessions']} · models: {status['models']} · "
        f"memory: {status['rss_mib']} MiB",
        classes=["devsim-status"],
    )


routes = [
    solara.Route(path="/", component=Page, label="Simulation", layout=Layout),
    solara.Route(path="lessons", component=LessonsPage, label="Lessons"),
    solara.Route(path="baldwin", component=BaldwinPage, label="Baldwin effect"),
    solara.Route(path="status", component=StatusPage, label="Status"),
]

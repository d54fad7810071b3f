"""``solara run app.py``: the browser app, which lives in :mod:`devsim.viz.app`."""

from devsim.viz.app import PAGES, Layout, Page, routes  # noqa: F401  (solara reads these)

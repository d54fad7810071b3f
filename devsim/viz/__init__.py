"""The browser front end (Solara + Mesa's SolaraViz): page model, figures and components."""

from devsim.viz.components import PANELS, TITLE, Header
from devsim.viz.page_model import PageModel, model_params

__all__ = ["PANELS", "TITLE", "Header", "PageModel", "model_params"]

"""The browser front end (Solara): page model, live charts, components and pages."""

from devsim.viz.components import TITLE, Page
from devsim.viz.page_model import PageModel, model_params

__all__ = ["TITLE", "Page", "PageModel", "model_params"]

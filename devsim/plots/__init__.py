"""Matplotlib figures (top layer): one module per topic."""

import math
import warnings

import matplotlib
from matplotlib.ticker import LogFormatter

# Titles and legends carry user-given names (scenario, group, sweep): a "$" in them is a
# dollar sign, never TeX. No devsim figure uses mathtext.
matplotlib.rcParams["text.parse_math"] = False
# A name in a script the bundled font lacks draws as boxes; that is not worth a warning
# on every figure (the name is printed correctly in every text output).
warnings.filterwarnings("ignore", message=r"Glyph \d+ .* missing from font", category=UserWarning)


class PlainLogFormatter(LogFormatter):
    """A log axis's tick labels as plain numbers (0.9, 1, 20): matplotlib's own are TeX
    (``$\\mathdefault{10^{0}}$``), which devsim's figures print as written (above).
    Which ticks are labelled is LogFormatter's choice (minor ticks within ~2 decades)."""

    def _num_to_string(self, x, vmin, vmax):
        return f"{x:g}"


def plain_log_labels(axis) -> None:
    """Label a log ``axis`` (``ax.yaxis``) with plain numbers, major and minor ticks."""
    axis.set_major_formatter(PlainLogFormatter())
    axis.set_minor_formatter(PlainLogFormatter(labelOnlyBase=False, minor_thresholds=(2, 0.5)))


def shown(value, spec: str) -> str:
    """A measure as a figure writes it: ``format(value, spec)``, or "n/a" where it could not
    be computed (None, or NaN when no cell responds), as the terminal prints it."""
    if value is None or not math.isfinite(value):
        return "n/a"
    return format(value, spec)

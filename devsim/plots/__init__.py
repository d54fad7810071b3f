"""Matplotlib figures (top layer): one module per topic."""

import functools
import math
import threading
import warnings

import matplotlib
from matplotlib.ticker import LogFormatter

# Titles and legends carry user-given names (scenario, group, sweep): a "$" in them is a
# dollar sign, never TeX. No devsim figure uses mathtext.
TEXT_SETTINGS = {"text.parse_math": False}
# A name in a script the bundled font lacks draws as boxes; that is not worth a warning
# on every figure (the name is printed correctly in every text output).
MISSING_GLYPH = r"Glyph \d+ .* missing from font"


# rc_context and catch_warnings swap the process's settings, not a thread's: figures drawn
# in threads at once take turns, unless the process has devsim's settings for good.
_SETTINGS_LOCK = threading.RLock()
_process_settings = False


def figure(function):
    """A figure function run with devsim's text settings (above), leaving the caller's
    matplotlib as it was: a library must not change a notebook's rcParams, backend or
    warning filters."""

    @functools.wraps(function)
    def drawn(*args, **kwargs):
        if _process_settings:
            return function(*args, **kwargs)
        with _SETTINGS_LOCK, matplotlib.rc_context(TEXT_SETTINGS), warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=MISSING_GLYPH, category=UserWarning)
            return function(*args, **kwargs)

    return drawn


def use_text_settings() -> None:
    """devsim's text settings for the whole process, for good: for the browser app, whose
    server threads draw figures at once (they then draw without taking turns)."""
    global _process_settings
    with _SETTINGS_LOCK:
        matplotlib.rcParams.update(TEXT_SETTINGS)
        warnings.filterwarnings("ignore", message=MISSING_GLYPH, category=UserWarning)
        _process_settings = True


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


def display_name(name: str) -> str:
    """A group name as people read it: ``md_p24`` -> ``MD P24``, ``ko_diazepam_md`` ->
    ``KO diazepam MD``, ``md_4d`` -> ``MD 4 days``; a name with spaces is kept as written."""
    if " " in name:
        return name
    words = {"md": "MD", "bd": "BD", "ko": "KO", "wt": "WT", "ttx": "TTX", "lynx1": "Lynx1"}
    out = []
    for token in name.split("_"):
        if token in words:
            out.append(words[token])
        elif len(token) > 1 and token[0] == "p" and token[1:].isdigit():
            out.append("P" + token[1:])
        elif token[:-1].isdigit() and token[-1] == "d":
            out.append(f"{token[:-1]} days")
        else:
            out.append(token)
    return " ".join(out)

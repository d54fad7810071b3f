"""Matplotlib figures (top layer): one module per topic."""

import warnings

import matplotlib

# Titles and legends carry user-given names (scenario, group, sweep): a "$" in them is a
# dollar sign, never TeX. No devsim figure uses mathtext.
matplotlib.rcParams["text.parse_math"] = False
# A name in a script the bundled font lacks draws as boxes; that is not worth a warning
# on every figure (the name is printed correctly in every text output).
warnings.filterwarnings("ignore", message=r"Glyph \d+ .* missing from font", category=UserWarning)

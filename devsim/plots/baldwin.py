"""The classic Hinton & Nowlan (1987) figure: allele frequencies over generations."""

from __future__ import annotations

import os

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from devsim.errors import DevsimInputError
from devsim.plots import figure

__all__ = ["plot_alleles"]

_CURVES = (
    ("correct", "Correct alleles", "tab:green"),
    ("incorrect", "Incorrect alleles", "tab:red"),
    ("undecided", "Undecided alleles (?)", "tab:blue"),
)
_REQUIRED = ("generation", *(f"{name}{suffix}" for name, *_ in _CURVES for suffix in ("", "_sd")))


def draw_allele_curves(axes, table: pd.DataFrame, curves=_CURVES) -> None:
    """Mean allele frequencies with shaded +-1 sd bands (over runs) on ``axes``.

    ``curves`` holds (column, label, colour) triples.
    """
    generation = table["generation"].to_numpy()
    for name, label, colour in curves:
        mean = table[name].to_numpy(dtype=float)
        sd = table[f"{name}_sd"].to_numpy(dtype=float)
        axes.plot(generation, mean, color=colour, label=label, linewidth=1.8)
        axes.fill_between(
            generation,
            np.clip(mean - sd, 0.0, 1.0),
            np.clip(mean + sd, 0.0, 1.0),
            color=colour,
            alpha=0.2,
            linewidth=0,
        )


@figure
def plot_alleles(
    table: pd.DataFrame, path: str | os.PathLike[str], *, title: str | None = None
) -> Figure:
    """Plot mean allele frequencies with shaded +-1 sd bands and save the figure as PNG.

    Parameters
    ----------
    table : pandas.DataFrame
        Output of :func:`devsim.baldwin.run_baldwin`: columns ``generation, correct, incorrect,
        undecided, correct_sd, incorrect_sd, undecided_sd``.
    path : str or os.PathLike
        Where to write the PNG (written as PNG whatever the file name ends with).
    title : str, optional
        Figure title; defaults to the Hinton & Nowlan reference.

    Raises
    ------
    DevsimInputError
        If ``table`` lacks a required column or has no rows.
    """
    missing = [column for column in _REQUIRED if column not in table.columns]
    if missing:
        raise DevsimInputError(f"table is missing columns {', '.join(missing)}")
    if table.empty:
        raise DevsimInputError("table must have at least one generation row")

    figure = Figure(figsize=(7.5, 4.5), layout="constrained")
    axes = figure.add_subplot()
    draw_allele_curves(axes, table)
    generation = table["generation"].to_numpy()
    axes.set_xlim(generation.min(), max(generation.max(), generation.min() + 1))
    axes.set_ylim(0.0, 1.0)
    axes.set_xlabel("Generation")
    axes.set_ylabel("Relative frequency of alleles")
    axes.set_title(title or "How learning can guide evolution (Hinton & Nowlan, 1987)")
    axes.grid(alpha=0.3)
    axes.legend(loc="center right", frameon=False,
                title="mean, band ± sd over runs")  # fmt: skip
    if "runs_found" in table.columns:
        # the means mix runs that found the target with runs that never did
        found = int(table["runs_found"].iloc[-1])
        runs = table.attrs.get("runs")
        of = f" of {runs}" if runs else ""
        axes.text(0.99, 0.02, f"target found in {found}{of} runs", transform=axes.transAxes,
                  ha="right", va="bottom", fontsize=9, color="#444")  # fmt: skip
    figure.savefig(path, format="png", dpi=120)
    return figure

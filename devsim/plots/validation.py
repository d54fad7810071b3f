"""Figures for the validation table: CP profiles, the two phases of MD, recovery."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from devsim.plots import figure
from devsim.profile import MD_DAYS, Profile
from devsim.validation import RECOVERY_LENGTHS, REVERSE_OCCLUSION_LENGTH, recovery_acuity

REARING_STYLE = {
    "light": ("normal (light-reared)", "#1f77b4"),
    "dark": ("dark-reared until MD", "#444444"),
    "diazepam": ("diazepam at eye opening", "#17becf"),
}


def _seed_sd(values: np.ndarray) -> np.ndarray:
    """The sample sd over seeds (axis 0), as the tables give it; 0 for one seed."""
    values = np.asarray(values, dtype=float)
    if values.shape[0] < 2:
        return np.zeros(values.shape[1:])
    return values.std(axis=0, ddof=1)


@figure
def profile_figure(profile: Profile, path: Path | str) -> Figure:
    """OD shift from :data:`~devsim.profile.MD_DAYS` days of MD against the age MD started
    (mean ± sd over seeds)."""
    fig = Figure(figsize=(6.5, 4), layout="constrained")
    ax = fig.subplots()
    weeks = profile.species == "cat"
    x = np.array(profile.starts) / (7 if weeks else 1)
    for rearing, shifts in profile.shifts.items():
        label, colour = REARING_STYLE.get(rearing, (rearing, None))
        mean = shifts.mean(axis=0)
        ax.plot(x, mean, "o-", color=colour, label=label)
        if shifts.shape[0] > 1:  # the sample sd, as profile.csv and the table give it
            sd = _seed_sd(shifts)
            ax.fill_between(x, mean - sd, mean + sd, color=colour, alpha=0.2, lw=0)
    ax.axhline(0, color="grey", lw=0.5)
    ax.set_xlabel(f"age at start of {MD_DAYS}-day MD ({'weeks' if weeks else 'days'})")
    ax.set_ylabel("OD shift (control CBI - MD CBI)")
    ax.set_title(f"Critical-period profile, {profile.species}")
    ax.legend(frameon=False)
    fig.savefig(path, dpi=110)
    return fig


@figure
def two_phase_figure(
    summary: dict, path: Path | str, group: str = "md_7d", start: int = 24
) -> Figure:
    """Deprived- and open-eye responses during MD, relative to same-age controls."""
    md = summary["groups"][group]["daily"]
    ctl = summary["groups"]["control"]["daily"]
    ages = np.array(md["day"])
    fig = Figure(figsize=(6, 3.8), layout="constrained")
    ax = fig.subplots()
    for eye, label, colour in (
        ("left", "deprived (contra) eye", "#d62728"),
        ("right", "open (ipsi) eye", "#2ca02c"),
    ):
        ratio = np.array(md[f"response_{eye}"]) / np.array(ctl[f"response_{eye}"])
        keep = ages >= start - 2
        ax.plot(ages[keep] - start, 100 * (ratio[keep] - 1), "o-", label=label, color=colour)
    ax.axhline(0, color="grey", lw=0.5)
    ax.axvline(0, color="black", lw=0.8, ls=":")
    ax.set_xlabel("days of monocular deprivation")
    ax.set_ylabel("response vs control (%)")
    ax.set_title("Two phases of MD: depression first, potentiation later")
    ax.legend(frameon=False)
    fig.savefig(path, dpi=110)
    return fig


@figure
def recovery_figure(summaries: list[dict], path: Path | str) -> Figure:
    """Deprived-eye acuity after recovery against MD length; reverse occlusion marked."""
    lengths, ro = RECOVERY_LENGTHS, REVERSE_OCCLUSION_LENGTH
    acuity = recovery_acuity(summaries)
    binocular, reverse, control = acuity["binocular"], acuity["reverse"], acuity["control"]
    fig = Figure(figsize=(6, 3.8), layout="constrained")
    ax = fig.subplots()
    ax.errorbar(
        lengths, binocular.mean(0), yerr=_seed_sd(binocular), fmt="o-", label="binocular recovery"
    )
    ax.errorbar(
        [ro],
        [reverse.mean()],
        yerr=[_seed_sd(reverse)],
        fmt="s",
        color="#d62728",
        label=f"reverse occlusion ({ro}-day MD)",
    )
    ax.axhline(control.mean(), color="grey", ls="--", label="control")
    ax.set_xlabel("length of MD from P30 (days; cat)")
    ax.set_ylabel("deprived-eye acuity at P120")
    ax.set_title("Recovery and amblyopia")
    ax.legend(frameon=False)
    fig.savefig(path, dpi=110)
    return fig

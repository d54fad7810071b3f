"""The critical-period profile: the OD shift from 4 days of MD started at different ages.

Gordon & Stryker (1996) in mouse, Mower (1991) in light- and dark-reared cats. A profile
is one scenario with a control group and one MD group per start day; for dark-reared
animals, each start day has its own dark-reared control (dark until the start, then
light), since the reference must have had the same rearing.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from devsim.defaults import PROFILE_MD_DAYS, PROFILE_ORGANISMS, PROFILE_SPECIES
from devsim.experiment import cbi_shift, run_scenario
from devsim.genome import SPECIES
from devsim.scenario import Scenario, parse_scenario

MD_DAYS = PROFILE_MD_DAYS  # days of each MD
STARTS = {  # per animal (a knockout strain is profiled at its animal's ages)
    "mouse": (15, 18, 21, 24, 27, 30, 33, 36, 40, 46, 52, 60, 70),
    "cat": (14, 21, 28, 35, 42, 49, 56, 63, 77, 91, 112),
}


def default_starts(species: str) -> tuple[int, ...]:
    """The MD start days of a profile of ``species`` (a preset name)."""
    return STARTS[SPECIES[species].animal]


@dataclass(frozen=True)
class Profile:
    """Shift (control CBI - MD CBI at the end of MD) per start day, per rearing."""

    species: str
    starts: tuple[int, ...]
    shifts: dict[str, np.ndarray]  # rearing ("light", "dark", ...) -> (seeds, starts)

    def mean(self, rearing: str = "light") -> np.ndarray:
        return self.shifts[rearing].mean(axis=0)

    def table(self) -> pd.DataFrame:
        """One row per rearing and start day: the shift's mean, its sample sd over seeds
        (as batch and validate give it; NaN for one seed) and each seed's shift
        (``profile.csv``)."""
        rows = []
        for rearing, shifts in self.shifts.items():
            for k, start in enumerate(self.starts):
                column = shifts[:, k]
                rows.append(
                    {
                        "rearing": rearing,
                        "start_day": start,
                        "shift_mean": float(column.mean()),
                        "shift_sd": float(column.std(ddof=1)) if len(column) > 1 else math.nan,
                        **{f"shift_seed{s}": float(v) for s, v in enumerate(column)},
                    }
                )
        return pd.DataFrame(rows)

    def peak_start(self, rearing: str = "light") -> int | None:
        """The start day of the largest mean shift (a start whose shift could not be
        computed in some seed is left out; None if none could)."""
        mean = self.mean(rearing)
        if not np.isfinite(mean).any():
            return None
        return int(self.starts[int(np.nanargmax(mean))])


def profile_scenario(
    species: str = PROFILE_SPECIES,
    starts: tuple[int, ...] | None = None,
    organisms: int = PROFILE_ORGANISMS,
    seed: int = 0,
    dark: bool = False,
    treatments: tuple[dict, ...] = (),
) -> Scenario:
    """A scenario holding the whole profile: control + one MD group per start day."""
    starts = tuple(starts or default_starts(species))
    days = max(starts) + MD_DAYS
    md = {"condition": "lid_suture", "eye": "left"}
    groups = []
    if dark:
        for s in starts:
            # dark-reared until the start day: none before an MD from birth (day 0)
            darkness = [{"from": 0, "to": s, "condition": "dark"}] if s > 0 else []
            groups.append(
                {
                    "name": f"dark_control_p{s}",
                    "organisms": organisms,
                    "rearing": darkness,
                    "treatments": list(treatments),
                }
            )
            groups.append(
                {
                    "name": f"dark_md_p{s}",
                    "organisms": organisms,
                    "rearing": darkness + [{"from": s, "to": s + MD_DAYS, **md}],
                    "treatments": list(treatments),
                }
            )
    else:
        groups.append({"name": "control", "organisms": organisms, "treatments": list(treatments)})
        for s in starts:
            groups.append(
                {
                    "name": f"md_p{s}",
                    "organisms": organisms,
                    "rearing": [{"from": s, "to": s + MD_DAYS, **md}],
                    "treatments": list(treatments),
                }
            )
    return parse_scenario(
        {
            "name": f"Critical-period profile ({species}{', dark-reared' if dark else ''})",
            "species": species,
            "seed": seed,
            "days": days,
            "groups": groups,
        },
        source="<profile>",
    )


def profile_shifts(summary: dict, starts: tuple[int, ...], dark: bool = False) -> np.ndarray:
    """Shift per start day (:func:`devsim.experiment.cbi_shift`), read at the end of each
    MD from the daily CBI series; NaN where a CBI is undefined."""
    out = []
    for s in starts:
        if dark:
            ref, md = f"dark_control_p{s}", f"dark_md_p{s}"
        else:
            ref, md = "control", f"md_p{s}"
        out.append(cbi_shift(summary, md, reference=ref, day=s + MD_DAYS))
    return np.array(out)


def critical_period_profile(
    species: str = PROFILE_SPECIES,
    seeds: tuple[int, ...] = (0,),
    organisms: int = PROFILE_ORGANISMS,
    starts: tuple[int, ...] | None = None,
    rearings: tuple[str, ...] = ("light", "dark"),
) -> Profile:
    """Run the profile for light- (and dark-) reared animals over several seeds.

    ``rearings`` may also contain ``"diazepam"``: light-reared animals given diazepam
    before the natural window (eye opening + 1 day, for 2 days), as in Iwai et al. 2003.
    """
    starts = tuple(starts or default_starts(species))
    opening = SPECIES[species].eye_opening_day
    shifts = {}
    for rearing in rearings:
        rows = []
        for seed in seeds:
            if rearing == "diazepam":
                pulse = ({"from": opening + 1, "to": opening + 3, "drug": "diazepam"},)
                scenario = profile_scenario(species, starts, organisms, seed, treatments=pulse)
            else:
                scenario = profile_scenario(
                    species, starts, organisms, seed, dark=rearing == "dark"
                )
            summary, _ = run_scenario(scenario)
            rows.append(profile_shifts(summary, starts, dark=rearing == "dark"))
        shifts[rearing] = np.array(rows)
    return Profile(species=species, starts=starts, shifts=shifts)

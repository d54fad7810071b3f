"""``devsim profile``: the critical-period profile (OD shift vs age at MD onset)."""

from __future__ import annotations

import argparse
import json
import math

from devsim.budget import Cost, check_cost, limits, scenario_cost
from devsim.budget import add_arguments as add_budget_arguments
from devsim.defaults import PROFILE_MD_DAYS, PROFILE_ORGANISMS, PROFILE_SPECIES, SEEDS_MAX
from devsim.errors import DevsimInputError
from devsim.outputs import check_out, check_own_folder, printable, staged, table_text
from devsim.provenance import provenance
from devsim.scenario import ORGANISMS_MAX


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "profile",
        help="critical-period profile: OD shift vs age at MD onset",
        description=f"{PROFILE_MD_DAYS} days of contralateral lid suture started at each of a "
        "range of ages, for normal and dark-reared animals; writes profile.csv, profile.json "
        "and profile.png.",
    )
    from devsim.genome import SPECIES

    parser.add_argument(
        "--species", choices=tuple(SPECIES), default=PROFILE_SPECIES, help="(default: %(default)s)"
    )
    parser.add_argument(
        "--seeds", type=int, default=3, help="number of seeds, 0..N-1 (default: %(default)s)"
    )
    parser.add_argument(
        "--organisms",
        type=int,
        default=PROFILE_ORGANISMS,
        help="organisms per group (default: %(default)s)",
    )
    parser.add_argument(
        "--starts",
        type=str,
        default=None,
        help="comma-separated MD start days (default: the animal's, e.g. the mouse's for "
        "a knockout)",
    )
    parser.add_argument("--no-dark", action="store_true", help="light-reared animals only")
    parser.add_argument("--out", type=str, required=True, help="output folder")
    add_budget_arguments(parser)
    parser.set_defaults(func=main)


def profile_cost(species, seeds, organisms, starts, rearings) -> Cost:
    """The profile's scenarios, validated and costed before any of them runs."""
    from devsim.profile import profile_scenario

    cost = Cost(0.0, 0.0)
    for rearing in rearings:
        scenario = profile_scenario(species, starts, organisms, dark=rearing == "dark")
        one = scenario_cost(scenario)
        cost = cost + Cost(one.memory, one.organism_days * seeds)
    return cost


def main(args: argparse.Namespace) -> int:

    from devsim.plots.validation import profile_figure
    from devsim.profile import critical_period_profile

    out = check_out(args.out)
    check_own_folder(out, "devsim profile")
    if not 1 <= args.seeds <= SEEDS_MAX:
        raise DevsimInputError(f"--seeds: must be 1..{SEEDS_MAX}, got {args.seeds}")
    if not 1 <= args.organisms <= ORGANISMS_MAX:
        raise DevsimInputError(f"--organisms: must be 1..{ORGANISMS_MAX}, got {args.organisms}")
    starts = None
    if args.starts is not None:
        try:
            starts = tuple(int(s) for s in args.starts.split(","))
        except ValueError:
            raise DevsimInputError(
                f"--starts: expected days like 18,24,30; got {printable(args.starts, 80)!r}"
            ) from None
        if min(starts) < 0 or max(starts) > 3000:
            raise DevsimInputError("--starts: days must lie in 0..3000")
        if len(set(starts)) != len(starts):
            raise DevsimInputError(f"--starts: each day once; got {printable(args.starts, 80)!r}")
    rearings = ("light",) if args.no_dark else ("light", "dark")
    check_cost(
        profile_cost(args.species, args.seeds, args.organisms, starts, rearings),
        *limits(args),
        what="profile",
    )
    profile = critical_period_profile(
        args.species,
        seeds=tuple(range(args.seeds)),
        organisms=args.organisms,
        starts=starts,
        rearings=rearings,
    )
    table = profile.table()
    with staged(out) as staging:
        table.to_csv(staging / "profile.csv", index=False)
        (staging / "profile.json").write_text(
            json.dumps(
                {
                    **provenance(),
                    "species": profile.species,
                    # the settings it ran with (organisms per group and start day)
                    "seeds": list(range(args.seeds)),
                    "organisms": args.organisms,
                    "rearings": list(rearings),
                    "starts": list(profile.starts),
                    "peak_start": {r: profile.peak_start(r) for r in profile.shifts},
                    "shifts": {  # null where a shift could not be computed (JSON has no NaN)
                        r: [
                            [v if math.isfinite(v) else None for v in seed]
                            for seed in s.round(6).tolist()
                        ]
                        for r, s in profile.shifts.items()
                    },
                },
                indent=1,
            )
            + "\n"
        )
        profile_figure(profile, staging / "profile.png")
    print(table_text(table[["rearing", "start_day", "shift_mean", "shift_sd"]]))
    for rearing in profile.shifts:
        peak = profile.peak_start(rearing)
        print(f"peak ({rearing}): MD starting at day {'n/a' if peak is None else peak}")
    print(f"results in {printable(str(out))}/ (profile.csv, profile.json, profile.png)")
    return 0

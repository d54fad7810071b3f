"""``devsim profile``: the critical-period profile (OD shift vs age at MD onset)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from devsim.errors import DevsimInputError
from devsim.outputs import publish_directory, staging_dir


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "profile",
        help="critical-period profile: OD shift vs age at MD onset",
        description="4 days of contralateral lid suture started at each of a range of ages, "
        "for normal and dark-reared animals; writes profile.csv, profile.json "
        "and profile.png.",
    )
    parser.add_argument("--species", choices=("mouse", "cat", "gad65_ko"), default="mouse")
    parser.add_argument("--seeds", type=int, default=3, help="number of seeds (0..N-1)")
    parser.add_argument("--organisms", type=int, default=8, help="organisms per group")
    parser.add_argument(
        "--starts",
        type=str,
        default=None,
        help="comma-separated MD start days (default: species preset)",
    )
    parser.add_argument("--no-dark", action="store_true", help="light-reared animals only")
    parser.add_argument("--out", type=Path, required=True)
    parser.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    import pandas as pd

    from devsim.plots.validation import profile_figure
    from devsim.profile import critical_period_profile

    if args.seeds < 1:
        raise DevsimInputError(f"--seeds: must be >= 1, got {args.seeds}")
    if args.organisms < 1:
        raise DevsimInputError(f"--organisms: must be >= 1, got {args.organisms}")
    starts = None
    if args.starts:
        try:
            starts = tuple(int(s) for s in args.starts.split(","))
        except ValueError:
            raise DevsimInputError(
                f"--starts: expected days like 18,24,30; got {args.starts!r}"
            ) from None
        if min(starts) < 0 or max(starts) > 3000:
            raise DevsimInputError("--starts: days must lie in 0..3000")
    if args.out.exists() and not args.out.is_dir():
        raise DevsimInputError(f"{args.out}: --out must be a folder")
    rearings = ("light",) if args.no_dark else ("light", "dark")
    profile = critical_period_profile(
        args.species,
        seeds=tuple(range(args.seeds)),
        organisms=args.organisms,
        starts=starts,
        rearings=rearings,
    )
    rows = []
    for rearing, shifts in profile.shifts.items():
        for k, start in enumerate(profile.starts):
            rows.append(
                {
                    "rearing": rearing,
                    "start_day": start,
                    "shift_mean": float(shifts[:, k].mean()),
                    "shift_sd": float(shifts[:, k].std()),
                    **{f"shift_seed{s}": float(shifts[s, k]) for s in range(len(shifts))},
                }
            )
    table = pd.DataFrame(rows)
    staging = staging_dir(args.out)
    table.to_csv(staging / "profile.csv", index=False)
    (staging / "profile.json").write_text(
        json.dumps(
            {
                "species": profile.species,
                "starts": list(profile.starts),
                "peak_start": {r: profile.peak_start(r) for r in profile.shifts},
                "shifts": {r: s.round(6).tolist() for r, s in profile.shifts.items()},
            },
            indent=1,
        )
        + "\n"
    )
    profile_figure(profile, staging / "profile.png")
    args.out.mkdir(parents=True, exist_ok=True)
    publish_directory(staging, args.out)
    print(
        table[["rearing", "start_day", "shift_mean", "shift_sd"]].to_string(
            index=False, float_format=lambda v: f"{v:.3f}"
        )
    )
    for rearing in profile.shifts:
        print(f"peak ({rearing}): MD starting at day {profile.peak_start(rearing)}")
    print(f"results in {args.out}/ (profile.csv, profile.json, profile.png)")
    return 0

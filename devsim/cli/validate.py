"""``devsim validate [--quick]``: the validation table against the published results."""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

from devsim.errors import DevsimInputError
from devsim.outputs import (
    atomic_text,
    check_out,
    check_own_folder,
    check_writable,
    printable,
    staged,
)
from devsim.scenario import read_text_file

README_START = "<!-- validation:start -->"
README_END = "<!-- validation:end -->"


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "validate",
        help="reproduce the validation table of published results",
        description="Run every row of the validation table (docs/science.md), print measured "
        "vs target, write validation.json, validation.md and figures; exit 1 if a row fails. "
        "A row passes when the mean over seeds is in range; 'seeds' counts the seeds that "
        "are in range on their own.",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="two seeds, 12 organisms per group, no cat critical-period profile, no "
        "cortical-sheet rows unless named in --rows (what the tests run)",
    )
    parser.add_argument(
        "--out", type=str, default="out/validation", help="output folder (default: out/validation)"
    )
    parser.add_argument(
        "--rows", type=str, default=None, help="comma-separated row numbers to run (default: all)"
    )
    parser.add_argument(
        "--readme",
        type=Path,
        default=None,
        help="rewrite the validation table between the markers in this file (the full run "
        "only: not with --quick or --rows)",
    )
    parser.set_defaults(func=main)


def parse_rows(text: str | None) -> tuple[int, ...] | None:
    from devsim.validation import ROWS

    if text is None:
        return None
    allowed = {r[0] for r in ROWS}
    try:
        rows = tuple(int(t) for t in text.split(","))
    except ValueError:
        raise DevsimInputError(f"--rows: expected numbers like 1,2,5; got {text!r}") from None
    bad = [r for r in rows if r not in allowed]
    if bad:
        raise DevsimInputError(f"--rows: unknown row(s) {bad}; allowed 1..{max(allowed)}")
    twice = sorted({r for r in rows if rows.count(r) > 1})
    if twice:
        raise DevsimInputError(f"--rows: row(s) {twice} given more than once; name each once")
    return rows


def write_figures(runs, rows, folder: Path) -> None:
    from devsim.plots.development import od_histograms
    from devsim.plots.validation import profile_figure, recovery_figure, two_phase_figure

    folder.mkdir(parents=True, exist_ok=True)
    for (name, _seed), summary in sorted(runs._summaries.items()):
        if _seed == runs.settings.seeds[0]:
            od_histograms(summary, folder / f"{name}_od_histograms.png")
    for species, profile in runs._profiles.items():
        profile_figure(profile, folder / f"cp_profile_{species}.png")
    if ("md_timecourse", runs.settings.seeds[0]) in runs._summaries:
        two_phase_figure(
            runs._summaries[("md_timecourse", runs.settings.seeds[0])], folder / "two_phase.png"
        )
    recovery = [s for (n, _), s in runs._summaries.items() if n == "recovery"]
    if recovery:
        recovery_figure(recovery, folder / "recovery.png")


def read_readme(path: Path) -> str:
    """The text of the file ``--readme`` names, checked before anything runs."""
    try:
        text = read_text_file(path, "--readme file")
    except DevsimInputError as exc:
        raise DevsimInputError(f"--readme: {exc}") from None
    if README_START not in text or README_END not in text:
        raise DevsimInputError(
            f"--readme: {printable(str(path))}: no {README_START} ... {README_END} markers"
        )
    # it is replaced whole by a file written beside it: refused now, not after the run
    check_writable(Path(path).absolute().parent, f"--readme: {printable(str(path))}")
    return text


def update_readme(path: Path, table: str) -> None:
    """Replace the table between the markers; the file is replaced whole (atomic)."""
    new = re.sub(
        re.escape(README_START) + ".*?" + re.escape(README_END),
        lambda _: f"{README_START}\n{table}{README_END}",
        read_readme(path),
        flags=re.S,
    )
    atomic_text(path, new)


def main(args: argparse.Namespace) -> int:
    from devsim.validation import Settings, as_json, as_markdown, settings_line, validate

    rows_wanted = parse_rows(args.rows)
    out = check_out(args.out)
    check_own_folder(out, "devsim validate")
    if args.readme:
        if args.quick or rows_wanted is not None:
            raise DevsimInputError(
                "--readme: the published table is the full run of every row; not with "
                f"{'--quick' if args.quick else '--rows'}"
            )
        read_readme(args.readme)
    settings = Settings.quick() if args.quick else Settings()
    rows, runs = validate(
        settings, rows_wanted, progress=lambda msg: print(msg, file=sys.stderr, flush=True)
    )
    width = max(len(m.name) for r in rows for m in r.measures)
    print(settings_line(rows, settings))
    print(f"{'#':>2}  {'quantity':<{width}}  {'target':<14} {'measured':<18} pass  seeds  source")
    for r in rows:
        print(f"-- row {r.number}: {r.experiment}")
        for m in r.measures:
            measured = m.measured()
            print(
                f"{r.number:>2}  {m.name:<{width}}  {m.target():<14} {measured:<18} "
                f"{'NO' if not m.passed else m.verdict():<4}  {m.seeds_in_range():<5}  {r.source}"
            )
    with staged(out) as staging:
        (staging / "validation.json").write_text(
            json.dumps(as_json(rows, settings), indent=1) + "\n", encoding="utf-8"
        )
        (staging / "validation.md").write_text(as_markdown(rows, settings), encoding="utf-8")
        write_figures(runs, rows, staging / "figures")
    if args.readme:
        update_readme(args.readme, as_markdown(rows, settings))
    passed = sum(r.passed for r in rows)
    print(f"{passed} of {len(rows)} rows pass; results in {printable(str(out))}/")
    if passed < len(rows):  # the last line on stderr says why the exit status is 1
        failing = ", ".join(str(r.number) for r in rows if not r.passed)
        print(
            f"devsim validate: {len(rows) - passed} of {len(rows)} rows fail: row(s) {failing} "
            "(marked NO above; docs/science.md, Known disagreements, says why)",
            file=sys.stderr,
        )
    return 0 if passed == len(rows) else 1

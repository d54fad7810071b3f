"""``devsim scenarios``: the shipped scenarios, sweeps and evolution scenarios.

``devsim scenarios`` (or ``devsim scenarios list``) lists them (name, kind, title);
``devsim scenarios copy NAME DIR`` writes an editable copy of one into DIR. A sweep is
copied with its base scenario beside it, so the copy's ``base = "..."`` (a path relative to
the sweep file) finds the copied base, and editing either file changes the copied sweep.
Every shipped name also works directly: ``devsim run md_critical``, ``devsim batch
cp_profile_sweep``, ``devsim evolve assimilation_constant``.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from devsim.errors import DevsimInputError


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "scenarios",
        help="list the shipped scenarios, sweeps and evolution scenarios; copy one to edit",
        description="List the shipped scenarios (devsim run NAME), sweeps (devsim batch NAME) "
        "and evolution scenarios (devsim evolve NAME). 'devsim scenarios copy NAME DIR' "
        "writes an editable copy of one into DIR (a sweep together with its base scenario); "
        "existing files are never overwritten.",
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION")
    copy = actions.add_parser(
        "copy",
        help="write an editable copy of a shipped scenario into DIR",
        description="Write NAME.toml (a sweep: also its base scenario) into DIR; refuses to "
        "overwrite an existing file.",
    )
    copy.add_argument("name", help="a shipped name, as 'devsim scenarios' lists it")
    copy.add_argument("dir", help="folder to write the copy into (created if missing)")
    # `devsim scenarios list`, as `devsim lesson list`: the listing, as with no ACTION
    actions.add_parser(
        "list",
        help="list them (the same as no ACTION)",
        description="List the shipped scenarios, sweeps and evolution scenarios, as "
        "'devsim scenarios' does.",
    )
    parser.set_defaults(func=main)


def _read(path: Path) -> dict:
    from devsim.scenario import read_toml

    return read_toml(path)


def _title(data: dict) -> str:
    sweep = data.get("sweep")
    if isinstance(sweep, dict):
        return str(sweep.get("name") or f"sweep of {sweep.get('base', '?')}")
    return str(data.get("name", ""))


def listing() -> list[tuple[str, str, str]]:
    """(name, kind, title) of every shipped scenario, sweep and evolution scenario."""
    from devsim.shipped import KINDS, scenario_names, scenario_path

    return [
        (name, kind, _title(_read(scenario_path(name, kind))))
        for kind in KINDS
        for name in scenario_names(kind)
    ]


def _find(name: str) -> tuple[str, Path]:
    from devsim.outputs import printable
    from devsim.shipped import KINDS, scenario_names, scenario_path

    for kind in KINDS:
        if name in scenario_names(kind):
            return kind, scenario_path(name, kind)
    every = [n for kind in KINDS for n in scenario_names(kind)]
    raise DevsimInputError(
        f"scenarios copy: no shipped scenario, sweep or evolution scenario "
        f"{printable(name, 60)!r}; shipped: {', '.join(every)}"
    )


def copy(name: str, folder: str) -> list[Path]:
    """Copy a shipped file (and a sweep's base) into ``folder``; the written paths."""
    from devsim.outputs import check_out, printable
    from devsim.shipped import scenario_dir

    kind, source = _find(name)
    out = check_out(folder, flag="DIR", stages=False)  # writes inside DIR
    sources = [source]
    if kind == "sweep":
        base = _read(source)["sweep"]["base"]
        sources.append(scenario_dir() / base)
    targets = [out / s.name for s in sources]
    for target in targets:
        if os.path.lexists(target):
            raise _exists(target)
    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    try:
        for src, target in zip(sources, targets, strict=True):
            with open(target, "xb") as handle:  # "x": never replaces a file that appeared
                handle.write(src.read_bytes())
            written.append(target)
    except FileExistsError:
        for path in written:
            path.unlink(missing_ok=True)
        raise _exists(target) from None
    except OSError as exc:
        for path in written:
            path.unlink(missing_ok=True)
        raise DevsimInputError(
            f"DIR: cannot write {printable(str(target), 200)} ({exc.strerror or exc})"
        ) from None
    return written


def _cut(text: str, limit: int) -> str:
    """``text`` within ``limit`` characters, cut after a whole word (a title cut mid-word,
    in its middle, read "the wor…s orientation")."""
    if len(text) <= limit:
        return text
    return text[: limit - 1].rsplit(" ", 1)[0].rstrip(" ,;:") + "…"


def main(args: argparse.Namespace) -> int:
    from devsim.outputs import printable

    if args.action == "copy":
        written = copy(args.name, args.dir)
        extra = f" (with its base scenario {printable(str(written[1]))})" if written[1:] else ""
        print(f"wrote {printable(str(written[0]))}{extra}")
        return 0
    rows = listing()
    width = max(len(name) for name, _, _ in rows)
    for name, kind, title in rows:
        print(f"{name:<{width}}  {kind:<9}  {_cut(printable(title, 1000), 100)}")
    usage = (
        "run one with 'devsim run NAME', 'devsim batch NAME' or 'devsim evolve NAME'; "
        "'devsim scenarios copy NAME DIR' writes an editable copy"
    )
    print(usage)
    return 0


def _exists(target: Path) -> DevsimInputError:
    """A copy never replaces a file (it may be one's own edited copy): one line."""
    from devsim.outputs import printable

    return DevsimInputError(
        f"DIR: {printable(str(target), 200)} already exists and is not replaced; allowed: "
        "another folder, or remove the file first"
    )

"""The ``devsim`` command line: one module per sub-command, registered here.

Each sub-command module exposes ``add_parser(subparsers)`` which adds its parser and sets
``func`` (a callable taking the parsed namespace and returning an exit code).
"""

from __future__ import annotations

import argparse
import sys

from devsim.errors import DevsimInputError

COMMANDS = ("run", "validate", "profile", "batch", "baldwin", "lesson", "evolve", "bench")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="devsim",
        description="Critical-period development: organisms that wire themselves.",
    )
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    import importlib

    for name in COMMANDS:
        importlib.import_module(f"devsim.cli.{name}").add_parser(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except DevsimInputError as exc:
        print(f"devsim: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

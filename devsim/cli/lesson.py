"""``devsim lesson NAME --out DIR`` and ``devsim lesson --list``: teaching handouts."""

from __future__ import annotations

import argparse
from pathlib import Path

from devsim.errors import DevsimInputError


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "lesson",
        help="run a lesson and write its HTML handout",
        description="Run a lesson's scenarios and write a self-contained HTML handout "
        "(DIR/index.html) with the text, figures and measured vs published numbers.",
    )
    parser.add_argument("name", nargs="?", help="lesson name (see --list)")
    parser.add_argument("--list", action="store_true", help="list the lessons")
    parser.add_argument("--out", type=Path, default=None, help="output folder")
    parser.add_argument("--quick", action="store_true", help="fewer animals and one seed")
    parser.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    from devsim.lessons import find_lesson, lessons

    if args.list:
        for lesson in lessons():
            print(f"{lesson.name:<22} {lesson.title} — {lesson.header.summary}")
        return 0
    if not args.name:
        raise DevsimInputError("lesson: give a lesson NAME or --list")
    if args.out is None:
        raise DevsimInputError("lesson: --out DIR is required to write the handout")
    if args.out.exists() and not args.out.is_dir():
        raise DevsimInputError(f"{args.out}: --out must be a folder")
    lesson = find_lesson(args.name)
    from devsim.handout import build_handout

    build_handout(lesson, args.out, quick=args.quick)
    print(f"{lesson.title}: handout written to {args.out / 'index.html'}")
    return 0

"""``devsim lesson NAME --out DIR`` and ``devsim lesson --list``: teaching handouts.

NAME is looked up among the shipped lessons only (the names ``--list`` prints), never used
as a path; a teacher's own lesson file is given explicitly with ``--file PATH``.
"""

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
    parser.add_argument(
        "--file",
        type=str,
        default=None,
        metavar="PATH",
        help="your own lesson file (Markdown with a TOML header) instead of a NAME",
    )
    parser.add_argument("--out", type=str, default=None, help="output folder")
    parser.add_argument(
        "--quick",
        action="store_true",
        help="two seeds instead of three, and smaller profile, sheet, Baldwin and evolution runs",
    )
    parser.add_argument(
        "--teacher",
        action="store_true",
        help="the teacher's copy: the lesson's notes for the teacher (what to say, what to "
        "ask) at the end, on a page of their own when printed",
    )
    parser.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    from devsim.lessons import find_lesson, lessons, parse_lesson
    from devsim.outputs import check_out, check_own_folder, printable
    from devsim.shipped import lesson_names

    if args.name == "list" and "list" not in lesson_names():  # as `devsim scenarios` lists
        args.list, args.name = True, None
    if args.list:
        extra = [flag for flag, given in (("NAME", args.name is not None),
                 ("--file", args.file is not None), ("--out", args.out is not None),
                 ("--quick", args.quick), ("--teacher", args.teacher)) if given]  # fmt: skip
        if extra:
            raise DevsimInputError(f"--list: lists the lessons only; not with {extra[0]}")
        for lesson in lessons():
            print(
                f"{printable(lesson.name, 40):<22} {printable(lesson.title, 100)} — "
                f"{printable(lesson.header.summary, 200)}"
            )
        return 0
    if args.name is not None and args.file is not None:
        raise DevsimInputError("lesson: give a lesson NAME or --file PATH, not both")
    if args.name is None and args.file is None:
        raise DevsimInputError("lesson: give a lesson NAME (see --list) or --file PATH")
    if args.out is None:
        raise DevsimInputError("lesson: --out DIR is required to write the handout")
    out = check_out(args.out)
    check_own_folder(out, "devsim lesson")
    if args.file is not None:
        if not args.file.strip():
            raise DevsimInputError("--file: must name a lesson file, got an empty string")
        lesson = parse_lesson(Path(args.file))
    else:
        lesson = find_lesson(args.name)
    if args.teacher and not lesson.teacher_notes:
        raise DevsimInputError(
            f"--teacher: {printable(lesson.path.name, 200)} has no '## For the teacher' "
            "section to add; allowed: a lesson with one, or no --teacher"
        )
    from devsim.handout import build_handout

    build_handout(lesson, out, quick=args.quick, teacher=args.teacher)
    print(
        f"{printable(lesson.title, 100)}: handout written to "
        f"{printable(str(out / 'index.html'), 300)}"
    )
    return 0

"""Lessons: guided teaching demos, written as data (Markdown with a TOML header).

A lesson file ``NAME.md`` (the shipped ones are in ``devsim/data/lessons/``) starts with a
TOML header between ``+++`` lines::

    +++
    title = "Hubel & Wiesel: closing one eye"
    summary = "Four days with one eye closed rewire the cortex, if the timing is right."
    order = 1
    scenarios = ["md_critical"]     # shipped scenario names: run, figures in the handout
    rows = [2, 3]                   # validation rows: measured next to published numbers
    profile = "mouse"               # optional: the critical-period profile figure
    baldwin = true                  # optional: the Hinton & Nowlan figure
    +++
    ## The question
    ...

The body is Markdown: the question, the historical experiment with its source, what to
predict, what to look at. A teacher can add a lesson without touching code.
"""

from __future__ import annotations

import html
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StrictInt,
    StrictStr,
    ValidationError,
    field_validator,
)

from devsim.errors import DevsimInputError
from devsim.outputs import printable
from devsim.scenario import (
    MAX_FILE_BYTES,
    Name,
    check_line,
    error_message,
    field_location,
    first_error,
    parse_toml,
    read_text_file,
)
from devsim.shipped import lesson_dir, lesson_names, lesson_path, scenario_names

__all__ = ["Lesson", "LessonHeader", "find_lesson", "lesson_names", "lessons", "parse_lesson"]

TEACHER = "For the teacher"  # the notes: on the page, and in a teacher's copy of the handout
MAX_LESSON_BYTES = MAX_FILE_BYTES  # shipped lessons are a few kB; a bigger file is not a lesson


# A lesson's own pictures: raster files beside it, embedded into handouts and the page
IMAGE_TYPES = {".png": "png", ".jpg": "jpeg", ".jpeg": "jpeg", ".gif": "gif", ".webp": "webp"}
MAX_IMAGE_BYTES = 5 * 2**20
_MARKDOWN_IMAGE = re.compile(r"!\[[^\]]*\]\(\s*(?:<([^>]*)>|([^)\s]+))")
_REFERENCE_IMAGE = re.compile(r"!\[[^\]]*\]\[[^\]]*\]")  # ![text][name]: not embedded
# what each picture type's file starts with (a text file named .png is no picture)
IMAGE_MAGIC = {"png": (b"\x89PNG\r\n\x1a\n",), "jpeg": (b"\xff\xd8\xff",),
               "gif": (b"GIF87a", b"GIF89a"), "webp": (b"RIFF",)}  # fmt: skip
# an ATX heading as Markdown reads it: up to 3 spaces, its level, its text, an optional
# closing run of #s after a space (the splitter and the teacher check both read this)
_HEADING = re.compile(r"^ {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$")
# the line under a setext heading (text, then === or ---)
_SETEXT = re.compile(r"^ {0,3}(=+|-+)[ \t]*$")


def _section_heading(line: str) -> str | None:
    """The text of a ``##`` heading (a step), or None for any other line."""
    match = _HEADING.match(line)
    return (match[2] or "") if match and len(match[1]) == 2 else None


# an <img> element's address: (everything before it, its quote, the address); the handout
# embeds the pictures through the same pattern
IMG_SRC = re.compile(r"(<img\b[^>]*?\bsrc\s*=\s*)([\"'])(.*?)\2", re.IGNORECASE | re.DOTALL)

SUMMARY_MAX = 500  # characters of a lesson's one-line summary (a card on the page)
ORDER_MAX = 100_000
# it goes into a page and a terminal
Line = Annotated[str, AfterValidator(lambda value: check_line(value, SUMMARY_MAX))]


class LessonHeader(BaseModel):
    # strict, as scenario files are: "5", 5.0 or true is never read as a number, "yes" as
    # a boolean; TOML lists are accepted for the tuples, their items are not coerced
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    title: Name  # as a scenario's name
    summary: Line
    order: Annotated[int, Field(ge=0, le=ORDER_MAX)] = 100
    scenarios: tuple[StrictStr, ...] = Field(default=(), strict=False)
    rows: tuple[StrictInt, ...] = Field(default=(), strict=False)
    profile: str | None = None
    baldwin: bool = False
    evolution: tuple[StrictStr, ...] = Field(default=(), strict=False)  # shipped evolution names
    # the language its text is written in (a BCP 47 tag: "en", "de", "pt-BR"), so that a
    # browser, a screen reader and hyphenation in print read it as such
    language: str = "en"

    @field_validator("language")
    @classmethod
    def _language(cls, value: str) -> str:
        if not re.fullmatch(r"[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*", value):
            raise ValueError(
                f"a language tag such as en, de or pt-BR; got {printable(value, 40)!r}"
            )
        return value


@dataclass(frozen=True)
class Lesson:
    name: str
    path: Path
    header: LessonHeader
    body: str
    images: tuple[tuple[str, Path], ...] = ()  # (src as written, its file): the own pictures

    @property
    def title(self) -> str:
        return self.header.title

    def sections(self) -> list[tuple[str, str]]:
        """The body split at ``##`` headings: (heading, markdown) pairs."""
        steps, heading, lines = [], "", []
        for line in self.body.splitlines():
            text = _section_heading(line)
            if text is not None:
                if heading or any(s.strip() for s in lines):
                    steps.append((heading, "\n".join(lines).strip()))
                heading, lines = text.strip(), []
                if _is_teacher_heading(heading):  # "For the Teacher:" is the same section
                    heading = TEACHER
            else:
                lines.append(line)
        steps.append((heading, "\n".join(lines).strip()))
        return steps

    def steps(self) -> list[tuple[str, str]]:
        """The students' sections, for step-by-step (the teacher's notes left out)."""
        return [(h, t) for h, t in self.sections() if h != TEACHER]

    @property
    def student_body(self) -> str:
        """The body without the teacher's notes (what the handout prints)."""
        return "\n\n".join(f"## {h}\n\n{t}" if h else t for h, t in self.steps())

    @property
    def teacher_notes(self) -> str:
        """The ``## For the teacher`` section: what to say, what to ask ("" if none)."""
        return next((t for h, t in self.sections() if h == TEACHER), "")


def _is_teacher_heading(text: str) -> bool:
    return text.casefold().rstrip(": ") == TEACHER.casefold()


def _check_teacher_heading(path: Path, lines: list[str], first_line: int) -> None:
    """The teacher's notes are one last ``## For the teacher`` section (any case, a colon
    allowed): a heading that names the teacher otherwise, a second such section or a
    section after it would print the notes (the answers) in the students' copy or lose
    them, so it is refused."""
    seen = None  # the teacher's heading, once met
    for k, line in enumerate(lines):
        number = first_line + k
        match = _HEADING.match(line)
        if match is None and k + 1 < len(lines) and line.strip() and _SETEXT.match(lines[k + 1]):
            if "teacher" in line.casefold():  # a heading underlined: no step of its own
                raise DevsimInputError(
                    f"{path}: line {number}: heading {printable(line.strip(), 80)!r}: the "
                    f"notes for the teacher go under the heading '## {TEACHER}' (text under "
                    "any other heading is printed in the students' copy)"
                )
            continue
        if match is None:
            continue
        text = match[2] or ""
        if seen is not None and len(match[1]) == 2 and not _is_teacher_heading(text):
            raise DevsimInputError(
                f"{path}: line {number}: section {printable(text, 80)!r} after '## {TEACHER}'; "
                f"allowed: the teacher's section last (move this section above line {seen})"
            )
        if "teacher" not in text.casefold():
            continue
        if len(match[1]) != 2 or not _is_teacher_heading(text):
            raise DevsimInputError(
                f"{path}: line {number}: heading {printable(text, 80)!r}: the notes for "
                f"the teacher go under the heading '## {TEACHER}' (text under any other "
                "heading is printed in the students' copy)"
            )
        if seen is not None:
            raise DevsimInputError(
                f"{path}: line {number}: a second '## {TEACHER}' section; allowed: one (put "
                "all the notes for the teacher under it)"
            )
        seen = number


def parse_lesson(path: Path) -> Lesson:
    """Read and check one lesson file; one clear line naming the file on any problem."""
    path = Path(path)
    text = read_text_file(path, "lesson file", form="Markdown")
    # the header lies between the first two lines that are "+++" (a value may hold +++),
    # the first of them the file's first line that is not blank
    lines = text.splitlines()
    first = next((k for k, line in enumerate(lines) if line.strip()), None)
    fences = [k for k, line in enumerate(lines) if line.strip() == "+++"]
    if first is None or len(fences) < 2 or fences[0] != first:
        raise DevsimInputError(f"{path}: a lesson starts with a TOML header between +++ lines")
    # blank lines for the file's lines above the header: TOML's "line N" is the file's
    header_text = "\n" * (first + 1) + "\n".join(lines[first + 1 : fences[1]])
    data = parse_toml(header_text, str(path), "lesson header", what="TOML header")
    try:
        header = LessonHeader.model_validate(data)
    except ValidationError as exc:
        err = first_error(exc)
        field = field_location(err["loc"]) if err["loc"] else "<header>"
        msg = error_message(err)  # in a lesson author's words, not pydantic's
        allowed = (
            f"; allowed keys: {', '.join(LessonHeader.model_fields)}"
            if err["type"] == "extra_forbidden"
            else ""
        )
        raise DevsimInputError(f"{path}: {field}: {msg}{allowed}") from None
    _check_references(path, header)
    body = "\n".join(lines[fences[1] + 1 :]).strip()
    if not body:
        raise DevsimInputError(f"{path}: the lesson has no text after its header")
    for number, line in enumerate(lines[fences[1] + 1 :], start=fences[1] + 2):
        if any(unicodedata.category(c) == "Cc" and c != "\t" for c in line):
            raise DevsimInputError(
                f"{path}: line {number}: a control character in the text; allowed: printable text"
            )
    _check_teacher_heading(path, lines[fences[1] + 1 :], fences[1] + 2)
    lesson = Lesson(name=path.stem, path=path, header=header, body=body,
                    images=_images(path, body))  # fmt: skip
    if not any(text for _, text in lesson.steps()):
        raise DevsimInputError(
            f"{path}: the lesson has no text for students (only '## {TEACHER}'); allowed: "
            "sections students read, and the teacher's notes under their own heading"
        )
    return lesson


def _images(path: Path, body: str) -> tuple[tuple[str, Path], ...]:
    """The lesson's own pictures: every image whose address is a relative path, found in the
    lesson's folder (or below it) as a PNG, JPEG, GIF or WebP file of at most
    :data:`MAX_IMAGE_BYTES`. A handout is one offline file, so they are embedded in it."""
    sources = [a or b for a, b in _MARKDOWN_IMAGE.findall(body)]
    sources += [html.unescape(src) for _, _, src in IMG_SRC.findall(body)]
    folder = path.resolve().parent
    found: dict[str, Path] = {}
    allowed = (f"allowed: {', '.join(sorted(set(IMAGE_TYPES.values())))} files of at most "
               f"{MAX_IMAGE_BYTES // 2**20} MiB in the lesson's folder")  # fmt: skip
    if reference := _REFERENCE_IMAGE.search(body):
        raise DevsimInputError(
            f"{path}: image {printable(reference[0], 80)!r}: a picture is written "
            "![text](file), its file named in the brackets"
        )
    for src in sources:
        text = src.strip()
        if not text or text.startswith("data:") or text in found:
            continue  # a picture already in the text: the sanitiser decides
        name = printable(text, 200)
        if ":" in text.split("/", 1)[0] or text.startswith(("/", "\\")):
            raise DevsimInputError(
                f"{path}: image {name!r}: a handout is one file that works offline, so a "
                "picture is a file in the lesson's folder, named by a relative path (such as "
                "figures/eye.png), not a web address or an absolute path"
            )
        file = (folder / text).resolve()
        if not file.is_relative_to(folder):
            raise DevsimInputError(f"{path}: image {name!r}: outside the lesson's folder; "
                                   f"{allowed}")  # fmt: skip
        kind = IMAGE_TYPES.get(file.suffix.lower())
        if kind is None:
            raise DevsimInputError(f"{path}: image {name!r}: not a picture type; {allowed}")
        if not file.is_file():
            raise DevsimInputError(f"{path}: image {name!r}: no such file; {allowed}")
        if file.stat().st_size > MAX_IMAGE_BYTES:
            raise DevsimInputError(f"{path}: image {name!r}: too large; {allowed}")
        with open(file, "rb") as handle:
            start = handle.read(12)
        if not start.startswith(IMAGE_MAGIC[kind]) or (kind == "webp" and start[8:] != b"WEBP"):
            raise DevsimInputError(f"{path}: image {name!r}: not a {kind.upper()} file (its "
                                   f"bytes); {allowed}")  # fmt: skip
        found[text] = file
    return tuple(found.items())


def _check_references(path: Path, header: LessonHeader) -> None:
    """Scenario names are looked up among the shipped ones, never used as paths."""
    from devsim.validation import ROWS

    for field, kind in (("scenarios", "scenario"), ("evolution", "evolution")):
        known = scenario_names(kind)
        names = getattr(header, field)
        if len(set(names)) != len(names):  # it would be run, and printed, twice
            raise DevsimInputError(f"{path}: {field}: {list(names)}; allowed: each name once")
        for name in names:
            if name not in known:
                shipped = "scenarios" if kind == "scenario" else f"{kind} scenarios"
                raise DevsimInputError(
                    f"{path}: {field}: no scenario {printable(name, 60)!r} among the shipped "
                    f"{shipped}; allowed: {', '.join(known)}"
                )
    numbers = {r[0] for r in ROWS}
    if len(set(header.rows)) != len(header.rows):
        raise DevsimInputError(f"{path}: rows: {list(header.rows)}; allowed: each row once")
    for row in header.rows:
        if row not in numbers:
            raise DevsimInputError(
                f"{path}: rows: no validation row {row}; allowed {min(numbers)}..{max(numbers)}"
            )
    if header.profile is not None and header.profile not in ("mouse", "cat"):
        raise DevsimInputError(f"{path}: profile: {header.profile!r}; allowed mouse, cat")


def lessons(folder: Path | None = None, errors: list[str] | None = None) -> list[Lesson]:
    """All lessons in ``folder`` (default: the shipped ones), in teaching order. A malformed
    file raises :class:`DevsimInputError`, or, given ``errors``, adds its one line there
    and the other lessons are still returned (a class is not held up by one typo)."""
    folder = lesson_dir() if folder is None else folder
    found = []
    for path in sorted(folder.glob("*.md")):
        try:
            found.append(parse_lesson(path))
        except DevsimInputError as exc:
            if errors is None:
                raise
            errors.append(str(exc))
    return sorted(found, key=lambda lesson: (lesson.header.order, lesson.name))


def find_lesson(name: str) -> Lesson:
    """A shipped lesson by its name (as ``--list`` prints it); never a path. An unknown
    name's error lists the lessons in teaching order."""
    if name not in lesson_names():
        order = ", ".join(lesson.name for lesson in lessons())
        own = " (a lesson file of one's own: --file PATH)" if name.endswith(".md") else ""
        raise DevsimInputError(
            f"lesson '{printable(name, 60)}' not found{own}; available, in teaching order: {order}"
        )
    return parse_lesson(lesson_path(name))  # the name is compared as a string, never opened

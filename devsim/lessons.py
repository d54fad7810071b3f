"""Lessons: guided teaching demos, written as data (Markdown with a TOML header).

A lesson file ``lessons/NAME.md`` starts with a TOML header between ``+++`` lines::

    +++
    title = "Hubel & Wiesel: closing one eye"
    summary = "Four days with one eye closed rewire the cortex, if the timing is right."
    order = 1
    scenarios = ["md_critical"]     # scenarios/NAME.toml: run, figures in the handout
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

import tomllib
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from devsim.errors import DevsimInputError

LESSON_DIR = Path(__file__).resolve().parents[1] / "lessons"
SCENARIO_DIR = Path(__file__).resolve().parents[1] / "scenarios"


class LessonHeader(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    title: str = Field(min_length=1)
    summary: str = Field(min_length=1)
    order: int = 100
    scenarios: tuple[str, ...] = ()
    rows: tuple[int, ...] = ()
    profile: str | None = None
    baldwin: bool = False
    evolution: tuple[str, ...] = ()  # scenarios/evolution/NAME.toml


@dataclass(frozen=True)
class Lesson:
    name: str
    path: Path
    header: LessonHeader
    body: str

    @property
    def title(self) -> str:
        return self.header.title

    def steps(self) -> list[tuple[str, str]]:
        """The body split at ``## `` headings: (heading, markdown) pairs, for step-by-step."""
        steps, heading, lines = [], "", []
        for line in self.body.splitlines():
            if line.startswith("## "):
                if heading or any(s.strip() for s in lines):
                    steps.append((heading, "\n".join(lines).strip()))
                heading, lines = line[3:].strip(), []
            else:
                lines.append(line)
        steps.append((heading, "\n".join(lines).strip()))
        return steps


def parse_lesson(path: Path) -> Lesson:
    """Read and check one lesson file; one clear line naming the file on any problem."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise DevsimInputError(f"{path}: no such lesson file") from None
    parts = text.split("+++")
    if not text.lstrip().startswith("+++") or len(parts) < 3:
        raise DevsimInputError(f"{path}: a lesson starts with a TOML header between +++ lines")
    try:
        data = tomllib.loads(parts[1])
    except tomllib.TOMLDecodeError as exc:
        raise DevsimInputError(f"{path}: malformed TOML header: {exc}") from None
    try:
        header = LessonHeader.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        field = ".".join(str(p) for p in err["loc"]) or "<header>"
        msg = "unknown key" if err["type"] == "extra_forbidden" else err["msg"]
        allowed = (
            f"; allowed keys: {', '.join(LessonHeader.model_fields)}"
            if err["type"] == "extra_forbidden"
            else ""
        )
        raise DevsimInputError(f"{path}: {field}: {msg}{allowed}") from None
    _check_references(path, header)
    body = "+++".join(parts[2:]).strip()
    if not body:
        raise DevsimInputError(f"{path}: the lesson has no text after its header")
    return Lesson(name=path.stem, path=path, header=header, body=body)


def _check_references(path: Path, header: LessonHeader) -> None:
    from devsim.validation import ROWS

    for name in header.scenarios:
        if not (SCENARIO_DIR / f"{name}.toml").exists():
            raise DevsimInputError(f"{path}: scenarios: no scenario {name!r} in {SCENARIO_DIR}")
    for name in header.evolution:
        if not (SCENARIO_DIR / "evolution" / f"{name}.toml").exists():
            raise DevsimInputError(
                f"{path}: evolution: no scenario {name!r} in scenarios/evolution"
            )
    numbers = {r[0] for r in ROWS}
    for row in header.rows:
        if row not in numbers:
            raise DevsimInputError(
                f"{path}: rows: no validation row {row}; allowed {min(numbers)}..{max(numbers)}"
            )
    if header.profile is not None and header.profile not in ("mouse", "cat"):
        raise DevsimInputError(f"{path}: profile: {header.profile!r}; allowed mouse, cat")


def lessons(folder: Path = LESSON_DIR) -> list[Lesson]:
    """All lessons in ``folder``, in teaching order."""
    found = [parse_lesson(p) for p in sorted(folder.glob("*.md"))]
    return sorted(found, key=lambda lesson: (lesson.header.order, lesson.name))


def find_lesson(name: str, folder: Path = LESSON_DIR) -> Lesson:
    path = folder / f"{name}.md"
    if not path.exists():
        names = ", ".join(lesson.name for lesson in lessons(folder))
        raise DevsimInputError(f"lesson {name!r} not found; available: {names}")
    return parse_lesson(path)

"""Issue 17 (lessons): names resolve only among shipped lessons, lesson HTML is sanitised,
bad names and outputs are one-line errors, and handouts appear whole or not at all.

Every lesson used here is text only (no scenarios, rows or figures), so nothing is simulated.
"""

from __future__ import annotations

import os
import re
import threading

import pytest

from devsim import handout
from devsim.cli import main
from devsim.handout import render_text
from devsim.lessons import MAX_LESSON_BYTES, lesson_names
from devsim.shipped import lesson_dir

SHIPPED = lesson_names()
TEXT_LESSON = """+++
title = "A teacher's own lesson"
summary = "Only text, so nothing is simulated."
+++
## The question

What does *one* closed eye do?

- first
- second

| age | shift |
|:----|------:|
| P28 | 0.4   |

A [link](https://example.org/paper) and `code`.
"""


def _one_error_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("devsim: error: ")
    assert "Traceback" not in err
    return lines[0]


def _leftovers(folder) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


# 1. lessons resolve only by name among the shipped ones ---------------------------------


@pytest.mark.parametrize(
    "name",
    [
        str(lesson_dir().parent / "README"),  # an absolute path to Markdown elsewhere
        "../README",
        str(lesson_dir() / "timing"),  # even a shipped lesson, given as a path
        "lessons/timing",
        "timing.md",
        "./timing",
        "/etc/passwd",
        "",
    ],
)
def test_lesson_names_are_never_paths(name, tmp_path, capsys):
    assert main(["lesson", name, "--out", str(tmp_path / "h")]) == 2
    line = _one_error_line(capsys.readouterr().err)
    assert "not found" in line
    assert "available, in teaching order: " in line
    assert sorted(line.split("teaching order: ")[1].split(", ")) == sorted(SHIPPED)
    assert not (tmp_path / "h").exists()


def test_every_listed_name_is_accepted(capsys):
    assert main(["lesson", "--list"]) == 0
    listed = [line.split()[0] for line in capsys.readouterr().out.splitlines()]
    assert sorted(listed) == SHIPPED


@pytest.mark.parametrize(
    ("extra", "named"),
    [(["timing"], "NAME"), (["--file", "x.md"], "--file"), (["--out", "o"], "--out")],
)
def test_list_refuses_what_it_would_ignore(tmp_path, capsys, extra, named):
    assert main(["lesson", "--list", *extra]) == 2
    assert _one_error_line(capsys.readouterr().err).endswith(f"not with {named}")


def test_own_lesson_file_is_explicit_and_builds(tmp_path, capsys):
    path = tmp_path / "mine.md"
    path.write_text(TEXT_LESSON)
    out = tmp_path / "h"
    assert main(["lesson", "--file", str(path), "--out", str(out)]) == 0
    assert "A teacher's own lesson: handout written to" in capsys.readouterr().out
    page = (out / "index.html").read_text()
    assert "<h2>The question</h2>" in page
    assert "the lesson file mine.md" in page
    assert _leftovers(tmp_path) == []


def test_name_and_file_together_are_refused(tmp_path, capsys):
    path = tmp_path / "mine.md"
    path.write_text(TEXT_LESSON)
    assert main(["lesson", "timing", "--file", str(path), "--out", str(tmp_path / "h")]) == 2
    assert "not both" in _one_error_line(capsys.readouterr().err)


@pytest.mark.parametrize("kind", ["fifo", "dev_zero", "folder", "missing", "too_big", "binary"])
def test_own_lesson_file_must_be_a_small_regular_text_file(kind, tmp_path, capsys):
    path = tmp_path / "lesson.md"
    expected = {
        "fifo": "must be a regular Markdown file",
        "dev_zero": "must be a regular Markdown file",
        "folder": "must be a regular Markdown file",
        "missing": "no such lesson file",
        "too_big": f"allowed at most {MAX_LESSON_BYTES}",
        "binary": "not UTF-8 text",
    }[kind]
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "dev_zero":
        path = "/dev/zero"
    elif kind == "folder":
        path.mkdir()
    elif kind == "too_big":
        with open(path, "wb") as handle:
            handle.truncate(MAX_LESSON_BYTES + 1)  # sparse: costs no disk
    elif kind == "binary":
        path.write_bytes(b"+++\ntitle = '\xff'\n+++\n")
    result: list[int] = []
    worker = threading.Thread(  # a FIFO with no writer must not hang the command
        target=lambda: result.append(
            main(["lesson", "--file", str(path), "--out", str(tmp_path / "h")])
        ),
        daemon=True,
    )
    worker.start()
    worker.join(timeout=10)
    assert result == [2], "reading the lesson file blocked or did not fail cleanly"
    line = _one_error_line(capsys.readouterr().err)
    assert expected in line
    assert not (tmp_path / "h").exists()


# 2. raw HTML in lesson Markdown is sanitised ---------------------------------------------

ATTACKS = """
<script>alert('script')</script>

<img src="x.png" onerror="alert('onerror')">

<iframe src="https://evil.example/frame"></iframe>

<p onclick="alert('onclick')" onmouseover="alert('hover')" style="position:fixed">p</p>

<svg onload="alert('svg')"><circle r="1"/></svg>

<object data="evil.swf"></object><embed src="evil.swf">

<form action="https://evil.example"><input name="q"></form>

<style>body { display: none }</style>

<meta http-equiv="refresh" content="0;url=https://evil.example">

<base href="https://evil.example/">

<a href="javascript:alert('raw')">raw</a>
<a href="jav&#x09;ascript:alert('tab')">tab</a>
<a href="  JaVaScRiPt:alert('case')">case</a>
<a href="data:text/html;base64,PHNjcmlwdD4=">data link</a>

[md link](javascript:alert('md'))
[vb](vbscript:msgbox)
![svg](data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+)
![tracker](https://evil.example/pixel.png)
![tracker2](//evil.example/pixel.png)
"""
# pictures from elsewhere: the sanitiser drops them, and a lesson file is refused for them
REMOTE = """![tracker](https://evil.example/pixel.png)
![tracker2](//evil.example/pixel.png)
"""

NORMAL = """# Heading one

## Heading two

Some *emphasis*, **strong**, `inline code` and <sup>2</sup> <sub>x</sub>.

- one
- two

Then in order:

1. first
2. second

| age | shift |
|:----|------:|
| P28 | 0.4   |

[a paper](https://example.org/paper) and [another lesson](timing.html)

![figure](data:image/png;base64,iVBORw0KGgo=) ![local](figure.png)

> a quotation

    indented code

---
"""


def test_sanitiser_removes_every_attack():
    page = render_text(ATTACKS).lower()
    for needle in (
        "<script",
        "alert(",
        "onerror",
        "onclick",
        "onmouseover",
        "onload",
        "<iframe",
        "<svg",
        "<object",
        "<embed",
        "<form",
        "<input",
        "<style",
        "<meta",
        "<base",
        "javascript:",
        "vbscript:",
        "data:text",
        "data:image/svg",
        "evil.example",
        "position:fixed",
    ):
        assert needle not in page, needle
    assert re.search(r"\son\w+\s*=", page) is None  # no event handler of any name


def test_sanitiser_keeps_normal_markdown():
    page = render_text(NORMAL)
    assert "<h1>Heading one</h1>" in page
    assert "<h2>Heading two</h2>" in page
    assert "<em>emphasis</em>" in page
    assert "<strong>strong</strong>" in page
    assert "<code>inline code</code>" in page
    assert "<sup>2</sup>" in page
    assert "<sub>x</sub>" in page
    assert "<ul>" in page
    assert "<ol>" in page
    assert page.count("<li>") == 4
    assert "<table>" in page
    assert "<th" in page
    assert "<td" in page
    assert 'style="text-align:right"' in page  # column alignment survives
    assert '<a href="https://example.org/paper"' in page
    assert '<a href="timing.html"' in page
    assert 'src="data:image/png;base64,iVBORw0KGgo="' in page
    assert 'src="figure.png"' in page
    assert "<blockquote>" in page
    assert "<pre><code>indented code" in page
    assert "<hr>" in page


def test_text_in_angle_brackets_is_shown():
    """A teacher's placeholder or gene name in angle brackets is text, not a tag to drop
    (ammonia removed '<g_inh>' and '<your answer>', leaving students a gap); real HTML
    elements are still removed."""
    page = render_text("The gene <g_inh> sets GABA. Fill in <your answer> after <N> days.")
    assert "The gene &lt;g_inh&gt; sets GABA." in page
    assert "Fill in &lt;your answer&gt; after &lt;N&gt; days." in page
    page = render_text('<x onclick="alert(1)">hi</x> <span onclick="alert(2)">there</span>')
    assert "&lt;x onclick" in page  # shown as text, never a tag
    for needle in ("<x", "<span", "alert(2)"):
        assert needle not in page, needle
    assert "there" in page


def test_a_folded_answer_stays_folded():
    """<details> keeps an answer hidden until opened (it was flattened to "Answerhidden",
    showing students the answer); its attributes go, as every tag's do."""
    page = render_text(
        '<details open onclick="x()"><summary>Answer</summary>\n\nIt shifts.\n\n</details>'
    )
    assert "<details><summary>Answer</summary>" in page
    assert "It shifts." in page
    assert "onclick" not in page
    assert "open" not in page


def test_handout_page_is_sanitised(tmp_path):
    path = tmp_path / "evil.md"
    assert REMOTE in ATTACKS
    path.write_text(TEXT_LESSON + ATTACKS.replace(REMOTE, ""))
    (tmp_path / "x.png").write_bytes(PNG)  # the picture an attack hangs its handler on
    out = tmp_path / "h"
    assert main(["lesson", "--file", str(path), "--out", str(out)]) == 0
    page = (out / "index.html").read_text().lower()
    for needle in ("<script", "alert(", "onerror", "<iframe", "javascript:", "evil.example"):
        assert needle not in page, needle
    assert "<h2>the question</h2>" in page
    assert "<table>" in page


# 3. a too-long name is the one-line error -------------------------------------------------


@pytest.mark.parametrize("name", ["x" * 300, "a/" * 3000, "y" * 100_000])
def test_too_long_lesson_name_is_one_line(name, tmp_path, capsys):
    assert main(["lesson", name, "--out", str(tmp_path / "h")]) == 2
    line = _one_error_line(capsys.readouterr().err)
    assert "not found; available, in teaching order:" in line
    assert len(line) < 1000


def test_too_long_lesson_file_name_is_one_line(tmp_path, capsys):
    path = str(tmp_path / ("z" * 300 + ".md"))
    assert main(["lesson", "--file", path, "--out", str(tmp_path / "h")]) == 2
    assert "cannot read the lesson file" in _one_error_line(capsys.readouterr().err)


def test_own_lesson_cannot_reach_scenarios_by_path(tmp_path, capsys):
    path = tmp_path / "mine.md"
    path.write_text(
        TEXT_LESSON.replace("+++\n## The", 'scenarios = ["../scenarios/normal"]\n+++\n## The', 1)
    )
    assert main(["lesson", "--file", str(path), "--out", str(tmp_path / "h")]) == 2
    line = _one_error_line(capsys.readouterr().err)
    assert "scenarios: no scenario '../scenarios/normal'" in line
    assert "allowed: " in line
    assert "normal" in line


# 4. --out is checked first; the handout appears whole or not at all -----------------------


@pytest.mark.parametrize("case", ["empty", "root", "file", "file_on_the_way", "too_long"])
def test_bad_out_is_refused_before_any_work(case, tmp_path, capsys, monkeypatch):
    (tmp_path / "a_file").write_text("x")
    out = {
        "empty": "",
        "root": "/",
        "file": str(tmp_path / "a_file"),
        "file_on_the_way": str(tmp_path / "a_file" / "h"),
        "too_long": str(tmp_path / ("o" * 300)),
    }[case]

    def no_work(*args, **kwargs):
        raise AssertionError("the lesson was looked up before --out was checked")

    monkeypatch.setattr("devsim.lessons.find_lesson", no_work)
    assert main(["lesson", "timing", "--out", out]) == 2
    assert _one_error_line(capsys.readouterr().err).startswith("devsim: error: --out: ")
    assert (tmp_path / "a_file").read_text() == "x"


@pytest.mark.parametrize("exc", [RuntimeError("boom"), KeyboardInterrupt()])
def test_failed_build_leaves_no_handout_and_no_staging(exc, tmp_path, monkeypatch, capsys):
    path = tmp_path / "mine.md"
    path.write_text(TEXT_LESSON)
    seen = []

    def fail(*args, **kwargs):
        seen.extend(p.name for p in tmp_path.iterdir() if ".staging-" in p.name)
        raise exc

    monkeypatch.setattr(handout, "_page", fail)
    if isinstance(exc, KeyboardInterrupt):
        assert main(["lesson", "--file", str(path), "--out", str(tmp_path / "h")]) == 130
    else:
        with pytest.raises(RuntimeError):
            main(["lesson", "--file", str(path), "--out", str(tmp_path / "h")])
    assert seen, "the handout was not built in a staging folder"
    assert not (tmp_path / "h").exists()
    assert _leftovers(tmp_path) == []


def test_rebuild_over_an_old_handout_replaces_it_whole(tmp_path, monkeypatch):
    path = tmp_path / "mine.md"
    path.write_text(TEXT_LESSON)
    out = tmp_path / "h"
    assert main(["lesson", "--file", str(path), "--out", str(out)]) == 0
    before = (out / "index.html").read_text()
    monkeypatch.setattr(
        handout, "_page", lambda *a, **k: (_ for _ in ()).throw(OSError("disk full"))
    )
    with pytest.raises(OSError, match="disk full"):
        main(["lesson", "--file", str(path), "--out", str(out)])
    assert (out / "index.html").read_text() == before  # the old handout is untouched
    assert _leftovers(tmp_path) == []


# 5. names and titles echoed to the terminal are printable ---------------------------------


def test_control_characters_in_a_name_are_escaped(tmp_path, capsys):
    assert main(["lesson", "evil\x1b[2J\nname", "--out", str(tmp_path / "h")]) == 2
    err = capsys.readouterr().err
    assert "\x1b" not in err
    assert "evil\\x1b[2J\\nname" in _one_error_line(err)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("title", "T\\u0007\\u001b[2J", "printable"),
        ("summary", "line one\\nline two", "printable"),
        ("title", "x" * 201, "at most 200 characters"),
    ],
)
def test_a_lesson_title_and_summary_are_printable_lines(tmp_path, capsys, field, value, message):
    """They title the handout's page and the terminal's list: no control characters."""
    path = tmp_path / "mine.md"
    old = {"title": "A teacher's own lesson", "summary": "Only text, so nothing is simulated."}
    path.write_text(TEXT_LESSON.replace(f'"{old[field]}"', f'"{value}"'))
    assert main(["lesson", "--file", str(path), "--out", str(tmp_path / "h")]) == 2
    line = _one_error_line(capsys.readouterr().err)
    assert field in line
    assert message in line
    assert not (tmp_path / "h").exists()


@pytest.mark.parametrize(
    ("header", "body", "needle"),
    [
        ('title = "t"\nsummary = "s"', "## For the teacher\n\nnotes only", "no text for students"),
        ('title = "t"\nsummary = "' + "x" * 501 + '"', "Text.", "summary: "),
        ('title = "t"\nsummary = "s"\nrows = [2, 2]', "Text.", "each row once"),
        ('title = "t"\nsummary = "s"\norder = 99999999999999999999', "Text.", "order"),
        ('title = "t"\nsummary = "s"', "Text with a NUL \x00 in it.", "line 5: a control"),
        ('title = "t"\nsummary = "s"\nscenarios = ["nope"]', "Text.", "the shipped scenarios;"),
        # in a lesson author's words, not pydantic's ("Input should be a valid tuple")
        (
            'title = "t"\nsummary = "s"\nscenarios = "normal"',
            "Text.",
            "scenarios: must be a list, got text 'normal'",
        ),
        ('title = "t"\nsummary = "s"\nrows = ["2"]', "Text.", "rows[0]: must be a whole number"),
        (
            'title = "' + "x" * 201 + '"\nsummary = "s"',
            "Text.",
            "title: at most 200 characters, got 201",
        ),
        (
            'title = "t"\nsummary = "s"\nlanguage = "deutsch!"',
            "Text.",
            "language: a language tag such as en, de or pt-BR; got 'deutsch!'",
        ),
    ],
)
def test_a_lesson_students_cannot_use_is_refused_in_one_line(tmp_path, header, body, needle):
    """A lesson with only teacher's notes crashed the Lessons page; a summary of any length,
    a row listed twice, an order beyond any use and a control character were accepted."""
    from devsim.errors import DevsimInputError
    from devsim.lessons import parse_lesson

    path = tmp_path / "l.md"
    path.write_text(f"+++\n{header}\n+++\n{body}\n", encoding="utf-8")
    with pytest.raises(DevsimInputError) as info:
        parse_lesson(path)
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(f"{path}: ")
    assert needle in message, message


def test_a_header_value_may_hold_three_pluses(tmp_path):
    from devsim.lessons import parse_lesson

    path = tmp_path / "l.md"
    path.write_text('+++\ntitle = "a+++b"\nsummary = "s"\n+++\nText.\n', encoding="utf-8")
    lesson = parse_lesson(path)
    assert lesson.title == "a+++b"
    assert lesson.body == "Text."


PNG = bytes.fromhex(  # a 1 x 1 PNG
    "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489"
    "0000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
)


def test_a_lessons_own_pictures_are_embedded_in_the_handout(tmp_path, capsys):
    """A handout is one offline file: a picture beside the lesson (Markdown or HTML) was
    left as a relative address that the handout's folder does not hold."""
    import base64

    (tmp_path / "figs").mkdir()
    (tmp_path / "figs" / "eye & lid.png").write_bytes(PNG)
    path = tmp_path / "mine.md"
    path.write_text(TEXT_LESSON + "\n![a diagram](<figs/eye & lid.png>)\n"
                    '<img src="figs/eye &amp; lid.png" alt="again">\n')  # fmt: skip
    out = tmp_path / "h"
    assert main(["lesson", "--file", str(path), "--out", str(out)]) == 0
    page = (out / "index.html").read_text()
    embedded = f"data:image/png;base64,{base64.b64encode(PNG).decode()}"
    assert page.count(embedded) == 2
    assert "figs/" not in page


@pytest.mark.parametrize(
    ("src", "needle"),
    [
        ("missing.png", "image 'missing.png': no such file"),
        ("../outside.png", "image '../outside.png': outside the lesson's folder; allowed: gif"),
        ("notes.txt", "image 'notes.txt': not a picture type; allowed: gif, jpeg, png, webp"),
        ("fake.png", "image 'fake.png': not a PNG file (its bytes)"),
        # (each of these printed nothing, or only on the machine that made it)
        ("https://example.org/x.png", "a handout is one file that works offline"),
        ("//evil.example/pixel.png", "not a web address or an absolute path"),
        ("file:///tmp/x.png", "not a web address or an absolute path"),
        ("/tmp/outside.png", "not a web address or an absolute path"),
        ("![x][ref]\n\n[ref]: figs.png", "a picture is written ![text](file)"),
    ],
)
def test_a_picture_the_handout_cannot_embed_is_one_line(tmp_path, capsys, src, needle):
    lessons = tmp_path / "lessons"
    lessons.mkdir()
    (tmp_path / "outside.png").write_bytes(PNG)
    (lessons / "notes.txt").write_text("not a picture")
    (lessons / "fake.png").write_text("not a picture")
    path = lessons / "mine.md"
    text = "\n" + (src if src.startswith("![") else f"![x]({src})") + "\n"  # or written whole
    path.write_text(TEXT_LESSON + text)
    out = tmp_path / "h"
    assert main(["lesson", "--file", str(path), "--out", str(out)]) == 2
    line = _one_error_line(capsys.readouterr().err)
    assert str(path) in line
    assert needle in line
    assert not out.exists()


@pytest.mark.parametrize(
    ("heading", "needle"),
    [
        ("## Teacher notes", "line 18: heading 'Teacher notes': the notes for the teacher go "
                             "under the heading '## For the teacher'"),
        ("### For the teacher", "heading 'For the teacher': the notes for the teacher go"),
        ("## For the teacher\n\nA.\n\n## For the teacher", "line 22: a second '## For the "
                                                          "teacher' section"),
        ("For the teacher\n---------------", "line 18: heading 'For the teacher': the notes"),
        ("## For the teacher\n\nA.\n\n## Answers", "line 22: section 'Answers' after '## For "
                                                 "the teacher'; allowed: the teacher's section "
                                                 "last (move this section above line 18)"),
    ],
)  # fmt: skip
def test_notes_for_the_teacher_never_reach_the_students_copy(tmp_path, capsys, heading, needle):
    """'## Teacher notes', '### For the teacher' and the like put the answers in the
    students' handout; a second '## For the teacher' section was dropped from both. An
    underlined (setext) heading is no step of its own, and a section after the teacher's
    went to the students."""
    path = tmp_path / "mine.md"
    path.write_text(TEXT_LESSON + f"\n{heading}\n\nSECRET ANSWER\n")
    assert main(["lesson", "--file", str(path), "--out", str(tmp_path / "h")]) == 2
    line = _one_error_line(capsys.readouterr().err)
    assert needle in line, line


@pytest.mark.parametrize(
    "heading",
    ["## For the Teacher", "## for the teacher:", "## For the teacher ##", "   ## For the teacher"],
)
def test_the_teachers_heading_in_any_case_is_the_teachers(tmp_path, heading):
    """Closing #s and an indent of up to three spaces make the same heading in Markdown:
    the check let them through, and the students' copy printed the notes under them."""
    from devsim.lessons import parse_lesson

    path = tmp_path / "mine.md"
    path.write_text(TEXT_LESSON + f"\n{heading}\n\nSECRET ANSWER\n")
    lesson = parse_lesson(path)
    assert "SECRET" not in lesson.student_body
    assert lesson.teacher_notes == "SECRET ANSWER"


def test_a_scenario_listed_twice_and_a_file_given_as_a_name_are_one_line(tmp_path, capsys):
    path = tmp_path / "mine.md"
    path.write_text('+++\ntitle = "t"\nsummary = "s"\nscenarios = ["normal", "normal"]\n'
                    "+++\nText.\n")  # fmt: skip
    assert main(["lesson", "--file", str(path), "--out", str(tmp_path / "h")]) == 2
    assert "scenarios: ['normal', 'normal']; allowed: each name once" in capsys.readouterr().err
    assert main(["lesson", "mine.md", "--out", str(tmp_path / "h")]) == 2
    assert "(a lesson file of one's own: --file PATH)" in capsys.readouterr().err


def test_a_lesson_in_another_language_says_so_in_its_handout(tmp_path):
    """Every handout was marked lang="en": a browser, a screen reader and hyphenation in
    print read a German lesson as English."""
    path = tmp_path / "augen.md"
    path.write_text('+++\ntitle = "Ein Auge zu"\nsummary = "s"\nlanguage = "de"\n+++\n'
                    "Was macht ein geschlossenes Auge?\n", encoding="utf-8")  # fmt: skip
    assert main(["lesson", "--file", str(path), "--out", str(tmp_path / "h")]) == 0
    assert '<html lang="de">' in (tmp_path / "h" / "index.html").read_text(encoding="utf-8")

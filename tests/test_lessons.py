"""Lessons: every shipped lesson builds its handout; malformed lessons get one clear line."""

from __future__ import annotations

import re

import pytest

from devsim.cli import main
from devsim.errors import DevsimInputError
from devsim.handout import build_handout
from devsim.lessons import find_lesson, lessons, parse_lesson
from devsim.scenario import load_scenario
from devsim.shipped import lesson_path, scenario_path

SHIPPED = [lesson.name for lesson in lessons()]


def test_at_least_the_nine_topics_are_shipped():
    assert len(SHIPPED) >= 8
    assert {
        "hubel_wiesel",
        "timing",
        "competition",
        "strabismus",
        "darkness",
        "inhibition",
        "recovery",
        "baldwin",
    } <= set(SHIPPED)


@pytest.mark.parametrize("name", SHIPPED)
def test_every_lesson_builds_a_self_contained_handout(name, tmp_path, quick_runs):
    lesson = parse_lesson(lesson_path(name))
    numbers = build_handout(lesson, tmp_path, quick=True, runs=quick_runs)
    page = (tmp_path / "index.html").read_text()
    assert lesson.title.replace("&", "&amp;") in page
    figures = re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]{1000,})"', page)
    assert figures, "the handout embeds its figures"
    assert "http://" not in page
    assert "https://" not in page
    # the words a student may not know, defined at the end: those the page uses
    glossary = page.split('<section class="glossary">', 1)[-1]
    assert "<h2>Words used here</h2>" in glossary
    if lesson.name == "hubel_wiesel":  # its text speaks of the CBI and binocular cells
        assert "<dt>CBI</dt>" in glossary
        assert "<dt>binocular</dt>" in glossary
    if lesson.header.rows:
        assert "range the published result allows" in page
        assert "not from the runs in the figures" in page
        for row in lesson.header.rows:
            assert row in numbers["rows"]
        assert re.search(r"\d\.\d{3} ± \d\.\d{3}", page)  # measured numbers are printed
    if lesson.header.baldwin:
        assert 0.0 <= numbers["baldwin"]["undecided"] <= 1.0
    # the page's foot says what each run used, and only for what ran (it said "12 organisms
    # per group" for the Baldwin population and the stripes' one kitten)
    foot = re.search(r'<p class="meta">(.*?)</p>', page, re.S)[1]
    settings = quick_runs.settings
    for name in lesson.header.scenarios:
        scenario = load_scenario(scenario_path(name))
        count = settings.sheet_organisms if scenario.cortex == "sheet" else settings.organisms
        assert f"seed {settings.seeds[0]}, {count} organisms per group" in foot
    if lesson.header.rows:
        assert "(not the runs in the figures), seeds 0 and 1, 12 organisms per group" in foot
        # on paper: the table's header repeats on each page, no row is cut in two, and a
        # verdict keeps a mark in greyscale
        assert "<thead>" in page
        assert "@media print" in page
        assert "thead { display: table-header-group; }" in page
    if not (lesson.header.scenarios or lesson.header.rows or lesson.header.profile):
        assert "Runs:" not in foot


def test_list_names_every_lesson(capsys):
    assert main(["lesson", "--list"]) == 0
    printed = capsys.readouterr().out
    for name in SHIPPED:
        assert name in printed


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("no header here", "starts with a TOML header"),
        ("+++\ntitle = 'x'\n+++\nbody", "summary: required field is missing"),
        ("+++\ntitle = 'x'\nsummary = 'y'\ncolour = 1\n+++\nbody", "colour: unknown key"),
        ("+++\ntitle = 'x'\nsummary = 'y'\nscenarios = ['nope']\n+++\nbody", "no scenario 'nope'"),
        ("+++\ntitle = 'x'\nsummary = 'y'\nrows = [42]\n+++\nbody", "no validation row 42"),
        ("+++\ntitle = [\n+++\nbody", "malformed TOML header"),
        ("+++\ntitle = 'x'\nsummary = 'y'\n+++\n", "no text after its header"),
    ],
)
def test_malformed_lessons_name_the_file_and_the_problem(tmp_path, text, message):
    path = tmp_path / "broken.md"
    path.write_text(text)
    with pytest.raises(DevsimInputError) as info:
        parse_lesson(path)
    assert str(path) in str(info.value)
    assert message in str(info.value)
    assert "\n" not in str(info.value)


def test_a_header_error_names_the_files_line_not_the_headers(tmp_path):
    """ "line 1, column 9" pointed at the file's line 3 (counted from inside the header)."""
    path = tmp_path / "broken.md"
    path.write_text("\n+++\ntitle = 'x\nsummary = 'y'\n+++\nbody\n")
    with pytest.raises(DevsimInputError, match=r"malformed TOML header: .*\(at line 3, column"):
        parse_lesson(path)


def test_unknown_lesson_is_exit_2(tmp_path, capsys):
    assert main(["lesson", "nope", "--out", str(tmp_path / "h")]) == 2
    err = capsys.readouterr().err
    assert "lesson 'nope' not found; available, in teaching order: hubel_wiesel, timing," in err
    assert not (tmp_path / "h").exists()


def test_devsim_lesson_list_lists_them_as_devsim_scenarios_does(capsys):
    """`devsim lesson list` said "--out DIR is required"."""
    assert main(["lesson", "list"]) == 0
    names = [line.split()[0] for line in capsys.readouterr().out.splitlines()]
    assert names == [lesson.name for lesson in lessons()]


def test_every_lesson_has_notes_for_the_teacher_kept_out_of_the_students_pages():
    from devsim.lessons import TEACHER, lessons

    for lesson in lessons():
        assert "Ask" in lesson.teacher_notes, lesson.name  # what to say, what to ask
        assert TEACHER not in [h for h, _ in lesson.steps()]
        assert TEACHER not in lesson.student_body
        assert lesson.teacher_notes not in lesson.student_body


def test_the_teachers_copy_adds_the_notes_and_every_handout_says_its_place(tmp_path, capsys):
    """A teacher could print the students' handout only; the notes (what to say, what to
    ask) were on the page alone. And a printed set did not say which lesson came when."""
    assert main(["lesson", "baldwin", "--quick", "--teacher", "--out", str(tmp_path / "t")]) == 0
    assert main(["lesson", "baldwin", "--quick", "--out", str(tmp_path / "s")]) == 0
    teacher = (tmp_path / "t" / "index.html").read_text()
    student = (tmp_path / "s" / "index.html").read_text()
    notes = find_lesson("baldwin").teacher_notes
    assert notes
    first = notes.split()[0:4]
    assert '<section class="teacher"><h2>For the teacher</h2>' in teacher
    assert " ".join(first) in teacher
    assert "For the teacher" not in student
    order = [lesson.name for lesson in lessons()]
    place = f"devsim lesson {order.index('baldwin') + 1} of {len(order)}"
    assert f'<p class="place">{place} · teacher’s copy</p>' in teacher
    assert f'<p class="place">{place}</p>' in student
    # the notes come last, after the foot that says what the figures ran with
    assert teacher.index('<p class="meta">') < teacher.index('<section class="teacher">')
    # a lesson of one's own without notes: the teacher's copy would have none to add
    own = tmp_path / "own.md"
    own.write_text('+++\ntitle = "Mine"\nsummary = "s"\n+++\n## The question\n\nWhy?\n')
    assert main(["lesson", "--file", str(own), "--teacher", "--out", str(tmp_path / "o")]) == 2
    assert "--teacher: own.md has no '## For the teacher' section" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_the_glossary_defines_the_words_a_page_uses_and_no_others():
    from devsim.handout import glossary_html

    page = "<p>The CBI fell by 0.15 ± 0.02 at P28.</p><img src='data:image/png;base64,ODI'>"
    defined = re.findall(r"<dt>(.*?)</dt>", glossary_html(page))
    assert defined == ["P24", "CBI", "±"]  # in the glossary's order; not ODI (a picture)
    assert glossary_html("<p>Nothing to explain.</p>") == ""
    # the sheet's map words, which its figures print (Λ 8.9, ring ×1.6, pinwheels circled)
    maps = glossary_html("<figcaption>Λ 8.9, ring ×1.6; pinwheels circled</figcaption>")
    assert re.findall(r"<dt>(.*?)</dt>", maps) == ["pinwheel", "Λ, column spacing", "ring"]

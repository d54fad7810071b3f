"""The documentation: the site builds cleanly and offline, links stay inside the repository,
and what the pages say about the code (genes, presets, validation rows, command-line help,
scenario keys, lessons) matches the code. Also runs every docstring example (doctest).

After a change to the command line, refresh the help texts in docs/cli.md with
``.venv/bin/python tests/test_docs.py``.
"""

from __future__ import annotations

import doctest
import importlib
import json
import os
import pkgutil
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from markdown.extensions.toc import slugify

import devsim
from devsim.genome import GENE_NAMES, GENES, SPECIES

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
PAGES = sorted(DOCS.glob("*.md"))
LINKED_FILES = [ROOT / "README.md", *PAGES]
BUILD_TIMEOUT = 150  # seconds; the whole site, API reference included, builds in a few


# --- the site ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def site(tmp_path_factory) -> tuple[Path, str, float]:
    """The site built with --strict into a temporary folder: (folder, output, seconds)."""
    out = tmp_path_factory.mktemp("site")
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}  # Material's end-of-life banner
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(out)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=BUILD_TIMEOUT,
    )
    seconds = time.perf_counter() - start
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output
    return out, output, seconds


def test_site_builds_strict_without_warnings(site):
    _, output, seconds = site
    assert "WARNING" not in output, output
    assert "ERROR" not in output, output
    print(f"docs build: {seconds:.1f} s")  # a number to read, not a timed assertion


def test_the_api_page_shows_no_sphinx_role_and_every_exported_name(site):
    """mkdocstrings printed the docstrings' :func:`x` as written (230 of them), and
    ``devsim.save_run``, which the page's first example calls, was documented nowhere."""
    page = (site[0] / "api" / "index.html").read_text()
    assert not re.search(r":(func|class|meth|mod|data|attr|file):`", page)
    for name in devsim.__all__:
        if name != "__version__":
            assert f'id="{devsim._EXPORTS[name]}.{name}"' in page, name


def test_site_renders_every_page_and_module(site):
    folder, _, _ = site
    for page in PAGES:
        name = "" if page.stem == "index" else page.stem
        assert (folder / name / "index.html").is_file(), page.name
    api = (folder / "api" / "index.html").read_text(encoding="utf-8")
    for module in re.findall(r"^::: (\S+)", (DOCS / "api.md").read_text(), flags=re.M):
        assert f'id="{module}"' in api, f"{module} did not render in the API reference"


def test_site_loads_nothing_from_the_internet(site):
    """Offline by design: no web fonts, analytics or scripts from a CDN."""
    folder, _, _ = site
    remote = re.compile(r"<(?:script|link|img|iframe)\b[^>]*(?:src|href)=\"(?:https?:)?//", re.I)
    for html in folder.rglob("*.html"):
        text = html.read_text(encoding="utf-8")
        found = remote.findall(text)
        # <link rel=...> to the site itself or to a canonical URL would be harmless, but the
        # site sets no site_url, so any remote link element is a real fetch.
        assert not found, f"{html.relative_to(folder)} loads remote resources: {found[:3]}"
        assert "fonts.googleapis" not in text, html
        assert "fonts.gstatic" not in text, html


# --- links ------------------------------------------------------------------------------
CODE = re.compile(r"```.*?```|`[^`\n]*`", re.S)
LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
HTML_LINK = re.compile(r"(?:src|href)=\"([^\"]+)\"")


def relative_links(path: Path) -> list[str]:
    """Every link target in a Markdown file that is neither a URL nor a bare anchor."""
    text = CODE.sub("", path.read_text(encoding="utf-8"))
    targets = LINK.findall(text) + HTML_LINK.findall(text)
    return [t for t in targets if not re.match(r"^[a-z][a-z0-9+.-]*:", t) and t[0] != "#"]


def headings(path: Path) -> set[str]:
    """The anchors of a Markdown file's headings (the slugs of mkdocs' toc and GitHub)."""
    text = re.sub(r"```.*?```", "", path.read_text(encoding="utf-8"), flags=re.S)
    return {slugify(h.strip().replace("`", ""), "-") for h in re.findall(r"^#+ (.+)$", text, re.M)}


@pytest.mark.parametrize("path", LINKED_FILES, ids=lambda p: p.name)
def test_relative_links_resolve_inside_the_repository(path):
    text = path.read_text(encoding="utf-8")
    assert "../shared" not in text, f"{path.name} points outside the repository"
    for target in relative_links(path):
        file, _, anchor = target.partition("#")
        resolved = (path.parent / file).resolve() if file else path
        assert resolved.is_relative_to(ROOT), f"{path.name}: {target} leaves the repository"
        assert resolved.exists(), f"{path.name}: {target} does not exist"
        if anchor and resolved.suffix == ".md":
            assert anchor in headings(resolved), f"{path.name}: no heading #{anchor} in {file}"
    # a link within the page (mkdocs checks those of the site's pages, not the README's)
    text = CODE.sub("", text)
    for target in LINK.findall(text) + HTML_LINK.findall(text):
        if target.startswith("#"):
            assert target[1:] in headings(path), f"{path.name}: no heading {target}"


def test_the_files_said_to_hold_the_code_digest_hold_it(tmp_path):
    """README, CHANGELOG and CITATION.cff send a reader to a run's file for its `code`
    (CITATION.cff named summary.json, which has none)."""
    model = devsim.DevelopmentModel(
        days=1, groups=[{"name": "control", "organisms": 1}], neurons=2, presentations_per_day=16
    )
    while model.running:
        model.step()
    devsim.save_run(model, tmp_path / "run")
    said = set()
    for name in ("README.md", "CHANGELOG.md", "CITATION.cff"):
        text = " ".join((ROOT / name).read_text(encoding="utf-8").split())
        found = re.findall(r"`code` in a run's `?([\w.]+\.json)`?", text)
        assert found, f"{name} no longer says where a run's `code` is"
        said.update(found)
    for file in said:
        assert "code" in json.loads((tmp_path / "run" / file).read_text()), file


def test_the_readme_and_the_scenario_page_name_every_measure_of_summary_json():
    """Every `final` metric and `daily` series of a run's summary.json is named where the
    README and the scenario format describe the file (a new measure left them behind)."""
    model = devsim.DevelopmentModel(
        days=1, groups=[{"name": "control", "organisms": 1}], neurons=2, presentations_per_day=16
    )
    while model.running:
        model.step()
    group = model.results().summary()["groups"]["control"]
    names = [*group["final"], *group["daily"], *group["per_organism"]]
    for path in (ROOT / "README.md", DOCS / "scenarios.md"):
        text = path.read_text(encoding="utf-8")
        assert not (missing := [n for n in names if f"`{n}`" not in text]), (path.name, missing)
    from devsim.maps import MAP_METRICS  # a sheet's, defined on the science page

    text = (DOCS / "science.md").read_text(encoding="utf-8")
    assert not (missing := [n for n in MAP_METRICS if f"`{n}`" not in text]), missing


# a repository file as the pages name it in a code span
REPO_FILE = r"(?:devsim|tests|benchmarks|scripts)/[\w/.-]+\.(?:py|sh|vue|toml|md)"


@pytest.mark.parametrize("path", LINKED_FILES, ids=lambda p: p.name)
def test_files_and_tests_named_in_the_docs_exist(path):
    """`devsim/senses.py`, `benchmarks/neutral_sigma.py`, `test_gene_table_matches_the_genome`:
    a file of the repository or a test a page sends a contributor to is there (a renamed
    test left extending.md's recipes pointing at nothing)."""
    text = path.read_text(encoding="utf-8")
    tests = "\n".join(p.read_text(encoding="utf-8") for p in (ROOT / "tests").glob("*.py"))
    for file in re.findall(rf"`({REPO_FILE})`", text):
        assert (ROOT / file).exists(), f"{path.name}: {file} does not exist"
    for name in re.findall(r"`(test_\w+)`", text):
        assert f"def {name}(" in tests, f"{path.name}: no test {name}"


def test_readme_points_at_the_science_page():
    links = relative_links(ROOT / "README.md")
    assert any(t.startswith("docs/science.md") for t in links)
    assert "SCIENCE.md" not in (ROOT / "README.md").read_text(encoding="utf-8")


# --- what the pages say about the code --------------------------------------------------
def section(path: Path, title: str) -> str:
    """The text of the level-2 section ``title`` of a Markdown file."""
    text = path.read_text(encoding="utf-8")
    match = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## |\Z)", text, re.S | re.M)
    assert match, f"{path.name} has no section {title!r}"
    return match.group(1)


def table_rows(text: str) -> list[list[str]]:
    """The cells of the Markdown table rows whose first cell is a code span."""
    rows = []
    for line in text.splitlines():
        if line.startswith("| `"):
            cells = re.split(r"(?<!\\)\|", line.strip())[1:-1]
            rows.append([c.strip() for c in cells])
    return rows


def test_gene_table_matches_the_genome():
    rows = table_rows(section(DOCS / "science.md", "Genes"))
    assert [r[0].strip("`") for r in rows] == list(GENE_NAMES)
    for gene, row in zip(GENES, rows, strict=True):
        name, default, bounds, unit, sigma = row[:5]
        assert default == f"{gene.default:g}", gene.name
        assert bounds == f"{gene.low:g} – {gene.high:g}", gene.name
        assert unit == gene.unit, gene.name
        assert sigma == f"{gene.sigma:g}", gene.name
        assert all(row[5:7]), f"{gene.name}: say what it sets and what it is responsible for"


def test_species_table_matches_the_presets():
    rows = {r[0].strip("`"): r for r in table_rows(section(DOCS / "science.md", "Species presets"))}
    assert set(rows) == set(SPECIES)
    for name, species in SPECIES.items():
        assert rows[name][1] == f"P{species.eye_opening_day}", name
        for gene, value in species.genes.items():
            assert f"`{gene}` {value:g}" in rows[name][2], (name, gene)


def block(path: Path, start: str, end: str) -> str:
    text = path.read_text(encoding="utf-8")
    assert start in text, f"{path.name} lacks the marker {start}"
    assert end in text, f"{path.name} lacks the marker {end}"
    return text.split(start, 1)[1].split(end, 1)[0]


def test_validation_table_matches_the_code_and_the_readme():
    from devsim.validation import ROWS

    science = DOCS / "science.md"
    markers = ("<!-- validation:start -->", "<!-- validation:end -->")
    assert block(ROOT / "README.md", *markers).strip(), "the README holds the measured table"
    overview = section(science, "The validation table")
    for number, experiment, source, _, scenarios in ROWS:
        line = next((x for x in overview.splitlines() if x.startswith(f"| {number} | ")), None)
        assert line, f"docs/science.md: no overview line for row {number}"
        assert experiment in line, f"row {number}"
        assert source in line, f"row {number}"
        for name in scenarios:
            assert f"`{name}`" in line, f"row {number}: scenario {name}"


def test_the_readme_lists_every_lesson_as_devsim_lesson_list_does():
    from devsim.lessons import lessons

    table = block(ROOT / "README.md", "<!-- lessons:start -->", "<!-- lessons:end -->")
    rows = [line for line in table.splitlines() if line.startswith("| `")]
    expected = [
        f"| `{lesson.name}` — {lesson.title} | {lesson.header.summary} |" for lesson in lessons()
    ]
    assert rows == expected


KINDS = {"run": "scenario", "batch": "sweep", "evolve": "evolution"}
# ``devsim run md_critical``, ``devsim batch scenarios/x.toml``, ``devsim lesson timing``:
# a command and the arguments after it up to the first option (placeholders such as NAME
# and options skipped); the command may be broken over two lines
COMMAND = re.compile(r"devsim\s+(run|batch|evolve|lesson)((?:\s+[a-z][\w./-]*)+)")


def _shipped_texts() -> list[Path]:
    data = Path(devsim.__file__).parent / "data"
    return [ROOT / "README.md", *PAGES, *sorted(data.rglob("*.md")), *sorted(data.rglob("*.toml"))]


@pytest.mark.parametrize("path", _shipped_texts(), ids=lambda p: str(p.relative_to(ROOT)))
def test_commands_written_in_the_docs_name_what_exists(path):
    """A command a reader copies from a page, a lesson or a shipped file's comment names a
    shipped scenario, sweep or lesson, or a file of the repository."""
    from devsim.errors import DevsimInputError
    from devsim.shipped import is_path, lesson_names, resolve

    written = [
        (command, arg)
        for command, args in COMMAND.findall(path.read_text(encoding="utf-8"))
        # devsim evolve takes several scenarios; the others one
        for arg in (args.split() if command == "evolve" else args.split()[:1])
    ]
    for command, arg in written:
        if command == "lesson":
            assert arg in lesson_names(), f"{path.name}: devsim lesson {arg}"
        elif is_path(arg):
            assert (ROOT / arg).is_file(), f"{path.name}: devsim {command} {arg}"
        else:
            try:
                resolve(arg, KINDS[command])
            except DevsimInputError as exc:
                pytest.fail(f"{path.name}: devsim {command} {arg}: {exc}")


def command_options() -> dict[str, set[str]]:
    """The options of every ``devsim COMMAND`` (its actions' included)."""
    import argparse

    from devsim.cli import build_parser

    def actions(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                return dict(action.choices)
        return {}

    options = {}
    for name, command in actions(build_parser()).items():
        parsers = [command, *actions(command).values()]
        options[name] = {o for p in parsers for a in p._actions for o in a.option_strings}
    return options


@pytest.mark.parametrize("path", LINKED_FILES, ids=lambda p: p.name)
def test_options_written_after_a_command_are_its_own(path):
    """`devsim evolve ... --drift`, a line of a shell block or the README's command table
    name only options the command has (a renamed or dropped flag left behind fails)."""
    options = command_options()
    text = re.sub(r"```text.*?```", "", path.read_text(encoding="utf-8"), flags=re.S)
    spans = re.findall(r"`([^`]+)`", text) + re.findall(r"^.*devsim .*$", text, re.M)
    for span in spans:
        for command, rest in re.findall(r"devsim\s+([a-z]+)([^`\n]*)", span):
            if command not in options:
                continue
            rest = rest.split("#")[0]  # a shell comment
            for option in re.findall(r"(?<![\w-])--[a-z][a-z-]*", rest):
                assert option in options[command], f"{path.name}: devsim {command} {option}"


def test_scenario_pages_name_every_species_condition_and_drug():
    from devsim.genome import SPECIES
    from devsim.scenario import DRUGS
    from devsim.senses import CONDITIONS, MONOCULAR_DEPRIVATIONS

    page = (DOCS / "scenarios.md").read_text(encoding="utf-8")
    lines = page.splitlines()
    # every `species` row: the scenario's and the evolution scenario's founders'
    species = [line for line in lines if line.startswith("| `species` |") and "`mouse`" in line]
    assert len(species) == 2, species
    drug = next(line for line in lines if line.startswith("| `drug` |"))
    # the evolution scenarios' deprivations are the monocular ones
    deprivation = next(line for line in lines if line.startswith("| `deprivation_condition` |"))
    conditions = re.search(r"^Conditions \(.*?\n\n", page, re.S | re.M)
    assert conditions, "docs/scenarios.md: no paragraph 'Conditions (...'"
    for line in species:
        assert not (missing := [n for n in SPECIES if f"`{n}`" not in line]), (line, missing)
    assert not (missing := [n for n in DRUGS if f"`{n}`" not in drug]), missing
    assert not (missing := [n for n in MONOCULAR_DEPRIVATIONS if f"`{n}`" not in deprivation])
    assert not (missing := [n for n in CONDITIONS if f"`{n}`" not in conditions[0]]), missing


def test_the_readme_and_the_science_name_every_condition_and_drug():
    """The README's conditions line and its treatments, and the science page's table of what
    each condition delivers, name every one (a new condition or drug left them behind)."""
    from devsim.scenario import DRUGS
    from devsim.senses import CONDITIONS

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    conditions = re.search(r"^Conditions: (.*?)\.\s", readme, re.S | re.M)
    treatments = re.search(r"Treatments act on\s+the circuit only: (.*?);", readme, re.S)
    assert conditions, "README: no line 'Conditions: ...'"
    assert treatments, "README: no 'Treatments act on the circuit only: ...;'"
    assert not (missing := [n for n in CONDITIONS if f"`{n}`" not in conditions[1]]), missing
    assert not (missing := [n for n in DRUGS if f"`{n}`" not in treatments[1]]), missing
    science = (DOCS / "science.md").read_text(encoding="utf-8")
    senses = science.split("### Senses", 1)[1].split("\n### ", 1)[0]
    rows = {r[0].split(",")[0].strip("`") for r in table_rows(senses)}
    assert not (missing := [n for n in CONDITIONS if n not in rows]), missing


def name_lists(text: str, names) -> list[str]:
    """Every list of three or more of ``names`` in ``text``: `a | b | c`, `a|b|c` (escaped
    in a table), `a`, `b` and `c`, world.{a,b,c}, `world.a`, `world.b`, ..."""
    name = "|".join(map(re.escape, names))
    item = rf"`?(?:world\.)?\b(?:{name})\b`?"
    separator = r"\s*(?:\\\||\||,\s*and\b|,|\band\b)\s*"
    return [m[0] for m in re.finditer(rf"{item}(?:{separator}{item}){{2,}}", text)]


def test_the_readme_lists_every_optional_key_of_a_scenario():
    from devsim.scenario import Scenario

    readme = " ".join((ROOT / "README.md").read_text(encoding="utf-8").split())
    keys = re.search(r"Optional top-level keys: (.*?)\. The left eye", readme)
    assert keys, "README: no sentence 'Optional top-level keys: ...'"
    optional = [name for name, info in Scenario.model_fields.items() if not info.is_required()]
    listed = set(re.findall(r"`\[?(\w+)\]?`", keys[1]))  # `seed`, a `[world]` table
    assert not (missing := [k for k in optional if k not in listed]), missing


@pytest.mark.parametrize("kind", ["species presets", "rearing statistics"])
def test_every_list_of_the_presets_or_world_statistics_names_them_all(kind):
    """A list of three or more presets (`mouse | cat | ...` in a scenario's comment, the
    profile's `--species a|b|...`, a table's `mouse`, `cat`, ...) or of the [world] table's
    statistics (the sweeps' `world.{...}`, the batch table's `world.*` columns) names every
    one: a new preset or statistic left the README's and the scenario page's lists behind."""
    from devsim.senses import REARING_STATISTICS

    names = list(SPECIES) if kind == "species presets" else list(REARING_STATISTICS)
    lists = 0
    for path in LINKED_FILES:
        for found in name_lists(path.read_text(encoding="utf-8"), names):
            listed = set(re.findall(rf"\b(?:{'|'.join(names)})\b", found))
            missing = set(names) - listed
            assert not missing, f"{path.name}: {found!r} lacks {sorted(missing)}"
            lists += 1
    # the README's and the scenario page's lists are found (8 of presets, 4 of statistics
    # in December 2026): a pattern that found none would check nothing
    assert lists >= 4, lists


def test_the_docs_name_repository_files_and_tests_to_check():
    """test_files_and_tests_named_in_the_docs_exist checks what its patterns find: they
    find the recipes' tests and the pages' files (a pattern that found none would pass)."""
    texts = [path.read_text(encoding="utf-8") for path in LINKED_FILES]
    assert sum(len(re.findall(rf"`({REPO_FILE})`", text)) for text in texts) >= 20
    extending = (DOCS / "extending.md").read_text(encoding="utf-8")
    assert len(re.findall(r"`(test_\w+)`", extending)) >= 5


def test_the_readme_and_the_scenario_page_name_every_shipped_file():
    from devsim.shipped import KINDS, scenario_names

    for path in (ROOT / "README.md", DOCS / "scenarios.md"):
        text = path.read_text(encoding="utf-8")
        missing = [n for kind in KINDS for n in scenario_names(kind) if f"`{n}`" not in text]
        assert not missing, f"{path.name} does not name the shipped {missing}"


def test_scenario_pages_document_every_key():
    from devsim.evolution_scenario import (
        Costs,
        Environment,
        EvolutionScenario,
        Feature,
        Islands,
        Quick,
    )
    from devsim.scenario import Group, Rearing, Scenario, Treatment, World

    text = (DOCS / "scenarios.md").read_text(encoding="utf-8")
    models = (Scenario, Group, Rearing, Treatment, World, EvolutionScenario, Environment, Feature)
    models += (Costs, Islands, Quick)
    for model in models:
        for name, info in model.model_fields.items():
            key = info.alias or name
            assert f"`{key}`" in text, f"docs/scenarios.md does not document {model.__name__}.{key}"


def test_lessons_page_lists_every_lesson_in_their_order():
    from devsim.lessons import lessons

    rows = {r[0].strip("`"): r for r in table_rows((DOCS / "lessons.md").read_text())}
    assert list(rows) == [lesson.name for lesson in lessons()]  # as `devsim lesson --list`
    for lesson in lessons():
        assert rows[lesson.name][1] == lesson.title, lesson.name
        # the runs and validation rows columns say what the lesson's header names
        runs, numbers = rows[lesson.name][3], rows[lesson.name][4].split("(")[0]
        named = [*lesson.header.scenarios, *(lesson.header.evolution or ())]
        assert not (missing := [n for n in named if f"`{n}`" not in runs]), (lesson.name, missing)
        shown = [int(n) for n in re.findall(r"\d+", numbers)]
        assert shown == list(lesson.header.rows), lesson.name


# --- command-line help ------------------------------------------------------------------
HELP = re.compile(r"<!-- help:([\w.]+) -->\n(.*?)<!-- /help -->", re.S)


def help_texts() -> dict[str, str]:
    """``devsim --help``, ``devsim COMMAND --help`` for every sub-command and
    ``devsim COMMAND ACTION --help`` for their actions (key ``COMMAND.ACTION``), as printed
    100 columns wide."""
    import argparse

    from devsim.cli import COMMANDS, build_parser

    previous = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = "100"  # argparse wraps to the terminal's width
    try:

        def actions(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
            for action in parser._actions:
                if isinstance(action, argparse._SubParsersAction):
                    return dict(action.choices)
            return {}

        parser = build_parser()
        texts = {"devsim": parser.format_help()}
        for name in COMMANDS:
            command = actions(parser)[name]
            texts[name] = command.format_help()
            for action, sub in actions(command).items():
                texts[f"{name}.{action}"] = sub.format_help()
    finally:
        if previous is None:
            del os.environ["COLUMNS"]
        else:
            os.environ["COLUMNS"] = previous
    return texts


def test_cli_page_has_the_help_of_every_command():
    texts = help_texts()
    page = (DOCS / "cli.md").read_text(encoding="utf-8")
    blocks = dict(HELP.findall(page))
    assert set(blocks) == set(texts), "docs/cli.md: one help block per command"
    for name, text in texts.items():
        if name != "devsim" and "." not in name:
            assert f"## `devsim {name}`" in page, f"docs/cli.md has no section for {name}"
        shown = blocks[name].strip().removeprefix("```text").removesuffix("```")
        # compared word by word: wrapping may differ with the Python version
        assert shown.split() == text.split(), (
            f"docs/cli.md: the help of {name!r} is out of date; run "
            "`.venv/bin/python tests/test_docs.py` to refresh it"
        )


def update_cli_page() -> None:
    """Rewrite the help blocks of docs/cli.md from the parsers."""
    texts = help_texts()
    path = DOCS / "cli.md"

    def fill(match: re.Match) -> str:
        name = match.group(1)
        return f"<!-- help:{name} -->\n```text\n{texts[name].rstrip()}\n```\n<!-- /help -->"

    path.write_text(HELP.sub(fill, path.read_text(encoding="utf-8")), encoding="utf-8")


# --- the pages' Python -------------------------------------------------------------------
@pytest.mark.parametrize("path", [ROOT / "README.md", DOCS / "api.md"], ids=lambda p: p.name)
def test_the_python_examples_of_the_readme_and_the_api_page_run(path, tmp_path, monkeypatch):
    """Every ```python block, run as written in a fresh folder (a shipped scenario's
    presentations cut to 32 a day to keep it quick): a renamed function or argument in
    them failed no test."""
    import matplotlib.pyplot as plt

    load = devsim.load_scenario

    def quick(name):
        return load(name).with_changes(presentations_per_day=32)

    monkeypatch.setattr(devsim, "load_scenario", quick)
    monkeypatch.chdir(tmp_path)
    blocks = re.findall(r"```python\n(.*?)```", path.read_text(encoding="utf-8"), re.S)
    assert blocks, f"{path.name} has no Python example"
    try:
        for number, code in enumerate(blocks):
            exec(compile(code, f"{path.name}, example {number + 1}", "exec"), {})
    finally:
        plt.close("all")


@pytest.mark.parametrize("path", [ROOT / "README.md", DOCS / "scenarios.md"], ids=lambda p: p.name)
def test_the_toml_examples_load(path, tmp_path):
    """Every ```toml block loads as what it shows: a scenario, a sweep (beside a copy of its
    shipped base), an evolution scenario, or a table added to the scenario or sweep above
    it ([world], [sweep.zip] ...)."""
    from devsim.batch import load_sweep
    from devsim.evolution_scenario import load_evolution_scenario
    from devsim.scenario import load_scenario
    from devsim.shipped import scenario_path

    blocks = re.findall(r"```toml\n(.*?)```", path.read_text(encoding="utf-8"), re.S)
    assert blocks, f"{path.name} has no TOML example"
    above = {"scenario": "", "sweep": ""}
    for number, block in enumerate(blocks):
        file = tmp_path / f"example_{number + 1}.toml"
        if block.startswith("[sweep]"):
            base = re.search(r'^base = "([\w.]+)\.toml"', block, re.M)
            assert base, f"{path.name}, example {number + 1}: no base"
            shutil.copy(scenario_path(base[1]), tmp_path / f"{base[1]}.toml")
            kind, text = "sweep", block
        elif block.startswith("[sweep."):
            kind, text = "sweep", above["sweep"] + block
        elif block.startswith("["):
            kind, text = "scenario", above["scenario"] + block
        elif re.search(r"^generations = ", block, re.M):
            kind, text = "evolution", block
        else:
            kind, text = "scenario", block
        file.write_text(text, encoding="utf-8")
        load = {"scenario": load_scenario, "sweep": load_sweep}.get(kind, load_evolution_scenario)
        load(file)  # a DevsimInputError names the example's key
        above[kind] = text


def test_the_lesson_example_of_the_lessons_page_parses(tmp_path):
    """The lesson file the lessons page shows, header and all, is one `devsim lesson --file`
    takes (its references to shipped scenarios, rows and evolution scenarios included)."""
    from devsim.lessons import parse_lesson

    page = (DOCS / "lessons.md").read_text(encoding="utf-8")
    example = re.search(r"```markdown\n(\+\+\+\n.*?)```", page, re.S)
    assert example, "docs/lessons.md has no lesson file example"
    path = tmp_path / "my_lesson.md"
    path.write_text(example[1], encoding="utf-8")
    lesson = parse_lesson(path)
    assert lesson.header.summary


# --- docstring examples -----------------------------------------------------------------
# Examples every run must attempt (a module that stops being found would skip them).
KNOWN_EXAMPLES = {
    "devsim.genome.Genome",
    "devsim.measures.ocular_dominance_index",
    "devsim.measures.od_classes",
    "devsim.measures.contralateral_bias_index",
    "devsim.senses.eye_inputs",
}


def package_modules() -> list[str]:
    names = [devsim.__name__]
    for info in pkgutil.walk_packages(devsim.__path__, prefix="devsim."):
        names.append(info.name)
    return sorted(names)


def test_docstring_examples_run():
    finder = doctest.DocTestFinder(exclude_empty=True)
    runner = doctest.DocTestRunner(optionflags=doctest.NORMALIZE_WHITESPACE | doctest.ELLIPSIS)
    attempted_names = set()
    failures = []
    for name in package_modules():
        module = importlib.import_module(name)  # an import error fails the test: none skipped
        for test in finder.find(module, name):
            if not test.examples:
                continue
            result = runner.run(test, out=lambda text: failures.append(text))
            if result.attempted:
                attempted_names.add(test.name)
    assert not failures, "".join(failures)
    assert runner.failures == 0
    missing = KNOWN_EXAMPLES - attempted_names
    assert not missing, f"docstring examples not run: {sorted(missing)}"


if __name__ == "__main__":
    update_cli_page()
    print("docs/cli.md: help texts refreshed")

"""Data shipped inside the package: found by name, listed, copied, never read at import.

The wheel itself is checked by ``scripts/check_package.sh`` (part of ``make test``): built,
installed into a fresh environment and run from another folder.
"""

from __future__ import annotations

import fnmatch
import subprocess
import sys
import textwrap
import tomllib
from pathlib import Path

import pytest

from devsim.batch import load_sweep
from devsim.cli import main
from devsim.scenario import load_scenario
from devsim.shipped import (
    KINDS,
    data_dir,
    lesson_names,
    resolve,
    scenario_names,
    scenario_path,
)

ROOT = Path(__file__).resolve().parents[1]


def _one_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    return lines[0]


def test_every_kind_is_shipped_and_names_are_unique():
    names = {kind: scenario_names(kind) for kind in KINDS}
    assert {"md_critical", "normal", "cp_profile_base"} <= set(names["scenario"])
    assert names["sweep"] == ["cp_profile_sweep", "genome_sweep"]
    assert "assimilation_constant" in names["evolution"]
    every = [n for kind in KINDS for n in names[kind]]
    assert len(every) == len(set(every)), "one name, one shipped file"
    assert {"hubel_wiesel", "timing"} <= set(lesson_names())


def test_the_wheel_declares_every_shipped_file():
    """pyproject's package-data globs cover every file in devsim/data (no file left out)."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    globs = config["tool"]["setuptools"]["package-data"]["devsim"]
    files = [p.relative_to(ROOT / "devsim").as_posix() for p in data_dir().rglob("*.*")]
    files = [f for f in files if "__pycache__" not in f]
    assert len(files) >= 30
    assert [f for f in files if not any(fnmatch.fnmatch(f, g) for g in globs)] == []


# --- one argument: a shipped name or a path ------------------------------------------------


@pytest.mark.parametrize(
    ("arg", "kind", "expected"),
    [
        ("md_critical", "scenario", ("scenarios", "md_critical.toml")),
        ("cp_profile_sweep", "sweep", ("scenarios", "cp_profile_sweep.toml")),
        ("habitat_gradient", "evolution", ("evolution", "habitat_gradient.toml")),
    ],
)
def test_a_shipped_name_resolves_inside_the_package(arg, kind, expected):
    path = resolve(arg, kind)
    assert path == scenario_path(arg, kind)
    assert path.is_file()
    assert (path.parent.name, path.name) == expected
    assert data_dir() in path.parents


@pytest.mark.parametrize("arg", ["md_critical.toml", "./md_critical", "sub/normal", "/x/y", "."])
def test_a_path_is_taken_as_given(arg):
    assert resolve(arg, "scenario") == Path(arg)  # read (and checked) by the loaders


@pytest.mark.parametrize(
    ("argv", "listed"),
    [
        (["run", "md_critcal"], "md_critical"),
        (["batch", "md_critcal"], "cp_profile_sweep, genome_sweep"),
        (["evolve", "assimilation"], "assimilation_constant"),
        (["run", ""], "normal"),
        (["run", "a\x00b"], "normal"),
    ],
)
def test_an_unknown_name_is_one_line_listing_the_shipped_ones(argv, listed, tmp_path, capsys):
    out = tmp_path / "out"
    assert main([*argv, "--out", str(out)]) == 2
    line = _one_line(capsys.readouterr().err)
    assert "neither a file path" in line
    assert "shipped: " in line
    assert listed in line
    assert not out.exists()


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["run", "cp_profile_sweep"], "a shipped sweep, not a scenario: run it with devsim batch"),
        (["run", "assimilation_constant"], "run it with devsim evolve assimilation_constant"),
        (["batch", "md_critical"], "is a shipped scenario, not a sweep: run it with devsim run"),
        (["evolve", "normal"], "not an evolution scenario: run it with devsim run normal"),
    ],
)
def test_a_shipped_name_of_another_kind_names_the_command_that_runs_it(
    argv, says, tmp_path, capsys
):
    out = tmp_path / "out"
    assert main([*argv, "--out", str(out)]) == 2
    assert says in _one_line(capsys.readouterr().err)
    assert not out.exists()


@pytest.mark.parametrize(
    ("command", "file", "says"),
    [
        ("run", ("cp_profile_sweep", "sweep"), "a sweep file, not a scenario: run it with "
         "devsim batch"),
        ("run", ("timescales", "evolution"), "an evolution scenario file, not a scenario: run it "
         "with devsim evolve"),
        ("batch", ("normal", "scenario"), "a scenario file, not a sweep: run it with devsim run"),
        ("evolve", ("md_critical", "scenario"), "a scenario file, not an evolution scenario"),
    ],
)  # fmt: skip
def test_a_file_of_another_kind_names_the_command_that_runs_it(
    command, file, says, tmp_path, capsys
):
    path = tmp_path / "given.toml"  # a copy: the user's path, not a shipped name
    path.write_bytes(scenario_path(*file).read_bytes())
    out = tmp_path / "out"
    assert main([command, str(path), "--out", str(out)]) == 2
    line = _one_line(capsys.readouterr().err)
    assert line.startswith(f"devsim: error: {path}: {says}")
    assert not out.exists()


@pytest.mark.parametrize("command", ["run", "batch", "evolve"])
@pytest.mark.parametrize("text", ["", "# only a comment\n\n"])
def test_an_empty_file_is_called_empty(command, text, tmp_path, capsys):
    path = tmp_path / "empty.toml"
    path.write_text(text, encoding="utf-8")
    assert main([command, str(path), "--out", str(tmp_path / "out")]) == 2
    line = _one_line(capsys.readouterr().err)
    assert f"{path}: the " in line
    assert "file is empty" in line


@pytest.mark.parametrize(
    ("argv", "shows"),
    [  # a budget of 1 organism-day stops each command after loading, before any work
        (["run", "md_critical"], "md_critical: "),
        (["evolve", "assimilation_constant"], "evolve"),
    ],
)
def test_commands_load_shipped_names(argv, shows, tmp_path, capsys):
    out = tmp_path / "out"
    assert main([*argv, "--out", str(out), "--max-organism-days", "1"]) == 2
    line = _one_line(capsys.readouterr().err)
    assert shows in line
    assert "organism" in line
    assert not (out / "summary.json").exists()


def test_batch_loads_a_shipped_sweep_by_name(tmp_path, capsys):
    assert main(["batch", "genome_sweep", "--out", str(tmp_path / "o"), "--max-runs", "1"]) == 2
    line = _one_line(capsys.readouterr().err)
    assert "genome_sweep.toml" in line
    assert "runs" in line


# --- devsim scenarios -------------------------------------------------------------------------


def test_scenarios_lists_every_shipped_file_with_kind_and_title(capsys):
    assert main(["scenarios"]) == 0
    lines = capsys.readouterr().out.splitlines()
    rows = {line.split()[0]: line.split()[1] for line in lines[:-1]}
    assert rows == {n: kind for kind in KINDS for n in scenario_names(kind)}
    md = next(line for line in lines if line.startswith("md_critical "))
    assert load_scenario(scenario_path("md_critical")).name in md
    assert "devsim scenarios copy NAME DIR" in lines[-1]
    assert not any("…" in line for line in lines)  # a title cut mid-word: "the wor…s"


def test_a_long_title_is_cut_after_a_word():
    from devsim.cli.scenarios import _cut

    assert _cut("short", 100) == "short"
    assert _cut("the world's orientation is the same", 20) == "the world's…"


def test_copy_gives_an_editable_scenario(tmp_path, capsys):
    folder = tmp_path / "mine" / "deep"
    assert main(["scenarios", "copy", "md_critical", str(folder)]) == 0
    copy = folder / "md_critical.toml"
    assert capsys.readouterr().out.strip() == f"wrote {copy}"
    assert copy.read_bytes() == scenario_path("md_critical").read_bytes()
    copy.write_text(copy.read_text().replace("seed = ", "seed = 1", 1))  # editable
    assert load_scenario(copy).seed != load_scenario(scenario_path("md_critical")).seed


def test_a_copied_sweep_brings_its_base(tmp_path, capsys):
    assert main(["scenarios", "copy", "cp_profile_sweep", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "cp_profile_sweep.toml" in out
    assert "cp_profile_base.toml" in out
    base = tmp_path / "cp_profile_base.toml"
    base.write_text(base.read_text().replace("[[groups]]", "neurons = 12\n\n[[groups]]", 1))
    sweep = load_sweep(tmp_path / "cp_profile_sweep.toml")  # its base: the copy beside it
    assert {run.scenario["neurons"] for run in sweep.runs} == {12}


def test_copy_never_overwrites(tmp_path, capsys):
    mine = tmp_path / "cp_profile_base.toml"
    mine.write_text("# my own\n")
    assert main(["scenarios", "copy", "cp_profile_sweep", str(tmp_path)]) == 2
    line = _one_line(capsys.readouterr().err)
    assert "already exists" in line
    assert "cp_profile_base.toml" in line
    assert mine.read_text() == "# my own\n"
    assert not (tmp_path / "cp_profile_sweep.toml").exists()  # nothing half-copied


@pytest.mark.parametrize(("name", "folder"), [("nope", "d"), ("normal", "afile")])
def test_copy_refuses_bad_input_in_one_line(name, folder, tmp_path, capsys):
    (tmp_path / "afile").write_text("x")
    assert main(["scenarios", "copy", name, str(tmp_path / folder)]) == 2
    line = _one_line(capsys.readouterr().err)
    assert ("shipped: " in line) if name == "nope" else ("DIR: " in line)
    assert not (tmp_path / "d").exists()


# --- no file is read at import time ------------------------------------------------------------

AUDIT = textwrap.dedent(
    """
    import glob, importlib, importlib.util, os, sys

    root = importlib.util.find_spec("devsim").submodule_search_locations[0]
    data = os.path.join(root, "data")
    modules = sorted(  # every module file of the package, listed before the hook is on
        ("devsim." + os.path.relpath(p, root)[:-3].replace(os.sep, ".")).removesuffix(
            ".__init__"
        )
        for p in glob.glob(os.path.join(root, "**", "*.py"), recursive=True)
    )
    touched = []

    def hook(event, args):
        if event in ("open", "os.listdir", "os.scandir") and args:
            path = args[0]
            if isinstance(path, (str, bytes, os.PathLike)):
                path = os.path.abspath(os.fsdecode(path))
                if path == data or path.startswith(data + os.sep):
                    touched.append((event, path))

    sys.addaudithook(hook)
    for name in modules:
        importlib.import_module(name)
    print(len(modules), touched)
    """
)


def test_importing_every_module_reads_no_shipped_file():
    proc = subprocess.run(
        [sys.executable, "-c", AUDIT], capture_output=True, text=True, timeout=120, cwd=ROOT
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    count, touched = proc.stdout.strip().split(" ", 1)
    assert int(count) > 40  # every module of devsim, the app (devsim.viz.app) among them
    assert touched == "[]"


def test_a_job_over_budget_names_the_file_given(tmp_path, capsys):
    path = tmp_path / "big.toml"
    path.write_bytes(scenario_path("md_critical").read_bytes())
    out = tmp_path / "out"
    assert main(["run", str(path), "--out", str(out), "--max-organism-days", "1"]) == 2
    line = _one_line(capsys.readouterr().err)
    assert line.startswith(f"devsim: error: {path}: ")
    assert "organism-days" in line
    assert not out.exists()


@pytest.mark.parametrize("name", scenario_names("evolution"))
def test_a_shipped_evolution_runs_with_the_limit_its_description_gives(name):
    """A scenario over the default work limit says how to raise it, by enough: the command
    its description gives ran into the limit (islands_window_fixed_world said none, and
    islands_timescales' 3e7 was below its 4e7)."""
    import re

    from devsim.budget import DEFAULT_MAX_WORK, evolution_cost
    from devsim.evolution_scenario import load_evolution_scenario

    scenario = load_evolution_scenario(scenario_path(name, "evolution"))
    work = evolution_cost(scenario).organism_days
    raised = re.findall(r"--max-organism-days (\S+?)[`,)\s]", scenario.description)
    limit = max([float(value) for value in raised], default=DEFAULT_MAX_WORK)
    assert work <= limit, f"{name}: {work:,.0f} organism-days, limit {limit:,.0f}"

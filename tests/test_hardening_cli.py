"""Issue 17 on the development commands (run, validate, profile): every attack reproduced.

Bad input is one line and exit 2 before any work; interrupted or failed commands leave
nothing behind; nothing the user wrote is lost.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from cli_support import TINY, one_line, run_cli, write

from devsim.budget import BYTES_PER_SLOT, development_cost, parse_size
from devsim.errors import DevsimInputError, DevsimRunError
from devsim.genome import SPECIES
from devsim.model import DevelopmentModel
from devsim.outputs import check_out, publish_directory, staging_dir
from devsim.profile import default_starts, profile_scenario

WHOLE = "must be a whole number (not a string, a boolean or a float)"


def no_staging(folder: Path) -> bool:
    return not [p for p in folder.iterdir() if ".staging-" in p.name]


def no_model_may_be_built(monkeypatch) -> None:
    """Refused before the work starts: building a model fails the test."""

    def never(*args, **kwargs):
        raise AssertionError("a model was built")

    monkeypatch.setattr(DevelopmentModel, "__init__", never)


# --- 3. the size of a job is checked before anything is allocated ---------------------------
def test_a_job_too_big_for_memory_is_refused_before_it_starts(tmp_path, capsys, monkeypatch):
    big = TINY.replace("neurons = 2", "neurons = 1024").replace(
        "organisms = 1", "organisms = 100000"
    )
    big += '[[groups]]\nname = "b"\norganisms = 100000\n'
    source = write(tmp_path / "big.toml", big)
    no_model_may_be_built(monkeypatch)  # refused, not attempted
    code, err = run_cli(capsys, "run", source, "--out", tmp_path / "out")
    assert code == 2
    assert "memory" in one_line(err)
    assert "--max-memory" in err
    assert not (tmp_path / "out").exists()


def test_the_limits_can_be_raised_or_lowered_explicitly(tmp_path, capsys):
    source = write(tmp_path / "tiny.toml", TINY)
    code, err = run_cli(capsys, "run", source, "--out", tmp_path / "o", "--max-memory", "1M")
    assert code == 2
    assert "memory" in one_line(err)
    code, err = run_cli(
        capsys, "run", source, "--out", tmp_path / "o", "--max-organism-days", "0.001"
    )
    assert code == 2
    assert "organism-days" in one_line(err)
    code, _ = run_cli(capsys, "run", source, "--out", tmp_path / "o", "--max-memory", "2G")
    assert code == 0


def test_the_memory_estimate_grows_with_synapses_and_sizes_parse():
    small, large = development_cost(10, 32, 10, 640), development_cost(1000, 32, 10, 640)
    assert large.memory - small.memory == BYTES_PER_SLOT * 990 * 32 * 128
    assert large.organism_days == 100 * small.organism_days == 10_000
    assert parse_size("4G") == 4 * 2**30
    assert parse_size("512MiB") == 512 * 2**20
    assert parse_size("1000") == 1000
    for below_a_byte in ("0.5", "0", "-1G", "inf"):  # a limit of 0 bytes refuses every job
        with pytest.raises(DevsimInputError, match="at least 1 byte"):
            parse_size(below_a_byte)


def test_small_limits_are_said_as_given(tmp_path, capsys):
    """A limit below a KiB or below one organism-day is not rounded to 0 in the message."""
    source = write(tmp_path / "tiny.toml", TINY)
    code, err = run_cli(capsys, "run", source, "--max-memory", "0.5K", "--out", tmp_path / "o")
    assert code == 2
    assert "the limit is 512 bytes" in one_line(err)
    code, err = run_cli(
        capsys, "run", source, "--max-organism-days", "0.001", "--out", tmp_path / "o"
    )
    assert code == 2
    assert "above the limit of 0.001" in one_line(err)


@pytest.mark.parametrize("special", ["/dev/zero", "fifo", "folder", "loop", "long"])
def test_unreadable_scenarios_are_refused_without_reading_them(tmp_path, capsys, special):
    if special == "fifo":
        source = tmp_path / "fifo.toml"
        os.mkfifo(source)
    elif special == "folder":
        source = tmp_path
    elif special == "loop":
        source = tmp_path / "loop.toml"
        os.symlink(source, source)
    elif special == "long":
        source = tmp_path / ("x" * 300 + ".toml")
    else:
        source = Path(special)
    code, err = run_cli(capsys, "run", source, "--out", tmp_path / "out")
    assert code == 2
    assert "scenario file" in one_line(err)


def test_a_huge_file_is_not_read(tmp_path, capsys):
    source = write(tmp_path / "big.toml", TINY + "#" + "x" * 2_000_000 + "\n")
    code, err = run_cli(capsys, "run", source, "--out", tmp_path / "out")
    assert code == 2
    assert "bytes" in one_line(err)


def test_names_are_bounded_and_groups_are_few(tmp_path, capsys):
    long_name = TINY.replace('name = "tiny"', f'name = "{"n" * 500_000}"')
    code, err = run_cli(
        capsys, "run", write(tmp_path / "n.toml", long_name), "--out", tmp_path / "o"
    )
    assert code == 2
    assert "at most 200 characters" in one_line(err)
    groups = "".join(f'[[groups]]\nname = "g{k}"\norganisms = 1\n' for k in range(500))
    many = TINY.split("[[groups]]")[0] + groups
    code, err = run_cli(capsys, "run", write(tmp_path / "g.toml", many), "--out", tmp_path / "o")
    assert code == 2
    assert "groups" in one_line(err)


def test_many_groups_draw_a_figure_of_bounded_width(tmp_path, capsys):
    from PIL import Image

    groups = "".join(f'[[groups]]\nname = "g{k}"\norganisms = 1\n' for k in range(50))
    source = write(tmp_path / "g.toml", TINY.split("[[groups]]")[0] + groups)
    code, _ = run_cli(capsys, "run", source, "--out", tmp_path / "o")
    assert code == 0
    with Image.open(tmp_path / "o" / "figures" / "od_histograms.png") as image:
        width, height = image.size
    assert width <= 6 * 3.2 * 110 + 1
    assert height > width  # wrapped into rows


# --- 4. --out is checked before the simulation -------------------------------------------
@pytest.mark.parametrize(
    ("out", "words"),
    [
        ("", "empty"),
        ("/", "root"),
        ("{file}", "folder"),
        ("{file}/sub", "folder"),
        ("{tmp}/" + "d" * 300, "too long"),
        ("/proc/devsim-test/out", "cannot write"),
    ],
)
def test_bad_out_is_refused_before_anything_runs(tmp_path, capsys, monkeypatch, out, words):
    source = write(tmp_path / "tiny.toml", TINY)
    out = out.format(file=source, tmp=tmp_path)
    no_model_may_be_built(monkeypatch)
    code, err = run_cli(capsys, "run", source, "--out", out)
    assert code == 2
    assert words in one_line(err)
    assert source.read_text() == TINY
    assert no_staging(tmp_path)


def no_validation_may_run(monkeypatch):
    def refuse(*_args, **_kwargs):
        raise AssertionError("the validation ran before its arguments were checked")

    monkeypatch.setattr("devsim.validation.validate", refuse)


def test_validate_checks_readme_and_out_before_running(tmp_path, capsys, monkeypatch):
    no_validation_may_run(monkeypatch)
    code, err = run_cli(
        capsys, "validate", "--readme", tmp_path / "missing.md", "--out", tmp_path / "v"
    )
    assert code == 2
    assert "--readme" in one_line(err)
    readme = write(tmp_path / "README.md", "no markers here\n")
    code, err = run_cli(capsys, "validate", "--readme", readme, "--out", tmp_path / "v")
    assert code == 2
    assert "markers" in one_line(err)
    assert not (tmp_path / "v").exists()


@pytest.mark.parametrize(
    ("flags", "named"), [(["--quick"], "--quick"), (["--rows", "1"], "--rows")]
)
def test_validate_writes_a_readme_only_from_the_full_table(
    tmp_path, capsys, monkeypatch, flags, named
):
    from devsim.cli.validate import README_END, README_START

    no_validation_may_run(monkeypatch)
    text = f"{README_START}\nthe published table\n{README_END}\n"
    readme = write(tmp_path / "README.md", text)
    code, err = run_cli(capsys, "validate", *flags, "--readme", readme, "--out", tmp_path / "v")
    assert code == 2
    assert one_line(err) == (
        "devsim: error: --readme: the published table is the full run of every row; not "
        f"with {named}"
    )
    assert readme.read_text() == text
    assert not (tmp_path / "v").exists()


def test_validate_refuses_a_readme_it_could_not_replace_before_running(
    tmp_path, capsys, monkeypatch
):
    from devsim.cli.validate import README_END, README_START

    readme = write(tmp_path / "doc" / "README.md", f"{README_START}\n{README_END}\n")
    _unwritable(monkeypatch, tmp_path / "doc")
    no_validation_may_run(monkeypatch)
    code, err = run_cli(capsys, "validate", "--readme", readme, "--out", tmp_path / "v")
    assert code == 2
    assert f"--readme: {readme}: cannot write in {tmp_path / 'doc'} " in one_line(err)
    assert not (tmp_path / "v").exists()


def test_update_readme_replaces_the_file_whole(tmp_path):
    from devsim.cli.validate import README_END, README_START, update_readme

    readme = write(tmp_path / "README.md", f"a\n{README_START}\nold\n{README_END}\nb\n")
    inode = readme.stat().st_ino
    update_readme(readme, "new\n")
    assert readme.read_text() == f"a\n{README_START}\nnew\n{README_END}\nb\n"
    assert readme.stat().st_ino != inode  # a new file renamed into place, not rewritten
    assert [p.name for p in tmp_path.iterdir()] == ["README.md"]


def test_profile_refuses_bad_sizes_before_running(tmp_path, capsys):
    code, err = run_cli(capsys, "profile", "--organisms", "100000", "--out", tmp_path / "p")
    assert code == 2
    assert "memory" in one_line(err)
    code, err = run_cli(capsys, "profile", "--seeds", "0", "--out", tmp_path / "p")
    assert code == 2
    assert "--seeds" in one_line(err)
    assert not (tmp_path / "p").exists()


def test_profile_defaults_are_the_librarys(capsys):
    """``devsim profile`` with no options profiles the animal and group size of
    :func:`critical_period_profile` and :func:`profile_scenario`, and its description names
    their MD's length (the parser wrote "mouse", 8 and "4 days" a second time)."""
    import inspect

    from devsim.cli import build_parser, main
    from devsim.profile import MD_DAYS, critical_period_profile

    args = build_parser().parse_args(["profile", "--out", "p"])
    for function in (critical_period_profile, profile_scenario):
        library = inspect.signature(function).parameters
        assert args.species == library["species"].default
        assert args.organisms == library["organisms"].default
    with pytest.raises(SystemExit):
        main(["profile", "--help"])
    assert f"\n{MD_DAYS} days of contralateral lid suture" in capsys.readouterr().out


def test_profile_and_evolve_cap_seeds_alike(tmp_path, capsys):
    """One cap on the runs per scenario of a command (profile wrote evolve's 1000 again)."""
    from devsim.defaults import SEEDS_MAX

    over = str(SEEDS_MAX + 1)
    for argv, message in (
        (["profile", "--seeds", over], f"--seeds: must be 1..{SEEDS_MAX}, got {over}"),
        (["evolve", "x", "--seeds", over], f"--seeds: must be in 1..{SEEDS_MAX}, got {over}"),
    ):
        code, err = run_cli(capsys, *argv, "--out", tmp_path / "p")
        assert code == 2
        assert message in one_line(err)
    # SEEDS_MAX itself passes the check (and is refused later: over budget, no such scenario)
    for argv in (["profile", "--max-organism-days", "1"], ["evolve", "x"]):
        code, err = run_cli(capsys, *argv, "--seeds", SEEDS_MAX, "--out", tmp_path / "p")
        assert code == 2
        assert "--seeds" not in one_line(err)
    assert not (tmp_path / "p").exists()


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--starts", "2,2"], "--starts: each day once"),
        (["--starts="], "--starts: expected days"),
        (["--organisms", "100000000"], "--organisms: must be 1..100000"),
    ],
)
def test_profile_names_the_flag_it_refuses(tmp_path, capsys, flags, message):
    code, err = run_cli(capsys, "profile", *flags, "--out", tmp_path / "p")
    assert code == 2
    assert message in one_line(err)
    assert not (tmp_path / "p").exists()


def test_a_profile_may_start_at_birth_as_its_flag_allows(tmp_path, capsys):
    """--starts takes days 0..3000; an MD from day 0 has no darkness before it, and the dark
    profile said '<profile>: groups[0].rearing[0]: 'to' (0) must be after 'from' (0)'."""
    dark = profile_scenario("mouse", starts=(0, 24), organisms=1, dark=True)
    assert dark.groups[0].rearing == ()  # dark_control_p0: nothing before day 0
    assert [r.condition for r in dark.groups[1].rearing] == ["lid_suture"]
    flags = ["--starts", "0", "--seeds", "1", "--organisms", "1"]
    code, err = run_cli(capsys, "profile", *flags, "--out", tmp_path / "p")
    assert code == 0, err
    assert (tmp_path / "p" / "profile.csv").is_file()


@pytest.mark.parametrize("species", sorted(SPECIES))
def test_every_preset_has_a_profile(species):
    starts = default_starts(species)  # a knockout strain: its animal's ages (was a KeyError)
    scenario = profile_scenario(species, organisms=1)
    assert scenario.species == species
    assert [g.name for g in scenario.groups][1:] == [f"md_p{s}" for s in starts]


# --- 6. tracebacks where one line is promised ---------------------------------------------
def test_a_dollar_in_names_is_text_not_maths(tmp_path, capsys):
    source = write(
        tmp_path / "d.toml",
        TINY.replace('name = "tiny"', 'name = "cost $5 ^{x}$"').replace(
            'name = "control"', 'name = "$\\\\alpha$"'
        ),
    )
    code, err = run_cli(capsys, "run", source, "--out", tmp_path / "o")
    assert code == 0, err
    assert (tmp_path / "o" / "figures" / "timeline.png").is_file()


def test_deeply_nested_toml_is_one_line(tmp_path, capsys):
    source = write(tmp_path / "deep.toml", TINY + "x = " + "[" * 10_000 + "]" * 10_000 + "\n")
    code, err = run_cli(capsys, "run", source, "--out", tmp_path / "o")
    assert code == 2
    assert "nested" in one_line(err)
    source = write(tmp_path / "deep2.toml", TINY + "x = " + "[" * 20 + "]" * 20 + "\n")
    code, err = run_cli(capsys, "run", source, "--out", tmp_path / "o")
    assert code == 2
    assert "nested" in one_line(err)


# --- 7. nonsense is refused, not coerced -----------------------------------------------
@pytest.mark.parametrize(
    ("change", "words"),
    [
        (
            ("seed = 0", 'seed = "7"'),
            f"seed: {WHOLE}, got text",
        ),
        (
            ("seed = 0", "seed = true"),
            f"seed: {WHOLE}, got a boolean",
        ),
        (
            ("days = 3", "days = 3.0"),
            f"days: {WHOLE}, got a number",
        ),
        (
            ("days = 3", "days = true"),
            f"days: {WHOLE}, got a boolean",
        ),
        (
            ("organisms = 1", "organisms = true"),
            f"organisms: {WHOLE}",
        ),
        (
            ("organisms = 1", 'organisms = 1\ngenome = { eta = "0.1" }'),
            "gene 'eta' must be a number",
        ),
        (
            ("organisms = 1", "organisms = 1\ngenome = { eta = true }"),
            "gene 'eta' must be a number",
        ),
        (("organisms = 1", "organisms = 1\ngenome = { marker = 1.0 }"), "only in evolution"),
        (
            ("organisms = 1", "organisms = 1\ngenome = { innate_strength = 0.5 }"),
            "only in evolution",
        ),
        (
            (
                "organisms = 1",
                'organisms = 1\nrearing = [{ from = "1", to = 2, condition = "dark" }]',
            ),
            "rearing[0].from",
        ),
        (
            (
                "organisms = 1",
                'organisms = 1\ntreatments = [{ from = 0, to = 2, drug = "diazepam" }, '
                '{ from = 1, to = 3, drug = "diazepam" }]',
            ),
            "overlap",
        ),
        (('name = "control"', 'name = "a\\u0000b"'), "control characters"),
        (('name = "control"', 'name = "a\\u001b[31mred"'), "control characters"),
        (('name = "tiny"', 'name = "bell\\u0007"'), "control characters"),
    ],
)
def test_nonsense_is_one_line_naming_file_and_field(tmp_path, capsys, change, words):
    text = TINY.replace("seed = 0", "") if change[0] == "seed = 0" else TINY
    if change[0] == "seed = 0":
        text = text.replace('name = "tiny"', f'name = "tiny"\n{change[1]}')
    else:
        text = text.replace(*change)
    source = write(tmp_path / "bad.toml", text)
    code, err = run_cli(capsys, "run", source, "--out", tmp_path / "o")
    assert code == 2, err
    line = one_line(err)
    assert str(source) in line
    assert words in line
    assert "\x1b" not in err
    assert "\x07" not in err
    assert not (tmp_path / "o").exists()


def test_control_characters_in_arguments_are_not_echoed_raw(tmp_path, capsys):
    code, err = run_cli(capsys, "run", tmp_path / "x\x1b[2J\x07.toml", "--out", tmp_path / "o")
    assert code == 2
    assert "\x1b" not in err
    assert "\\x1b" in one_line(err)


def test_a_long_path_in_an_error_keeps_its_end(tmp_path, capsys):
    deep = tmp_path / ("d" * 120) / "out"
    deep.parent.mkdir()
    deep.write_text("a file where the results go")
    code, err = run_cli(capsys, "run", write(tmp_path / "tiny.toml", TINY), "--out", deep)
    assert code == 2
    line = one_line(err)
    assert "…" in line  # shortened in the middle, so the name of what is in the way stays
    assert "/out: must be a folder" in line
    assert str(tmp_path)[:20] in line


# --- 8. leftovers, collisions and interruptions ---------------------------------------------
def test_staging_left_by_a_dead_process_is_removed_by_the_next_run(tmp_path):
    out = tmp_path / "out"
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale = tmp_path / f".out.staging-{dead.pid}-abcd"
    stale.mkdir()
    (stale / "summary.json").write_text("{}")
    mine = tmp_path / ".out.staging-notes"  # not a devsim name: an older devsim's, removed
    users = tmp_path / ".out.staging.txt"  # not a staging folder at all: kept
    users.write_text("mine")
    fresh = staging_dir(out)
    assert not stale.exists()
    assert fresh.exists()
    assert users.read_text() == "mine"
    assert not mine.exists()


def test_a_name_collision_publishes_nothing(tmp_path):
    out = tmp_path / "out"
    (out / "timeline.parquet").mkdir(parents=True)
    staging = staging_dir(out)
    (staging / "summary.json").write_text("{}")
    (staging / "timeline.parquet").write_text("x")
    with pytest.raises(Exception, match="in the way"):
        publish_directory(staging, out)
    assert not (out / "summary.json").exists()


def test_a_run_whose_output_collides_exits_2_with_nothing_published(tmp_path, capsys):
    source = write(tmp_path / "tiny.toml", TINY)
    (tmp_path / "o" / "timeline.parquet").mkdir(parents=True)
    code, err = run_cli(capsys, "run", source, "--out", tmp_path / "o")
    assert code == 2
    assert "in the way" in one_line(err)
    assert sorted(p.name for p in (tmp_path / "o").iterdir()) == ["timeline.parquet"]
    assert no_staging(tmp_path)


def _unwritable(monkeypatch, folder: Path) -> None:
    """Creating anything directly in ``folder`` fails (as in a read-only folder; the tests
    may run as root, whom chmod does not stop)."""
    real = tempfile.mkdtemp

    def mkdtemp(*args, dir=None, **kwargs):
        if dir is not None and Path(dir).resolve() == folder.resolve():
            raise PermissionError(13, "Permission denied")
        return real(*args, dir=dir, **kwargs)

    monkeypatch.setattr(tempfile, "mkdtemp", mkdtemp)


def test_out_is_refused_before_work_when_the_folder_beside_it_is_read_only(
    tmp_path, capsys, monkeypatch
):
    """The staging folder is made beside --out: an existing, writable --out in a read-only
    folder is refused up front, not after the run."""
    source = write(tmp_path / "tiny.toml", TINY)
    (tmp_path / "ro" / "out").mkdir(parents=True)
    _unwritable(monkeypatch, tmp_path / "ro")
    code, err = run_cli(capsys, "run", source, "--out", tmp_path / "ro" / "out")
    assert code == 2
    assert f"cannot write in {tmp_path / 'ro'} " in one_line(err)
    assert list((tmp_path / "ro" / "out").iterdir()) == []


def test_a_file_that_cannot_be_published_is_one_line(tmp_path, monkeypatch):
    out = tmp_path / "out"
    staging = staging_dir(out)
    (staging / "a.json").write_text("{}")
    (staging / "b.json").write_text("{}")
    real = os.replace

    def replace(src, dst):
        if Path(dst).name == "b.json":
            raise PermissionError(13, "Permission denied")
        return real(src, dst)

    monkeypatch.setattr(os, "replace", replace)
    with pytest.raises(DevsimRunError, match=r"b\.json: cannot write it .*1 of 2 files"):
        publish_directory(staging, out)


def _files(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()}


def test_a_folder_holds_one_runs_results(tmp_path, capsys):
    """A run writes exactly the files it declares; a point run after a sheet run in one
    folder removes the sheet's maps (they were left beside the new summary)."""
    from devsim.cli.run import RUN_FILES, SHEET_FILES

    sheet = write(
        tmp_path / "sheet.toml",
        TINY.replace("neurons = 2", 'cortex = "sheet"\nsheet_size = 8'),
    )
    point = write(tmp_path / "tiny.toml", TINY)
    out = tmp_path / "o"
    assert run_cli(capsys, "run", sheet, "--out", out)[0] == 0
    assert _files(out) == set(RUN_FILES) | set(SHEET_FILES)
    assert run_cli(capsys, "run", point, "--out", out)[0] == 0
    assert _files(out) == set(RUN_FILES)


def test_a_run_refuses_a_batch_folder_and_blockers_before_running(tmp_path, capsys):
    point = write(tmp_path / "tiny.toml", TINY)
    batch = tmp_path / "b"
    (batch / "runs").mkdir(parents=True)
    (batch / "manifest.json").write_text("{}")
    code, err = run_cli(capsys, "run", point, "--out", batch)
    assert code == 2
    assert "holds a devsim batch" in one_line(err)
    assert _files(batch) == {"manifest.json"}
    blocked = tmp_path / "x"
    blocked.mkdir()
    (blocked / "figures").write_text("mine")
    code, err = run_cli(capsys, "run", point, "--out", blocked)
    assert code == 2
    assert "is in the way of od_histograms.png" in one_line(err)
    assert _files(blocked) == {"figures"}


def test_out_dot_stages_in_the_working_folder(tmp_path, monkeypatch, capsys):
    """``--out .`` stages beside '.', that is in '.', so a read-only folder above it does
    not matter; batch and scenarios copy write inside --out and never probe above it."""
    work = tmp_path / "ro" / "work"
    work.mkdir(parents=True)
    _unwritable(monkeypatch, tmp_path / "ro")
    monkeypatch.chdir(work)
    assert check_out(".") == Path(".")
    assert check_out(work, stages=False) == work
    with pytest.raises(DevsimInputError, match="cannot write in"):
        check_out(work)  # a staging folder would go into the read-only folder
    code, _ = run_cli(capsys, "scenarios", "copy", "md_critical", ".")
    assert code == 0
    assert (work / "md_critical.toml").is_file()


def test_an_out_on_another_file_system_is_refused_before_the_run(tmp_path, monkeypatch):
    out = tmp_path / "out"
    out.mkdir()
    real = os.stat

    def stat(path, *args, **kwargs):  # --out as if mounted from elsewhere
        result = real(path, *args, **kwargs)
        if Path(path) == out:
            return os.stat_result((*result[:2], result.st_dev + 1, *result[3:]))
        return result

    monkeypatch.setattr(os, "stat", stat)
    with pytest.raises(DevsimInputError, match="on another file system"):
        check_out(out)
    assert check_out(out, stages=False) == out


def test_check_out_accepts_new_and_existing_folders(tmp_path):
    assert check_out(tmp_path / "new" / "deeper") == tmp_path / "new" / "deeper"
    assert check_out(str(tmp_path)) == tmp_path
    assert not (tmp_path / "new").exists()  # checking creates nothing


SLOW = """
name = "slow"
days = 60
neurons = 64
[[groups]]
name = "control"
organisms = 300
"""


@pytest.mark.parametrize(("sig", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_interrupt_and_terminate_give_one_line_and_leave_nothing(tmp_path, sig, code):
    source = write(tmp_path / "slow.toml", SLOW)
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys; from devsim.cli import main; sys.exit(main())",
            "run",
            str(source),
            "--out",
            str(tmp_path / "out"),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        # Ctrl-C as at a terminal: a suite started in the background (nohup, &) hands its
        # children an ignored SIGINT, and devsim leaves an ignored Ctrl-C ignored
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    time.sleep(4)  # into the simulation
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == code, err
    # one line says how it ended, after the progress lines of a log (one every 10 s)
    *progress, last = err.strip().splitlines()
    assert last == {130: "devsim run: interrupted", 143: "devsim run: terminated"}[code], err
    assert all(line.startswith("devsim run: ") and "days done" in line for line in progress)
    assert "Traceback" not in err
    assert not (tmp_path / "out").exists()
    assert no_staging(tmp_path)


def test_an_evolution_too_big_is_refused_before_it_starts(tmp_path, capsys):
    source = write(tmp_path / "ev.toml", 'name = "big"\ngrid = [100, 100]\nper_cell = 100\n')
    code, err = run_cli(capsys, "evolve", source, "--out", tmp_path / "o")
    assert code == 2
    assert "memory" in one_line(err)
    source = write(tmp_path / "ev.toml", 'name = "long"\ngrid = [100, 100]\nper_cell = 1\n')
    code, err = run_cli(capsys, "evolve", source, "--out", tmp_path / "o")
    assert code == 2
    assert "organism-days" in one_line(err)
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize(
    "flags",
    [["--scheduler", "tcp://127.0.0.1:1"], ["--workers", "2"]],
    ids=["scheduler", "workers"],
)
def test_one_evolution_run_refuses_cluster_flags_it_would_ignore(tmp_path, capsys, flags):
    source = write(tmp_path / "ev.toml", 'name = "one"\ngrid = [2, 2]\nper_cell = 2\n')
    code, err = run_cli(capsys, "evolve", source, *flags, "--out", tmp_path / "o")
    assert code == 2
    assert one_line(err).startswith(f"devsim: error: {flags[0]}: one run of a scenario")
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["--population", "1000000000"], "--population"),
        (["--out", ""], "empty"),
        (["--out", "/proc/devsim-test/out"], "cannot write"),
        (["--out", "{file}/sub"], "folder"),
    ],
)
def test_baldwin_checks_sizes_and_out_before_running(tmp_path, capsys, argv, words):
    afile = write(tmp_path / "afile", "mine")
    argv = [a.format(file=afile) for a in argv]
    if "--out" not in argv:
        argv += ["--out", str(tmp_path / "o")]
    code, err = run_cli(capsys, "baldwin", *argv)
    assert code == 2
    assert words in one_line(err)
    assert afile.read_text() == "mine"
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize(
    ("flag", "message"),
    [
        ("--host=-v", "--host: an IP address"),
        ("--host=999.999.999.999", "--host: an IP address"),
        ("--host=::::", "--host: an IP address"),
        ("--port=0", "--port: a whole number"),
        ("--session-timeout=soon", "--session-timeout:"),
    ],
)
def test_app_refuses_bad_server_settings_before_starting(capsys, flag, message):
    code, err = run_cli(capsys, "app", flag)
    assert code == 2
    assert message in one_line(err)


def test_app_takes_addresses_and_host_names():
    from devsim.cli.app import _host

    for host in ("127.0.0.1", "0.0.0.0", "::1", "localhost", "lab-pc.school.example"):
        assert _host(host), host


def test_a_toml_date_is_named_as_one(tmp_path, capsys):
    source = write(tmp_path / "d.toml", TINY.replace("days = 3", "days = 1979-05-27"))
    code, err = run_cli(capsys, "run", source, "--out", tmp_path / "o")
    assert code == 2
    assert one_line(err).endswith(f"days: {WHOLE}, got a TOML date or time 1979-05-27")


@pytest.mark.parametrize(
    ("argv", "mark", "owner"),
    [
        (["run", "TINY"], "generations.parquet", "devsim evolve's results"),
        (["run", "TINY"], "profile.json", "devsim profile's results"),
        (["evolve", "assimilation_constant", "--quick"], "timeline.parquet",
         "devsim run's results"),
        (["profile", "--seeds", "1", "--organisms", "1"], "timeline.parquet",
         "devsim run's results"),
        (["batch", "SWEEP"], "timeline.parquet", "devsim run's results"),
        (["baldwin"], "generations.parquet", "devsim evolve's results"),
        (["lesson", "timing"], "validation.json", "devsim validate's results"),
    ],
)  # fmt: skip
def test_a_command_refuses_another_commands_folder_before_any_work(
    tmp_path, capsys, argv, mark, owner
):
    """devsim run into an evolution's folder replaced its summary.json beside its
    generations (and evolve, profile and baldwin wrote into a run's folder): each command's
    results are marked, and the others refuse them in one line, writing nothing."""
    tiny = write(tmp_path / "tiny.toml", TINY)
    sweep = write(tmp_path / "sweep.toml", f'[sweep]\nbase = "{tiny}"\nseeds = 1\n')
    argv = [{"TINY": tiny, "SWEEP": sweep}.get(a, a) for a in argv]
    out = tmp_path / "theirs"
    out.mkdir()
    (out / mark).write_text("theirs")
    code, err = run_cli(capsys, *argv, "--out", out)
    assert code == 2
    line = one_line(err)
    assert f"holds {owner} ({mark})" in line
    assert f"allowed: a new folder or one of devsim {argv[0]}'s" in line
    assert sorted(p.name for p in out.iterdir()) == [mark]


def test_a_refused_job_says_its_time_in_hours_or_minutes():
    """A small job over a small limit read "(~0.0 h on one core)"."""
    from devsim.budget import STANDARD_RATE, Cost, check_cost

    for days, shown in [(STANDARD_RATE * 3600 * 2.5, "~2.5 h"), (STANDARD_RATE * 60 * 40,
                        "~40 min"), (STANDARD_RATE * 10, "~< 1 min")]:  # fmt: skip
        with pytest.raises(DevsimInputError) as info:
            check_cost(Cost(0, days), None, 1.0, what="job")
        assert f"({shown} on one core)" in str(info.value)


def test_scenarios_list_is_the_listing(capsys):
    """`devsim lesson list` worked, `devsim scenarios list` was an invalid choice."""
    from devsim.cli import main

    assert main(["scenarios"]) == 0
    listing = capsys.readouterr().out
    assert main(["scenarios", "list"]) == 0
    assert capsys.readouterr().out == listing
    assert "md_critical" in listing


def test_group_names_that_differ_only_in_case_are_refused(tmp_path, capsys):
    """CONTROL and control were both taken, and the first silently became the reference
    the shifts are measured against."""
    both = TINY + '[[groups]]\nname = "CONTROL"\norganisms = 1\n'
    source = write(tmp_path / "case.toml", both)
    code, err = run_cli(capsys, "run", source, "--out", tmp_path / "out")
    assert code == 2
    assert one_line(err) == (
        f"devsim: error: {source}: groups[1].name: 'CONTROL' differs from 'control' only in "
        "case; allowed: group names that differ in more than case"
    )
    assert not (tmp_path / "out").exists()


def test_the_app_server_keeps_plain_https_cookie_warning_out_of_the_terminal(monkeypatch):
    """Solara warns, once a session, that a SameSite=None cookie needs https: on plain http
    at 127.0.0.1 that is expected, and it filled a teacher's terminal (20 lines a class).
    The server's environment filters it; a user's own PYTHONWARNINGS is kept."""
    import argparse
    import subprocess
    import sys

    from devsim.cli.app import server_command

    monkeypatch.setenv("PYTHONWARNINGS", "default::DeprecationWarning")
    args = argparse.Namespace(session_timeout="15m", port=8765, host="127.0.0.1")
    _, env = server_command(args)
    assert env["PYTHONWARNINGS"].startswith("default::DeprecationWarning,")
    code = (
        "import warnings\n"
        "warnings.warn('Cookies with samesite=none require https to be set', UserWarning)\n"
        "warnings.warn('another warning', UserWarning)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert "samesite" not in done.stderr
    assert "another warning" in done.stderr  # only that one is filtered

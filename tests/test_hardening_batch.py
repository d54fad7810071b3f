"""Issue 17, `devsim batch`: every parameter sweepable, sweeps counted before they are built,
only devsim's own temporaries removed, one batch (and one sweep) per folder, names drawn as
text, quoted group names, strict value types, checked options, failed runs recorded, and
nothing in the way found before any run starts."""

from __future__ import annotations

import gc
import json
import math
import os
import re
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import devsim.batch as batch
import devsim.plots.batch as batch_plots
from devsim.batch import load_sweep, parse_sweep
from devsim.cli import main
from devsim.errors import DevsimInputError, DevsimRunError

BASE = """
name = "tiny"
seed = 3
days = 6
neurons = 8
presentations_per_day = 16
batch_size = 16

[[groups]]
name = "control"
organisms = 1

[[groups]]
name = "md"
organisms = 1
rearing = [{ from = 2, to = 5, condition = "lid_suture", eye = "left" }]
"""

SWEEP = """
[sweep]
base = "base.toml"
seeds = 1

[sweep.grid]
"groups.md.rearing.0.from" = [1, 2]
"""


def write_sweep(folder: Path, sweep: str = SWEEP, base: str = BASE) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "base.toml").write_text(textwrap.dedent(base))
    path = folder / "sweep.toml"
    path.write_text(textwrap.dedent(sweep))
    return path


def batch_cli(path: Path, out: Path | str, *extra: str) -> int:
    return main(["batch", str(path), "--out", str(out), "--workers", "1", *extra])


def one_line(capsys) -> str:
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    assert "Traceback" not in err
    return err


@pytest.fixture
def no_figures(monkeypatch):
    """Batches whose figures a test does not look at skip drawing them (~0.3 s each)."""
    monkeypatch.setattr(batch_plots, "render_figures", lambda table, sweep: {})


def snapshot(folder: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()
    }


# --- 1. any sweepable parameter can be swept (organisms too) ---------------------------------


@pytest.mark.parametrize(
    "axes",
    [
        "[sweep.grid]\norganisms = [1, 2]\n",
        '[sweep.zip]\norganisms = [1, 2]\n"groups.md.rearing.0.from" = [1, 2]\n',
    ],
    ids=["grid", "zip"],
)
def test_sweeping_organisms_writes_results_and_reruns(tmp_path, capsys, monkeypatch, axes):
    path = write_sweep(tmp_path, "[sweep]\nbase = 'base.toml'\nseeds = 1\n\n" + axes)
    out = tmp_path / "out"
    assert batch_cli(path, out) == 0
    table = pd.read_parquet(out / "results.parquet")
    assert not table.columns.duplicated().any()
    assert table["sweep.organisms"].tolist() == [1, 1, 2, 2]
    assert table["organisms"].tolist() == [1, 1, 2, 2]  # each group's own count
    assert (table["status"] == "ok").all()
    assert (out / "figures" / "cbi_vs_organisms.png").stat().st_size > 1000
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["result_columns"]["organisms"] == "sweep.organisms"
    capsys.readouterr()
    monkeypatch.setattr(batch_plots, "render_figures", lambda table, sweep: {})
    assert batch_cli(path, out) == 0  # the rerun reuses every run and succeeds
    assert "0 run now, 2 reused, 0 failed" in capsys.readouterr().out


@pytest.mark.parametrize(
    "damage", ["{}", "[]", "null", "mean_odi", "day"], ids=["empty", "list", "null", "text", "day"]
)
def test_a_damaged_run_summary_is_run_again(tmp_path, capsys, no_figures, damage):
    """A summary.json that parses but does not hold a run's results is not read into the
    table (it was a KeyError or TypeError traceback): the run is run again."""
    path = write_sweep(tmp_path, SWEEP)
    out = tmp_path / "out"
    assert batch_cli(path, out) == 0
    before = pd.read_parquet(out / "results.parquet")
    damaged = sorted((out / "runs").glob("*/summary.json"))[0]
    good = damaged.read_text()
    if damage in ("mean_odi", "day"):  # a real summary with one value of the wrong kind
        summary = json.loads(good)
        group = next(iter(summary["groups"].values()))
        if damage == "mean_odi":
            group["final"]["mean_odi"] = "abc"
        else:
            group["daily"]["day"] = {}
        damaged.write_text(json.dumps(summary))
    else:
        damaged.write_text(damage)
    capsys.readouterr()
    assert batch_cli(path, out) == 0
    assert "1 run now, 1 reused, 0 failed" in capsys.readouterr().out
    assert damaged.read_text() == good
    pd.testing.assert_frame_equal(
        pd.read_parquet(out / "results.parquet").drop(columns=["timing_run_s", "timing_worker"]),
        before.drop(columns=["timing_run_s", "timing_worker"]),
    )


def test_a_groups_own_parameter_wins_over_an_every_group_one(tmp_path):
    sweep = load_sweep(
        write_sweep(
            tmp_path,
            SWEEP.replace(
                "seeds = 1", "seeds = 1\n[sweep.set]\n'groups.md.organisms' = 3\n"
            ).replace('"groups.md.rearing.0.from" = [1, 2]', "organisms = [1, 2]"),
        )
    )
    assert [[g["organisms"] for g in r.scenario["groups"]] for r in sweep.runs] == [[1, 3], [2, 3]]


# --- 2. sweeps counted before they are built; total cost checked -----------------------------


def test_a_huge_sweep_is_refused_before_any_point_is_built(tmp_path, capsys, monkeypatch):
    genes = ("gamma", "r_mat", "a_vis", "floor_adult", "prune_threshold", "sprout_rate")
    genes += ("contra_bias", "mat_noise")
    values = ", ".join(f"{k / 10}" for k in range(1, 11))
    grid = "\n".join(f'"genome.{g}" = [{values}]' for g in genes)
    path = write_sweep(tmp_path, f"[sweep]\nbase = 'base.toml'\nseeds = 1\n[sweep.grid]\n{grid}\n")

    def never(*args, **kwargs):
        raise AssertionError("a point was built")

    monkeypatch.setattr(batch, "parse_scenario", never)
    assert batch_cli(path, tmp_path / "out") == 2
    err = one_line(capsys)
    assert str(path) in err
    assert "100,000,000 runs" in err
    assert "at most 100,000 runs" in err
    assert "--max-runs" in err
    assert not (tmp_path / "out").exists()


def test_max_runs_option(tmp_path, capsys):
    path = write_sweep(tmp_path, SWEEP.replace("seeds = 1", "seeds = 3"))
    assert batch_cli(path, tmp_path / "out", "--max-runs", "5") == 2
    assert "6 runs (2 points x 3 seeds) is more than the limit" in one_line(capsys)
    assert len(load_sweep(path, max_runs=6).runs) == 6
    assert batch_cli(path, tmp_path / "out", "--max-runs", "0") == 2
    assert "--max-runs" in one_line(capsys)


def test_sweep_cost_and_an_absurd_total_refused(tmp_path, capsys):
    sweep = load_sweep(write_sweep(tmp_path, SWEEP.replace("seeds = 1", "seeds = 2")))
    cost = batch.sweep_cost(sweep)
    assert cost.runs == 4
    assert cost.organism_days == 4 * 2 * 6
    assert cost.largest_run == {
        "groups": 2,
        "organisms": 2,
        "neurons": 8,
        "days": 6,
        "presentations_per_day": 16,
    }
    huge = BASE.replace("days = 6", "days = 3650").replace("organisms = 1", "organisms = 100000")
    path = write_sweep(tmp_path / "huge", SWEEP.replace("seeds = 1", "seeds = 10"), huge)
    assert batch_cli(path, tmp_path / "huge" / "out") == 2
    err = one_line(capsys)
    assert "organism-days" in err
    assert str(path) in err
    assert not (tmp_path / "huge" / "out").exists()


# --- 3. only devsim's own temporaries are removed ---------------------------------------------


def test_users_tmp_files_are_kept_devsims_temporaries_removed(tmp_path, no_figures):
    path = write_sweep(tmp_path)
    out = tmp_path / "out"
    assert batch_cli(path, out) == 0
    run_dir = next((out / "runs").iterdir())
    (out / "figures").mkdir(exist_ok=True)
    mine = [out / ".notes.tmp", out / "figures" / ".draft.tmp", run_dir / ".scratch.tmp"]
    mine += [out / "keep.devsim-tmp.txt", out / "figures" / "notes.tmp"]
    for p in mine:
        p.write_text("user data")
    ours = [
        out / ".results.parquet.ab12cd34.devsim-tmp",
        out / "figures" / ".cbi_vs_x.png.zz99yy88.devsim-tmp",
        run_dir / ".summary.json.q1w2e3r4.devsim-tmp",
    ]
    for p in ours:
        p.write_text("half")
    assert batch_cli(path, out) == 0
    assert all(p.read_text() == "user data" for p in mine)
    assert not any(p.exists() for p in ours)


# --- 4. one batch per folder; one sweep per folder ---------------------------------------------


def test_second_batch_into_a_locked_folder_is_refused(tmp_path, capsys, no_figures):
    path = write_sweep(tmp_path)
    out = tmp_path / "out"
    out.mkdir()
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from pathlib import Path; from devsim.batch import batch_lock\n"
            "with batch_lock(Path(sys.argv[1])):\n"
            "    print('locked', flush=True); time.sleep(60)\n",
            str(out),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        assert batch_cli(path, out) == 2
        err = one_line(capsys)
        assert f"{out} is in use by another devsim batch (pid {holder.pid})" in err
        assert sorted(p.name for p in out.iterdir()) == [batch.LOCK_NAME]
    finally:
        holder.kill()
        holder.wait()
        holder.stdout.close()
    # the holder died: its lock file is left behind but blocks nothing
    assert (out / batch.LOCK_NAME).exists()
    assert batch_cli(path, out) == 0
    assert not (out / batch.LOCK_NAME).exists()


def test_lock_in_the_same_process_and_stale_lock_file(tmp_path, capsys, no_figures):
    path = write_sweep(tmp_path)
    out = tmp_path / "out"
    out.mkdir()
    with batch.batch_lock(out):
        assert batch_cli(path, out) == 2
        assert f"(pid {os.getpid()})" in one_line(capsys)
    (out / batch.LOCK_NAME).write_text("999999999\n")  # a dead batch's lock file
    assert batch_cli(path, out) == 0
    assert not (out / batch.LOCK_NAME).exists()


UNGUARDED = """
from devsim.batch import run_sweep

table = run_sweep("sweep.toml", "out", workers=2, progress=False)  # no __main__ guard
print(len(table), "rows")
"""


def test_a_script_without_a_main_guard_is_told_to_add_one(tmp_path):
    """A local cluster's workers import the script that starts it: an unguarded top-level
    run_sweep ran again in each, failed on the batch's lock (tracebacks) and the batch went
    serially. Now the workers' import stops at once with the one line that says why."""
    write_sweep(tmp_path)
    (tmp_path / "script.py").write_text(UNGUARDED)
    root = Path(__file__).resolve().parents[1]
    env = {**os.environ, "PYTHONPATH": str(root)}
    proc = subprocess.run(
        [sys.executable, "script.py"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "4 rows\n"  # the script's own batch is whole (2 runs x 2 groups)
    assert "in use by another devsim batch" not in proc.stderr
    said = [s for s in proc.stderr.splitlines() if s.startswith("devsim.errors.DevsimInputError")]
    assert said, proc.stderr  # each worker that started said why it stopped
    assert "Traceback" not in proc.stderr  # in one line (it was a traceback through
    # multiprocessing's fork server, ~20 lines a worker)
    for line in said:
        assert line.endswith(
            "script.py: run_sweep (workers=2) ran again in a worker of its local Dask cluster, "
            "which imports the script as it starts; allowed: the call under "
            '`if __name__ == "__main__":`'
        ), line


def test_the_guard_is_checked_before_the_batch_folder_is_touched(tmp_path, monkeypatch):
    """In a process still importing its parent's script (what multiprocessing marks
    ``_inheriting``), a call that would start a local cluster is refused before anything."""
    import multiprocessing

    path = write_sweep(tmp_path)
    monkeypatch.setattr(multiprocessing.current_process(), "_inheriting", True, raising=False)
    with pytest.raises(DevsimInputError, match="allowed: the call under `if __name__"):
        batch.run_sweep(path, tmp_path / "out", workers=2, progress=False)
    assert not (tmp_path / "out").exists()
    batch.run_sweep(path, tmp_path / "out", workers=1, progress=False)  # serial: no workers


def test_a_local_cluster_none_of_whose_workers_started_is_reported(capsys):
    from types import SimpleNamespace

    from distributed.core import Status

    from devsim.runner import _none_started

    failed = SimpleNamespace(
        workers={0: SimpleNamespace(status=Status.failed)}
        | {1: SimpleNamespace(status=Status.failed)}
    )
    _none_started(failed, None, None, None)
    err = capsys.readouterr().err
    assert err.startswith("devsim: warning: no worker of the local Dask cluster started")
    assert len(err.splitlines()) == 1
    one_running = SimpleNamespace(
        workers={
            0: SimpleNamespace(status=Status.failed),
            1: SimpleNamespace(status=Status.running),
        }
    )
    for cluster, exc in (
        (one_running, None),
        (SimpleNamespace(workers={}), None),
        (failed, KeyboardInterrupt),
    ):
        _none_started(cluster, exc, None, None)  # one joined; none began yet; interrupted
    assert capsys.readouterr().err == ""


def test_a_folder_of_another_sweep_is_not_overwritten(tmp_path, capsys, no_figures):
    first = write_sweep(tmp_path / "a", SWEEP.replace("[1, 2]", "[1, 2, 3]"))
    out = tmp_path / "out"
    assert batch_cli(first, out) == 0
    before = snapshot(out)
    other_base = write_sweep(tmp_path / "b", SWEEP, BASE.replace("days = 6", "days = 7"))
    other_params = write_sweep(
        tmp_path / "c", SWEEP.replace('"groups.md.rearing.0.from" = [1, 2]', "organisms = [1]")
    )
    for path, what in ((other_base, "base scenario"), (other_params, "parameters")):
        capsys.readouterr()
        assert batch_cli(path, out) == 2
        err = one_line(capsys)
        assert "holds another sweep" in err
        assert what in err
        assert snapshot(out) == before
    # the same sweep with other grid values and seeds may share the folder
    extended = write_sweep(tmp_path / "d", SWEEP.replace("[1, 2]", "[1, 2, 3, 4]"))
    capsys.readouterr()
    assert batch_cli(extended, out) == 0
    assert "1 run now, 3 reused" in capsys.readouterr().out


@pytest.mark.parametrize("name", ["results.parquet", "manifest.json", "runs", "figures"])
def test_a_folder_with_foreign_files_is_refused_and_left_alone(tmp_path, capsys, name):
    path = write_sweep(tmp_path)
    out = tmp_path / "out"
    out.mkdir()
    if name in ("runs", "figures"):
        (out / name).mkdir()
        (out / name / "mine.txt").write_text("user data")
    else:
        (out / name).write_text('{"mine": 1}')
    before = snapshot(out)
    assert batch_cli(path, out) == 2
    err = one_line(capsys)
    assert str(out) in err
    assert "manifest.json" in err
    assert snapshot(out) == before
    assert sorted(p.name for p in out.iterdir()) == [name]


# --- 5. names drawn and printed as text ----------------------------------------------------------


def test_dollar_and_control_characters_in_names(tmp_path, capsys):
    base = BASE.replace('name = "tiny"', 'name = "cost $\\\\frac{1}{$ in $"').replace(
        'name = "md"', 'name = "md$\\\\nosuchmacro$"'
    )
    controls = SWEEP.replace("seeds = 1", 'seeds = 1\nname = "a \\u0000 \\u0007 \\u001b]0;"')
    assert batch_cli(write_sweep(tmp_path / "c", controls, base), tmp_path / "c" / "out") == 2
    captured = capsys.readouterr()
    assert "sweep.name: must contain only printable characters" in captured.err
    assert not any(c in captured.err for c in "\x00\x07\x1b"), captured.err
    sweep = SWEEP.replace("seeds = 1", 'seeds = 1\nname = "a $x^{$"')
    sweep = sweep.replace("groups.md.", "groups.md$\\\\nosuchmacro$.")
    path = write_sweep(tmp_path, sweep, base)
    out = tmp_path / "out"
    assert batch_cli(path, out) == 0
    captured = capsys.readouterr()
    assert "a $x^{$" in captured.out
    assert "md$\\nosuchmacro$" in captured.out
    figures = sorted((out / "figures").glob("*.png"))
    assert len(figures) == 4
    assert all(p.stat().st_size > 1000 for p in figures)
    table = pd.read_parquet(out / "results.parquet")
    assert "md$\\nosuchmacro$" in set(table["group"])


# --- 6. group names with dots ---------------------------------------------------------------


def test_group_names_with_dots_quoted_or_not(tmp_path, capsys):
    base = BASE + '\n[[groups]]\nname = "md.genome"\norganisms = 1\n'
    sweep = SWEEP.replace(
        '"groups.md.rearing.0.from" = [1, 2]',
        '"groups.md.genome.eta" = [0.1, 0.2]\n\'groups."md.genome".genome.eta\' = [0.3]\n'
        '"groups.md.genome.genome.g_inh" = [0.5]',
    )
    runs = load_sweep(write_sweep(tmp_path, sweep, base)).runs
    assert [[g["genome"] for g in r.scenario["groups"]] for r in runs] == [
        [{}, {"eta": 0.1}, {"eta": 0.3, "g_inh": 0.5}],
        [{}, {"eta": 0.2}, {"eta": 0.3, "g_inh": 0.5}],
    ]
    twice = SWEEP.replace(
        '"groups.md.rearing.0.from" = [1, 2]',
        '\'groups."md".organisms\' = [1, 2]\n"groups.md.organisms" = [3]',
    )
    path = write_sweep(tmp_path / "twice", twice, base)
    assert batch_cli(path, tmp_path / "out") == 2
    assert "are the same parameter" in one_line(capsys)
    for key, expected in (
        ('groups."nope".organisms', "no group named 'nope'"),
        ('groups."md.organisms', "cannot read the quoted group name"),
    ):
        path = write_sweep(
            tmp_path / "bad", SWEEP.replace('"groups.md.rearing.0.from"', f"'{key}'"), base
        )
        assert batch_cli(path, tmp_path / "out") == 2
        assert expected in one_line(capsys)
    assert not (tmp_path / "out").exists()


# --- 7. strict types; deep nesting -----------------------------------------------------------

STRICT = {
    "seeds string": (SWEEP.replace("seeds = 1", 'seeds = "3"'), "sweep.seeds: got '3'"),
    "seeds bool": (SWEEP.replace("seeds = 1", "seeds = true"), "sweep.seeds: got True"),
    "seed too big": (SWEEP.replace("seeds = 1", "seeds = [1, 4294967296]"), "at most 4294967295"),
    "seed string": (SWEEP.replace("seeds = 1", 'seeds = 2\nseed = "5"'), "sweep.seed: got '5'"),
    "master seed too big": (
        SWEEP.replace("seeds = 1", "seeds = 2\nseed = 18446744073709551616"),
        "sweep.seed: got 18446744073709551616; allowed: an integer in 0..4294967295",
    ),
    "grid strings": (SWEEP.replace("[1, 2]", '["1", "2"]'), "0.from\"[0]: got '1'"),
    "grid floats": (SWEEP.replace("[1, 2]", "[1.0, 2.0]"), "allowed: an integer (from)"),
    "grid bools": (
        SWEEP.replace('"groups.md.rearing.0.from" = [1, 2]', "organisms = [true, false]"),
        "sweep.grid.organisms[0]: got True; allowed: an integer (organisms)",
    ),
    "condition number": (
        SWEEP.replace('"groups.md.rearing.0.from" = [1, 2]', '"groups.md.rearing.0.eye" = [1]'),
        "allowed: a string (eye)",
    ),
    "gene string": (
        SWEEP.replace('"groups.md.rearing.0.from" = [1, 2]', '"genome.eta" = ["0.1"]'),
        "gene 'eta' must be a number",
    ),
    "set bool": (SWEEP + "[sweep.set]\ndays = true\n", "sweep.set.days: got True"),
    "points string": (
        SWEEP.replace('[sweep.grid]\n"groups.md.rearing.0.from" = [1, 2]', "")
        + '[[sweep.points]]\ndays = "6"\n',
        "sweep.points[0].days: got '6'",
    ),
    "link to a float": (
        SWEEP + '[sweep.link]\n"groups.md.rearing.0.to" = "groups.md.rearing.0.from + 2.5"\n',
        "allowed: an integer (to)",
    ),
    "name number": (SWEEP.replace("seeds = 1", "seeds = 1\nname = 5"), "sweep.name: got 5"),
    "nested value": (SWEEP.replace("[1, 2]", "[[[1]]]"), "got [[1]]; allowed: an integer"),
}


@pytest.mark.parametrize("case", sorted(STRICT))
def test_strict_types_one_line_naming_file_and_field(tmp_path, capsys, case):
    text, expected = STRICT[case]
    path = write_sweep(tmp_path, text)
    assert batch_cli(path, tmp_path / "out") == 2
    err = one_line(capsys)
    assert str(path) in err
    assert expected in err
    assert not (tmp_path / "out").exists()


def deep(depth: int, leaf=1):
    value = leaf
    for _ in range(depth):
        value = [value]
    return value


def deep_table(depth: int):
    value: dict = {"x": 1}
    for _ in range(depth):
        value = {"x": value}
    return value


@pytest.mark.parametrize(
    "change",
    [
        lambda t: t["grid"].update({"groups.md.rearing.0.from": deep(10_000)}),
        lambda t: t["grid"].update({"groups.md.rearing.0.from": [deep(10_000)]}),
        lambda t: t["grid"].update({"genome.eta": [deep_table(10_000)]}),
        lambda t: t.update({"set": {"days": deep(10_000)}}),
        lambda t: t.update({"seeds": [deep(10_000)]}),
        lambda t: t.update({"seeds": deep(10_000)}),
        lambda t: t.update({"seed": deep_table(10_000)}),
        lambda t: t.update({"name": deep(10_000)}),
        lambda t: t.update({"link": {"groups.md.rearing.0.to": deep(10_000)}}),
        lambda t: t.update({"points": [{"days": deep(10_000)}]}),
        lambda t: t.update({"zip": deep_table(10_000)}),
    ],
)
def test_deeply_nested_values_give_one_line(tmp_path, change):
    write_sweep(tmp_path)
    table = {"base": "base.toml", "seeds": 1, "grid": {}}
    change(table)
    if not table["grid"]:
        del table["grid"]
    with pytest.raises(DevsimInputError) as info:
        parse_sweep({"sweep": table}, source="deep.toml", base_dir=tmp_path)
    message = str(info.value)
    assert message.startswith("deep.toml: sweep")
    assert "\n" not in message
    assert len(message) < 1000


# --- 8. options checked first; failed and interrupted runs ---------------------------------------


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--out", ""], "--out: must name a folder"),
        (["--out", "FILE"], "must be a folder"),
        (["--out", "FILE/sub"], "is a file"),
        (["--out", "OUT", "--workers", "0"], "--workers: must be >= 1"),
        (["--out", "OUT", "--workers", "100000"], "cores"),
    ],
)
def test_options_checked_before_any_work(tmp_path, capsys, monkeypatch, args, expected):
    path = write_sweep(tmp_path)
    (tmp_path / "FILE").write_text("user data")
    args = [str(tmp_path / a) if a in ("FILE", "OUT", "FILE/sub") else a for a in args]

    def never(*a, **k):
        raise AssertionError("the sweep was read")

    monkeypatch.setattr(batch, "load_sweep", never)
    assert main(["batch", str(path), *args]) == 2
    assert expected in one_line(capsys)
    assert (tmp_path / "FILE").read_text() == "user data"
    assert not (tmp_path / "OUT").exists()


def test_a_run_error_is_recorded_as_failed(tmp_path, capsys, monkeypatch, no_figures):
    path = write_sweep(tmp_path)
    out = tmp_path / "out"
    real = batch.run_one

    def nan_run(scenario: dict) -> dict:
        if scenario["groups"][1]["rearing"][0]["from"] == 2:
            raise DevsimRunError("organism 0 of group md: weights not finite on day 3")
        return real(scenario)

    monkeypatch.setattr(batch, "run_one", nan_run)
    assert batch_cli(path, out) == 1
    printed = capsys.readouterr().out
    assert "1 failed" in printed
    assert "DevsimRunError: organism 0 of group md" in printed
    table = pd.read_parquet(out / "results.parquet")
    bad = table[table["groups.md.rearing.0.from"] == 2]
    assert (bad["status"] == "failed").all()
    assert bad["cbi"].isna().all()
    assert bad["error"].str.contains("weights not finite").all()
    assert (table.loc[table["groups.md.rearing.0.from"] == 1, "status"] == "ok").all()
    (error,) = out.glob("runs/*/error.txt")
    assert "DevsimRunError" in error.read_text()
    assert not (error.parent / "summary.json").exists()


@pytest.mark.parametrize("where", ["load", "run"])
def test_ctrl_c_in_any_phase_is_one_line_exit_130(tmp_path, capsys, monkeypatch, where):
    path = write_sweep(tmp_path)
    out = tmp_path / "out"

    def interrupt(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(batch, "load_sweep" if where == "load" else "run_one", interrupt)
    assert batch_cli(path, out) == 130
    err = capsys.readouterr().err.strip().splitlines()  # progress lines, then one line
    assert err[-1] == "devsim batch: interrupted; rerun the same command to resume"
    assert "Traceback" not in "\n".join(err)
    assert not (out / batch.LOCK_NAME).exists()
    assert not list(tmp_path.rglob("*.devsim-tmp"))


# --- 9. nothing in the way, found before any run ----------------------------------------------


@pytest.mark.parametrize(
    "blocker",
    ["results.parquet", "manifest.json", "figures/cbi_vs_groups.md.rearing.0.from.png", "runs"],
)
def test_something_in_the_way_stops_before_any_run(tmp_path, capsys, monkeypatch, blocker):
    path = write_sweep(tmp_path)
    out = tmp_path / "out"
    out.mkdir()
    if blocker != "manifest.json":
        (out / "manifest.json").write_text(json.dumps(batch.manifest(load_sweep(path))))
    place = out / blocker
    if blocker == "runs":
        place.write_text("user data")
    else:
        place.mkdir(parents=True)
        (place / "mine.txt").write_text("user data")
    before = snapshot(out)

    def never(scenario: dict) -> dict:
        raise AssertionError("a run started")

    monkeypatch.setattr(batch, "run_one", never)
    capsys.readouterr()
    assert batch_cli(path, out) == 2
    err = one_line(capsys)
    assert "is in the way" in err
    assert blocker.split("/")[0] in err
    assert snapshot(out) == before


def test_a_run_folder_in_the_way_stops_before_any_run(tmp_path, capsys):
    path = write_sweep(tmp_path)
    out = tmp_path / "out"
    out.mkdir()
    sweep = load_sweep(path)
    (out / "runs" / sweep.runs[1].run_id).mkdir(parents=True)
    (out / "runs" / sweep.runs[1].run_id / "summary.json").mkdir()
    (out / "manifest.json").write_text(json.dumps(batch.manifest(sweep)))
    assert batch_cli(path, out) == 2
    assert "summary.json: is in the way" in one_line(capsys)
    assert not list(out.glob("runs/*/run.json"))


def test_a_sweep_of_seeds_alone_promises_no_figures(tmp_path, capsys):
    """Figures plot a swept parameter: a sweep of seeds alone writes none and says none."""
    path = write_sweep(tmp_path, "[sweep]\nbase = 'base.toml'\nseeds = 2\n")
    assert batch_cli(path, tmp_path / "out") == 0
    last = capsys.readouterr().out.strip().splitlines()[-1]
    assert last.endswith("(results.parquet, manifest.json, runs/)")
    assert not (tmp_path / "out" / "figures").exists()


@pytest.mark.parametrize(
    ("table", "line", "quoted"),
    [
        ("[sweep.grid]", "genome.eta = [0.05, 0.1]", '"genome.eta" = ...'),
        ("[sweep.set]", "groups.md.genome.eta = 0.1", '"groups.md.genome.eta" = ...'),
        ("[[sweep.points]]", "genome.eta = 0.1", '"genome.eta" = ...'),
    ],
)
def test_an_unquoted_dotted_parameter_is_told_to_be_quoted(tmp_path, capsys, table, line, quoted):
    """TOML reads genome.eta = ... as a table 'genome': the message was "unknown parameter
    'genome'" where the user wrote genome.eta."""
    path = write_sweep(tmp_path, f'[sweep]\nbase = "base.toml"\nseeds = 1\n{table}\n{line}\n')
    assert batch_cli(path, tmp_path / "out") == 2
    err = one_line(capsys)
    assert "a table, not a parameter" in err
    assert f"allowed: the parameter in double quotes, {quoted}" in err


def test_a_sweep_base_may_be_a_shipped_name_and_counts_read_in_the_singular(tmp_path, capsys):
    """Every command takes a shipped name; a sweep's base did not ("no such scenario file
    'md_critical'"). One seed is "1 seed"."""
    shipped = SWEEP.replace('"base.toml"', '"md_critical"').replace(
        "groups.md.rearing", "groups.md_p24.rearing"
    )
    sweep = load_sweep(write_sweep(tmp_path, shipped))
    assert [g["name"] for g in sweep.runs[0].scenario["groups"]] == ["control", "md_p24"]
    assert sweep.runs[1].scenario["groups"][1]["rearing"][0]["from"] == 2
    path = write_sweep(tmp_path, shipped.replace('"md_critical"', '"md_critica"'))
    assert batch_cli(path, tmp_path / "out") == 2
    assert "or a shipped scenario's name (see devsim scenarios)" in one_line(capsys)
    path = write_sweep(tmp_path / "t")
    assert batch_cli(path, tmp_path / "t" / "out", "--max-runs", "1") == 2
    assert "2 runs (2 points x 1 seed) is more than the limit" in one_line(capsys)


# --- 10. one seed, one run, one field: messages in the singular ------------------------------


def test_counts_and_verbs_of_one_are_singular(tmp_path, capsys, monkeypatch):
    """'at most 1 runs', 'mean ± sd over 1 seeds', 'its set differ'."""
    from matplotlib.figure import Figure

    path = write_sweep(tmp_path)  # 2 points x 1 seed
    assert batch_cli(path, tmp_path / "one", "--max-runs", "1") == 2
    assert "allowed: at most 1 run (fewer values" in one_line(capsys)
    titles = []
    monkeypatch.setattr(
        Figure, "savefig", lambda fig, *a, **k: titles.append(fig.axes[0].get_title())
    )
    out = tmp_path / "out"
    batch.run_sweep(path, out, workers=1, progress=False, draw=batch_plots.render_figures)
    assert titles
    assert all("(mean ± sd over 1 seed)" in t for t in titles), titles
    other = write_sweep(
        tmp_path / "b", SWEEP.replace("seeds = 1", 'seeds = 1\n[sweep.set]\n"days" = 6')
    )
    capsys.readouterr()
    assert batch_cli(other, out) == 2
    assert "its set differs from" in one_line(capsys)


def test_a_sweep_given_as_a_base_is_named_a_sweep_file(tmp_path, capsys):
    """A sweep's base that is itself a sweep read 'sweep: unknown key'."""
    inner = write_sweep(tmp_path)
    (tmp_path / "outer.toml").write_text('[sweep]\nbase = "sweep.toml"\nseeds = 1\n')
    assert batch_cli(tmp_path / "outer.toml", tmp_path / "out") == 2
    assert one_line(capsys).endswith(
        f"{tmp_path / 'outer.toml'}: sweep.base: {inner.name!r} is a sweep file, not a "
        "scenario; allowed: a scenario file (the one scenario this sweep varies), e.g. the "
        "base of that sweep"
    )
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("address", ["tls://127.0.0.1:1", "ucx://127.0.0.1:1"])
def test_a_scheduler_address_of_a_scheme_dask_cannot_use_here_is_one_line(
    tmp_path, capsys, address
):
    """tls:// without a TLS configuration and ucx:// without UCX raised TypeError inside
    distributed: a traceback and exit 1, not the --scheduler line."""
    path = write_sweep(tmp_path)
    code = main(["batch", str(path), "--out", str(tmp_path / "out"), "--scheduler", address])
    assert code == 2
    err = one_line(capsys)
    assert err.startswith(f"devsim: error: --scheduler: cannot connect to '{address}' (TypeError")
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("address", ["tcp://127.0.0.1:99999", "127.0.0.1:0", "tcp://h:65536/"])
def test_a_scheduler_port_out_of_range_is_refused_at_once(tmp_path, capsys, address):
    """tcp://127.0.0.1:99999 waited Dask's 15 s and then said 'Timed out'."""
    path = write_sweep(tmp_path)
    code = main(["batch", str(path), "--out", str(tmp_path / "out"), "--scheduler", address])
    assert code == 2
    assert one_line(capsys).endswith("allowed: a port of 1 to 65535, e.g. tcp://127.0.0.1:8786")
    assert not (tmp_path / "out").exists()


def test_a_local_cluster_that_cannot_start_is_one_line(tmp_path, capsys):
    """A Dask setting the local cluster cannot read (here a connect timeout of 'abc', as
    DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT=abc gives) failed inside LocalCluster with
    KeyError: a traceback and exit 1. Now: one line, exit 2, and the rerun resumes."""
    import dask

    path = write_sweep(tmp_path)
    out = tmp_path / "out"
    with dask.config.set({"distributed.comm.timeouts.connect": "abc"}):
        code = main(["batch", str(path), "--out", str(out), "--workers", "2"])
    assert code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert "Traceback" not in "\n".join(err)
    assert err[-1].startswith(
        "devsim: error: a local Dask cluster of 2 workers could not start (KeyError: "
    )
    assert err[-1].endswith(
        "allowed: workers 1 (--workers 1: serial, in this process), an "
        "existing cluster (--scheduler ADDRESS), or a Dask configuration "
        "it can read"
    )
    assert not (out / "runs").exists()
    # the cluster Dask could not start, nor close under that setting, warns when collected
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        gc.collect()


def test_a_batch_stopped_part_way_leaves_no_table_of_an_earlier_batch(
    tmp_path, monkeypatch, no_figures
):
    """Extending a finished sweep (a third grid value) and stopping it part-way left the
    first batch's results.parquet, every row 'ok', beside a manifest of more runs: a table
    that looked complete. Now it is removed when there are runs to do, and the rerun
    writes the whole table."""
    out = tmp_path / "out"
    batch.run_sweep(write_sweep(tmp_path), out, workers=1, progress=False)
    assert (out / "results.parquet").exists()
    extended = write_sweep(tmp_path, SWEEP.replace("[1, 2]", "[1, 2, 3]"))
    real = batch.run_one

    def stop(scenario):
        raise KeyboardInterrupt

    monkeypatch.setattr(batch, "run_one", stop)
    with pytest.raises(KeyboardInterrupt):
        batch.run_sweep(extended, out, workers=1, progress=False)
    assert len(json.loads((out / "manifest.json").read_text())["runs"]) == 3
    assert not (out / "results.parquet").exists()
    monkeypatch.setattr(batch, "run_one", real)
    table = batch.run_sweep(extended, out, workers=1, progress=False)
    assert table.attrs["batch"] == {"total": 3, "reused": 2, "ran": 1, "failed": 0}
    assert sorted(
        pd.read_parquet(out / "results.parquet")["groups.md.rearing.0.from"].unique()
    ) == [1, 2, 3]


def test_a_sweeps_memory_is_that_of_the_run_that_needs_most(tmp_path):
    """Memory was checked for the run of most organisms x neurons x days: here the long
    run of 2 organisms (about 64 MiB), not the 6-day run of 1,000 (about 91 MiB), so
    --max-memory 80M let the sweep run."""
    zipped = SWEEP.replace(
        '[sweep.grid]\n"groups.md.rearing.0.from" = [1, 2]',
        "[sweep.zip]\norganisms = [500, 1]\ndays = [6, 3650]",
    )
    sweep = load_sweep(write_sweep(tmp_path, zipped))
    assert batch.check_cost(sweep).memory > 90 * 2**20
    with pytest.raises(DevsimInputError, match="would need about 91.[0-9] MiB"):
        batch.check_cost(sweep, 1, (80 * 2**20, None))


def test_a_gene_or_world_statistic_written_as_an_integer_has_a_float_column(tmp_path, no_figures):
    """A gene swept as [1, 2] (devsim reads 1.0 and 2.0: one run id for 1 and 1.0) had an
    int64 column, and a world statistic so written too, while gene.NAME and the held
    world.* columns are float64: the tables of two batches of one sweep (written 1 and 0.5)
    had clashing schemas."""
    ints = SWEEP.replace(
        '"groups.md.rearing.0.from" = [1, 2]',
        '"genome.eta" = [1, 2]\n"world.sigma_closed" = [1]\n',
    )
    out = tmp_path / "out"
    batch.run_sweep(write_sweep(tmp_path, ints), out, workers=1, progress=False)
    table = pd.read_parquet(out / "results.parquet")
    for column in ("genome.eta", "gene.eta", "world.sigma_closed"):
        assert table[column].dtype == "float64", column
    assert table["genome.eta"].tolist() == table["gene.eta"].tolist() == [1.0, 1.0, 2.0, 2.0]


@pytest.mark.parametrize(
    ("limits", "said"),
    [
        (("1K", None), "would need about"),  # a size as --max-memory takes it
        (("lots", None), "limits[0] (max memory): expected a size like 4G or 512M"),
        ((None, math.nan), "limits[1] (max organism-days): must be a positive, finite number"),
        ((None, -1), "limits[1] (max organism-days): must be a positive, finite number"),
        ((None,), "limits: expected (max memory, max organism-days)"),
        ("16G", "limits: expected (max memory, max organism-days)"),
    ],
)
def test_run_sweeps_limits_are_checked_as_the_commands_are(tmp_path, limits, said):
    """run_sweep's limits were compared as given: "16G" raised TypeError deep in the budget,
    and a NaN limit of organism-days let any sweep through."""
    out = tmp_path / "out"
    with pytest.raises(DevsimInputError, match=re.escape(said)):
        batch.run_sweep(write_sweep(tmp_path), out, workers=1, progress=False, limits=limits)
    assert not out.exists()


@pytest.mark.parametrize(
    ("limits", "said"),
    [
        ((np.int64(1024), None), "would need about"),
        ((None, np.int64(1)), "organism-days (~"),
        ((None, np.float32(1)), "organism-days (~"),
    ],
)
def test_run_sweeps_limits_may_be_numpy_numbers(tmp_path, limits, said):
    """A limit computed with numpy (np.int64 bytes, organism-days) was taken before its
    limits were checked (060c7b8), and then refused as 'expected a size like 4G or bytes'
    or 'must be a positive, finite number, got np.int64(1)'."""
    big = SWEEP.replace('"groups.md.rearing.0.from" = [1, 2]', "days = [3650]")  # > 1 a run
    out = tmp_path / "out"
    with pytest.raises(DevsimInputError, match=re.escape(said)):
        batch.run_sweep(write_sweep(tmp_path, big), out, workers=1, progress=False, limits=limits)
    assert not out.exists()

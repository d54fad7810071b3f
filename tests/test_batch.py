"""`devsim batch`: sweep validation, identical tables on every backend, resume after a kill,
failed runs recorded."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import devsim.batch as batch
from devsim import runner
from devsim.batch import derive_seeds, load_sweep, run_sweep
from devsim.budget import default_workers
from devsim.cli import main
from devsim.errors import DevsimInputError
from devsim.plots.batch import render_figures
from devsim.shipped import scenario_path

ROOT = Path(__file__).resolve().parents[1]
VENV_BIN = Path(sys.executable).parent

BASE = """
name = "tiny"
seed = 3
days = 20
presentations_per_day = 64

[[groups]]
name = "control"
organisms = 2

[[groups]]
name = "md"
organisms = 2
rearing = [{ from = 14, to = 18, condition = "lid_suture", eye = "left" }]
"""

SWEEP = """
[sweep]
base = "base.toml"
seeds = 2
seed = 5

[sweep.set]
"genome.eta" = 0.12

[sweep.grid]
"groups.md.rearing.0.from" = [12, 15]

[sweep.link]
"groups.md.rearing.0.to" = "groups.md.rearing.0.from + 4"
"""

# The kill test needs runs long enough to stop the batch between two of them.
KILL_SWEEP = SWEEP.replace("[12, 15]", "[10, 11, 12, 13, 14, 15]")
KILL_BASE = BASE.replace("presentations_per_day = 64", "presentations_per_day = 160").replace(
    "organisms = 2", "organisms = 3"
)


def write_sweep(folder: Path, sweep: str = SWEEP, base: str = BASE) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "base.toml").write_text(textwrap.dedent(base))
    path = folder / "sweep.toml"
    path.write_text(textwrap.dedent(sweep))
    return path


def without_timing(table: pd.DataFrame) -> pd.DataFrame:
    return table.drop(columns=[c for c in table if c.startswith("timing_")])


def summaries(out: Path) -> dict[str, bytes]:
    return {p.parent.name: p.read_bytes() for p in sorted(out.glob("runs/*/summary.json"))}


# --- the sweep format --------------------------------------------------------------------


def test_sweep_points_seeds_and_links(tmp_path):
    sweep = load_sweep(write_sweep(tmp_path))
    assert sweep.parameters == ("groups.md.rearing.0.from", "groups.md.rearing.0.to")
    assert len(sweep.runs) == 4
    seeds = [
        int(np.random.SeedSequence(5).spawn(2)[i].generate_state(1, np.uint32)[0]) for i in range(2)
    ]
    assert list(sweep.seeds) == seeds == derive_seeds(5, 2)
    first = sweep.runs[0]
    assert first.params == {"groups.md.rearing.0.from": 12, "groups.md.rearing.0.to": 16}
    md = first.scenario["groups"][1]
    assert md["rearing"][0]["from"] == 12
    assert md["rearing"][0]["to"] == 16
    assert all(g["genome"] == {"eta": 0.12} for g in first.scenario["groups"])
    assert len({r.run_id for r in sweep.runs}) == 4
    assert [r.run_id for r in load_sweep(tmp_path / "sweep.toml").runs] == [
        r.run_id for r in sweep.runs
    ]
    explicit = load_sweep(
        write_sweep(tmp_path / "b", SWEEP.replace("seeds = 2\nseed = 5", "seeds = [4, 9]"))
    )
    assert explicit.seeds == (4, 9)
    assert {r.scenario["seed"] for r in explicit.runs} == {4, 9}


def test_run_ids_name_the_scenario_as_read_not_as_written(tmp_path):
    """A number written 1 or 1.0 in a float field is one scenario: one run id (a rerun
    with either spelling resumes the other's runs)."""
    ints = SWEEP.replace('"genome.eta" = 0.12', '"genome.eta" = 1')
    floats = SWEEP.replace('"genome.eta" = 0.12', '"genome.eta" = 1.0')
    a = load_sweep(write_sweep(tmp_path / "a", ints))
    b = load_sweep(write_sweep(tmp_path / "b", floats))
    assert a.runs[0].scenario["groups"][0]["genome"]["eta"] == 1  # written as an integer
    assert [r.run_id for r in a.runs] == [r.run_id for r in b.runs]
    assert len({r.run_id for r in a.runs}) == 4


@pytest.mark.parametrize("name", ["cp_profile_sweep", "genome_sweep"])
def test_shipped_sweeps_validate(name):
    sweep = load_sweep(scenario_path(name, "sweep"))
    assert 1 < len(sweep.runs) <= 48
    assert all(g["organisms"] <= 8 for r in sweep.runs for g in r.scenario["groups"])


# --- backends ------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_serial_local_cluster_and_existing_cluster_give_identical_tables(tmp_path, monkeypatch):
    from distributed import Client

    path = write_sweep(tmp_path)
    serial = run_sweep(path, tmp_path / "serial", workers=1, progress=False, draw=render_figures)
    assert list(serial["status"].unique()) == ["ok"]
    assert len(serial) == 4 * 2
    # a local cluster of as many workers as cores, at least two where there are two; its
    # jobs wait for the workers (tiny runs all ran here while the workers started)
    monkeypatch.setattr(
        runner, "_while_starting", lambda client, queued, _: client.wait_for_workers(1) or queued
    )
    local = run_sweep(path, tmp_path / "local", workers=default_workers(), progress=False)
    assert local["timing_worker"].str.startswith("tcp://127.0.0.1:").all()

    port = free_port()
    address = f"tcp://127.0.0.1:{port}"
    log = open(tmp_path / "cluster.log", "wb")  # closed in finally
    procs = [
        subprocess.Popen(
            [
                str(VENV_BIN / "dask"),
                "scheduler",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--no-dashboard",
                "--dashboard-address",
                "127.0.0.1:0",
            ],
            stdout=log,
            stderr=log,
            cwd=ROOT,
        )
    ]
    try:
        procs.append(
            subprocess.Popen(
                [
                    str(VENV_BIN / "dask"),
                    "worker",
                    address,
                    "--nworkers",
                    "1",
                    "--nthreads",
                    "1",
                    "--host",
                    "127.0.0.1",
                    "--no-dashboard",
                    "--dashboard-address",
                    "127.0.0.1:0",
                ],
                stdout=log,
                stderr=log,
                cwd=ROOT,
            )
        )
        with Client(address, timeout="30s") as client:
            client.wait_for_workers(1, timeout=60)
        remote = run_sweep(path, tmp_path / "remote", scheduler=address, progress=False)
    finally:
        for proc in reversed(procs):
            proc.terminate()
        for proc in reversed(procs):
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        log.close()

    tables = {
        name: pd.read_parquet(tmp_path / name / "results.parquet")
        for name in ("serial", "local", "remote")
    }
    for name in ("local", "remote"):
        pd.testing.assert_frame_equal(
            without_timing(tables["serial"]), without_timing(tables[name])
        )
        assert summaries(tmp_path / "serial") == summaries(tmp_path / name)
    pd.testing.assert_frame_equal(without_timing(serial), without_timing(local))
    assert remote["timing_worker"].str.startswith("tcp://127.0.0.1:").all()
    assert (serial["timing_run_s"] > 0).all()

    table = tables["serial"]
    assert list(table["group"]) == ["control", "md"] * 4
    control = table[table["group"] == "control"]
    assert (control["shift_cbi"] == 0).all()  # the reference minus itself
    assert control["shift_cbi_md_end"].isna().all()  # no deprivation, no end of it
    md = table[table["group"] == "md"]
    # the suture acted (littermates share every draw, so any difference is the rearing's;
    # a suture before the window may leave the CBI's seven classes as they were)
    assert (md["mean_odi"].to_numpy() != control["mean_odi"].to_numpy()).all()
    assert md["md_end_day"].tolist() == [16, 16, 19, 19]
    assert md["shift_cbi_md_end"].notna().all()
    for k in range(1, 8):
        assert f"od_class_{k}" in table
    manifest = json.loads((tmp_path / "serial" / "manifest.json").read_text())
    assert [r["run_id"] for r in manifest["runs"]] == list(dict.fromkeys(table["run_id"]))
    assert manifest["base_scenario"]["name"] == "tiny"
    figures = tmp_path / "serial" / "figures"
    assert (figures / "shift_cbi_md_end_vs_groups.md.rearing.0.from.png").stat().st_size > 1000
    assert (figures / "cbi_vs_groups.md.rearing.0.from.png").exists()


# --- resume after a kill ---------------------------------------------------------------------


def test_killed_batch_resumes_without_redoing_finished_runs(tmp_path):
    path = write_sweep(tmp_path, KILL_SWEEP, KILL_BASE)
    out = tmp_path / "out"
    total = len(load_sweep(path).runs)
    command = [str(VENV_BIN / "devsim"), "batch", str(path), "--out", str(out), "--workers", "1"]
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while not list(out.glob("runs/*/summary.json")):
            assert proc.poll() is None, "the batch ended before it could be killed"
            assert time.monotonic() < deadline
            time.sleep(0.002)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait()
    finished = sorted(out.glob("runs/*/summary.json"))
    assert 1 <= len(finished) < total
    for summary in finished:
        json.loads(summary.read_text())  # whole, never half-written
    before = {p: (p.stat().st_ino, p.stat().st_mtime_ns) for p in finished}
    assert not (out / "results.parquet").exists()

    rerun = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert rerun.returncode == 0, rerun.stderr
    assert f"{len(finished)} already finished" in rerun.stderr
    for p, stamp in before.items():
        assert (p.stat().st_ino, p.stat().st_mtime_ns) == stamp
    run_ids = [r["run_id"] for r in json.loads((out / "manifest.json").read_text())["runs"]]
    assert sorted(p.name for p in (out / "runs").iterdir()) == sorted(run_ids)
    for run_id in run_ids:
        assert sorted(p.name for p in (out / "runs" / run_id).iterdir()) == [
            "run.json",
            "summary.json",
        ]
        json.loads((out / "runs" / run_id / "summary.json").read_text())
    assert not [p for p in out.rglob("*") if p.name.startswith(".") or p.suffix == ".tmp"]
    table = pd.read_parquet(out / "results.parquet")
    assert len(table) == 2 * total
    assert not table.duplicated(["run_id", "group"]).any()


# --- bad sweeps and failed runs --------------------------------------------------------------

BAD = {
    "unknown parameter": (
        SWEEP.replace('"groups.md.rearing.0.from" = [12, 15]', '"genome.wisdom" = [1, 2]'),
        "sweep.grid.\"genome.wisdom\": unknown gene 'wisdom'",
    ),
    "misspelt gene": (
        SWEEP.replace('"groups.md.rearing.0.from" = [12, 15]', '"genome.etta" = [1, 2]'),
        "sweep.grid.\"genome.etta\": unknown gene 'etta' (did you mean 'eta'?); allowed genes:",
    ),
    "unknown path": (
        SWEEP.replace('"groups.md.rearing.0.from" = [12, 15]', "speed = [1, 2]"),
        "unknown parameter 'speed'; allowed: days",
    ),
    "unknown group": (
        SWEEP.replace('"groups.md.rearing.0.from" = [12, 15]', '"groups.mdx.organisms" = [1, 2]'),
        "allowed groups: control, md",
    ),
    "empty list": (SWEEP.replace("[12, 15]", "[]"), "empty list"),
    "empty grid": (
        SWEEP.replace('"groups.md.rearing.0.from" = [12, 15]', "").replace(
            '"groups.md.rearing.0.to" = "groups.md.rearing.0.from + 4"', ""
        ),
        "sweep.grid: empty table",
    ),
    "gene out of bounds": (
        SWEEP.replace("[12, 15]", '[12, 15]\n"genome.g_inh" = [1.0, 7.5]'),
        "sweep.grid.\"genome.g_inh\"[1]: gene 'g_inh' = 7.5 is out of bounds; allowed [0.0, 3.0]",
    ),
    "missing base": (
        SWEEP.replace('"base.toml"', '"nope.toml"'),
        "sweep.base: no such scenario file 'nope.toml'",
    ),
    "scenario outside life": (SWEEP.replace("[12, 15]", "[12, 18]"), "outside the simulated life"),
    "rearing index": (
        SWEEP.replace("rearing.0.from", "rearing.3.from"),
        "no rearing interval 3; allowed index: 0..0",
    ),
    "unknown sweep key": (
        SWEEP.replace("seeds = 2", "seeds = 2\nrepeats = 3"),
        "sweep.repeats: unknown key; allowed keys",
    ),
    "bad seeds": (SWEEP.replace("seeds = 2", "seeds = 0"), "sweep.seeds"),
    "unknown world statistic": (
        SWEEP.replace("[12, 15]", '[12, 15]\n"world.sigma_lid" = [0.3]'),
        "unknown parameter 'world.sigma_lid'; allowed: days",
    ),
    "world statistic out of range": (
        SWEEP.replace("[12, 15]", '[12, 15]\n"world.sigma_closed" = [0.3, -1.0]'),
        "world.sigma_closed: must be greater than or equal to 0, got -1.0",
    ),
    "world statistic as text": (
        SWEEP.replace("[12, 15]", '[12, 15]\n"world.sigma_closed" = ["1"]'),
        "allowed: a number (sigma_closed)",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_sweeps_give_one_line_exit_2_and_no_output(tmp_path, capsys, case):
    text, expected = BAD[case]
    path = write_sweep(tmp_path, text)
    out = tmp_path / "out"
    assert main(["batch", str(path), "--out", str(out), "--workers", "1"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    assert str(path) in err
    assert expected in err, err
    assert not out.exists()


def test_failed_run_is_recorded_exit_1_and_retried(tmp_path, capsys, monkeypatch):
    path = write_sweep(tmp_path)
    out = tmp_path / "out"
    real = batch.run_one

    def flaky(scenario: dict) -> dict:
        if scenario["groups"][1]["rearing"][0]["from"] == 15:
            raise RuntimeError("boom at from=15")
        return real(scenario)

    monkeypatch.setattr(batch, "run_one", flaky)
    assert main(["batch", str(path), "--out", str(out), "--workers", "1"]) == 1
    printed, err = capsys.readouterr()
    assert "2 failed" in printed
    assert "RuntimeError: boom at from=15" in printed
    # the command ends, as every command does, in one line on stderr that says why
    last = err.strip().splitlines()[-1]
    assert last.startswith("devsim batch: 2 of 4 runs failed (first: RuntimeError: boom at"), last
    assert last.endswith("rerun the same command to run them again"), last
    table = pd.read_parquet(out / "results.parquet")
    failed = table[table["status"] == "failed"]
    assert len(failed) == 4  # 2 runs x 2 groups
    assert set(failed["groups.md.rearing.0.from"]) == {15}
    assert failed["error"].eq("RuntimeError: boom at from=15").all()
    assert failed["cbi"].isna().all()
    assert table.loc[table["status"] == "ok", "cbi"].notna().all()
    errors = sorted(out.glob("runs/*/error.txt"))
    assert len(errors) == 2
    assert "Traceback" in errors[0].read_text()
    done = {p: p.stat().st_mtime_ns for p in out.glob("runs/*/summary.json")}
    assert len(done) == 2

    monkeypatch.setattr(batch, "run_one", real)
    assert main(["batch", str(path), "--out", str(out), "--workers", "1"]) == 0
    printed = capsys.readouterr().out
    assert "2 run now, 2 reused, 0 failed" in printed
    # the terminal's sd is over seeds: not results.parquet's cbi_sd, which is over animals
    header = printed.splitlines()[
        printed.splitlines().index(
            "each group's final CBI and shift: runs, mean and sd over the point's seeds"
        )
        + 1
    ]
    assert "cbi_sd_over_seeds" in header.split(), header
    assert "cbi_sd" not in header.split(), header
    assert not list(out.glob("runs/*/error.txt"))
    assert all(p.stat().st_mtime_ns == t for p, t in done.items())
    assert (pd.read_parquet(out / "results.parquet")["status"] == "ok").all()


def test_a_sheet_sweep_tables_the_map_measures_too(tmp_path):
    """results.parquet holds every final metric: on a sheet, its map measures as well."""
    from devsim.maps import MAP_METRICS

    base = """
    name = "tiny sheet"
    species = "cat"
    days = 12
    cortex = "sheet"
    sheet_size = 8
    presentations_per_day = 32

    [[groups]]
    name = "control"
    organisms = 1
    """
    sweep = """
    [sweep]
    base = "base.toml"
    seeds = 1

    [sweep.grid]
    "genome.eta" = [0.01, 0.02]
    """
    out = tmp_path / "out"
    table = run_sweep(write_sweep(tmp_path, sweep, base), out, workers=1)
    assert all(m in table.columns for m in MAP_METRICS)
    assert table.columns.get_loc("contra_share") > table.columns.get_loc("acuity_right")
    run_id = table["run_id"].iloc[0]
    final = json.loads((out / "runs" / run_id / "summary.json").read_text())["groups"]
    for metric in MAP_METRICS:
        written = final["control"]["final"][metric]
        expected = np.nan if written is None else written
        assert table[metric].iloc[0] == pytest.approx(expected, nan_ok=True), metric
    assert pd.read_parquet(out / "results.parquet").columns.tolist() == table.columns.tolist()


def test_each_row_says_the_genes_its_group_ran_with(tmp_path):
    """A group's own gene (here md's eta, in sweep.set) wins over a sweep-wide genome.eta:
    the md rows were labelled with the swept eta they did not run with, and set's genes
    were in no column. gene.NAME is what each group ran with; genome.eta stays the run's
    coordinate in the sweep."""
    from devsim.genome import Genome

    base = BASE.replace('name = "control"', 'name = "control"\nspecies = "cat"')
    sweep = """
    [sweep]
    base = "base.toml"
    seeds = 1

    [sweep.set]
    "groups.md.genome.eta" = 0.3
    "groups.control.genome.g_inh" = 1.2

    [sweep.grid]
    "genome.eta" = [0.1, 0.2]
    """
    table = run_sweep(write_sweep(tmp_path, sweep, base), tmp_path / "out", workers=1)
    assert list(table.columns[:3]) == ["genome.eta", "gene.eta", "gene.g_inh"]
    md = table[table["group"] == "md"]
    control = table[table["group"] == "control"]
    assert md["genome.eta"].tolist() == [0.1, 0.2]
    assert md["gene.eta"].tolist() == [0.3, 0.3]
    assert control["gene.eta"].tolist() == [0.1, 0.2]
    assert control["gene.g_inh"].tolist() == [1.2, 1.2]
    # a group that does not set g_inh runs its species' value (md: the base's mouse)
    assert md["gene.g_inh"].tolist() == [Genome.preset("mouse")["g_inh"]] * 2
    # and the md group really ran 0.3: its runs are the same whatever the swept eta
    assert md["cbi"].iloc[0] == md["cbi"].iloc[1]


def test_each_row_says_its_group_s_species_and_the_run_s_settings(tmp_path):
    """results.parquet had only the swept parameters and gene.*: a species, days, neurons,
    presentations or cortex held fixed were only in manifest.json, so the tables of two
    batch folders concatenated lost them. Each row now names them; a swept top-level
    parameter of the same name keeps its coordinate as sweep.NAME (as organisms does)."""
    base = """
    name = "tiny"
    seed = 3
    days = 6
    neurons = 8
    presentations_per_day = 16

    [[groups]]
    name = "control"
    organisms = 1

    [[groups]]
    name = "md"
    species = "cat"
    organisms = 1
    rearing = [{ from = 2, to = 5, condition = "lid_suture", eye = "left" }]
    """
    sweep = """
    [sweep]
    base = "base.toml"
    seeds = 1

    [sweep.grid]
    days = [6, 7]
    """
    out = tmp_path / "out"
    table = run_sweep(write_sweep(tmp_path, sweep, base), out, workers=1, progress=False)
    assert table["sweep.days"].tolist() == [6, 6, 7, 7]
    assert table["days"].tolist() == [6, 6, 7, 7]
    assert table["species"].tolist() == ["mouse", "cat"] * 2  # the scenario's, md's own
    assert table["neurons"].tolist() == [8] * 4
    assert table["presentations_per_day"].tolist() == [16] * 4
    assert table["batch_size"].tolist() == [16] * 4  # the default, not in the base file
    assert table["cortex"].tolist() == ["point"] * 4
    assert table["sheet_size"].tolist() == [32] * 4  # a sheet's side, unused by a point cortex
    # the world's rearing statistics, held fixed: the standard world's (no [world] table)
    from devsim.senses import REARING_STATISTICS, WorldParams

    for name in REARING_STATISTICS:
        assert table[f"world.{name}"].tolist() == [getattr(WorldParams(), name)] * 4
    written = pd.read_parquet(out / "results.parquet")
    assert written.columns.tolist() == table.columns.tolist()
    assert json.loads((out / "manifest.json").read_text())["result_columns"] == {
        "days": "sweep.days"
    }


def test_each_row_names_the_worlds_statistics_swept_or_held(tmp_path):
    """The world's rearing statistics held fixed were in manifest.json only: two batches'
    tables concatenated lost the lid's light they ran with."""
    from devsim.senses import REARING_STATISTICS

    base = """
    name = "tiny"
    seed = 3
    days = 6
    neurons = 8
    presentations_per_day = 16
    world = { sigma_dark = 0.2 }

    [[groups]]
    name = "control"
    organisms = 1
    """
    sweep = """
    [sweep]
    base = "base.toml"
    seeds = 1

    [sweep.grid]
    "world.sigma_closed" = [0.3, 1.5]
    """
    table = run_sweep(write_sweep(tmp_path, sweep, base), tmp_path / "out", workers=1,
                      progress=False)  # fmt: skip
    names = [f"world.{n}" for n in REARING_STATISTICS]
    assert all(table.columns.tolist().count(c) == 1 for c in names)  # swept: its own column
    assert table["world.sigma_closed"].tolist() == [0.3, 1.5]
    assert table["world.sigma_dark"].tolist() == [0.2, 0.2]  # the base's [world] table
    cols = table.columns.tolist()
    assert cols.index("world.sigma_open") == cols.index("sheet_size") + 1  # after the settings


def test_a_sweep_wide_gene_leaves_a_gene_a_base_group_sets_itself(tmp_path):
    """A group's own gene wins: md's `genome = { eta = 0.2 }` in the base was replaced by
    the sweep's genome.eta (md ran 0.05 and 0.1). A link varies it too, if wanted; a gene
    every group sets itself is no sweep-wide parameter."""
    base = BASE.replace(
        'name = "md"\norganisms = 2', 'name = "md"\norganisms = 2\ngenome = { eta = 0.2 }'
    )
    sweep = """
    [sweep]
    base = "base.toml"
    seeds = 1

    [sweep.grid]
    "genome.eta" = [0.05, 0.1]
    """
    runs = load_sweep(write_sweep(tmp_path, sweep, base)).runs
    ran = [{g["name"]: g.get("genome", {}).get("eta") for g in r.scenario["groups"]} for r in runs]
    assert ran == [{"control": 0.05, "md": 0.2}, {"control": 0.1, "md": 0.2}]
    linked = sweep + '[sweep.link]\n"groups.md.genome.eta" = "genome.eta"\n'
    runs = load_sweep(write_sweep(tmp_path / "linked", linked, base)).runs
    assert [r.scenario["groups"][1]["genome"]["eta"] for r in runs] == [0.05, 0.1]
    both = base.replace('name = "control"', 'name = "control"\ngenome = { eta = 0.3 }')
    with pytest.raises(DevsimInputError) as refused:
        load_sweep(write_sweep(tmp_path / "both", sweep, both))
    assert str(refused.value).endswith(
        "sweep.grid.\"genome.eta\": 'genome.eta': every group of the base scenario sets eta "
        "itself, and a group's own gene wins; allowed: groups.NAME.genome.eta"
    )


def test_a_group_named_genome_is_no_gene(tmp_path):
    """The gene columns were read from the parameters' spelling: groups.genome.organisms
    (a group named "genome") made a gene "organisms", and the table a KeyError."""
    base = BASE.replace('name = "md"', 'name = "genome"').replace('"groups.md', '"groups.genome')
    sweep = """
    [sweep]
    base = "base.toml"
    seeds = 1

    [sweep.grid]
    "groups.genome.organisms" = [1, 2]
    "groups.genome.genome.eta" = [0.1]
    """
    sweep_file = write_sweep(tmp_path, sweep, base)
    assert load_sweep(sweep_file).genes == ("eta",)
    table = run_sweep(sweep_file, tmp_path / "out", workers=1)
    assert table.loc[table["group"] == "genome", "gene.eta"].tolist() == [0.1, 0.1]


def test_a_progress_reader_that_leaves_early_stops_nothing(tmp_path):
    """`devsim batch ... 2>&1 | head -2`: the progress line after the reader had gone
    stopped the batch with exit 1, no word and no results.parquet."""
    out = tmp_path / "out"
    code = "import sys; from devsim.cli import main; sys.exit(main(sys.argv[1:]))"
    argv = [sys.executable, "-c", code, "batch", str(write_sweep(tmp_path)), "--out", str(out)]
    with subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE) as proc:
        assert proc.stderr.readline()  # the first line, then the reader leaves
        proc.stderr.close()
        assert proc.wait(timeout=120) == 0
    assert len(pd.read_parquet(out / "results.parquet")) == 2 * 2 * 2  # points, seeds, groups
    assert not list(out.rglob("error.txt"))


def _figures_of(tmp_path, monkeypatch, text: str, failed: int = 0):
    """The sweep of ``text`` and, per figure of its metric 'cbi' (by its parameter), its
    (x label, title, lines), drawn from random results (the first ``failed`` rows of a
    failed run)."""
    from matplotlib.figure import Figure

    sweep = load_sweep(write_sweep(tmp_path, text))
    rng = np.random.default_rng(0)
    rows = [
        {**{sweep.columns[k]: v for k, v in run.params.items()}, "seed": run.seed,
         "group": group, "status": "ok", "cbi": rng.random(), "mean_odi": rng.random(),
         "shift_cbi": rng.random(), "shift_cbi_md_end": np.nan}
        for run in sweep.runs for group in ("control", "md")
    ]  # fmt: skip
    for row in rows[:failed]:
        row.update(status="failed", cbi=np.nan, mean_odi=np.nan, shift_cbi=np.nan)
    drawn = {}

    def keep(fig, *args, **kwargs):
        ax = fig.axes[0]
        if " cbi vs " not in f" {ax.get_title()}".replace("\n", " "):
            return
        lines = [line for line in ax.get_lines() if line.get_marker() == "o"]
        drawn[ax.get_xlabel().split("\n")[0]] = (ax.get_xlabel(), ax.get_title(), lines)

    monkeypatch.setattr(Figure, "savefig", keep)
    render_figures(pd.DataFrame(rows), sweep)
    return sweep, drawn


def test_a_figure_that_pools_the_other_parameters_says_so(tmp_path, monkeypatch):
    """Beyond 12 lines the other swept parameters are pooled into one line per group; the
    title then says the spread is over them as well as over seeds."""
    grid = '"genome.eta" = [0.1, 0.2]\n"genome.g_inh" = [0.4, 0.6, 0.8, 1.0, 1.2, 1.4, 1.6]\n'
    text = (
        SWEEP.replace('"groups.md.rearing.0.from" = [12, 15]', grid)
        .replace('"groups.md.rearing.0.to" = "groups.md.rearing.0.from + 4"', "")
        .replace("[sweep.link]", "")
        .replace('"genome.eta" = 0.12', '"days" = 20')
    )
    _, drawn = _figures_of(tmp_path, monkeypatch, text)
    assert "over 2 seeds and every genome.g_inh)" in drawn["genome.eta"][1]
    assert len(drawn["genome.eta"][2]) == 2  # a line per group
    assert "over 2 seeds)" in drawn["genome.g_inh"][1]  # 2 x 2 lines: drawn, not pooled
    assert len(drawn["genome.g_inh"][2]) == 2 * 2


def test_a_figure_says_how_many_seeds_are_behind_its_points(tmp_path, monkeypatch):
    """A point whose run failed for a seed is the mean of fewer seeds (here one: its sd is
    drawn as 0); the title said "over 2 seeds" all the same."""
    _, drawn = _figures_of(tmp_path / "ok", monkeypatch, SWEEP)
    assert drawn["groups.md.rearing.0.from"][1].endswith("(mean ± sd over 2 seeds)")
    _, drawn = _figures_of(tmp_path / "failed", monkeypatch, SWEEP, failed=2)  # one run
    assert drawn["groups.md.rearing.0.from"][1].endswith("(mean ± sd over 1-2 seeds a point)")


def test_zipped_parameters_share_one_axis_in_the_figures(tmp_path, monkeypatch):
    """Parameters zipped together (or set by the same points) move along one axis: a figure
    against one of them draws a line per group and per independent parameter, each line
    through every row, and says which parameters go with it; where points repeat a value,
    the others set with it are pooled and the title says so."""
    FROM, TO = "groups.md.rearing.0.from", "groups.md.rearing.0.to"
    independent = SWEEP.replace(f'"{FROM}" = [12, 15]', '"genome.eta" = [0.1, 0.2]').replace(
        '"genome.eta" = 0.12', '"days" = 20'
    )
    link = f'[sweep.link]\n"{TO}" = "{FROM} + 4"'
    zipped = f'[sweep.zip]\n"{FROM}" = [10, 11, 12]\n"{TO}" = [14, 15, 16]\n'
    sweep, drawn = _figures_of(tmp_path / "zip", monkeypatch, independent.replace(link, zipped))
    assert sweep.varied_with(FROM) == (TO,)
    assert sweep.varied_with("genome.eta") == ()
    label, title, lines = drawn[FROM]
    assert f"(with {TO})" in label
    assert len(lines) == 2 * 2  # group x eta, not x the zipped 'to'
    assert all(len(line.get_xdata()) == 3 for line in lines)
    assert "every" not in title
    assert len(drawn["genome.eta"][2]) == 2 * 3  # a line per group and zip row

    rows = ((10, 14), (12, 15), (12, 16))
    points = "".join(f'[[sweep.points]]\n"{FROM}" = {a}\n"{TO}" = {b}\n' for a, b in rows)
    sweep, drawn = _figures_of(tmp_path / "points", monkeypatch, independent.replace(link, points))
    assert sweep.varied_with(TO) == (FROM,)
    label, title, lines = drawn[FROM]
    assert all(len(line.get_xdata()) == 2 for line in lines)  # from = 10, 12
    assert f"every {TO}" in title  # from = 12 pools to = 15 and 16
    label, title, lines = drawn[TO]
    assert all(len(line.get_xdata()) == 3 for line in lines)
    assert "every" not in title


def test_a_sweep_switches_between_one_eye_and_two_eye_conditions(tmp_path):
    """A condition of both eyes leaves out the eye of the base or of sweep.set (it has
    nothing to act on); one eye's condition takes it from there; an eye the sweep itself
    varies is never dropped."""
    key = '"groups.md.rearing.0.condition"'
    conditions = '["lid_suture", "binocular_suture", "dark"]'
    text = SWEEP.replace('"groups.md.rearing.0.from" = [12, 15]', f"{key} = {conditions}")
    text = text.replace(
        '[sweep.link]\n"groups.md.rearing.0.to" = "groups.md.rearing.0.from + 4"', ""
    )
    sweep = load_sweep(write_sweep(tmp_path / "from_one_eye", text))  # the base: left lid
    intervals = [run.scenario["groups"][1]["rearing"][0] for run in sweep.runs[::2]]
    assert intervals == [
        {"from": 14, "to": 18, "condition": "lid_suture", "eye": "left"},
        {"from": 14, "to": 18, "condition": "binocular_suture"},
        {"from": 14, "to": 18, "condition": "dark"},
    ]
    # from a base of both eyes, the eye comes from sweep.set
    base = BASE.replace('condition = "lid_suture", eye = "left"', 'condition = "binocular_suture"')
    with_eye = text.replace("[sweep.set]\n", '[sweep.set]\n"groups.md.rearing.0.eye" = "right"\n')
    sweep = load_sweep(write_sweep(tmp_path / "from_two_eyes", with_eye, base))
    eyes = [run.scenario["groups"][1]["rearing"][0].get("eye") for run in sweep.runs[::2]]
    assert eyes == ["right", None, None]
    # an eye varied point by point is the user's own: the clash is named
    grid = text.replace(conditions, '["binocular_suture"]\n"groups.md.rearing.0.eye" = ["left"]')
    with pytest.raises(DevsimInputError, match="takes no eye"):
        load_sweep(write_sweep(tmp_path / "clash", grid))


def test_an_eye_set_beside_a_condition_of_both_eyes_is_a_clash(tmp_path):
    """In sweep.set, an eye and a condition of both eyes for one interval contradict each
    other (as they would in the scenario itself): named, not silently resolved."""
    text = SWEEP.replace(
        "[sweep.set]\n",
        '[sweep.set]\n"groups.md.rearing.0.condition" = "dark"\n'
        '"groups.md.rearing.0.eye" = "right"\n',
    )
    with pytest.raises(DevsimInputError, match="takes no eye"):
        load_sweep(write_sweep(tmp_path, text))


def test_a_group_with_its_own_control_is_shifted_against_it(tmp_path):
    base = (
        BASE
        + """
[[groups]]
name = "md2"
organisms = 2
control = "md"
rearing = [{ from = 14, to = 18, condition = "lid_suture", eye = "left" }]
"""
    )
    sweep = SWEEP.replace("seeds = 2", "seeds = 1").replace("[12, 15]", "[12]")
    table = run_sweep(write_sweep(tmp_path, sweep, base), tmp_path / "out", workers=1,
                      progress=False, draw=None)  # fmt: skip
    by = table.set_index("group")
    # md2 is md's twin from day 14 on, measured against md, not against the reference
    assert by.loc["md2", "shift_cbi"] == pytest.approx(by.loc["md", "cbi"] - by.loc["md2", "cbi"])
    assert by.loc["md", "shift_cbi"] == pytest.approx(
        by.loc["control", "cbi"] - by.loc["md", "cbi"]
    )


def test_a_sweep_varies_the_worlds_rearing_statistics(tmp_path):
    """How a row depends on the lid's light (the suture-noise level of rows 9, 10 and 14)
    is a sweep over the scenario's [world] table, which the base need not have."""
    text = SWEEP.replace('"groups.md.rearing.0.from" = [12, 15]',
                         '"world.sigma_closed" = [0.3, 1.5]').replace(
        '[sweep.link]\n"groups.md.rearing.0.to" = "groups.md.rearing.0.from + 4"', "")  # fmt: skip
    sweep = load_sweep(write_sweep(tmp_path, text))
    worlds = [run.scenario["world"] for run in sweep.runs[::2]]
    assert [w["sigma_closed"] for w in worlds] == [0.3, 1.5]
    assert set(worlds[0]) == {"sigma_closed"}  # the rest as the standard world's
    assert "world" not in load_sweep(write_sweep(tmp_path / "plain")).runs[0].scenario
    # results.parquet: the swept statistic is its parameter's column, the others held
    from devsim.batch import world_statistics
    from devsim.senses import WorldParams

    ran = world_statistics(sweep.runs[0].scenario)
    assert ran["sigma_closed"] == 0.3
    assert ran["sigma_open"] == WorldParams().sigma_open

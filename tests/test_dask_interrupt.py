"""Ctrl-C at a terminal during a run on a local Dask cluster (``--workers 2``): the terminal
sends SIGINT to every process of the command, the cluster's worker processes too. Only
devsim's own process may take it: the command ends in its one line (no worker's traceback),
exit code 130, no process of it left, and rerunning the same command resumes. And a signal
that devsim's process takes inside a garbage collector's callback (the cluster's scheduler,
in that process, adds one) is not lost."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pandas as pd
import pytest

from devsim.batch import LOCK_NAME

on_linux = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")

BASE = """
name = "long days"
seed = 3
days = 250
neurons = 32
presentations_per_day = 32
batch_size = 16

[[groups]]
name = "control"
organisms = 8

[[groups]]
name = "md"
organisms = 8
rearing = [{ from = 2, to = 5, condition = "lid_suture", eye = "left" }]
"""

SWEEP = """
[sweep]
base = "base.toml"
seeds = 2

[sweep.grid]
"groups.md.rearing.0.from" = [1, 2, 3, 4]
"""

EVOLVE = """
name = "ev"
seed = 3
generations = 50
days = 20
assess_from = 16
assess_every = 4
[environment]
orientation = "individual"
[quick]
generations = 3
grid = [3, 3]
neurons = 8
presentations_per_day = 40
batch_size = 4
"""


MAIN = "import sys; from devsim.cli import main; sys.exit(main())"


def devsim(*argv: str) -> list[str]:
    return [sys.executable, "-c", MAIN, *argv]


def start(argv: list[str]) -> subprocess.Popen:
    """``argv`` as started from a terminal: a process group of its own (the terminal's
    foreground job) with Ctrl-C at its default (a suite started in the background hands its
    children an ignored SIGINT, and devsim leaves an ignored Ctrl-C ignored)."""
    return subprocess.Popen(
        argv,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )


def group(pgid: int) -> dict[int, tuple[int, str]]:
    """The live processes of process group ``pgid``: pid -> (parent pid, state)."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:  # gone meanwhile
            continue
        state, ppid, pgrp = stat[stat.rindex(")") + 2 :].split()[:3]
        if int(pgrp) == pgid and state != "Z":
            found[int(entry.name)] = (int(ppid), state)
    return found


def workers_of(pid: int) -> list[int]:
    """The processes started by ``pid``'s children: its cluster's workers (forked from
    multiprocessing's fork server, a child of ``pid``)."""
    processes = group(pid)
    return [p for p, (parent, _) in processes.items() if processes.get(parent, (0,))[0] == pid]


def interrupt_when(proc: subprocess.Popen, underway, timeout: float = 90) -> str:
    """Ctrl-C to ``proc``'s whole group once ``underway()`` and two workers run; its stderr."""
    deadline = time.monotonic() + timeout
    while not (underway() and len(workers_of(proc.pid)) >= 2):
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            _, err = proc.communicate()
            pytest.fail(f"no run underway on two workers (exit {proc.returncode}):\n{err}")
        time.sleep(0.1)
    os.killpg(proc.pid, signal.SIGINT)  # as the terminal does on Ctrl-C
    try:
        _, err = proc.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        pytest.fail("still running 60 s after Ctrl-C")
    deadline = time.monotonic() + 10  # the fork server and workers go with it
    while group(proc.pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    left = group(proc.pid)
    for pid in left:
        os.kill(pid, signal.SIGKILL)
    assert not left, f"processes left after Ctrl-C: {left}"
    return err


def assert_one_interrupt_line(err: str, code: int, last: str, prefix: str) -> None:
    assert code == 130, err
    assert "Traceback" not in err, err
    assert "KeyboardInterrupt" not in err, err
    assert "Exception ignored" not in err, err
    *before, end = err.strip().splitlines()
    assert end == last, err
    assert all(line.startswith(prefix) for line in before), err  # progress lines only


def on_worker(out: Path) -> bool:
    """A run of the batch has finished on a worker of the cluster."""
    for path in out.glob("runs/*/summary.json"):  # written last, after run.json
        info = json.loads((path.parent / "run.json").read_text())
        if info["timing"]["worker"].startswith("tcp://"):
            return True
    return False


@pytest.mark.slow
@on_linux
def test_ctrl_c_during_a_dask_batch_is_one_line_and_the_batch_resumes(tmp_path):
    (tmp_path / "base.toml").write_text(textwrap.dedent(BASE))
    sweep = tmp_path / "sweep.toml"
    sweep.write_text(textwrap.dedent(SWEEP))
    out = tmp_path / "out"
    argv = devsim("batch", str(sweep), "--out", str(out), "--workers", "2")
    proc = start(argv)
    err = interrupt_when(proc, lambda: on_worker(out))
    line = "devsim batch: interrupted; rerun the same command to resume"
    assert_one_interrupt_line(err, proc.returncode, line, "devsim batch: ")
    assert not (out / LOCK_NAME).exists()
    assert not list(tmp_path.rglob("*.devsim-tmp"))
    done = len(list(out.glob("runs/*/summary.json")))
    assert 1 <= done < 8  # some runs finished, the rest were stopped

    again = subprocess.run(argv, capture_output=True, text=True, timeout=120)
    assert again.returncode == 0, again.stderr
    assert f"{8 - done} run now, {done} reused, 0 failed" in again.stdout
    table = pd.read_parquet(out / "results.parquet")
    assert table["run_id"].nunique() == 8
    assert (table["status"] == "ok").all()


@pytest.mark.slow
@on_linux
def test_ctrl_c_during_dask_evolution_runs_is_one_line_and_keeps_finished_runs(tmp_path):
    scenario = tmp_path / "ev.toml"
    scenario.write_text(textwrap.dedent(EVOLVE))
    out = tmp_path / "out"
    argv = devsim("evolve", str(scenario), "--quick", "--seeds", "3", "--workers", "2")
    argv += ["--out", str(out)]
    proc = start(argv)
    err = interrupt_when(proc, lambda: any(out.glob("ev/seed*/summary.json")))
    assert_one_interrupt_line(err, proc.returncode, "devsim evolve: interrupted", "devsim ")
    assert not [p for p in tmp_path.rglob("*") if ".staging-" in p.name]
    seeds = list(out.glob("ev/seed*"))  # a run's folder is written whole when it finishes
    assert 1 <= len(seeds) < 3
    for folder in seeds:  # so a rerun skips it (a rerun after Ctrl-C: the batch test)
        assert {p.name for p in folder.iterdir()} >= {"scenario.json", "summary.json"}
    assert not (out / "comparison.csv").exists()


IN_A_GC_CALLBACK = """
import gc, signal, sys
import devsim.batch as batch
from devsim.cli import main

run_one, armed = batch.run_one, []

def callback(phase, info):  # run at each collection, as a Dask scheduler's GC statistics
    if armed and phase == "start":
        armed.clear()
        signal.raise_signal(signal.{sig})  # arriving now: taken inside this callback

def run_one_armed(*args, **kwargs):
    armed.append(True)
    gc.collect()
    return run_one(*args, **kwargs)

batch.run_one = run_one_armed
gc.callbacks.append(callback)
sys.exit(main())
"""

TINY_BASE = """
name = "tiny"
seed = 3
days = 6
neurons = 8
presentations_per_day = 16
batch_size = 16
[[groups]]
name = "control"
organisms = 1
"""


@pytest.mark.parametrize(
    ("sig", "code", "last"),
    [
        ("SIGINT", 130, "devsim batch: interrupted; rerun the same command to resume"),
        ("SIGTERM", 143, "devsim batch: terminated"),
    ],
)
def test_a_signal_taken_in_a_gc_callback_still_stops_the_command(tmp_path, sig, code, last):
    """Python drops an exception raised in a garbage collector's callback ("Exception
    ignored"): the KeyboardInterrupt of a Ctrl-C taken there was lost, and the batch went
    on to the end (exit code 0)."""
    (tmp_path / "base.toml").write_text(TINY_BASE)
    sweep = tmp_path / "sweep.toml"
    sweep.write_text('[sweep]\nbase = "base.toml"\nseeds = 2\n')
    out = tmp_path / "out"
    argv = [sys.executable, "-c", IN_A_GC_CALLBACK.format(sig=sig), "batch", str(sweep)]
    proc = start([*argv, "--out", str(out), "--workers", "1"])
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == code, err
    assert "Traceback" not in err, err
    assert "Exception ignored" not in err, err
    assert err.strip().splitlines()[-1] == last
    assert len(list(out.glob("runs/*/summary.json"))) < 2  # stopped before the end

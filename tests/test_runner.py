"""devsim.runner: one engine for many jobs (serial or Dask), failures recorded, Ctrl-C."""

from __future__ import annotations

import io
import math
import os
from contextlib import ExitStack
from pathlib import Path

import pytest

import devsim.errors
from devsim import runner
from devsim.errors import DevsimInputError, DevsimRunError
from devsim.provenance import code_digest
from devsim.runner import Job, Outcome, Progress, execute, pending, run_jobs


def _nan_run(day: int) -> float:
    raise DevsimRunError(f"weights not finite on day {day}")


@pytest.fixture
def nan_job(monkeypatch):
    """A job function, by name, that raises DevsimRunError (as a run with NaN would)."""
    monkeypatch.setattr(devsim.errors, "_test_nan_run", _nan_run, raising=False)
    return Job("nan", "devsim.errors:_test_nan_run", (3,))


def jobs() -> list[Job]:
    return [Job(f"sqrt{k}", "math:sqrt", (float(k * k),)) for k in range(6)]


def collect(jobs_, **kwargs) -> dict[str, Outcome]:
    got: dict[str, Outcome] = {}
    run_jobs(jobs_, lambda job, outcome: got.setdefault(job.key, outcome), **kwargs)
    return got


def test_serial_runs_in_order_and_records_every_failure(nan_job):
    order: list[str] = []
    bad = Job("domain", "math:sqrt", (-1.0,))
    got: dict[str, Outcome] = {}

    def on_result(job: Job, outcome: Outcome) -> None:
        order.append(job.key)
        got[job.key] = outcome

    run_jobs([*jobs(), bad, nan_job], on_result)
    assert order == [*(j.key for j in jobs()), "domain", "nan"]
    assert [got[f"sqrt{k}"].value for k in range(6)] == [float(k) for k in range(6)]
    assert all(got[f"sqrt{k}"].ok and got[f"sqrt{k}"].worker.startswith("local:") for k in range(6))
    assert not got["domain"].ok
    assert got["domain"].value is None
    assert "Traceback" in got["domain"].error
    assert runner.error_line(got["domain"].error) == "ValueError: math domain error"
    assert not got["nan"].ok  # a run with non-finite values is failed, never ok
    assert runner.error_line(got["nan"].error).startswith("devsim.errors.DevsimRunError: weights")


def test_ctrl_c_is_not_a_failed_job(monkeypatch):
    def interrupt():
        raise KeyboardInterrupt

    monkeypatch.setattr(devsim.errors, "_test_interrupt", interrupt, raising=False)
    seen: list[str] = []
    with pytest.raises(KeyboardInterrupt):
        run_jobs(
            [Job("a", "math:sqrt", (1.0,)), Job("b", "devsim.errors:_test_interrupt"), *jobs()],
            lambda job, outcome: seen.append(job.key),
        )
    assert seen == ["a"]  # nothing after the interrupt runs


def test_pending_keeps_jobs_without_a_result_file(tmp_path):
    for k in (1, 3):
        (tmp_path / f"sqrt{k}.json").write_text("{}")
    left = pending(jobs(), lambda job: (tmp_path / f"{job.key}.json").exists())
    assert [j.key for j in left] == ["sqrt0", "sqrt2", "sqrt4", "sqrt5"]


def test_write_failure_is_the_traceback(tmp_path, nan_job):
    outcome = execute(nan_job)
    runner.write_failure(tmp_path / "run" / "error.txt", outcome)
    text = (tmp_path / "run" / "error.txt").read_text()
    assert text == outcome.error
    assert "DevsimRunError" in text
    assert not list(tmp_path.rglob("*.devsim-tmp"))


@pytest.fixture(scope="module")
def client():
    from distributed import Client

    with Client(processes=False, n_workers=2, threads_per_worker=1, dashboard_address=None) as c:
        yield c


def test_dask_gives_the_serial_outcomes(client, nan_job):
    work = [*jobs(), Job("domain", "math:sqrt", (-1.0,)), nan_job]
    serial = collect(work)
    dask = collect(work, scheduler=client)
    assert set(dask) == set(serial)
    for key, outcome in serial.items():
        assert dask[key].value == outcome.value
        assert dask[key].ok == outcome.ok
        assert dask[key].worker.startswith("inproc://")
    assert runner.error_line(dask["nan"].error) == runner.error_line(serial["nan"].error)


def test_a_worker_with_other_code_runs_nothing_and_says_why():
    """On a cluster each job carries the client's code digest: a worker running other
    devsim, numpy or numba code fails the job with one line instead of computing results
    the client would record as its own."""
    from devsim.provenance import code_digest

    job = Job("x", "math:sqrt", (4.0,))
    assert execute(job, code=code_digest()).value == 2.0
    outcome = execute(job, code="sha256:0123456789abcdef")
    assert not outcome.ok
    assert outcome.value is None
    assert runner.error_line(outcome.error) == (
        f"devsim.errors.DevsimRunError: worker {outcome.worker} runs other devsim code "
        f"({code_digest()}) than the client (sha256:0123456789abcdef); allowed: the same "
        "devsim, numpy and numba on every worker"
    )


def test_jobs_reach_a_cluster_with_the_clients_code_digest(client, monkeypatch):
    """What the client hands a cluster carries its digest: a worker with other code (here:
    a client that claims other code) fails each job with one line, and an old worker that
    does not take the digest is named the same way."""
    monkeypatch.setattr("devsim.provenance.code_digest", lambda: "sha256:0123456789abcdef")
    outcomes = collect([Job("a", "math:sqrt", (4.0,))], scheduler=client)
    assert "runs other devsim code" in runner.error_line(outcomes["a"].error)
    monkeypatch.undo()

    def old_execute(job):  # a devsim from before the digest
        return execute(job)

    monkeypatch.setattr(runner, "execute", old_execute)
    outcomes = collect([Job("b", "math:sqrt", (4.0,))], scheduler=client)
    assert runner.error_line(outcomes["b"].error) == runner.error_line(runner._OLD_WORKER)


def test_a_cluster_whose_workers_run_other_code_is_refused_before_any_job(client, monkeypatch):
    """Each job on a worker with other code failed with one line, after the run had
    started; the workers are now asked first, and such a cluster is refused at once."""
    other = "sha256:0123456789abcdef"
    runner.check_cluster_code(client, "--scheduler tcp://x")  # the same code: nothing said
    with pytest.raises(DevsimInputError) as refused:
        runner.check_cluster_code(client, "--scheduler tcp://x", ask=lambda: other)
    message = str(refused.value)
    assert "\n" not in message
    assert message.startswith("--scheduler tcp://x: 2 of 2 workers run other devsim code (")
    assert message.endswith(f"{other}) than this process ({code_digest()}); allowed: the "
                            "same devsim, numpy and numba on every worker")  # fmt: skip
    # the runner asks before it hands out a job (here the workers' answer is made up)
    ran = []
    monkeypatch.setattr(client, "run", lambda ask: dict.fromkeys(("w1", "w2"), other))
    monkeypatch.setattr(runner, "execute", lambda *a, **k: ran.append(a))
    with pytest.raises(DevsimInputError, match=r"^scheduler: 2 of 2 workers"):
        collect([Job("a", "math:sqrt", (4.0,))], scheduler=client)
    assert not ran
    monkeypatch.undo()

    def cannot():  # as a worker without devsim fails to unpickle the question
        raise ModuleNotFoundError("No module named 'devsim'")

    with pytest.raises(DevsimInputError, match=r"^scheduler: a worker cannot run devsim "
                       r"\(ModuleNotFoundError: No module named 'devsim'\)"):  # fmt: skip
        runner.check_cluster_code(client, "scheduler", ask=cannot)


def test_dask_stops_on_an_error_of_the_callback_and_cancels_the_rest(client):
    work = [Job(f"sleep{k}", "time:sleep", (0.05,)) for k in range(40)]
    seen: list[str] = []

    def on_result(job: Job, outcome: Outcome) -> None:
        seen.append(job.key)
        raise KeyboardInterrupt  # as Ctrl-C in the client while it writes

    with pytest.raises(KeyboardInterrupt):
        run_jobs(work, on_result, scheduler=client)
    assert len(seen) == 1
    assert len(collect(jobs(), scheduler=client)) == 6  # the client runs the next batch


class _Starting:
    """A client whose cluster has no worker for the first ``n`` questions."""

    def __init__(self, n: int):
        self.n = n
        self.cancelled: list[str] = []

    def nthreads(self):
        self.n -= 1
        return {} if self.n >= 0 else {"tcp://127.0.0.1:1": 1}

    def cancel(self, futures):
        self.cancelled.extend(futures)


def test_while_the_cluster_starts_jobs_run_here_from_the_end_of_the_queue():
    got: list[str] = []
    client = _Starting(2)
    queued = [(f"future-{job.key}", job) for job in jobs()]
    left = runner._while_starting(client, queued, lambda job, o: got.append(job.key))
    assert got == ["sqrt5", "sqrt4"]  # the workers, once there, take the queue's head
    assert client.cancelled == ["future-sqrt5", "future-sqrt4"]
    assert [j.key for _, j in left] == ["sqrt0", "sqrt1", "sqrt2", "sqrt3"]


def test_progress_lines_name_the_command():
    stream = io.StringIO()
    bar = Progress(2, 0, True, "devsim evolve", stream=stream)
    bar.log("2 runs")
    bar.update(failed=True)
    bar.update(failed=False)
    bar.close()
    lines = stream.getvalue().splitlines()
    assert lines[0] == "devsim evolve: 2 runs"
    assert lines[-1].startswith("devsim evolve: 2/2 runs done (1 failed)")
    quiet = io.StringIO()
    Progress(2, 0, True, "x", stream=quiet, plain=False).update(failed=False)
    assert quiet.getvalue() == ""


def test_day_progress_is_silent_for_a_short_run_and_a_line_every_interval_for_a_long_one(
    monkeypatch,
):
    clock = [0.0]
    monkeypatch.setattr(runner.time, "monotonic", lambda: clock[0])

    def days(total, step):
        clock[0] = 0.0
        stream = io.StringIO()
        bar = Progress(total, 0, True, "devsim run", stream=stream, unit="day", every=10.0,
                       quiet_if_fast=True)  # fmt: skip
        for _ in range(total):
            clock[0] += step
            bar.update(False)
        bar.close()
        return stream.getvalue().splitlines()

    assert days(30, 0.1) == []  # 3 s in all: nothing in the log
    lines = days(30, 1.0)  # 30 s: a line at 10 and 20 s, and one at the end
    assert [line.split(",")[0] for line in lines] == [
        "devsim run: 10/30 days done",
        "devsim run: 20/30 days done",
        "devsim run: 30/30 days done",
    ]
    assert "~0:00:20 left" in lines[0]
    assert "failed" not in lines[0]


def test_backend_in_words():
    assert runner.backend(1, None) == "serial"
    assert runner.backend(3, None) == "local Dask cluster, 3 workers"
    assert runner.backend(1, "tcp://h:1") == "Dask cluster at tcp://h:1"
    assert math.isnan(Outcome("k").seconds)


def _probe() -> tuple:
    import os
    import sys

    import dask

    return (
        os.environ.get("MALLOC_TRIM_THRESHOLD_"),
        dask.config.get("distributed.worker.profile.enabled"),
        "devsim.fused" in sys.modules,  # warmed: devsim's numba loops loaded before joining
    )


def test_local_cluster_workers_are_warm_without_profiler_or_malloc_trim():
    from distributed import Client

    with runner.local_cluster(1, "devsim.batch:warm_up") as cluster, Client(cluster) as c:
        assert list(c.run(_probe).values()) == [(None, False, True)]


@pytest.mark.skipif(not os.path.exists("/proc/self/cmdline"), reason="needs Linux /proc")
def test_local_cluster_workers_fork_from_one_warm_server_and_the_settings_are_put_back():
    """Every worker's parent is multiprocessing's fork server, started with devsim.warm
    preloaded (so devsim was imported and warmed once, not in each worker); Dask's
    settings for the cluster hold only while it lives."""
    import dask
    import distributed  # noqa: F401 - its settings' defaults

    before = dask.config.get("distributed.worker.multiprocessing-method")
    with ExitStack() as stack:
        client = runner.cluster_client(stack, 2, None, "devsim.batch:warm_up")
        client.wait_for_workers(2)
        got = collect([Job(str(k), "os:getppid") for k in range(6)], scheduler=client)
        parents = {outcome.worker: outcome.value for outcome in got.values()}
        assert dask.config.get("distributed.scheduler.work-stealing") is False
    servers = set(parents.values())
    assert len(servers) == 1
    assert os.getpid() not in servers
    with open(f"/proc/{servers.pop()}/cmdline", "rb") as f:
        server = f.read().decode(errors="replace")
    assert "multiprocessing.forkserver" in server
    assert "devsim.warm" in server
    assert dask.config.get("distributed.worker.multiprocessing-method") == before
    assert dask.config.get("distributed.scheduler.work-stealing") is True


EVOLVE = """
name = "failing"
seed = 3
generations = 1
days = 20
assess_from = 16
assess_every = 4
[quick]
generations = 1
grid = [2, 2]
neurons = 4
presentations_per_day = 40
batch_size = 4
"""


def test_evolve_records_a_failed_run_finishes_the_others_and_retries_it(
    tmp_path, capsys, monkeypatch
):
    """Behaviour changed with the runner: a failed evolve run no longer stops the others;
    its folder gets error.txt, the command exits 1 naming it, a rerun retries it."""
    from devsim import cli, evolution_runs

    path = tmp_path / "s.toml"
    path.write_text(EVOLVE)
    out = tmp_path / "out"
    real = evolution_runs.evolve

    def nan_at_seed_3(scenario, seed, progress=True):
        if seed == 3:
            raise DevsimRunError("organism 0: weights not finite on day 2")
        return real(scenario, seed, progress)

    monkeypatch.setattr(evolution_runs, "evolve", nan_at_seed_3)
    args = ["evolve", str(path), "--quick", "--seeds", "2", "--out", str(out)]
    assert cli.main(args) == 1
    err = capsys.readouterr().err.strip().splitlines()  # progress, then the one last line
    assert "1 of 2 runs failed: failing seed 3: devsim.errors.DevsimRunError: organism 0" in err[-1]
    assert not any("Traceback" in line or "failed" in line for line in err[:-1])
    assert "DevsimRunError" in (out / "s" / "seed3" / "error.txt").read_text()
    assert not (out / "s" / "seed3" / "summary.json").exists()
    done = out / "s" / "seed4" / "summary.json"
    before = done.stat().st_mtime_ns
    assert not (out / "comparison.csv").exists()

    monkeypatch.setattr(evolution_runs, "evolve", real)
    assert cli.main(args) == 0
    assert "1 of 2 runs already done" in capsys.readouterr().err
    assert done.stat().st_mtime_ns == before
    assert not (out / "s" / "seed3" / "error.txt").exists()
    assert (out / "s" / "seed3" / "summary.json").exists()
    assert (out / "comparison.csv").exists()


def test_local_cluster_workers_load_the_devsim_of_the_process_not_the_folders(tmp_path):
    """Started from a folder holding another devsim (another checkout: here a copy whose
    model differs by a comment), a local cluster's workers load the devsim of the process
    that starts them (the fork server they come from, started with `python -c`, would put
    the current folder first and preload the other one: its workers then refused every
    job, their code digest not the client's)."""
    import shutil
    import subprocess
    import sys

    decoy = tmp_path / "here" / "devsim"
    package = Path(runner.__file__).parent
    shutil.copytree(package, decoy, ignore=shutil.ignore_patterns("__pycache__"))
    (decoy / "plasticity.py").write_text((decoy / "plasticity.py").read_text() + "# other\n")
    script = tmp_path / "jobs.py"
    script.write_text(
        "from devsim.runner import Job, run_jobs\n"
        "if __name__ == '__main__':  # the workers' processes import this file too\n"
        "    got = {}\n"
        "    jobs = [Job(str(k), 'time:sleep', (1.0,)) for k in range(12)]\n"
        "    run_jobs(jobs, lambda job, outcome: got.setdefault(job.key, outcome), workers=2)\n"
        "    print(all(o.ok for o in got.values()), sum(o.worker.startswith('tcp://') for o in "
        "got.values()))\n"
    )
    done = subprocess.run(
        [sys.executable, str(script)], cwd=decoy.parent, capture_output=True, text=True,
        timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    ok, on_workers = done.stdout.split()
    assert ok == "True"
    assert int(on_workers) > 0, "no worker joined the cluster"


def test_local_cluster_workers_that_fail_to_start_say_why_in_one_line(tmp_path):
    """Workers that cannot start (here a Dask memory setting they cannot read, as a typo in
    a Dask YAML file gives) printed a traceback each, in the worker, its nanny and tornado,
    among the command's lines. Now each error is one line, ending in the exception; the
    jobs run here."""
    import subprocess
    import sys

    script = tmp_path / "jobs.py"
    script.write_text(
        "from devsim.runner import Job, run_jobs\n"
        "if __name__ == '__main__':\n"
        "    got = {}\n"
        "    jobs = [Job(str(k), 'time:sleep', (1.0,)) for k in range(6)]\n"
        "    run_jobs(jobs, lambda job, outcome: got.setdefault(job.key, outcome), workers=2)\n"
        "    print(all(o.ok for o in got.values()))\n"
    )
    env = {**os.environ, "DASK_DISTRIBUTED__WORKER__MEMORY__TARGET": "abc"}
    done = subprocess.run(
        [sys.executable, str(script)], cwd=tmp_path, env=env, capture_output=True, text=True,
        timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "True"
    assert "Failed to start process (MemoryError)" in done.stderr, done.stderr
    assert "Traceback" not in done.stderr, done.stderr


def test_a_cluster_without_workers_is_said_before_its_jobs_wait(capsys):
    """--scheduler of a cluster no worker has joined (a scheduler started alone, a wrong
    port of a worker-less one) queued every job and waited, the batch saying nothing more
    than its first line. Now a warning says so (the jobs still wait: a cluster may add
    workers as jobs arrive)."""
    from distributed import LocalCluster

    with LocalCluster(
        n_workers=0,
        processes=False,
        protocol="tcp",
        host="127.0.0.1",
        dashboard_address=None,
        scheduler_kwargs={"dashboard_address": "127.0.0.1:0"},  # no HTTP server on 8787
    ) as cluster:
        with runner.connect(cluster.scheduler_address):
            pass
    err = capsys.readouterr().err
    assert err == (
        f"devsim: warning: --scheduler {cluster.scheduler_address}: no worker has joined the "
        "cluster; its jobs wait until one does (Ctrl-C stops)\n"
    )


def test_every_function_named_for_a_worker_exists():
    """Jobs and warm-ups name their function as "module:function" (resolved in the worker,
    where a warm-up that fails is skipped without a word): benchmarks/bench_islands.py
    still named devsim.islands:warm_up after it was removed for
    devsim.evolution_runs:warm_up, so its workers started cold and the speed-up it prints
    counted their imports."""
    import importlib
    import re

    root = Path(__file__).resolve().parent.parent
    files = [*(root / "devsim").rglob("*.py"), *(root / "benchmarks").glob("*.py")]
    named = {
        (path.relative_to(root), name)
        for path in files
        for name in re.findall(r"[\"'](devsim(?:\.\w+)+:\w+)[\"']", path.read_text())
    }
    assert len(named) >= 6
    for path, name in sorted(named):
        module, _, function = name.partition(":")
        assert callable(getattr(importlib.import_module(module), function, None)), f"{path}: {name}"


def test_rounds_on_a_local_cluster_do_not_warn_that_no_worker_has_joined(tmp_path):
    """A local cluster serves several rounds of jobs (cluster_client, as island runs use
    it): its first round starts before its workers have joined, and the warning meant for
    a --scheduler without workers said 'no worker has joined the cluster; its jobs wait
    until one does' to every devsim evolve of an island scenario with --workers 2."""
    import subprocess
    import sys

    script = tmp_path / "rounds.py"
    script.write_text(
        "from contextlib import ExitStack\n"
        "from devsim.runner import Job, cluster_client, run_jobs\n"
        "if __name__ == '__main__':\n"
        "    got = {}\n"
        "    with ExitStack() as stack:\n"
        "        client = cluster_client(stack, 2, None)\n"
        "        for r in range(2):\n"
        "            jobs = [Job(f'{r}-{k}', 'time:sleep', (0.1,)) for k in range(2)]\n"
        "            run_jobs(jobs, lambda job, o: got.setdefault(job.key, o), 2, client)\n"
        "    print(len(got), all(o.ok for o in got.values()))\n"
    )
    done = subprocess.run(
        [sys.executable, str(script)], cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["4", "True"]
    assert "no worker has joined" not in done.stderr, done.stderr

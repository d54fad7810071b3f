"""One runner for many jobs: serially or on Dask, resumable, failures recorded, Ctrl-C safe.

A :class:`Job` is a key, a function *by name* (``"package.module:function"``, resolved
where the job runs, so nothing but names and arguments travels) and its arguments.
:func:`run_jobs` runs a list of them and hands each :class:`Outcome` to a callback in this
process, in the order they complete; the callback writes the job's files (atomically:
:func:`devsim.outputs.atomic_write` / :func:`devsim.outputs.staged`), so workers need no
shared file system and a job is done exactly when its result file exists (:func:`pending`
keeps the others, which is how a rerun resumes after a crash).

Backends: ``workers=1`` (and no ``scheduler``) runs in this process; more starts a
``distributed.LocalCluster`` of ``workers`` single-threaded processes on 127.0.0.1; a
``scheduler`` (an address or a ``distributed.Client``) uses an existing cluster. A job that
raises anything (e.g. :class:`~devsim.errors.DevsimRunError` on non-finite values) is an
outcome with ``error`` set (the traceback), never a success; a worker that dies fails its
job the same way. Ctrl-C stops at once: nothing more is submitted, running futures are
cancelled and the cluster is closed (a local cluster's workers at once); the
``KeyboardInterrupt`` goes on to the caller. A terminal sends Ctrl-C to every process of
the command: a local cluster's processes ignore it (:func:`ignore_ctrl_c`), this one acts.

Speed (``benchmarks/bench_batch.py``): all jobs are submitted at once and their results
are gathered in the background as they finish (:func:`distributed.as_completed` with
results), so the only per-job cost is the scheduler's and the client's writes. A fresh
local cluster starts its workers in the background; until the first one has joined, this
process runs jobs itself (at most one at a time, so never more runs at once than
``workers``), and each worker loads the job's code (imports, compiled numba loops) before
it joins (``warm``). Where the platform has it, the workers are forked from one server
process that has loaded that code once (:mod:`devsim.warm`), instead of each importing it
afresh: on 2 cores the two imports competed with the job running here.
"""

from __future__ import annotations

import functools
import importlib
import logging
import math
import os
import re
import signal
import sys
import threading
import time
import traceback
import weakref
from collections.abc import Callable, Iterable, Mapping
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from devsim import provenance  # its digest is computed at import: forked workers inherit it
from devsim.errors import DevsimInputError, DevsimRunError
from devsim.outputs import atomic_text, printable

WARM_ENV = "DEVSIM_WARM"  # the warm-up function of a local cluster's workers (by name)
TRIM = "MALLOC_TRIM_THRESHOLD_"  # set by Dask for its workers; see _nanny
LOGS = logging.ERROR  # what a local cluster logs: errors only
QUIET = {  # a local cluster's event-loop checks: every 20 ms and 500 ms by default
    "distributed.admin.tick.interval": "1s",
    "distributed.admin.system-monitor.interval": "2s",
}


@dataclass(frozen=True)
class Job:
    """One unit of work: ``func`` (``"module:function"``) called with the arguments."""

    key: str
    func: str
    args: tuple = ()
    kwargs: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Outcome:
    """What a job gave: its value, or the traceback of what it raised (``error``)."""

    key: str
    value: Any = None
    error: str | None = None
    seconds: float = math.nan
    worker: str = ""

    @property
    def ok(self) -> bool:
        return self.error is None


def resolve(name: str) -> Callable:
    """The function named ``"package.module:function"`` (looked up at each call)."""
    module, _, attr = name.partition(":")
    return getattr(importlib.import_module(module), attr)


def worker_name() -> str:
    try:
        from distributed import get_worker

        return str(get_worker().address)
    except (ImportError, ValueError):
        return f"local:{os.getpid()}"


def _refused(worker: str, theirs: str, client: str) -> str:
    """The error of a job that a worker running other code did not run."""
    return (
        f"devsim.errors.DevsimRunError: {worker} runs other devsim code ({theirs}) than the "
        f"client ({client}); allowed: the same devsim, numpy and numba on every worker\n"
    )


# a worker of a devsim before code digests: its execute() takes no `code`
_OLD_WORKER = _refused("a worker", "a devsim that records no code digest", provenance.CODE)


def execute(job: Job, code: str | None = None) -> Outcome:
    """Run one job, timed; any exception becomes the outcome's ``error`` (its traceback).

    ``code``: the code digest of the process that hands the job out (on a cluster). A
    worker that runs other code (another devsim, numpy or numba) does not run the job: its
    results would not be the ones the client records (:mod:`devsim.provenance`)."""
    start = time.perf_counter()
    if code is not None and code != provenance.CODE:
        error = _refused(f"worker {worker_name()}", provenance.CODE, code)
        return Outcome(job.key, None, error, time.perf_counter() - start, worker_name())
    try:
        value, error = resolve(job.func)(*job.args, **job.kwargs), None
    except Exception:  # a failed job is recorded, never fatal to the others
        value, error = None, traceback.format_exc()
    return Outcome(job.key, value, error, time.perf_counter() - start, worker_name())


def pending(jobs: Iterable[Job], done: Callable[[Job], bool]) -> list[Job]:
    """The jobs not done yet (``done(job)``: its result file exists and reads back)."""
    return [job for job in jobs if not done(job)]


def exception_text(exc: BaseException, width: int = 200) -> str:
    """An exception in one line, ``Type: message`` (the type alone for an empty message)."""
    return f"{type(exc).__name__}: {printable(str(exc), width)}" if str(exc) else type(exc).__name__


def error_line(text: str) -> str:
    """The last line of a traceback (``ExceptionType: message``)."""
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1].strip() if lines else "failed"


def write_failure(path: Any, outcome: Outcome) -> None:
    """Record a failed job: its traceback, atomically, at ``path`` (e.g. ``error.txt``)."""
    atomic_text(path, outcome.error or "failed\n")


def backend(workers: int, scheduler: Any) -> str:
    """How jobs will run, in words (for progress lines)."""
    if workers == 1 and scheduler is None:
        return "serial"
    if scheduler is None:
        return f"local Dask cluster, {workers} workers"
    address = scheduler if isinstance(scheduler, str) else scheduler.scheduler.address
    return f"Dask cluster at {address}"


# --- clusters ----------------------------------------------------------------------------


def connect(address: str):
    """A client of an existing Dask cluster (one clear line if it cannot be reached)."""
    from distributed import Client

    port = re.search(r":(\d+)/?$", address)
    if port and not 0 < int(port.group(1)) < 65536:  # Dask would wait its 15 s, then time out
        raise DevsimInputError(
            f"--scheduler: {printable(address, 200)!r} has port {port.group(1)}; allowed: a "
            "port of 1 to 65535, e.g. tcp://127.0.0.1:8786"
        )
    try:
        client = Client(address, timeout="15s")
    except Exception as exc:  # a scheme Dask names but cannot use here raises TypeError
        raise DevsimInputError(
            f"--scheduler: cannot connect to {printable(address, 200)!r} "
            f"({exception_text(exc)}); allowed: the address of a "
            "running Dask scheduler, e.g. tcp://127.0.0.1:8786"
        ) from None
    try:
        check_cluster_code(client, f"--scheduler {address}")
    except BaseException:
        client.close()
        raise
    return client


def check_cluster_code(client, what: str, ask: Callable[[], str] | None = None) -> None:
    """Refuse, before any job, a cluster whose workers run other code (another devsim,
    numpy or numba) than this process, or cannot import devsim: each of their jobs would
    fail (:func:`execute` checks every job too, for workers that join later). Each worker
    is asked ``ask`` (default :func:`devsim.provenance.code_digest`, which every devsim
    that records a digest has). A cluster no worker has joined is said in a warning,
    except a local cluster devsim started, whose workers are still starting."""
    mine = provenance.code_digest()
    try:
        codes = client.run(ask or provenance.code_digest)
    except Exception as exc:  # e.g. a worker without devsim cannot unpickle the question
        raise DevsimInputError(
            f"{what}: a worker cannot run devsim ({type(exc).__name__}: "
            f"{printable(str(exc), 120)}); allowed: the same devsim ({mine}), numpy and "
            "numba installed on every worker"
        ) from None
    if not codes and client not in _LOCAL_CLIENTS:  # the jobs would wait without a word
        print(
            f"devsim: warning: {what}: no worker has joined the cluster; its jobs wait until "
            "one does (Ctrl-C stops)",
            file=sys.stderr,
            flush=True,
        )
    other = sorted(worker for worker, code in codes.items() if code != mine)
    if other:
        raise DevsimInputError(
            f"{what}: {len(other)} of {len(codes)} workers run other devsim code "
            f"({printable(other[0], 80)}: {printable(str(codes[other[0]]), 80)}) than this "
            f"process ({mine}); allowed: the same devsim, numpy and numba on every worker"
        )


def check_script_guarded(what: str, workers: int, scheduler: Any) -> None:
    """Refuse to start a local cluster (``workers`` > 1, no ``scheduler``) while a worker of
    one imports the caller's script. Its workers start by importing the script that started
    them (as ``__mp_main__``: multiprocessing's spawn and forkserver): a call at the script's
    top level, not under ``if __name__ == "__main__":``, ran again in each, where it failed
    (a batch's folder is locked by the first) and the work went serially in the script.
    multiprocessing marks a process that is still importing its parent's script
    ``_inheriting`` (its own check before a process starts a process reads the same)."""
    import multiprocessing

    if workers == 1 or scheduler is not None:
        return
    if getattr(multiprocessing.current_process(), "_inheriting", False):
        script = getattr(sys.modules.get("__mp_main__"), "__file__", None) or "the script"
        raise DevsimInputError(
            f"{script}: {what} (workers={workers}) ran again in a worker of its local Dask "
            "cluster, which imports the script as it starts; allowed: the call under "
            '`if __name__ == "__main__":`'
        )


def local_cluster(workers: int, warm: str | None = None, wait: bool = True):
    """A ``distributed.LocalCluster`` of ``workers`` single-threaded processes on 127.0.0.1.

    Its workers run without two Dask defaults that slow devsim down (:func:`_nanny`), under
    :func:`local_config`. ``warm`` (a function by name) is called by each worker before it
    joins (once for all of them where they fork from a server, :func:`fork_server`).
    ``wait=False`` returns as soon as the scheduler runs; the workers join in the
    background (hold :func:`local_config` until the cluster is closed).
    """
    import dask
    from distributed import LocalCluster

    extra = {"preload": ["devsim.runner"], "env": {WARM_ENV: warm}} if warm else {}
    _quiet_closed_connections()
    with dask.config.set(local_config()):
        fork_server(warm)
        cluster = LocalCluster(
            n_workers=workers if wait else 0,
            threads_per_worker=1,
            processes=True,
            worker_class=_nanny(),
            host="127.0.0.1",
            dashboard_address=None,
            # no dashboard; the scheduler's bare HTTP server on a free port of 127.0.0.1
            # (not 8787, so that two batches at once do not collide)
            scheduler_kwargs={"dashboard_address": "127.0.0.1:0"},
            silence_logs=LOGS,
            **extra,
        )
    if not wait:
        cluster.scale(workers)
    return cluster


class _ClosedConnection(logging.Filter):
    """Drops tornado's report of a callback that failed because a Dask connection closed
    under it: a local cluster stopped at once (Ctrl-C, SIGTERM) closes the client's open
    gathers, and tornado logs each as an error with a traceback, after the one line the
    command says. Any other error is kept."""

    def filter(self, record: logging.LogRecord) -> bool:
        from distributed.comm.core import CommClosedError
        from tornado.iostream import StreamClosedError

        error = record.exc_info[1] if record.exc_info else None
        return not isinstance(error, CommClosedError | StreamClosedError)


def _quiet_closed_connections() -> None:
    logger = logging.getLogger("tornado.application")
    if not any(isinstance(f, _ClosedConnection) for f in logger.filters):
        logger.addFilter(_ClosedConnection())
    one_line_errors()


class _OneLine(logging.Filter):
    """Writes an error Dask or tornado logs with a traceback as one line: its message and
    the exception's last line. A worker of a local cluster that failed to start (a Dask
    setting it cannot read, no memory) printed a traceback in the worker, in its nanny and
    in tornado, dozens of lines among the batch's own; what happened is in the last line."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and record.exc_info[1] is not None:
            problem = exception_text(record.exc_info[1], 300)
            message = record.getMessage()
            if message.startswith("Exception in callback"):  # and a repr of the callback
                message = "Exception in callback"
            record.msg = printable(f"{message} ({problem})", 300)
            record.args = None
            record.exc_info = record.exc_text = record.stack_info = None
        return True


def one_line_errors() -> None:
    """Put :class:`_OneLine` on the handlers Dask writes its and tornado's logs with, for
    this process's life (here, and in the fork server its workers inherit them from;
    workers spawned afresh, where there is no fork server, keep Dask's tracebacks)."""
    for name in ("distributed", "tornado"):
        for handler in logging.getLogger(name).handlers:
            if not any(isinstance(f, _OneLine) for f in handler.filters):
                handler.addFilter(_OneLine())


def local_config() -> dict[str, Any]:
    """Dask settings for a local cluster, read by the scheduler and nannies in this process
    as they are made and start workers (so held for the cluster's life): event-loop checks
    as the workers' (:func:`_nanny`); no work stealing (queued tasks of one kind: nothing
    to steal, and its 100 ms rebalancing costs this process CPU that the jobs here need);
    workers forked from a server process where the platform has one (:func:`fork_server`)."""
    import multiprocessing

    config = {**QUIET, "distributed.scheduler.work-stealing": False}
    if "forkserver" in multiprocessing.get_all_start_methods():
        config["distributed.worker.multiprocessing-method"] = "forkserver"
    return config


@functools.cache
def _nanny():
    """A ``distributed.Nanny`` whose worker runs without the statistical profiler (a
    dashboard feature; there is no dashboard: sampling the task thread every 10 ms made
    devsim runs ~25% slower) and without ``MALLOC_TRIM_THRESHOLD_=65536`` (memory handed
    back to the system at once, then faulted in again: a short run was ~40% slower in a
    worker than in this process). Set per nanny, so no global Dask setting changes."""
    import dask
    from distributed import Nanny

    class DevsimNanny(Nanny):  # its name is in Dask's start-up errors
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.pre_spawn_env.pop(TRIM, None)
            self.env.pop(TRIM, None)
            off = {
                "distributed.worker.profile.enabled": False,
                "distributed.worker.memory.monitor-interval": "1s",  # 100 ms by default
                **QUIET,
            }
            self.config = dask.config.merge(self.config, _nested(off))

    return DevsimNanny


def _nested(dotted: Mapping[str, Any]) -> dict:
    """``{"a.b": 1}`` as ``{"a": {"b": 1}}`` (what ``dask.config.merge`` takes)."""
    out: dict = {}
    for key, value in dotted.items():
        *parents, last = key.split(".")
        node = out
        for part in parents:
            node = node.setdefault(part, {})
        node[last] = value
    return out


def dask_setup(worker) -> None:
    """Preload hook of a local cluster's workers: ignore Ctrl-C (already so from the start
    where the worker was forked from :func:`fork_server`), warm up before the worker joins."""
    ignore_ctrl_c()
    warm_up()


def warm_up() -> None:
    """Call the warm-up function named in ``DEVSIM_WARM`` (if any). A failed warm-up only
    costs time: the job pays it later."""
    name = os.environ.get(WARM_ENV)
    if name:
        try:
            resolve(name)()
        except Exception:  # noqa: S110 - an optimisation, never fatal
            pass


def fork_server(warm: str | None) -> None:
    """Start the server process that a local cluster's workers are forked from (under
    :func:`local_config`), having it run ``warm`` once and import ``distributed``
    (:mod:`devsim.warm`); started now, it loads while the scheduler starts.

    Spawned workers (Dask's default) each import devsim, pandas and numba afresh: ~2 s of
    CPU each, at the moment this process also runs the first jobs. The server lives as long
    as this process (a later cluster forks from it too; its preload is fixed by the first).

    Ctrl-C is this process's alone (:func:`ignore_ctrl_c`): the server is started with
    SIGINT blocked, as multiprocessing starts its resource tracker, and :mod:`devsim.warm`
    ignores it before anything else, so neither the server nor a worker forked from it
    ever sees one (a terminal sends Ctrl-C to every process of the command)."""
    from distributed.utils import get_mp_context

    context = get_mp_context()
    if context.get_start_method() != "forkserver":
        return
    context.set_forkserver_preload(["devsim.warm", "distributed"])
    from multiprocessing import forkserver, resource_tracker

    # started first: starting it unblocks SIGINT (it blocks and unblocks it around its spawn)
    resource_tracker.ensure_running()
    # the server reads the warm-up's name from its environment when it starts, and loads
    # the devsim this process loaded: started with `python -c`, it would put the current
    # folder first on its path (another checkout there would be the workers' devsim)
    here = str(Path(__file__).resolve().parents[1])
    path = os.pathsep.join(p for p in (here, os.environ.get("PYTHONPATH")) if p)
    changes = {WARM_ENV: warm or "", "PYTHONSAFEPATH": "1", "PYTHONPATH": path}
    saved = {name: os.environ.get(name) for name in changes}
    mask = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})  # inherited by the server
    os.environ.update(changes)
    try:
        forkserver.ensure_running()
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)  # a Ctrl-C meanwhile is raised now


def ignore_ctrl_c() -> None:
    """Ignore SIGINT in this process (a local cluster's fork server and workers): Ctrl-C is
    for the process that started the cluster, which cancels the jobs and closes the cluster
    (:func:`run_jobs`); a worker that took it too died mid-job printing its traceback.
    Unblocks SIGINT afterwards (:func:`fork_server` starts the server with it blocked; a
    Ctrl-C pending since is dropped). Only a process's main thread may set it."""
    if threading.current_thread() is not threading.main_thread():
        return
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if hasattr(signal, "pthread_sigmask"):
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})


# --- running -------------------------------------------------------------------------------


def run_jobs(
    jobs: list[Job],
    on_result: Callable[[Job, Outcome], None],
    workers: int = 1,
    scheduler: Any = None,
    warm: str | None = None,
    later: ExitStack | None = None,
) -> None:
    """Run ``jobs`` and call ``on_result(job, outcome)`` here as each completes.

    ``workers=1`` without ``scheduler``: in this process, in order. Otherwise on Dask: a
    new LocalCluster of ``min(workers, len(jobs))`` processes (warmed by ``warm``, a
    function by name), or ``scheduler`` (an address or a ``distributed.Client``). An
    exception from ``on_result`` or Ctrl-C stops the run: the rest is cancelled and the
    cluster closed. After a run that ended well, a new cluster closes in the background
    while the caller goes on, if it gives ``later`` (the caller's stack, which waits for it).
    """
    if not jobs:
        return
    if workers == 1 and scheduler is None:
        for job in jobs:
            on_result(job, execute(job))
        return
    with ExitStack() as stack:
        client = _client(stack, scheduler, min(workers, len(jobs)), warm)
        _on_cluster(client, jobs, on_result, starting=scheduler is None)
        if later is not None and scheduler is None:
            client.close()  # in this thread; the cluster closes in the background
            closing = threading.Thread(target=stack.pop_all().close, name="devsim-close")
            closing.start()
            later.callback(closing.join)


# The clients of the local clusters devsim started (:func:`_client`): passed back as the
# scheduler of the next round of jobs, their workers may not have joined yet, and will.
_LOCAL_CLIENTS: weakref.WeakSet = weakref.WeakSet()


def cluster_client(stack: ExitStack, workers: int, scheduler: Any, warm: str | None = None):
    """One backend for several rounds of :func:`run_jobs` (pass it as ``scheduler``): None
    for this process (``workers`` 1, no ``scheduler``), else a client of a new local cluster
    or of ``scheduler``, closed by ``stack``."""
    if workers == 1 and scheduler is None:
        return None
    return _client(stack, scheduler, workers, warm)


def _client(stack: ExitStack, scheduler: Any, workers: int, warm: str | None):
    """A client of ``scheduler``, or of a new local cluster (both closed by ``stack``)."""
    from distributed import Client

    if isinstance(scheduler, str):
        return stack.enter_context(connect(scheduler))
    if scheduler is not None:
        check_cluster_code(scheduler, "scheduler")
        return scheduler
    check_script_guarded("a local Dask cluster", workers, scheduler)
    import dask

    stack.enter_context(dask.config.set(local_config()))  # as its nannies start workers
    try:
        cluster = local_cluster(workers, warm, wait=False)
    except Exception as exc:
        raise _not_started(workers, exc) from None
    stack.push(functools.partial(_close, cluster))  # not `with cluster`: that waits for
    # every worker, and so would Client(cluster): connect by address
    try:
        client = Client(cluster.scheduler_address)
    except Exception as exc:
        raise _not_started(workers, exc) from None
    _LOCAL_CLIENTS.add(client)
    stack.callback(client.close)  # a second close is a no-op
    stack.push(functools.partial(_none_started, cluster))  # first out: the cluster still runs
    return client


def _not_started(workers: int, exc: Exception) -> Exception:
    """The one line of a local cluster that could not start (its scheduler, or this process's
    client of it). A Dask setting it cannot read (``DASK_*`` variables, a YAML file) raises
    ValueError, KeyError or TypeError: input, exit 2; anything else (no free port, no
    process left): the machine, exit 1."""
    text = (
        f"a local Dask cluster of {workers} workers could not start ({exception_text(exc)}); "
        "allowed: workers 1 (--workers 1: serial, in this process), an existing cluster "
        "(--scheduler ADDRESS), or a Dask configuration it can read"
    )
    if isinstance(exc, ValueError | KeyError | TypeError):
        return DevsimInputError(text)
    return DevsimRunError(text)


def _none_started(cluster, exc_type, exc, tb) -> None:
    """Say so (one line on stderr) when every worker of a local cluster failed to start by
    the end of a run that ended well: its jobs all ran here, one at a time
    (:func:`_while_starting`), and the workers' errors are the lines above. Workers still
    starting when a short run ends are no failure: nothing is said."""
    from distributed.core import Status

    nannies = list(cluster.workers.values())
    if exc_type is None and nannies and all(n.status == Status.failed for n in nannies):
        print(
            "devsim: warning: no worker of the local Dask cluster started (their errors are "
            "above; a script that starts one must do so under "
            '`if __name__ == "__main__":`): every job ran in this process, one at a time',
            file=sys.stderr,
            flush=True,
        )


def _close(cluster, exc_type, exc, tb) -> None:
    """Close a local cluster (an exit callback of :func:`_client`'s stack). Left by an
    exception (Ctrl-C, SIGTERM, a result that could not be written), its workers' jobs
    are cancelled and nothing they hold is wanted: they are stopped at once
    (:func:`_stop_now`), not after the 4 s Dask gives a busy worker to finish (they ignore
    Ctrl-C, :func:`ignore_ctrl_c`: closing the cluster is what stops them)."""
    # Dask puts its log handlers' level back (silence_logs, local_cluster) before the last
    # of its closing tasks has run: what they log (INFO, with a traceback, when a worker
    # ended by _stop_now no longer reads) stays silenced until the cluster is closed
    logger = logging.getLogger("distributed")
    level = logger.level
    logger.setLevel(max(LOGS, logger.getEffectiveLevel()))
    try:
        if exc_type is not None:
            try:
                cluster.sync(_stop_now, list(cluster.workers.values()))
            except Exception:  # noqa: S110 - closing below stops them all the same, later
                pass
        cluster.close()
    finally:
        logger.setLevel(level)


async def _stop_now(nannies) -> None:
    """End the worker processes of a local cluster's nannies with SIGTERM, each nanny told
    first not to start its worker again, and close the nannies. Not Dask's graceful close:
    a busy worker's close waits for its job, and a worker closing while its heartbeat to the
    scheduler is under way logs that as an error, with a traceback."""
    import asyncio

    for nanny in nannies:
        nanny.close_gracefully()  # its worker is not started again when it goes
        if nanny.pid is not None:
            os.kill(nanny.pid, signal.SIGTERM)
    await asyncio.gather(*(nanny.close() for nanny in nannies), return_exceptions=True)


def _while_starting(client, queued: list[tuple[Any, Job]], on_result) -> list[tuple[Any, Job]]:
    """Run jobs here, one at a time, until a worker of the new cluster has joined: each is
    taken back from the end of the queue (its future cancelled: no worker has started it)
    so that a worker joining meanwhile finds the rest of the queue waiting and no core
    idles however long a job runs here. Returns the (future, job) pairs left queued."""
    left = list(queued)
    while left and not client.nthreads():
        future, job = left.pop()
        client.cancel([future])
        on_result(job, execute(job))
    return left


def _on_cluster(client, jobs: list[Job], on_result, starting: bool = False) -> None:
    """Submit every job at once; hand over each outcome as it completes (a new cluster,
    ``starting``: jobs run here while no worker has joined, :func:`_while_starting`)."""
    from uuid import uuid4

    from distributed import as_completed

    if not jobs:
        return
    token = uuid4().hex[:8]
    keys = [f"devsim-{job.key}-{token}" for job in jobs]
    futures = client.map(execute, jobs, key=keys, code=provenance.code_digest())  # the client's
    try:
        queued = list(zip(futures, jobs, strict=True))
        if starting:
            queued = _while_starting(client, queued, on_result)
        by_key = {future.key: job for future, job in queued}
        left = [future for future, _ in queued]
        for future, result in as_completed(left, with_results=True, raise_errors=False):
            job = by_key[future.key]
            if future.status == "finished":
                outcome = result
            else:  # the worker died or the task could not run at all
                exc = result[1] if isinstance(result, tuple) else result
                outcome = Outcome(job.key, error=f"{exc.__class__.__name__}: {exc}\n")
                if isinstance(exc, TypeError) and "keyword argument 'code'" in str(exc):
                    outcome = Outcome(job.key, error=_OLD_WORKER)  # a devsim before digests
            on_result(job, outcome)
            future.release()
    finally:
        client.cancel([f for f in futures if not f.done()])


# --- progress ------------------------------------------------------------------------------


class Progress:
    """A tqdm bar on a terminal; plain log lines otherwise (at most one every ``every``
    seconds, and one when all is done unless ``quiet_if_fast`` and none came before), or
    none (``plain=False``). ``unit``: what is counted; a bar of runs counts failures."""

    def __init__(
        self,
        total: int,
        done: int,
        enabled: bool,
        label: str,
        stream=None,
        plain: bool = True,
        unit: str = "run",
        every: float = 1.0,
        quiet_if_fast: bool = False,
    ):
        self.stream = stream or sys.stderr
        self.total, self.done, self.failed, self.new = total, done, 0, 0
        self.label = label
        self.enabled = enabled
        self.plain = plain
        self.unit, self.every, self.quiet_if_fast = unit, every, quiet_if_fast
        self.start = self.last = time.monotonic()
        self.logged = False  # a plain line was printed: the last one is printed too
        self.bar = None
        if enabled and self.stream.isatty():
            from tqdm import tqdm

            self.bar = tqdm(
                total=total,
                initial=done,
                unit=unit,
                desc=label,
                file=self.stream,
                dynamic_ncols=True,
            )

    def log(self, text: str) -> None:
        if not self.enabled:
            return
        if self.bar is not None:
            self.bar.write(text, file=self.stream)
        elif self.plain:
            print(f"{self.label}: {text}", file=self.stream, flush=True)

    def write(self, text: str, file=None) -> None:
        """A line of output (``file``, default stdout) that does not break the bar."""
        file = file or sys.stdout
        if self.bar is not None:
            self.bar.write(text, file=file)
        else:
            print(text, file=file, flush=True)

    def update(self, failed: bool) -> None:
        self.done += 1
        self.new += 1
        self.failed += failed
        if self.bar is not None:
            self.bar.update(1)
            if self.failed:
                self.bar.set_postfix(failed=self.failed)
            return
        now = time.monotonic()
        due = now - self.last >= self.every
        last = self.done == self.total and (self.logged or not self.quiet_if_fast)
        if self.enabled and self.plain and (due or last):
            self.last, self.logged = now, True
            elapsed = now - self.start
            left = elapsed / self.new * (self.total - self.done)
            failed = f" ({self.failed} failed)" if self.unit == "run" else ""
            print(
                f"{self.label}: {self.done}/{self.total} {self.unit}s done{failed}, "
                f"{clock(elapsed)} elapsed, ~{clock(left)} left",
                file=self.stream,
                flush=True,
            )

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def clock(seconds: float) -> str:
    seconds = int(round(seconds))
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"

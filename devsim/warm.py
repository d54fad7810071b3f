"""Preloaded by the fork server of a local cluster's workers (:func:`devsim.runner.fork_server`),
first: ignores Ctrl-C (the server was started with it blocked, and every worker forked from
the server keeps the server's SIGINT setting), then runs the warm-up function named in
``DEVSIM_WARM`` once, so that every worker forked from the server starts with devsim
imported and its compiled loops loaded."""

import sys

import distributed  # noqa: F401 - its log handlers, which one_line_errors changes

from devsim.runner import ignore_ctrl_c, one_line_errors, warm_up


def _one_line(kind, error, tb) -> None:
    """What stops the server or a worker forked from it before Dask runs it (a script
    without a ``__main__`` guard, no file descriptor left): the exception's line, not its
    traceback through multiprocessing among the command's lines."""
    name = (
        kind.__qualname__
        if kind.__module__ == "builtins"
        else f"{kind.__module__}.{kind.__qualname__}"
    )
    print(f"{name}: {error}" if str(error) else name, file=sys.stderr, flush=True)


ignore_ctrl_c()
one_line_errors()  # a worker that fails to start says why in one line
sys.excepthook = _one_line
warm_up()

"""The ``devsim`` command line: one module per sub-command, registered here.

Each sub-command module exposes ``add_parser(subparsers)`` which adds its parser and sets
``func`` (a callable taking the parsed namespace and returning an exit code).

Every way a command can end is one line on stderr and a documented exit code: bad input 2,
a run that cannot give a trustworthy result 1, Ctrl-C 130, SIGTERM 143. Staging folders of
an interrupted command are removed before it exits.
"""

from __future__ import annotations

import argparse
import functools
import os
import signal
import sys

from devsim.errors import DevsimInputError, DevsimRunError

COMMANDS = (
    "run",
    "validate",
    "profile",
    "batch",
    "baldwin",
    "lesson",
    "evolve",
    "bench",
    "scenarios",
    "app",
)


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors (no usage block), exit code 2."""

    def error(self, message: str):
        from devsim.outputs import printable

        print(f"{self.prog}: error: {printable(message, 300)}", file=sys.stderr)
        sys.exit(2)


class _Version(argparse.Action):
    """``--version``: devsim's version and the code digest its results record, one line
    (the digest is computed only when asked: it reads every result-computing module)."""

    def __init__(self, option_strings, dest=argparse.SUPPRESS, help=None):
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, help=help)

    def __call__(self, parser, namespace, values, option_string=None):
        from devsim import __version__
        from devsim.provenance import code_digest

        print(f"devsim {__version__} (code {code_digest()})")
        parser.exit()


class Terminated(BaseException):
    """SIGTERM, raised in the main thread so cleanup runs as for Ctrl-C."""


def _terminate(signum, frame):
    raise Terminated


def _signal_again(previous, timers: list, unraisable) -> None:
    """``sys.unraisablehook`` while a command runs. Python drops an exception raised where it
    cannot propagate (in a garbage collector's callback, a ``__del__``), printing "Exception
    ignored" and a traceback: a Ctrl-C or SIGTERM taken there was lost and the command went
    on. A local Dask cluster's scheduler, in this process, adds such a callback (its GC
    statistics, run at every collection, often while a job runs here). The signal is given
    again 50 ms later, when the main thread has left the callback (given now, it would be
    taken in this hook, which drops it too; ``timers``: cancelled when the command ends).
    Anything else: reported as before."""
    import _thread
    import threading

    signum = {KeyboardInterrupt: signal.SIGINT, Terminated: signal.SIGTERM}.get(unraisable.exc_type)
    if signum is None or threading.current_thread() is not threading.main_thread():
        previous(unraisable)
        return
    again = threading.Timer(0.05, _thread.interrupt_main, (signum,))
    again.daemon = True
    timers.append(again)
    again.start()


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="devsim",
        description="Critical-period development: organisms that wire themselves.",
    )
    parser.add_argument(
        "--version",
        action=_Version,
        help="print devsim's version and the digest of the code its results record, and exit",
    )
    subparsers = parser.add_subparsers(
        dest="command", required=True, metavar="COMMAND", parser_class=_Parser
    )
    import importlib

    for name in COMMANDS:
        importlib.import_module(f"devsim.cli.{name}").add_parser(subparsers)
    return parser


class _ReaderMayLeave:
    """Standard output or error that outlives its reader (``devsim evolve ... | head``,
    ``devsim batch ... 2>&1 | head``): once the pipe is closed, what is printed goes to the
    null device and the work goes on to write its results (a progress line failing inside a
    run marked every run failed; one on standard error stopped a batch with exit 1 and no
    word)."""

    def __init__(self, stream):
        self._stream = stream

    def write(self, text: str) -> int:
        try:
            return self._stream.write(text)
        except BrokenPipeError:
            self._to_null()
            return len(text)

    def flush(self) -> None:
        try:
            self._stream.flush()
        except BrokenPipeError:
            self._to_null()

    def _to_null(self) -> None:
        null = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(null, self._stream.fileno())
        finally:
            os.close(null)

    def __getattr__(self, name: str):
        return getattr(self._stream, name)


def main(argv: list[str] | None = None) -> int:
    from devsim.outputs import printable, remove_staging

    command = "devsim"
    for stream in (sys.stdout, sys.stderr):  # a name the terminal's encoding lacks: escaped
        try:
            stream.reconfigure(errors="backslashreplace")
        except (AttributeError, ValueError, OSError):  # not a text stream we may change
            pass
    stdout, stderr = sys.stdout, sys.stderr
    # (None where the stream is closed, `2>&-`: Python then drops what is written to it)
    sys.stdout, sys.stderr = (None if s is None else _ReaderMayLeave(s) for s in (stdout, stderr))
    previous = signal.getsignal(signal.SIGTERM)
    try:  # before the heavy imports, so an early SIGTERM is handled too
        signal.signal(signal.SIGTERM, _terminate)
    except ValueError:  # not the main thread (e.g. called from a test's worker thread)
        previous = None
    unraisable, timers = sys.unraisablehook, []
    sys.unraisablehook = functools.partial(_signal_again, unraisable, timers)
    try:
        args = build_parser().parse_args(argv)
        command = f"devsim {args.command}"
        return int(args.func(args) or 0)
    except DevsimInputError as exc:
        print(f"devsim: error: {printable(str(exc), 2000)}", file=sys.stderr)
        return 2
    except DevsimRunError as exc:
        print(f"devsim: run failed: {printable(str(exc), 2000)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"{command}: interrupted", file=sys.stderr)
        return 130
    except Terminated:
        print(f"{command}: terminated", file=sys.stderr)
        return 143
    finally:
        remove_staging()
        sys.unraisablehook = unraisable
        for timer in timers:  # a signal given again after the command ended: too late
            timer.cancel()
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
        try:
            for stream in (sys.stdout, sys.stderr):  # a reader gone at the end is no error
                if stream is not None:
                    stream.flush()
        finally:
            sys.stdout, sys.stderr = stdout, stderr


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

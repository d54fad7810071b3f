"""What the command-line hardening tests share: a tiny scenario, a file writer, and the
CLI run in-process with its one line of stderr."""

from __future__ import annotations

from pathlib import Path

from devsim.cli import main

# A scenario that runs in a fraction of a second: one organism of two neurons, three days.
TINY = """
name = "tiny"
days = 3
neurons = 2
presentations_per_day = 16
[[groups]]
name = "control"
organisms = 1
"""


def run_cli(capsys, *argv) -> tuple[int, str]:
    """``devsim ARGV`` in this process: (exit code, stderr)."""
    try:
        code = main([str(a) for a in argv])
    except SystemExit as exc:
        code = exc.code
    err = capsys.readouterr().err
    return int(code), err


def one_line(err: str) -> str:
    """The one line of ``err``, which holds no traceback."""
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding=encoding)
    return path

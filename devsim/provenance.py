"""What made a result: devsim's version and a digest of the code that computes results.

The version alone does not name the model: between releases the model changes under the
same version number. :data:`CODE` hashes the source of every module that computes results
(all of the package except what only draws, serves or teaches: the command line, the
browser page, the figures, the lessons and the benchmark) together with devsim's version
and the versions of numpy and numba, whose arithmetic the results pass through. It is
computed once, when this module is imported, so it names the code the process loaded
(a local cluster's workers, forked from a server that imported devsim once, inherit it).

Files of results record it (:func:`provenance`), the commands that resume (``devsim
batch``, ``devsim evolve``) reuse only what the same code made, and a cluster's worker
that runs other code refuses the client's jobs (:func:`devsim.runner.execute`).
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from devsim import __version__

PACKAGE = Path(__file__).resolve().parent
# Modules that only draw, serve, speak or teach: a change there leaves every number as it was.
NOT_RESULTS = ("cli", "viz", "plots", "bench.py", "handout.py", "lessons.py")
LIBRARIES = ("numpy", "numba")


def result_sources(package: Path = PACKAGE) -> list[Path]:
    """The modules of ``package`` whose code the results depend on, in a fixed order:
    regular ``*.py`` files, none hidden (an editor's lock or backup, ``.ipynb_checkpoints``).
    Folders of no code (``data``: the shipped files, read by the commands that use them;
    ``__pycache__``) are not entered."""
    found = []
    for root, dirs, files in os.walk(package):
        here = Path(root)
        dirs[:] = [d for d in dirs if not _skipped(here / d, package, folder=True)]
        for name in files:
            path = here / name
            if name.endswith(".py") and not _skipped(path, package):
                found.append(path)
    return sorted(found, key=lambda p: p.relative_to(package).as_posix())


def _skipped(path: Path, package: Path, folder: bool = False) -> bool:
    parts = path.relative_to(package).parts
    if parts[0] in NOT_RESULTS or parts[-1].startswith("."):
        return True
    if folder:
        return parts[-1] in ("data", "__pycache__") or path.is_symlink()
    return path.is_symlink() or not path.is_file()


def digest_of(package: Path, libraries: dict[str, str]) -> str:
    """``sha256:`` and 16 hex digits of ``package``'s result sources (their paths inside it
    and their text, line endings as ``\\n``) and the ``libraries``' versions."""
    digest = hashlib.sha256()
    for name, number in sorted(libraries.items()):
        digest.update(f"{name} {number}\n".encode())
    for path in result_sources(package):
        digest.update(path.relative_to(package).as_posix().encode() + b"\n")
        digest.update(path.read_bytes().replace(b"\r\n", b"\n"))
    return "sha256:" + digest.hexdigest()[:16]


def _library_versions() -> dict[str, str]:
    """devsim's and the numeric libraries' versions (read without importing them)."""
    found = {"devsim": __version__}
    for name in LIBRARIES:
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            found[name] = "absent"
    return found


CODE = digest_of(PACKAGE, _library_versions())


def code_digest() -> str:
    """The digest of the result-computing code this process loaded (:data:`CODE`)."""
    return CODE


def provenance() -> dict[str, str]:
    """What a results file records of the code that made it."""
    return {
        "devsim_version": __version__,
        "code": CODE,
        "python": platform.python_version(),
    }


def recorded_code(path: Path) -> str | None:
    """The code digest a results file (a run's run.json or scenario.json) records; None where
    it records none, as files made before devsim recorded it, or cannot be read."""
    try:
        info = json.loads(path.read_text(encoding="utf-8"))
        code = info["code"] if isinstance(info, dict) else None
    except (OSError, ValueError, RecursionError, KeyError):
        return None
    return code if isinstance(code, str) else None

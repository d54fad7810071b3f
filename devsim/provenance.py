"""What made a result: devsim's version and a digest of the code that computes results.

The version alone does not name the model: between releases the model changes under the
same version number. :func:`code_digest` hashes the source of every module that computes
results (all of the package except what only draws, serves or teaches) together with the
versions of numpy and numba, whose arithmetic the results pass through. Files of results
record it (:func:`provenance`), and the commands that resume (``devsim batch``, ``devsim
evolve``) reuse only what the same code made: a run made by other code is run again.
"""

from __future__ import annotations

import functools
import hashlib
import platform
from pathlib import Path

from devsim import __version__

PACKAGE = Path(__file__).resolve().parent
# Modules that only draw, serve or teach: a change there leaves every number as it was.
NOT_RESULTS = ("cli", "viz", "plots", "bench.py", "handout.py", "lessons.py")


def result_sources(package: Path = PACKAGE) -> list[Path]:
    """The modules of ``package`` whose code the results depend on, in a fixed order."""
    paths = sorted(package.rglob("*.py"))
    return [p for p in paths if p.relative_to(package).parts[0] not in NOT_RESULTS]


def digest_of(package: Path, libraries: dict[str, str]) -> str:
    """``sha256:`` and 16 hex digits of ``package``'s result sources (their paths inside it
    and their bytes) and the ``libraries``' versions."""
    digest = hashlib.sha256()
    for name, version in sorted(libraries.items()):
        digest.update(f"{name} {version}\n".encode())
    for path in result_sources(package):
        digest.update(path.relative_to(package).as_posix().encode() + b"\n")
        digest.update(path.read_bytes())
    return "sha256:" + digest.hexdigest()[:16]


@functools.cache
def code_digest() -> str:
    """The digest of this devsim's result-computing code and of the numeric libraries it
    runs on: the same for the same code, wherever it is installed."""
    import numba
    import numpy

    return digest_of(PACKAGE, {"numpy": numpy.__version__, "numba": numba.__version__})


def provenance() -> dict[str, str]:
    """What a results file records of the code that made it."""
    return {
        "devsim_version": __version__,
        "code": code_digest(),
        "python": platform.python_version(),
    }

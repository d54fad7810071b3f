"""The data shipped inside the package: scenarios, sweeps, evolution scenarios and lessons.

This module is the one place that knows where they live (``devsim/data/``, read through
:mod:`importlib.resources`, so an installed wheel finds them as a checkout does)::

    devsim/data/scenarios/NAME.toml            scenarios and sweeps (a sweep has a [sweep] table)
    devsim/data/scenarios/evolution/NAME.toml  evolution scenarios (devsim evolve)
    devsim/data/lessons/NAME.md                lessons (devsim lesson, the Lessons page)

Nothing is read when the module is imported; the folder is located on first use.
A command's scenario argument is a shipped name or a path: :func:`resolve`.
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import os
from importlib import resources
from pathlib import Path

from devsim.errors import DevsimInputError
from devsim.outputs import printable
from devsim.scenario import read_toml

KINDS = ("scenario", "sweep", "evolution")
_FILES = contextlib.ExitStack()  # only used if the package is imported from a zip file
atexit.register(_FILES.close)


@functools.cache
def data_dir() -> Path:
    """``devsim/data`` as a folder on the file system (extracted once if zipped)."""
    return _FILES.enter_context(resources.as_file(resources.files("devsim") / "data"))


def scenario_dir() -> Path:
    return data_dir() / "scenarios"


def evolution_dir() -> Path:
    return data_dir() / "scenarios" / "evolution"


def lesson_dir() -> Path:
    return data_dir() / "lessons"


def _stems(folder: Path, suffix: str) -> list[str]:
    return sorted(p.stem for p in folder.glob(f"*{suffix}") if p.is_file())


@functools.cache
def _kinds() -> dict[str, str]:
    """Each top-level shipped file's kind: ``sweep`` if it holds a [sweep] table."""
    folder = scenario_dir()
    return {
        name: "sweep" if "sweep" in read_toml(folder / f"{name}.toml") else "scenario"
        for name in _stems(folder, ".toml")
    }


def scenario_names(kind: str = "scenario") -> list[str]:
    """The shipped names of one kind: ``scenario``, ``sweep`` or ``evolution``."""
    if kind == "evolution":
        return _stems(evolution_dir(), ".toml")
    if kind not in KINDS:
        raise ValueError(f"kind: {kind!r}; allowed: {', '.join(KINDS)}")
    return [name for name, k in _kinds().items() if k == kind]


def scenario_path(name: str, kind: str = "scenario") -> Path:
    """The file of a shipped scenario, sweep or evolution scenario; never a user path."""
    names = scenario_names(kind)
    if name not in names:  # compared as a string: no file-system call with user text
        raise DevsimInputError(
            f"no shipped {_LABEL[kind]} {printable(name, 60)!r}; shipped: {', '.join(names)}"
        )
    return (evolution_dir() if kind == "evolution" else scenario_dir()) / f"{name}.toml"


def lesson_names() -> list[str]:
    return _stems(lesson_dir(), ".md")


def lesson_path(name: str) -> Path:
    """The file of a shipped lesson (``name`` must be one of :func:`lesson_names`)."""
    names = lesson_names()
    if name not in names:
        raise DevsimInputError(
            f"lesson '{printable(name, 60)}' not found; available: {', '.join(names)}"
        )
    return lesson_dir() / f"{name}.md"


def is_path(arg: str) -> bool:
    """A scenario argument is a path if it has a folder separator or ends in ``.toml`` (or
    ``.json``, a run's record) (``.`` and ``..`` are folders, so paths too: the loaders
    refuse them in one line)."""
    if arg in (".", "..") or arg.endswith((".toml", ".json")):
        return True
    return any(sep and sep in arg for sep in (os.sep, os.altsep, "/"))


_LABEL = {"scenario": "scenario", "sweep": "sweep", "evolution": "evolution scenario"}
_A = {"scenario": "a scenario", "sweep": "a sweep", "evolution": "an evolution scenario"}
COMMAND = {"scenario": "devsim run", "sweep": "devsim batch", "evolution": "devsim evolve"}


@functools.cache
def _evolution_keys() -> frozenset[str]:
    """Top-level keys only an evolution scenario has (``generations``, ``grid``, ...)."""
    from devsim.evolution_scenario import EvolutionScenario
    from devsim.scenario import Scenario

    def keys(model) -> set[str]:
        return {f.alias or name for name, f in model.model_fields.items()}

    return frozenset(keys(EvolutionScenario) - keys(Scenario))


def kind_of(data: dict) -> str | None:
    """The kind a parsed file shows itself to be: ``sweep`` (a [sweep] table), ``scenario``
    ([[groups]]), ``evolution`` (a key only evolution scenarios have); None if it does not
    say (the loader then names what is missing)."""
    if "sweep" in data:
        return "sweep"
    if "groups" in data:
        return "scenario"
    if not _evolution_keys().isdisjoint(data):
        return "evolution"
    return None


def file_kind(path: Path, kind: str) -> str | None:
    """:func:`kind_of` the TOML file at ``path``, read as a ``kind`` file; None as well if it
    cannot be read (left to the loader, which says why)."""
    try:
        return kind_of(read_toml(path, _LABEL[kind]))
    except DevsimInputError:
        return None


def check_kind(path: Path, kind: str) -> None:
    """One line if the file at ``path`` is another kind of file than a command's ``kind``
    (a sweep given to ``devsim run`` says ``devsim batch`` runs it, not that its ``name`` is
    missing); a file that cannot be read is left to the loader, which says why."""
    found = file_kind(path, kind)
    if found is not None and found != kind:
        raise DevsimInputError(
            f"{printable(str(path), 200)}: {_A[found]} file, not {_A[kind]}: run it with "
            f"{COMMAND[found]}"
        )


def resolve(arg: str | os.PathLike, kind: str, what: str = "scenario") -> Path:
    """A command's scenario argument as a file: a path as given, or a shipped name.

    ``devsim run md_critical`` (kind ``scenario``), ``devsim batch cp_profile_sweep``
    (``sweep``), ``devsim evolve assimilation_constant`` (``evolution``). A path (with a
    ``/`` or ending in ``.toml`` or ``.json``) is returned unchanged, for the loaders to read
    and check;
    any other text must be a shipped name of ``kind``, else one line lists those names.
    """
    text = os.fspath(arg)
    if is_path(text):
        path = Path(text)
        check_kind(path, kind)
        return path
    names = scenario_names(kind)
    if text in names:
        return scenario_path(text, kind)
    shown = printable(text, 60)
    for other in KINDS:
        if other != kind and text in scenario_names(other):
            raise DevsimInputError(
                f"{what}: {shown!r} is a shipped {_LABEL[other]}, not {_A[kind]}: run it with "
                f"{COMMAND[other]} {shown}"
            )
    raise DevsimInputError(
        f"{what}: {shown!r} is neither a file path (one with a '/' or ending in .toml) nor a "
        f"shipped {_LABEL[kind]}; shipped: {', '.join(names)} (see devsim scenarios)"
    )

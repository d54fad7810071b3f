"""Writing results: every file appears whole or not at all, and nothing is left behind.

A run writes into a hidden staging folder beside ``--out`` and publishes it file by file
(one rename each) when everything is written. Staging folders carry the writer's process
id, so a folder left by a killed process is removed by the next run that writes beside it;
on SIGTERM or Ctrl-C the CLI removes the current process's own (:func:`remove_staging`).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

from devsim.errors import DevsimInputError, DevsimRunError

_UMASK = os.umask(0)
os.umask(_UMASK)
COMPONENT_MAX = 255  # bytes in one path component (Linux, macOS)
# The staging folder beside --out is named ".NAME.staging-PID-XXXXXXXX": room for it
OUT_NAME_MAX = COMPONENT_MAX - 32
PATH_MAX = 4096
_ACTIVE: set[Path] = set()  # staging folders of this process, removed on SIGTERM / Ctrl-C


def check_out(out: str | Path, flag: str = "--out", stages: bool = True) -> Path:
    """``out`` as a folder devsim may write into, checked before any work starts.

    Refuses the empty string, the file-system root, an existing file (or a file on the
    way to it), names too long for the file system and places this process cannot write:
    ``out`` (or the nearest folder above it that exists) and, for a command that ``stages``
    its results beside ``out`` (:func:`staged`), the folder they are staged in, which must
    be on ``out``'s file system (the results are moved into ``out`` by renaming).
    """
    text = str(out)
    if not text.strip():
        raise DevsimInputError(f"{flag}: must name a folder, got an empty string")
    if "\x00" in text:
        raise DevsimInputError(f"{flag}: must not contain a NUL character")
    path = Path(text)
    shown = printable(text, 80)
    if (
        len(os.fsencode(text)) > PATH_MAX
        or any(len(os.fsencode(part)) > COMPONENT_MAX for part in path.parts)
        or len(os.fsencode(path.name)) > OUT_NAME_MAX
    ):
        raise DevsimInputError(
            f"{flag}: {shown}: name too long (at most {OUT_NAME_MAX} bytes for the folder's "
            f"own name, {COMPONENT_MAX} for the folders above it)"
        )
    if os.path.islink(text) and not os.path.exists(text):
        raise DevsimInputError(f"{flag}: {shown}: a symbolic link to nothing (or a loop)")
    try:
        resolved = path.resolve()
    except (OSError, RuntimeError) as exc:  # a loop of symbolic links on the way
        problem = getattr(exc, "strerror", None) or "a loop of symbolic links"
        raise DevsimInputError(f"{flag}: {shown}: cannot resolve ({problem})") from None
    if resolved.parent == resolved:
        raise DevsimInputError(f"{flag}: {shown}: refusing to write into the file-system root")
    existing = resolved
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir():
        what = "a file" if existing == resolved else f"{printable(str(existing), 80)} is a file"
        raise DevsimInputError(f"{flag}: {shown}: must be a folder, but {what}")
    check_writable(existing, f"{flag}: {shown}")
    if stages:
        beside = _beside(path)
        while not beside.exists():
            beside = beside.parent
        check_writable(beside, f"{flag}: {shown}")
        if path.exists() and os.stat(path).st_dev != os.stat(beside).st_dev:
            raise DevsimInputError(
                f"{flag}: {shown}: is on another file system than the folder above it, "
                f"where the results are made before they are moved in; give --out a new "
                "folder inside it"
            )
    return path


def _beside(out: Path) -> Path:
    """The folder a staging folder for ``out`` is made in (``.`` for ``.``)."""
    return Path(out).parent


def count_of(n: int, noun: str) -> str:
    """``1 seed``, ``2 seeds``: a count with its noun (English plural in -s)."""
    return f"{n:,} {noun}" + ("" if n == 1 else "s")


def listed(noun: str, items) -> str:
    """Items as read, after their noun: ``seed 0``, ``seeds 0 and 1``, ``rows 4, 8 and 11``
    (English plural in -s)."""
    items = [str(i) for i in items]
    if len(items) == 1:
        return f"{noun} {items[0]}"
    return f"{noun}s {', '.join(items[:-1])} and {items[-1]}"


# What marks a folder as one command's results: another command does not write into it
# (devsim run into an evolution's folder replaced its summary.json beside its generations).
RESULT_MARKS = {
    "devsim run": ("timeline.parquet",),
    "devsim evolve": ("generations.parquet", "comparison.csv"),
    "devsim batch": ("manifest.json", "runs"),
    "devsim profile": ("profile.json",),
    "devsim baldwin": ("alleles.csv",),
    "devsim validate": ("validation.json",),
    "devsim lesson": ("index.html",),
}


def check_own_folder(folder: Path, command: str, flag: str = "--out") -> None:
    """Before any work: ``folder`` holds no other command's results (see
    :data:`RESULT_MARKS`); one line naming the command whose they are."""
    for other, marks in RESULT_MARKS.items():
        found = [m for m in marks if other != command and (folder / m).exists()]
        if found:
            names = ", ".join(m + "/" if (folder / m).is_dir() else m for m in found)
            what = "a devsim batch" if other == "devsim batch" else f"{other}'s results"
            raise DevsimInputError(
                f"{flag}: {printable(str(folder))} holds {what} ({names}); allowed: a new "
                f"folder or one of {command}'s"
            )


def check_room(
    folder: Path, names: tuple[str, ...] | list[str], stages: bool = True, flag: str = "--out"
) -> None:
    """Before any work: ``folder`` can take files ``names`` (paths relative to it): no
    folder where one of them goes, no file where one of their folders goes."""
    check_out(folder, flag, stages=stages)
    for name in names:
        place = _in_the_way(folder, name)
        if place is not None:
            raise DevsimInputError(
                f"{flag}: {printable(str(place))} is in the way of {Path(name).name}; move it "
                "and rerun"
            )


def _in_the_way(folder: Path, name: str) -> Path | None:
    """A folder where file ``name`` goes, or a file where one of its folders goes."""
    if (folder / name).is_dir():
        return folder / name
    for part in list(Path(name).parents)[:-1]:  # its folders below ``folder``, nearest first
        if (folder / part).exists() and not (folder / part).is_dir():
            return folder / part
    return None


def check_writable(folder: Path, what: str) -> None:
    """One line naming ``what`` unless this process can create a folder in ``folder`` (the
    very operation staging, publishing and atomic writes need)."""
    try:
        probe = tempfile.mkdtemp(prefix=".devsim-probe-", dir=folder)
        os.rmdir(probe)
    except OSError as exc:
        raise DevsimInputError(
            f"{what}: cannot write in {printable(str(folder), 80)} "
            f"({exc.strerror or exc.__class__.__name__})"
        ) from None


def printable(text: str, limit: int = 200) -> str:
    """``text`` safe for a terminal: control characters escaped, at most ``limit`` chars.

    A longer text loses its middle, not its end: the end of a path names the file."""
    shown = "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)
    if len(shown) <= limit:
        return shown
    head = (limit - 1) // 2
    return shown[:head] + "…" + shown[len(shown) - (limit - 1 - head) :]


def table_text(table) -> str:
    """A results table (a pandas DataFrame) as the terminal shows it: three decimals, and
    ``n/a`` where a measure has no value (never ``NaN``)."""
    return table.to_string(index=False, float_format=lambda v: f"{v:.3f}", na_rep="n/a")


def atomic_write(path: Path | str, write: Callable[[Path], None]) -> None:
    """Call ``write(tmp_path)`` then move the file into place with one rename (fsynced)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".devsim-tmp", dir=path.parent)
    os.close(fd)
    try:
        write(Path(tmp))
        os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp makes 0600; give the file normal permissions
        _fsync(Path(tmp))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_text(path: Path | str, text: str) -> None:
    atomic_write(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def publish_directory(staging: Path, out: Path) -> None:
    """Move every file of ``staging`` into ``out`` (each by one rename), then drop staging.

    Every destination is checked first, so a folder or file in the way stops the run before
    anything is published (never half a run).
    """
    files = sorted(p for p in staging.rglob("*") if p.is_file())
    for src in files:
        dst = out / src.relative_to(staging)
        for place in (dst, *dst.parents):
            if place == out.parent:
                break
            blocked = place.is_dir() if place == dst else place.exists() and not place.is_dir()
            if blocked:
                raise DevsimInputError(
                    f"{printable(str(place))}: is in the way of {dst.name}; move it and rerun "
                    "(nothing was published)"
                )
    for done, src in enumerate(files):
        _fsync(src)
        dst = out / src.relative_to(staging)
        try:
            dst.parent.mkdir(parents=True, exist_ok=True)
            os.replace(src, dst)
        except OSError as exc:  # e.g. a folder made read-only while the run went on
            raise DevsimRunError(
                f"{printable(str(dst))}: cannot write it ({exc.strerror or exc}); "
                f"{done} of {len(files)} files were published"
            ) from None
    shutil.rmtree(staging, ignore_errors=True)
    _ACTIVE.discard(staging)


def staging_dir(out: Path) -> Path:
    """A fresh staging folder beside ``out`` (same file system, so renames are atomic).

    Staging folders left beside ``out`` by processes that no longer run are removed first.
    """
    out = Path(out)
    beside = _beside(out)
    beside.mkdir(parents=True, exist_ok=True)
    prefix = f".{out.name}.staging-"
    for stale in beside.glob(f"{glob_escape(prefix)}*"):
        if stale.is_dir() and not _alive(stale.name.removeprefix(prefix).split("-")[0]):
            shutil.rmtree(stale, ignore_errors=True)
    path = Path(tempfile.mkdtemp(prefix=f"{prefix}{os.getpid()}-", dir=beside))
    _ACTIVE.add(path)
    return path


@contextlib.contextmanager
def staged(out: Path) -> Iterator[Path]:
    """A staging folder for ``out``: write into it; it is published when the block ends
    without error, and removed in every case."""
    staging = staging_dir(out)
    try:
        yield staging
        out.mkdir(parents=True, exist_ok=True)
        publish_directory(staging, out)
    finally:
        remove(staging)


def remove(staging: Path) -> None:
    shutil.rmtree(staging, ignore_errors=True)
    _ACTIVE.discard(staging)


def remove_staging() -> None:
    """Remove every staging folder this process has open (SIGTERM, Ctrl-C)."""
    for path in list(_ACTIVE):
        remove(path)


def glob_escape(text: str) -> str:
    return "".join(f"[{c}]" if c in "*?[" else c for c in text)


def _alive(pid_text: str) -> bool:
    """Whether the process that made a staging folder still runs (unknown owner: yes)."""
    if not pid_text.isdigit():
        return False  # an older devsim's folder, or not a process id at all
    pid = int(pid_text)
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True

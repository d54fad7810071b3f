"""Attacks on the devsim command line (issue 17): run each, classify what happened.

Every attack is one small command line (or a short script of them: a signal sent while the
command writes, two batches into one folder, a rerun after planting files) run in a fresh
temporary folder under the system temp dir, in its own session, with a timeout and a memory
cap (``RLIMIT_AS`` 6 GiB per process, plus a watchdog on the summed RSS and the number of
processes of the session, so that ``--workers 1000`` cannot take the machine down). Each
outcome falls in one class:

* **clean error** -- exit code != 0, no ``Traceback``, one line of error on stderr
  (progress lines of ``devsim batch`` / ``validate`` are not counted) and nothing partial
  left in ``--out`` or beside it (no ``.OUT.staging-*`` folder, no temporaries);
* **worked** -- exit 0, the input was legal (``expect="work"`` or ``"either"``) and the
  outputs are sound: ``summary.json`` / ``results.parquet`` without NaN or null except the
  OD measures (``mean_odi``, ``cbi``, ``binocular_fraction``) of days without responsive
  cells and the reference group's own shift, no leftover staging folder or temporary;
* **traceback** -- ``Traceback`` on stderr, or any other unclean failure: several lines of
  error, no message at all, killed by a signal it was not sent, or partial output / a
  staging folder left behind by a failed command;
* **hang** -- the timeout (or the memory / process watchdog) stopped it;
* **silent acceptance** -- exit 0 although the input is nonsense (``expect="reject"``), or
  exit 0 with unsound results (NaN, null, unsafe HTML, a leftover staging folder);
* **data loss** -- a file the user had (planted before the attack: a ``.mine.tmp`` in a batch
  folder, a README, notes beside a previous run's results) changed or vanished, or results
  overwritten by another run of the same command.

Usage::

    python benchmarks/attacks.py --code /tmp/devsim-base --json old.json   # code before
    python benchmarks/attacks.py --code /work/main --json new.json         # code after
    python benchmarks/attacks.py --only 4-run-out-empty 8-sigkill-run-writing
    python benchmarks/attacks.py --list

``--code PATH`` is put first on ``PYTHONPATH`` of every command (the devsim package found
there is attacked; default: this checkout), ``--jobs N`` runs N attacks at a time (default
2), ``--only`` selects attacks by id (or by prefix ending in ``*``, or by item number),
``--json FILE`` writes the details (argv, exit code, stderr, class, reason). Each line of
output is ``id  item  class  reason``; a table of counts by class and by item ends it.

``--out /`` is run only when ``devsim.outputs.check_out("/")`` of the attacked code refuses
the root (checked in a subprocess first); otherwise it is recorded as silent acceptance
(not run: would write into /). The whole catalogue takes a few minutes on 2 cores.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import dataclasses
import hashlib
import json
import math
import os
import re
import resource
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PYTHON = sys.executable
ENTRY = "import sys; from devsim.cli import main; sys.exit(main(sys.argv[1:]))"
MEMORY_CAP = 6 * 1024**3  # RLIMIT_AS of every process
SESSION_RSS_CAP = 7 * 1024**3  # summed RSS of one attack's processes (watchdog)
SESSION_PROCS_CAP = 40  # processes of one attack (watchdog: --workers 1000)
CLASSES = ("clean error", "worked", "traceback", "hang", "silent acceptance", "data loss")
OD_MEASURES = {"mean_odi", "cbi", "binocular_fraction"}
# Progress lines on stderr that are not errors (batch and validate report as they go).
PROGRESS = re.compile(
    r"^(devsim batch: .*(\d+ runs \(|runs done)|-- row |\s*$|distributed\.|.*UserWarning|"
    r"\s+warnings\.warn)"
)


# --------------------------------------------------------------------------- file texts


def q(text: str) -> str:
    """A TOML basic string (JSON escapes are valid TOML escapes)."""
    return json.dumps(text, ensure_ascii=False)


MD_REARING = '[{ from = 2, to = 5, condition = "lid_suture", eye = "left" }]'


def scenario(
    name: str = "tiny",
    days: int = 6,
    neurons: int = 4,
    ppd: int = 16,
    organisms: int = 2,
    head: str = "",
    groups: str | None = None,
    seed: str = "7",
    md: str = "",
) -> str:
    """A tiny development scenario (two groups: control and md) as TOML text."""
    if groups is None:
        groups = (
            f'[[groups]]\nname = "control"\norganisms = {organisms}\n\n'
            f'[[groups]]\nname = "md"\norganisms = {organisms}\nrearing = {MD_REARING}\n{md}'
        )
    return (
        f"name = {q(name)}\nseed = {seed}\ndays = {days}\nneurons = {neurons}\n"
        f"presentations_per_day = {ppd}\nbatch_size = 16\n{head}\n{groups}\n"
    )


TINY = scenario()


def sweep(
    body: str = '[sweep.grid]\n"genome.eta" = [0.1, 0.2]\n', base: str = "tiny.toml", head: str = ""
) -> str:
    return f'[sweep]\nbase = "{base}"\nseeds = 1\nseed = 3\n{head}\n{body}'


def evolution(
    name: str = "evo",
    generations: int = 2,
    head: str = "",
    env: str = "",
    quick: str = "",
    grid: str = "[2, 2]",
    neurons: int = 4,
    ppd: int = 16,
) -> str:
    """A tiny evolution scenario (2 x 2 cells, 1 organism each, 20 days) as TOML text."""
    return (
        f"name = {q(name)}\nseed = 1\ngenerations = {generations}\ndays = 20\n"
        f"assess_from = 15\nassess_every = 5\ngrid = {grid}\nper_cell = 1\n"
        f"neurons = {neurons}\npresentations_per_day = {ppd}\nbatch_size = 16\n"
        f'evolve = ["eta", "r_mat"]\n{head}\n'
        f"[environment]\nworld_change_days = [16, 18]\ndeprivation_days = [14, 16]\n{env}\n"
        f"[quick]\ngenerations = 1\ngrid = [2, 2]\nper_cell = 1\nneurons = 4\n"
        f"presentations_per_day = 16\nbatch_size = 16\n{quick}\n"
    )


EVO = evolution()
LESSON = '+++\ntitle = "Attack lesson"\nsummary = "A lesson with no scenarios."\n+++\n'
LESSON += "## The question\n\nNothing to run.\n"
README = "# My project\n\n<!-- validation:start -->\nold table\n<!-- validation:end -->\n"


# --------------------------------------------------------------------------- attacks


@dataclasses.dataclass
class Attack:
    id: str
    item: int
    desc: str
    argv: list[str] | Callable[[dict], list[str]]  # {tmp} is replaced by the folder
    expect: str  # "reject", "work" or "either"
    files: dict[str, str | bytes] = dataclasses.field(default_factory=dict)
    planted: dict[str, str | bytes] = dataclasses.field(default_factory=dict)  # user's files
    setup: Callable[[Path], None] | None = None
    out: str | None = "out"  # --out, relative to the folder (partial output, staging)
    prep: list[list[str]] = dataclasses.field(default_factory=list)  # commands run first
    plant_after: Callable[[Path], dict[str, bytes]] | None = None  # user's files after prep
    sound: Callable[[Path], str | None] | None = None  # problem with the outputs, or None
    check: Callable[[Path, dict], tuple[str, str] | None] | None = None  # overrides the class
    driver: Callable[[Attack, Path, dict], dict] | None = None  # custom execution
    timeout: float = 60.0
    guard: Callable[[dict], str | None] | None = None  # not run if it returns a reason


def out_args(out: str = "out") -> list[str]:
    return ["--out", out]


def lesson_out_argv(path: str, out: str) -> Callable[[dict], list[str]]:
    return lambda feat: [*lesson_argv(path)(feat), "--out", out]


def lesson_argv(path: str) -> Callable[[dict], list[str]]:
    """A lesson file given by path: ``--file PATH`` where the code has it, else the name."""

    def argv(feat: dict) -> list[str]:
        if feat["lesson_file"]:
            return ["lesson", "--file", path]
        return ["lesson", path.removesuffix(".md")]

    return argv


COMMANDS: dict[str, tuple[list[str], dict[str, str]]] = {
    "run": (["run", "tiny.toml"], {"tiny.toml": TINY}),
    "batch": (
        ["batch", "sweep.toml", "--workers", "1"],
        {"tiny.toml": TINY, "sweep.toml": sweep()},
    ),
    "evolve": (["evolve", "evo.toml"], {"evo.toml": EVO}),
    "profile": (["profile", "--seeds", "1", "--organisms", "1", "--starts", "20", "--no-dark"], {}),
    "validate": (["validate", "--quick", "--rows", "1"], {}),
    "baldwin": (
        ["baldwin", "--generations", "2", "--runs", "1", "--population", "10", "--trials", "10"],
        {},
    ),
}


def catalogue() -> list[Attack]:
    a: list[Attack] = []
    add = a.append
    base = {"tiny.toml": TINY}

    # ---- 1. sweeping organisms --------------------------------------------------------
    for key, body in {
        "grid": "[sweep.grid]\norganisms = [1, 2]\n",
        "zip": '[sweep.zip]\norganisms = [1, 2]\n"genome.eta" = [0.1, 0.2]\n',
        "points": "[[sweep.points]]\norganisms = 1\n[[sweep.points]]\norganisms = 2\n",
        "set": '[sweep.set]\norganisms = 1\n[sweep.grid]\n"genome.eta" = [0.1, 0.2]\n',
        "group": '[sweep.grid]\n"groups.md.organisms" = [1, 2]\n',
        "grid-with-group": '[sweep.grid]\norganisms = [1, 2]\n"groups.md.organisms" = [3]\n',
    }.items():
        add(
            Attack(
                f"1-organisms-{key}",
                1,
                f"sweep organisms via [sweep.{key}]",
                ["batch", "sweep.toml", "--workers", "1", *out_args()],
                "work",
                {**base, "sweep.toml": sweep(body)},
                sound=sound_batch,
            )
        )
    add(
        Attack(
            "1-organisms-grid-dask",
            1,
            "sweep organisms, 2 Dask workers",
            ["batch", "sweep.toml", "--workers", "2", *out_args()],
            "work",
            {**base, "sweep.toml": sweep("[sweep.grid]\norganisms = [1, 2]\n")},
            sound=sound_batch,
            timeout=90,
        )
    )

    # ---- 2. legal inputs that gave NaN ------------------------------------------------
    for key, days, ppd, genes in (
        ("days60-ppd32", 60, 32, ""),
        ("ppd64-days120", 120, 64, ""),
        (
            "fast-threshold",
            30,
            32,
            "genome = { tau_theta = 0.01, tau_theta_down = 0.01, y0 = 0.05 }",
        ),
    ):
        text = scenario(days=days, ppd=ppd, neurons=8, organisms=4, md=genes + "\n")
        if genes:
            text = text.replace('name = "control"\n', f'name = "control"\n{genes}\n')
            text = text.replace("rearing = [{ from = 2", "rearing = [{ from = 20")
            text = text.replace("to = 5,", "to = 24,")
        else:
            text = text.replace("rearing = [{ from = 2", "rearing = [{ from = 24")
            text = text.replace("to = 5,", "to = 28,")
        add(
            Attack(
                f"2-nan-{key}",
                2,
                f"legal scenario ({key}) must give finite results",
                ["run", "s.toml", *out_args()],
                "work",
                {"s.toml": text},
                timeout=120,
            )
        )
    add(
        Attack(
            "2-nan-batch-fast-threshold",
            2,
            "sweep of tau_theta = 0.01, y0 = 0.05",
            ["batch", "sweep.toml", "--workers", "1", *out_args()],
            "work",
            {
                "tiny.toml": scenario(days=30, neurons=8, ppd=32, organisms=4),
                "sweep.toml": sweep(
                    '[sweep.set]\n"genome.tau_theta_down" = 0.01\n'
                    '"genome.y0" = 0.05\n[sweep.grid]\n'
                    '"genome.tau_theta" = [0.01, 0.1]\n'
                ),
            },
            sound=sound_batch,
            timeout=120,
        )
    )

    # ---- 3. nothing bounds the size of a job ------------------------------------------
    big_groups = "".join(f'[[groups]]\nname = "g{i}"\norganisms = 100000\n\n' for i in range(50))
    for key, text in {
        "2x100k-1024": scenario(neurons=1024, organisms=100_000),
        "50x100k": scenario(neurons=32, groups=big_groups),
        "500-groups": scenario(
            days=2,
            groups="".join(f'[[groups]]\nname = "g{i}"\norganisms = 1\n\n' for i in range(500)),
        ),
        "days-1e6": scenario(days=1_000_000),
        "ppd-1e7": scenario(ppd=10_000_000),
    }.items():
        add(
            Attack(
                f"3-size-{key}",
                3,
                f"job too large: {key}",
                ["run", "s.toml", *out_args()],
                "reject",
                {"s.toml": text},
            )
        )
    add(
        Attack(
            "3-size-evolution-100x100x100",
            3,
            "evolution grid 100 x 100, 100 per cell",
            ["evolve", "e.toml", "--generations", "1", *out_args()],
            "reject",
            {"e.toml": evolution(grid="[100, 100]").replace("per_cell = 1", "per_cell = 100")},
        )
    )
    genes8 = ["eta", "g_inh", "r_mat", "r_close", "floor_adult", "density", "a_vis", "w_max"]
    grid8 = "".join(
        f'"genome.{g}" = [{", ".join(str(0.05 + i / 100) for i in range(10))}]\n' for g in genes8
    )
    add(
        Attack(
            "3-size-sweep-8x10",
            3,
            "sweep of 8 parameters x 10 values (10^8 runs)",
            ["batch", "sweep.toml", "--workers", "1", *out_args()],
            "reject",
            {**base, "sweep.toml": sweep("[sweep.grid]\n" + grid8)},
        )
    )
    add(
        Attack(
            "3-size-sweep-seeds-1e9",
            3,
            "sweep with seeds = 10^9",
            ["batch", "sweep.toml", "--workers", "1", *out_args()],
            "reject",
            {**base, "sweep.toml": sweep().replace("seeds = 1", "seeds = 1000000000")},
        )
    )
    add(
        Attack("3-dev-zero", 3, "devsim run /dev/zero", ["run", "/dev/zero", *out_args()], "reject")
    )
    add(
        Attack(
            "3-fifo-scenario",
            3,
            "a FIFO as scenario file",
            ["run", "fifo.toml", *out_args()],
            "reject",
            setup=lambda t: os.mkfifo(t / "fifo.toml"),
            timeout=30,
        )
    )
    add(
        Attack(
            "3-fifo-sweep",
            3,
            "a FIFO as sweep file",
            ["batch", "fifo.toml", "--workers", "1", *out_args()],
            "reject",
            setup=lambda t: os.mkfifo(t / "fifo.toml"),
            timeout=30,
        )
    )
    add(
        Attack(
            "3-workers-1000",
            3,
            "devsim batch --workers 1000",
            ["batch", "sweep.toml", "--workers", "1000", *out_args()],
            "reject",
            {**base, "sweep.toml": sweep()},
            timeout=60,
        )
    )
    add(
        Attack(
            "3-workers-0",
            3,
            "devsim batch --workers 0",
            ["batch", "sweep.toml", "--workers", "0", *out_args()],
            "reject",
            {**base, "sweep.toml": sweep()},
        )
    )
    add(
        Attack(
            "3-evolve-seeds-1e6",
            3,
            "devsim evolve --seeds 1000000",
            ["evolve", "evo.toml", "--seeds", "1000000", *out_args()],
            "reject",
            {"evo.toml": EVO},
        )
    )
    add(
        Attack(
            "3-profile-organisms-1e9",
            3,
            "devsim profile --organisms 10^9",
            [
                "profile",
                "--seeds",
                "1",
                "--organisms",
                "1000000000",
                "--starts",
                "20",
                "--no-dark",
                *out_args(),
            ],
            "reject",
        )
    )
    add(
        Attack(
            "3-baldwin-population-1e9",
            3,
            "devsim baldwin --population 10^9",
            [
                "baldwin",
                "--generations",
                "2",
                "--runs",
                "1",
                "--population",
                "1000000000",
                "--trials",
                "10",
                *out_args(),
            ],
            "reject",
        )
    )
    add(
        Attack(
            "3-name-1MB",
            3,
            "scenario name of 1 MB",
            ["run", "s.toml", *out_args()],
            "reject",
            {"s.toml": scenario(name="n" * 1_048_576)},
        )
    )
    add(
        Attack(
            "3-name-50MB",
            3,
            "scenario name of 50 MB",
            ["run", "s.toml", *out_args()],
            "reject",
            {"s.toml": scenario(name="n" * 50 * 1_048_576)},
        )
    )

    # ---- 4. --out checked only after the simulation -----------------------------------
    bad_outs = {
        "proc": "/proc/devsim-attack/out",
        "afile-sub": "afile/sub",
        "300chars": "o" * 300,
        "empty": "",
    }
    for cmd, (argv, files) in {**COMMANDS, "lesson": ([], {"les.md": LESSON})}.items():
        for key, out in bad_outs.items():
            planted = {"afile": "the user's file\n"} if key == "afile-sub" else {}
            full: list[str] | Callable[[dict], list[str]] = [*argv, "--out", out]
            if cmd == "lesson":
                full = lesson_out_argv("{tmp}/les.md", out)
            add(
                Attack(
                    f"4-{cmd}-out-{key}",
                    4,
                    f"devsim {cmd} --out {out[:40]!r}",
                    full,
                    "reject",
                    files,
                    planted,
                    out=out if key != "proc" else None,
                    timeout=90,
                )
            )
    add(
        Attack(
            "4-run-out-root",
            4,
            "devsim run --out / (run only if check_out refuses /)",
            ["run", "tiny.toml", "--out", "/"],
            "reject",
            base,
            out=None,
            guard=lambda feat: (
                None if feat["root_refused"] else "silent acceptance|not run: would write into /"
            ),
        )
    )
    add(
        Attack(
            "4-run-out-nul",
            4,
            "--out with a control character (ESC)",
            ["run", "tiny.toml", "--out", "o\x1bx"],
            "either",
            base,
            out="o\x1bx",
        )
    )
    add(
        Attack(
            "4-validate-readme-missing",
            4,
            "validate --readme missing.md",
            ["validate", "--quick", "--rows", "1", "--readme", "missing.md", *out_args()],
            "reject",
            timeout=90,
        )
    )
    add(
        Attack(
            "4-validate-readme-no-markers",
            4,
            "validate --readme without markers",
            ["validate", "--quick", "--rows", "1", "--readme", "README.md", *out_args()],
            "reject",
            planted={"README.md": "# mine\nno markers here\n"},
            timeout=90,
        )
    )

    # ---- 5. two scenario files with one name ------------------------------------------
    add(
        Attack(
            "5-evolve-same-name",
            5,
            "devsim evolve a/same.toml b/same.toml",
            ["evolve", "a/same.toml", "b/same.toml", "--quick", *out_args()],
            "reject",
            {"a/same.toml": evolution(name="A"), "b/same.toml": evolution(name="B")},
            check=check_same_name,
        )
    )
    add(
        Attack(
            "5-evolve-same-file-twice",
            5,
            "devsim evolve a/same.toml a/same.toml",
            ["evolve", "a/same.toml", "a/same.toml", "--quick", *out_args()],
            "reject",
            {"a/same.toml": EVO},
        )
    )
    add(
        Attack(
            "5-evolve-two-names",
            5,
            "devsim evolve a/x.toml b/y.toml (control)",
            ["evolve", "a/x.toml", "b/y.toml", "--quick", *out_args()],
            "work",
            {"a/x.toml": EVO, "b/y.toml": evolution(name="other")},
        )
    )
    add(
        Attack(
            "5-evolve-seeds-2",
            5,
            "devsim evolve --seeds 2 (one folder per seed)",
            ["evolve", "evo.toml", "--seeds", "2", "--quick", *out_args()],
            "work",
            {"evo.toml": EVO},
        )
    )

    # ---- 6. tracebacks where one line is promised -------------------------------------
    add(
        Attack(
            "6-dollar-scenario-name",
            6,
            "a $ in the scenario name",
            ["run", "s.toml", *out_args()],
            "work",
            {"s.toml": scenario(name="cost $5")},
        )
    )
    add(
        Attack(
            "6-dollar-group-name",
            6,
            "a $ in a group name",
            ["run", "s.toml", *out_args()],
            "work",
            {"s.toml": TINY.replace('name = "md"', 'name = "md $x"')},
        )
    )
    add(
        Attack(
            "6-dollar-sweep-name",
            6,
            "a $ in the sweep name and a group name",
            ["batch", "sweep.toml", "--workers", "1", *out_args()],
            "work",
            {
                "tiny.toml": TINY.replace('name = "md"', 'name = "m$d"'),
                "sweep.toml": sweep(head='name = "sweep $1"'),
            },
            sound=sound_batch,
        )
    )
    add(
        Attack(
            "6-dollar-evolution-name",
            6,
            "a $ in an evolution scenario name",
            ["evolve", "e.toml", *out_args()],
            "work",
            {"e.toml": evolution(name="evo $2")},
        )
    )
    deep = "x = " + "[" * 10_000 + "]" * 10_000 + "\n"
    for cmd, argv in (("run", ["run"]), ("batch", ["batch"]), ("evolve", ["evolve"])):
        add(
            Attack(
                f"6-deep-toml-{cmd}",
                6,
                f"10,000-deep array ({cmd})",
                [*argv, "d.toml", *out_args()],
                "reject",
                {"d.toml": deep},
            )
        )
    add(
        Attack(
            "6-deep-table-run",
            6,
            "100-deep inline tables in a scenario",
            ["run", "d.toml", *out_args()],
            "reject",
            {"d.toml": TINY + "x = " + "{a = " * 100 + "1" + "}" * 100 + "\n"},
        )
    )

    def loop(t: Path) -> None:
        os.symlink("loop.toml", t / "loop.toml")

    for cmd, argv in (("run", ["run"]), ("batch", ["batch"]), ("evolve", ["evolve"])):
        add(
            Attack(
                f"6-symlink-loop-{cmd}",
                6,
                f"a symlink loop as the file ({cmd})",
                [*argv, "loop.toml", *out_args()],
                "reject",
                setup=loop,
            )
        )
    add(
        Attack(
            "6-symlink-loop-base",
            6,
            "sweep base is a symlink loop",
            ["batch", "sweep.toml", *out_args()],
            "reject",
            {"sweep.toml": sweep(base="loop.toml")},
            setup=loop,
        )
    )
    add(
        Attack(
            "6-long-component",
            6,
            "scenario path with a 300-character name",
            ["run", "s" * 300 + ".toml", *out_args()],
            "reject",
        )
    )
    add(
        Attack(
            "6-long-path",
            6,
            "scenario path of 5,000 characters",
            ["run", "/".join(["d" * 99] * 50) + ".toml", *out_args()],
            "reject",
        )
    )
    add(
        Attack(
            "6-scenario-is-folder", 6, "a folder as scenario", ["run", ".", *out_args()], "reject"
        )
    )
    add(
        Attack(
            "6-not-utf8",
            6,
            "scenario that is not UTF-8",
            ["run", "s.toml", *out_args()],
            "reject",
            {"s.toml": b'name = "\xff\xfe"\n'},
        )
    )
    add(
        Attack(
            "6-malformed-toml",
            6,
            "malformed TOML (control)",
            ["run", "s.toml", *out_args()],
            "reject",
            {"s.toml": "name = \n"},
        )
    )
    add(
        Attack(
            "6-evo-c50-1e308",
            6,
            "evolution c50 = 1e308",
            ["evolve", "e.toml", *out_args()],
            "reject",
            {"e.toml": evolution(head="c50 = 1e308")},
        )
    )
    add(
        Attack(
            "6-evo-contrast-inf",
            6,
            "world_change_contrast = [1, inf]",
            ["evolve", "e.toml", *out_args()],
            "reject",
            {"e.toml": evolution(env="world_change_contrast = [1, inf]")},
        )
    )
    add(
        Attack(
            "6-evo-noise-1e308",
            6,
            "evolution noise = 1e308",
            ["evolve", "e.toml", *out_args()],
            "reject",
            {"e.toml": evolution(head="noise = 1e308")},
        )
    )
    add(
        Attack(
            "6-lesson-long-name",
            6,
            "devsim lesson with a 300-character name",
            ["lesson", "l" * 300, *out_args()],
            "reject",
        )
    )
    add(
        Attack(
            "6-lesson-long-file",
            6,
            "devsim lesson --file of 300 characters",
            lambda feat: lesson_argv("L" * 300 + ".md")(feat) + ["--out", "out"],
            "reject",
        )
    )

    # ---- 7. nonsense accepted silently -------------------------------------------------
    nonsense = {
        "seed-string": scenario(seed='"7"'),
        "seed-true": scenario(seed="true"),
        "seed-negative": scenario(seed="-1"),
        "seed-float": scenario(seed="7.5"),
        "organisms-true": scenario(organisms="true"),  # type: ignore[arg-type]
        "organisms-zero": scenario(organisms=0),
        "days-float": TINY.replace("days = 6", "days = 20.0"),
        "days-true": TINY.replace("days = 6", "days = true"),
        "days-zero": TINY.replace("days = 6", "days = 0"),
        "neurons-zero": scenario(neurons=0),
        "from-string": TINY.replace("from = 2", 'from = "2"'),
        "to-float": TINY.replace("to = 5", "to = 5.0"),
        "eye-unknown": TINY.replace('eye = "left"', 'eye = "middle"'),
        "rearing-overlap": TINY.replace(
            MD_REARING, MD_REARING[:-1] + ', { from = 3, to = 6, condition = "dark" }]'
        ),
        "rearing-after-life": TINY.replace("to = 5", "to = 60"),
        "diazepam-overlap": TINY.replace(
            'name = "md"',
            'name = "md"\ntreatments = [{ from = 1, to = 4, drug = "diazepam" }, '
            '{ from = 2, to = 5, drug = "diazepam" }]',
        ),
        "gene-innate_strength": TINY.replace(
            'name = "md"', 'name = "md"\ngenome = { innate_strength = 0.5 }'
        ),
        "gene-marker": TINY.replace('name = "md"', 'name = "md"\ngenome = { marker = 3.0 }'),
        "gene-nan": TINY.replace('name = "md"', 'name = "md"\ngenome = { eta = nan }'),
        "gene-inf": TINY.replace('name = "md"', 'name = "md"\ngenome = { eta = inf }'),
        "gene-negative": TINY.replace('name = "md"', 'name = "md"\ngenome = { eta = -1.0 }'),
        "gene-unknown": TINY.replace('name = "md"', 'name = "md"\ngenome = { etaa = 0.1 }'),
        "gene-string": TINY.replace('name = "md"', 'name = "md"\ngenome = { eta = "0.1" }'),
        "unknown-key": TINY + 'colour = "red"\n',
        "duplicate-groups": TINY.replace('name = "md"', 'name = "control"'),
        "ppd-not-multiple": scenario(ppd=20),
        "empty-name": scenario(name=""),
        "blank-name": scenario(name="   "),
        "species-unknown": TINY.replace("seed = 7", 'seed = 7\nspecies = "dragon"'),
    }
    for key, text in nonsense.items():
        add(
            Attack(
                f"7-{key}",
                7,
                f"scenario: {key}",
                ["run", "s.toml", *out_args()],
                "reject",
                {"s.toml": text},
            )
        )
    for char, code in (
        ("nul", "\\u0000"),
        ("esc", "\\u001b[31m"),
        ("bel", "\\u0007"),
        ("newline", "\\n"),
        ("del", "\\u007f"),
    ):
        add(
            Attack(
                f"7-name-{char}",
                7,
                f"scenario name with {char}",
                ["run", "s.toml", *out_args()],
                "reject",
                {"s.toml": TINY.replace('name = "tiny"', f'name = "ti{code}ny"')},
            )
        )
        add(
            Attack(
                f"7-group-name-{char}",
                7,
                f"group name with {char}",
                ["run", "s.toml", *out_args()],
                "reject",
                {"s.toml": TINY.replace('name = "md"', f'name = "m{code}d"')},
            )
        )
    add(
        Attack(
            "7-sweep-name-esc",
            7,
            "sweep name with ESC",
            ["batch", "sweep.toml", "--workers", "1", *out_args()],
            "reject",
            {**base, "sweep.toml": sweep(head='name = "sw\\u001b[2Jeep"')},
        )
    )
    add(
        Attack(
            "7-evo-name-bel",
            7,
            "evolution name with BEL",
            ["evolve", "e.toml", *out_args()],
            "reject",
            {"e.toml": evolution(name="evo\u0007")},
        )
    )
    evo_nonsense = {
        "seed-string": evolution(head="").replace("seed = 1", 'seed = "1"'),
        "recombination-yes": evolution(head='recombination = "yes"'),
        "noise-inf": evolution(head="noise = inf"),
        "noise-nan": evolution(head="noise = nan"),
        "generations-float": evolution().replace(
            "generations = 2\ndays", "generations = 2.0\ndays"
        ),
        "grid-bool": evolution(grid="[true, 2]"),
        "quick-per-cell-1000": evolution(quick="").replace(
            "per_cell = 1\nneurons = 4\npresentations_per_day = 16\nbatch_size = 16\n\n",
            "per_cell = 1000\nneurons = 4\npresentations_per_day = 16\nbatch_size = 16\n\n",
        ),
        "quick-neurons-1e6": evolution().replace(
            "[quick]\ngenerations = 1\ngrid = [2, 2]\nper_cell = 1\nneurons = 4",
            "[quick]\ngenerations = 1\ngrid = [2, 2]\nper_cell = 1\nneurons = 1000000",
        ),
        "quick-grid-1000": evolution().replace(
            "[quick]\ngenerations = 1\ngrid = [2, 2]",
            "[quick]\ngenerations = 1\ngrid = [1000, 1000]",
        ),
        "quick-generations-1e9": evolution().replace(
            "[quick]\ngenerations = 1", "[quick]\ngenerations = 1000000000"
        ),
        "deprivation-days-reversed": evolution(env="").replace(
            "deprivation_days = [14, 16]", "deprivation_days = [16, 14]"
        ),
        "gene-unknown": evolution(head="genome = { etaa = 0.1 }"),
    }
    for key, text in evo_nonsense.items():
        argv = ["evolve", "e.toml", *out_args()]
        if key.startswith("quick"):
            argv.insert(2, "--quick")
        add(
            Attack(
                f"7-evo-{key}", 7, f"evolution: {key}", argv, "reject", {"e.toml": text}, timeout=60
            )
        )
    for key, extra in {
        "generations-1e9": ["--generations", "1000000000"],
        "generations-0": ["--generations", "0"],
        "seed-negative": ["--seed", "-1"],
        "seed-2e64": ["--seed", str(2**64)],
        "seeds-0": ["--seeds", "0"],
    }.items():
        add(
            Attack(
                f"7-evolve-cli-{key}",
                7,
                f"devsim evolve {' '.join(extra)}",
                ["evolve", "evo.toml", *extra, *out_args()],
                "reject",
                {"evo.toml": EVO},
            )
        )
    for key, extra in {
        "seed-negative": ["--seed", "-1"],
        "seed-2e64": ["--seed", str(2**64)],
        "seed-text": ["--seed", "seven"],
    }.items():
        add(
            Attack(
                f"7-run-cli-{key}",
                7,
                f"devsim run {' '.join(extra)}",
                ["run", "tiny.toml", *extra, *out_args()],
                "reject",
                base,
            )
        )
    for key, extra in {
        "starts-text": ["--starts", "a,b"],
        "starts-negative": ["--starts", "-5"],
        "starts-1e9": ["--starts", "1000000000"],
        "seeds-0": ["--seeds", "0"],
        "organisms-0": ["--organisms", "0"],
    }.items():
        args = ["profile", "--seeds", "1", "--organisms", "1", "--starts", "20", "--no-dark"]
        flag = extra[0]
        i = args.index(flag)
        args[i + 1] = extra[1]
        add(
            Attack(
                f"7-profile-{key}",
                7,
                f"devsim profile {' '.join(extra)}",
                [*args, *out_args()],
                "reject",
            )
        )
    for key, extra in {
        "population-0": ["--population", "0"],
        "mutation-rate-2": ["--mutation-rate", "2"],
        "trials-negative": ["--trials", "-1"],
        "runs-0": ["--runs", "0"],
    }.items():
        args = [
            "baldwin",
            "--generations",
            "2",
            "--runs",
            "1",
            "--population",
            "10",
            "--trials",
            "10",
            *extra,
        ]
        add(
            Attack(
                f"7-baldwin-{key}",
                7,
                f"devsim baldwin {' '.join(extra)}",
                [*args, *out_args()],
                "reject",
            )
        )
    for key, rows in {"999": "999", "text": "one", "empty": ""}.items():
        add(
            Attack(
                f"7-validate-rows-{key}",
                7,
                f"devsim validate --rows {rows!r}",
                ["validate", "--quick", "--rows", rows, *out_args()],
                "reject",
            )
        )
    for key, body, exp in (
        ("organisms-string", '[sweep.grid]\norganisms = ["1", "2"]\n', "reject"),
        ("days-float", "[sweep.grid]\ndays = [4.0, 5.0]\n", "reject"),
        ("unknown-parameter", '[sweep.grid]\n"genome.etaa" = [0.1]\n', "reject"),
        ("empty-list", '[sweep.grid]\n"genome.eta" = []\n', "reject"),
        ("duplicate-values", '[sweep.grid]\n"genome.eta" = [0.1, 0.1]\n', "reject"),
        ("unknown-group", '[sweep.grid]\n"groups.nosuch.organisms" = [1]\n', "reject"),
        ("gene-out-of-bounds", '[sweep.grid]\n"genome.eta" = [-5.0]\n', "reject"),
        (
            "link-bad",
            '[sweep.grid]\n"genome.eta" = [0.1]\n[sweep.link]\n"genome.g_inh" = "genome.eta * 2"\n',
            "reject",
        ),
        (
            "zip-unequal",
            '[sweep.zip]\n"genome.eta" = [0.1, 0.2]\n"genome.g_inh" = [1.0]\n',
            "reject",
        ),
    ):
        add(
            Attack(
                f"7-sweep-{key}",
                7,
                f"sweep: {key}",
                ["batch", "sweep.toml", "--workers", "1", *out_args()],
                exp,
                {**base, "sweep.toml": sweep(body)},
            )
        )
    dotted = TINY + '\n[[groups]]\nname = "md.genome"\norganisms = 1\n'
    for key, param in (
        ("quoted", "'groups.\"md.genome\".genome.eta'"),
        ("unquoted", '"groups.md.genome.genome.eta"'),
    ):
        add(
            Attack(
                f"7-dotted-group-{key}",
                7,
                f"sweep addresses group md.genome ({key})",
                ["batch", "sweep.toml", "--workers", "1", *out_args()],
                "work",
                {
                    "tiny.toml": dotted,
                    "sweep.toml": sweep(f"[sweep.grid]\n{param} = [0.05, 0.3]\n"),
                },
                sound=sound_dotted,
            )
        )

    # ---- 8. leftovers and deletions ----------------------------------------------------
    slow = scenario(days=60, neurons=16, ppd=160, organisms=24).replace(
        "batch_size = 16", "batch_size = 16"
    )
    slow_evo = evolution(generations=80, neurons=8, ppd=32)
    for cmd, argv, files in (
        ("run", ["run", "slow.toml"], {"slow.toml": slow}),
        ("evolve", ["evolve", "slow.toml"], {"slow.toml": slow_evo}),
    ):
        for sig in ("KILL", "TERM", "INT"):
            for when in ("running", "writing"):
                add(
                    Attack(
                        f"8-sig{sig.lower()}-{cmd}-{when}",
                        8,
                        f"SIG{sig} to devsim {cmd} while {when}",
                        [*argv, *out_args()],
                        "work" if sig == "KILL" else "reject",
                        files,
                        driver=signal_driver(sig, when, after=5.5),
                        timeout=120,
                    )
                )
    batch8 = {
        "tiny.toml": scenario(days=10, neurons=8, ppd=64, organisms=4),
        "sweep.toml": sweep(f'[sweep.grid]\n"genome.eta" = {ETAS}\n'),
    }
    for sig in ("KILL", "TERM", "INT"):
        add(
            Attack(
                f"8-sig{sig.lower()}-batch",
                8,
                f"SIG{sig} to a serial batch mid-way",
                ["batch", "sweep.toml", "--workers", "1", *out_args()],
                "work" if sig == "KILL" else "reject",
                batch8,
                driver=signal_driver(sig, "running", after=6.0),
                sound=sound_batch,
                timeout=180,
            )
        )
    add(
        Attack(
            "8-validate-staging-on-error",
            8,
            "validate fails late (README without markers)",
            ["validate", "--quick", "--rows", "1", "--readme", "R.md", *out_args()],
            "reject",
            planted={"R.md": "# no markers\n"},
            timeout=90,
        )
    )
    add(
        Attack(
            "8-profile-staging-on-error",
            8,
            "profile fails inside (start beyond life)",
            [
                "profile",
                "--seeds",
                "1",
                "--organisms",
                "1",
                "--starts",
                "5000",
                "--no-dark",
                *out_args(),
            ],
            "reject",
            timeout=90,
        )
    )
    for where in ("DIR", "DIR/figures", "DIR/runs/*"):
        add(
            Attack(
                f"8-batch-user-tmp-{where.replace('DIR/', '').replace('/*', '') or 'dir'}",
                8,
                f"batch rerun keeps the user's .mine.tmp in {where}",
                ["batch", "sweep.toml", "--workers", "1", *out_args()],
                "either",
                {**base, "sweep.toml": sweep()},
                prep=[["batch", "sweep.toml", "--workers", "1", *out_args()]],
                plant_after=plant_tmp(where),
                sound=sound_batch,
            )
        )
    add(
        Attack(
            "8-batch-user-readme",
            8,
            "batch into a folder holding the user's README",
            ["batch", "sweep.toml", "--workers", "1", *out_args()],
            "either",
            {**base, "sweep.toml": sweep()},
            planted={"out/README.md": "# my notes\n"},
            sound=sound_batch,
        )
    )
    add(
        Attack(
            "8-batch-lock",
            8,
            "two batches into one folder at once",
            ["batch", "big.toml", "--workers", "1", *out_args()],
            "work",
            {
                "tiny.toml": batch8["tiny.toml"],
                "big.toml": batch8["sweep.toml"],
                "small.toml": sweep('[sweep.grid]\n"genome.eta" = [0.05]\n').replace(
                    "seeds = 1", "seeds = 24"
                ),
            },
            driver=concurrent_driver,
            timeout=180,
        )
    )
    add(
        Attack(
            "8-batch-other-sweep",
            8,
            "batch of another sweep into a finished batch folder",
            ["batch", "other.toml", "--workers", "1", *out_args()],
            "reject",
            {
                **base,
                "sweep.toml": sweep(),
                "other.toml": sweep('[sweep.grid]\n"genome.g_inh" = [0.5]\n'),
            },
            prep=[["batch", "sweep.toml", "--workers", "1", *out_args()]],
            plant_after=lambda t: snapshot_files(t, "out"),
            check=check_batch_replaced,
        )
    )
    for key, folder in (("timeline", "out/timeline.parquet"), ("summary", "out/summary.json")):
        add(
            Attack(
                f"8-run-collision-{key}",
                8,
                f"{folder} is a folder (name collision)",
                ["run", "tiny.toml", *out_args()],
                "reject",
                base,
                {f"{folder}/keep.txt": "mine\n"},
            )
        )
    add(
        Attack(
            "8-run-collision-figures-file",
            8,
            "out/figures is a file",
            ["run", "tiny.toml", *out_args()],
            "reject",
            base,
            {"out/figures": "mine\n"},
        )
    )
    add(
        Attack(
            "8-batch-collision-results",
            8,
            "out/results.parquet is a folder",
            ["batch", "sweep.toml", "--workers", "1", *out_args()],
            "reject",
            {**base, "sweep.toml": sweep()},
            {"out/results.parquet/keep.txt": "mine\n"},
        )
    )
    add(
        Attack(
            "8-evolve-collision-summary",
            8,
            "out/summary.json is a folder",
            ["evolve", "evo.toml", *out_args()],
            "reject",
            {"evo.toml": EVO},
            {"out/summary.json/keep.txt": "mine\n"},
        )
    )
    add(
        Attack(
            "8-run-keeps-user-notes",
            8,
            "run into a previous run's folder with user notes",
            ["run", "tiny.toml", "--seed", "8", *out_args()],
            "work",
            base,
            {"out/notes.txt": "my notes\n"},
            prep=[["run", "tiny.toml", *out_args()]],
        )
    )
    add(
        Attack(
            "8-readme-atomic",
            8,
            "validate --readme replaces the README atomically",
            ["validate", "--quick", "--rows", "1", "--readme", "README.md", *out_args()],
            "work",
            setup=lambda t: (t / "README.md").write_text(README),
            check=check_readme_atomic,
            timeout=90,
        )
    )

    # ---- 9. handouts -------------------------------------------------------------------
    html = (
        '+++\ntitle = "Attack <script>alert(1)</script>"\nsummary = "s <b onmouseover=x>"\n'
        "+++\n## Q\n\n<script>alert(1)</script>\n\n<img src=x onerror=alert(1)>\n\n"
        '[click](javascript:alert(1))\n\n<iframe src="https://example.com"></iframe>\n'
    )
    add(
        Attack(
            "9-lesson-abs-path",
            9,
            "devsim lesson /abs/path/x (a path as NAME)",
            ["lesson", "{tmp}/les", *out_args()],
            "reject",
            {"les.md": LESSON},
        )
    )
    add(
        Attack(
            "9-lesson-dotdot",
            9,
            "devsim lesson ../README",
            ["lesson", "../README", *out_args()],
            "reject",
        )
    )
    add(
        Attack(
            "9-lesson-dotdot-scenario",
            9,
            "devsim lesson ../scenarios/normal",
            ["lesson", "../scenarios/normal", *out_args()],
            "reject",
        )
    )
    add(
        Attack(
            "9-lesson-unknown",
            9,
            "devsim lesson nosuch (control)",
            ["lesson", "nosuch", *out_args()],
            "reject",
        )
    )
    add(
        Attack(
            "9-lesson-raw-html",
            9,
            "raw HTML (<script>, onerror=, javascript:) in a lesson",
            lambda feat: [*lesson_argv("{tmp}/evil.md")(feat), "--out", "out"],
            "work",
            {"evil.md": html},
            sound=sound_lesson,
        )
    )
    add(
        Attack(
            "9-lesson-file-not-lesson",
            9,
            "a scenario file given as the lesson",
            lambda feat: [*lesson_argv("{tmp}/tiny.md")(feat), "--out", "out"],
            "reject",
            {"tiny.md": TINY},
        )
    )
    add(
        Attack(
            "9-lesson-bad-scenario-ref",
            9,
            "lesson naming ../../etc/passwd as scenario",
            lambda feat: [*lesson_argv("{tmp}/ref.md")(feat), "--out", "out"],
            "reject",
            {
                "ref.md": LESSON.replace(
                    "+++\n## ", 'scenarios = ["../../../etc/passwd"]\n+++\n## ', 1
                )
            },
        )
    )
    return a


# --------------------------------------------------------------------------- checks


def json_problems(value, path: str = "", allow: Callable[[str], bool] = lambda p: False) -> list:
    """Paths of NaN, infinite or null numbers in a parsed JSON value."""
    found = []
    if isinstance(value, dict):
        for k, v in value.items():
            found += json_problems(v, f"{path}.{k}" if path else str(k), allow)
    elif isinstance(value, list):
        for i, v in enumerate(value):
            found += json_problems(v, f"{path}[{i}]", allow)
    elif value is None or (isinstance(value, float) and not math.isfinite(value)):
        if not allow(path):
            found.append(path)
    return found


def summary_problem(path: Path) -> str | None:
    """NaN / null in a development summary.json, except OD measures of unresponsive days."""
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        return f"{path.name} unreadable ({exc})"
    bad = []
    for name, group in (data.get("groups") or {}).items():
        daily = group.get("daily", {})
        resp = daily.get("responsive_fraction") or []
        for key, values in daily.items():
            for i, v in enumerate(values if isinstance(values, list) else [values]):
                if v is None or (isinstance(v, float) and not math.isfinite(v)):
                    r = resp[i] if i < len(resp) else None
                    if not (key in OD_MEASURES and r == 0):
                        bad.append(f"{name}.daily.{key}[{i}]={v}")
        final = group.get("final", {})
        rf = final.get("responsive_fraction")
        for key, v in final.items():
            for p in json_problems(v, key):
                if not (key in OD_MEASURES and rf == 0):
                    bad.append(f"{name}.final.{p}")
    rest = {k: v for k, v in data.items() if k != "groups"}
    bad += json_problems(rest)
    if bad:
        return f"NaN/null in {path.name}: {', '.join(bad[:4])}" + (" ..." if len(bad) > 4 else "")
    return None


def sound_run(out: Path) -> str | None:
    for name in ("summary.json", "timeline.parquet"):
        if not (out / name).is_file():
            return f"no {name} in --out"
    return summary_problem(out / "summary.json")


def sound_batch(out: Path) -> str | None:
    import pandas as pd

    path = out / "results.parquet"
    if not path.is_file():
        return "no results.parquet"
    table = pd.read_parquet(path)
    if "status" in table and (table["status"] != "ok").any():
        return f"{int((table['status'] != 'ok').sum())} rows with status != ok"
    metrics = [
        "response_left",
        "response_right",
        "responsive_fraction",
        "synapses",
        "acuity_left",
        "acuity_right",
        "cbi",
        "mean_odi",
        "binocular_fraction",
    ]
    for col in metrics:
        if col not in table:
            continue
        bad = table[col].isna()
        if col in OD_MEASURES and "responsive_fraction" in table:
            bad &= table["responsive_fraction"] != 0
        if bad.any():
            return f"NaN in results.parquet column {col} ({int(bad.sum())} rows)"
    for summary in sorted(out.glob("runs/*/summary.json")):
        problem = summary_problem(summary)
        if problem:
            return f"runs/{summary.parent.name}: {problem}"
    return None


# An evolution summary reports the mean opening / closing day of the window; a population
# whose windows never open or close within the life has none (NaN by design).
EVOLUTION_UNDEFINED = re.compile(r"window_(open|close)")


def sound_evolve(out: Path) -> str | None:
    summaries = sorted(out.rglob("summary.json"))
    if not summaries:
        return "no summary.json"
    for path in summaries:
        try:
            data = json.loads(path.read_text())
        except ValueError as exc:
            return f"{path.relative_to(out)} unreadable ({exc})"
        bad = json_problems(data, allow=lambda p: bool(EVOLUTION_UNDEFINED.search(p)))
        if bad:
            return f"NaN/null in {path.relative_to(out)}: {', '.join(bad[:4])}"
    return None


UNSAFE_HTML = re.compile(  # live markup only: escaped text (&lt;script&gt;) is harmless
    r"<script[\s>]|<iframe[\s>]|<[a-z][^<>]*\son[a-z]+\s*=|(href|src)\s*=\s*[\"']?\s*javascript:",
    re.I,
)


def sound_lesson(out: Path) -> str | None:
    page = out / "index.html"
    if not page.is_file():
        return "no index.html"
    hit = UNSAFE_HTML.search(page.read_text(errors="replace"))
    return f"unsafe HTML in index.html: {hit.group(0)!r}" if hit else None


def sound_dotted(out: Path) -> str | None:
    problem = sound_batch(out)
    if problem:
        return problem
    etas = set()
    for run in out.glob("runs/*/run.json"):
        data = json.loads(run.read_text())
        for group in data.get("scenario", {}).get("groups", []):
            if group.get("name") == "md.genome":
                etas.add(group.get("genome", {}).get("eta"))
    if etas != {0.05, 0.3}:
        return f"group md.genome got eta {sorted(etas, key=str)} instead of [0.05, 0.3]"
    return None


def sound_default(argv: list[str]) -> Callable[[Path], str | None]:
    kind = argv[0] if argv else ""
    return {
        "run": sound_run,
        "batch": sound_batch,
        "evolve": sound_evolve,
        "lesson": sound_lesson,
    }.get(kind, lambda out: None if out.is_dir() and any(out.iterdir()) else "no output")


def check_same_name(tmp: Path, res: dict) -> tuple[str, str] | None:
    if res["rc"] != 0:
        return None
    folders = sorted(p.name for p in (tmp / "out").iterdir() if p.is_dir())
    if len(folders) < 2:
        return "data loss", f"exit 0 but only {folders} in --out: one run overwrote the other"
    return None


def check_readme_atomic(tmp: Path, res: dict) -> tuple[str, str] | None:
    if res["rc"] != 0:
        return None
    text = (tmp / "README.md").read_text()
    if "old table" in text:
        return "silent acceptance", "exit 0 but README.md table not replaced"
    if res["inodes"].get("README.md") == (tmp / "README.md").stat().st_ino:
        return "data loss", (
            "README.md rewritten in place (truncate + write: a crash mid-way loses it)"
        )
    return None


def check_batch_replaced(tmp: Path, res: dict) -> tuple[str, str] | None:
    if res["rc"] == 0:
        return "data loss", "another sweep's batch accepted into a finished batch folder"
    return None


def snapshot_files(tmp: Path, folder: str) -> dict[str, bytes]:
    """The files of ``folder`` after prep, to be checked as the user's (they must stay)."""
    root = tmp / folder
    return {
        str(p.relative_to(tmp)): p.read_bytes()
        for p in root.rglob("*")
        if p.is_file() and p.name != ".devsim-batch.lock"
    }


def plant_tmp(where: str) -> Callable[[Path], dict[str, bytes]]:
    def plant(tmp: Path) -> dict[str, bytes]:
        rel = where.replace("DIR", "out")
        folders = sorted(tmp.glob(rel)) if "*" in rel else [tmp / rel]
        planted = {}
        for folder in folders[:1]:
            folder.mkdir(parents=True, exist_ok=True)
            path = folder / ".mine.tmp"
            path.write_bytes(b"my own temporary file\n")
            planted[str(path.relative_to(tmp))] = b"my own temporary file\n"
        return planted

    return plant


# --------------------------------------------------------------------------- execution


def limits() -> None:
    """In the child before exec: the memory cap, and default signal dispositions (a shell
    starts background jobs with SIGINT ignored, and Python then installs no Ctrl-C handler)."""
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_CAP, MEMORY_CAP))
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, signal.SIG_DFL)


def session_usage(sid: int) -> tuple[int, int]:
    """Summed RSS (bytes) and number of the processes of session ``sid``."""
    rss = count = 0
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            if int(fields[3]) != sid:  # field 6: session id
                continue
            count += 1
            rss += int(fields[21]) * os.sysconf("SC_PAGE_SIZE")  # field 24: rss pages
        except (OSError, IndexError, ValueError):
            continue
    return rss, count


def start(argv: list[str], tmp: Path, code: Path, tag: str = "") -> tuple[subprocess.Popen, Path]:
    env = dict(os.environ, PYTHONPATH=str(code), MPLBACKEND="Agg", PYTHONDONTWRITEBYTECODE="1")
    log = tmp.parent / f"{tmp.name}.stderr{tag}"
    with open(log, "wb") as err, open(os.devnull, "wb") as null:
        proc = subprocess.Popen(
            [PYTHON, "-c", ENTRY, *argv],
            cwd=tmp,
            env=env,
            stdout=null,
            stderr=err,
            stdin=subprocess.DEVNULL,
            preexec_fn=limits,
            start_new_session=True,
        )
    return proc, log


def wait(proc: subprocess.Popen, timeout: float, until: Callable[[], bool] | None = None) -> str:
    """Wait for ``proc``: "exit", "until" (the condition became true), "timeout" or a
    watchdog reason (the whole session is killed on timeout and watchdog)."""
    t0 = time.monotonic()
    next_check = 0.0
    while True:
        if proc.poll() is not None:
            return "exit"
        if until is not None and until():
            return "until"
        now = time.monotonic() - t0
        if now > timeout:
            kill_session(proc)
            return "timeout"
        if now > next_check:
            next_check = now + 0.5
            rss, count = session_usage(proc.pid)
            if rss > SESSION_RSS_CAP or count > SESSION_PROCS_CAP:
                kill_session(proc)
                return f"watchdog: {rss / 1024**3:.1f} GiB in {count} processes"
        time.sleep(0.02)


def kill_session(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait()


def run_cmd(argv: list[str], tmp: Path, code: Path, timeout: float, tag: str = "") -> dict:
    t0 = time.monotonic()
    proc, log = start(argv, tmp, code, tag)
    how = wait(proc, timeout)
    # children left by a finished command (e.g. Dask workers) die with the session
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    return {
        "rc": proc.returncode,
        "how": how,
        "stderr": log.read_text(errors="replace"),
        "elapsed": time.monotonic() - t0,
    }


def staging_leftovers(tmp: Path, out: str | None) -> list[str]:
    if not out:
        return []
    path = tmp / out
    parent = path.parent
    if not parent.is_dir():
        return []
    try:
        names = [p.name for p in parent.iterdir() if p.name.startswith(f".{path.name}.staging-")]
    except OSError:
        return []
    return sorted(names)


def temporaries(tmp: Path, out: str | None) -> list[str]:
    """Writer temporaries (``.X.*.tmp`` / ``*.devsim-tmp``) left in --out."""
    try:
        if not out or not (tmp / out).is_dir():
            return []
    except OSError:  # e.g. a name too long: nothing can be there
        return []
    found = []
    for p in (tmp / out).rglob(".*"):
        if p.name == ".mine.tmp":
            continue
        if p.name.endswith((".tmp", ".devsim-tmp")) or ".staging-" in p.name:
            found.append(str(p.relative_to(tmp / out)))
    return sorted(found)


def tree(path: Path) -> dict[str, str]:
    """Files under ``path`` and a hash of each ("<dir>" for folders)."""
    try:
        if not path.exists() and not path.is_symlink():
            return {}
    except OSError:  # e.g. a name too long
        return {}
    if path.is_file():
        return {".": hashlib.sha1(path.read_bytes()).hexdigest()}
    out = {}
    for p in path.rglob("*"):
        rel = str(p.relative_to(path))
        try:
            out[rel] = "<dir>" if p.is_dir() else hashlib.sha1(p.read_bytes()).hexdigest()
        except OSError:
            out[rel] = "<unreadable>"
    return out


def error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if not PROGRESS.match(line)]


def last_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1].strip()[:200] if lines else ""


def classify(attack: Attack, tmp: Path, res: dict, before: dict) -> tuple[str, str]:
    if res.get("verdict"):
        return res["verdict"]
    how = res["how"]
    if how == "timeout":
        return "hang", f"no end after {res['elapsed']:.0f} s (killed)"
    if how.startswith("watchdog"):
        return "hang", f"{how} (killed)"
    lost = []
    for rel, content in before["planted"].items():
        path = tmp / rel
        if not path.is_file():
            lost.append(f"{rel} vanished")
        elif path.read_bytes() != content:
            lost.append(f"{rel} changed")
    if lost:
        return "data loss", "; ".join(lost[:3])
    if attack.check:
        verdict = attack.check(tmp, res)
        if verdict:
            return verdict
    stderr = res["stderr"]
    rc = res["rc"]
    leftovers = staging_leftovers(tmp, attack.out) + temporaries(tmp, attack.out)
    if "Traceback" in stderr:
        return "traceback", f"rc {rc}: {last_line(stderr)}"
    if rc is not None and rc < 0:
        return "traceback", f"killed by signal {-rc}" + (f"; left {leftovers}" if leftovers else "")
    if rc != 0:
        lines = error_lines(stderr)
        if not lines:
            return "traceback", f"rc {rc} with no error message"
        if len(lines) > 1:
            return "traceback", f"rc {rc}, {len(lines)} lines of error: {lines[0][:80]!r} ..."
        if leftovers:
            return "traceback", f"rc {rc} but left {leftovers[:3]}: {lines[0][:120]}"
        if attack.out and before["out"] != tree(tmp / attack.out):
            new = sorted(set(tree(tmp / attack.out)) - set(before["out"]))
            return "traceback", f"rc {rc} but partial output in --out {new[:3]}: {lines[0][:100]}"
        note = " [legal input refused]" if attack.expect == "work" else ""
        return "clean error", f"rc {rc}: {lines[0][:180]}{note}"
    if attack.expect == "reject":
        return "silent acceptance", "exit 0 on input that should be refused"
    sound = attack.sound or sound_default(res["argv"])
    try:
        problem = sound(tmp / attack.out) if attack.out else None
    except OSError as exc:
        problem = f"outputs unreadable ({exc.strerror or exc})"
    if problem:
        return "silent acceptance", f"exit 0 but {problem}"
    if leftovers:
        return "silent acceptance", f"exit 0 but left {leftovers[:3]}"
    return "worked", res.get("note") or f"exit 0, outputs sound ({res['elapsed']:.1f} s)"


def write_files(tmp: Path, files: dict[str, str | bytes]) -> None:
    for rel, content in files.items():
        path = tmp / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")


def resolve(argv, feat: dict, tmp: Path) -> list[str]:
    argv = argv(feat) if callable(argv) else argv
    return [arg.replace("{tmp}", str(tmp)) for arg in argv]


def execute(attack: Attack, code: Path, feat: dict) -> dict:
    record = {"id": attack.id, "item": attack.item, "desc": attack.desc, "expect": attack.expect}
    if attack.guard:
        reason = attack.guard(feat)
        if reason:
            cls, why = reason.split("|", 1)
            return {
                **record,
                "class": cls,
                "reason": f"({why})",
                "argv": [],
                "rc": None,
                "stderr": "",
                "elapsed": 0.0,
            }
    tmp = Path(tempfile.mkdtemp(prefix=f"devsim-attack-{attack.id[:40]}-"))
    try:
        write_files(tmp, attack.files)
        if attack.setup:
            attack.setup(tmp)
        for pre in attack.prep:
            done = run_cmd(resolve(pre, feat, tmp), tmp, code, 120, ".prep")
            if done["rc"] != 0:
                record["note"] = f"prep {pre[0]} failed: {last_line(done['stderr'])}"
        write_files(tmp, attack.planted)
        planted = {k: v.encode() if isinstance(v, str) else v for k, v in attack.planted.items()}
        if attack.plant_after:
            planted.update(attack.plant_after(tmp))
        inodes = {p.name: p.stat().st_ino for p in tmp.iterdir() if p.is_file()}
        argv = resolve(attack.argv, feat, tmp)
        before = {"planted": planted, "out": tree(tmp / attack.out) if attack.out else {}}
        if attack.driver:
            res = attack.driver(attack, tmp, {"code": code, "argv": argv, "feat": feat})
        else:
            res = run_cmd(argv, tmp, code, attack.timeout)
        res.update(argv=argv, inodes=inodes)
        cls, reason = classify(attack, tmp, res, before)
        if record.get("note") and cls != "worked":
            reason += f" [{record['note']}]"
        return {
            **record,
            "class": cls,
            "reason": reason,
            "argv": [a[:200] for a in argv],
            "rc": res["rc"],
            "stderr": res["stderr"][-3000:],
            "elapsed": round(res["elapsed"], 2),
        }
    except Exception as exc:  # a bug of this harness, not of devsim: say so
        return {
            **record,
            "class": "harness error",
            "reason": repr(exc)[:200],
            "argv": [],
            "rc": None,
            "stderr": "",
            "elapsed": 0.0,
        }
    finally:
        for log in tmp.parent.glob(f"{tmp.name}.stderr*"):
            log.unlink(missing_ok=True)
        shutil.rmtree(tmp, ignore_errors=True)
        if tmp.exists():  # a folder made read-only by an attack
            for p in tmp.rglob("*"):
                with contextlib_suppress():
                    p.chmod(stat.S_IRWXU)
            shutil.rmtree(tmp, ignore_errors=True)


class contextlib_suppress:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return True


# --------------------------------------------------------------------------- drivers


def signal_driver(sig: str, when: str, after: float = 3.5):
    """Send SIG``sig`` once the command runs (``after`` s) or writes (a file appears in
    its staging folder, at most 60 s); SIGKILL: run the command again, which must work and
    remove the killed one's staging folder."""

    def drive(attack: Attack, tmp: Path, ctx: dict) -> dict:
        code, argv = ctx["code"], ctx["argv"]
        out = tmp / attack.out
        t0 = time.monotonic()

        def writing() -> bool:
            for st in out.parent.glob(f".{out.name}.staging-*"):
                if any(p.is_file() for p in st.rglob("*")):
                    return True
            return False

        def running() -> bool:
            return time.monotonic() - t0 > after

        proc, log = start(argv, tmp, code)
        how = wait(proc, attack.timeout, writing if when == "writing" else running)
        if how != "until":
            text = log.read_text(errors="replace")
            res = {
                "rc": proc.returncode,
                "how": how,
                "stderr": text,
                "elapsed": time.monotonic() - t0,
            }
            if how == "exit" and proc.returncode == 0:
                res["note"] = f"finished before the signal ({when}); outputs sound"
            return res
        mark = len(log.read_bytes())
        os.kill(proc.pid, getattr(signal, f"SIG{sig}"))
        how = wait(proc, 60)
        raw = log.read_bytes()
        after_signal = raw[mark:].decode(errors="replace")
        with contextlib_suppress():
            os.killpg(proc.pid, signal.SIGKILL)
        left = staging_leftovers(tmp, attack.out) + temporaries(tmp, attack.out)
        if sig != "KILL":
            res = {
                "rc": proc.returncode,
                "how": how,
                "stderr": after_signal,
                "elapsed": time.monotonic() - t0,
            }
            if how == "exit" and proc.returncode == 0:
                res["verdict"] = ("silent acceptance", f"SIG{sig} ignored: exit 0 ({when})")
            elif how == "exit" and proc.returncode is not None and proc.returncode < 0:
                res["verdict"] = (
                    "traceback",
                    f"died of SIG{sig} with no message; left {left[:2] or 'nothing'}",
                )
            elif (
                how == "exit"
                and attack.argv[0] == "batch"
                and not left
                and "Traceback" not in after_signal
                and len(error_lines(after_signal)) == 1
            ):
                res["verdict"] = (
                    "clean error",
                    f"rc {proc.returncode}: "
                    f"{error_lines(after_signal)[0][:150]} (finished runs kept)",
                )
            return res
        # SIGKILL: the leftover (if any) must go with the next run of the same command
        again = run_cmd(argv, tmp, code, attack.timeout, ".again")
        still = [
            n
            for n in staging_leftovers(tmp, attack.out) + temporaries(tmp, attack.out)
            if n in left
        ]
        res = {**again, "elapsed": time.monotonic() - t0}
        if again["rc"] == 0 and still:
            res["verdict"] = (
                "silent acceptance",
                f"rerun exit 0 but the killed run's {still[:2]} is still there",
            )
        elif again["rc"] == 0 and not (attack.sound or sound_default(argv))(out):
            res["verdict"] = (
                "worked",
                f"killed while {when} (left {len(left)} leftover(s)); "
                "rerun worked and removed them",
            )
        return res

    return drive


ETAS = [0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6]


def concurrent_driver(attack: Attack, tmp: Path, ctx: dict) -> dict:
    """Batch A (12 parameter points) into out; once it runs, batch B of the same sweep
    (1 point x 24 seeds, so it would end last) into the same out. B must be refused (or
    wait for A) and results.parquet must still hold A's 12 points at the end."""
    import pandas as pd

    code = ctx["code"]
    t0 = time.monotonic()
    big, log_a = start(["batch", "big.toml", "--workers", "1", "--out", "out"], tmp, code, ".a")
    wait(big, 60, lambda: (tmp / "out" / "runs").is_dir() or time.monotonic() - t0 > 8)
    small = run_cmd(["batch", "small.toml", "--workers", "1", "--out", "out"], tmp, code, 150, ".b")
    how = wait(big, attack.timeout)
    err_a = log_a.read_text(errors="replace")
    res = {
        "rc": small["rc"],
        "how": how,
        "stderr": small["stderr"],
        "elapsed": time.monotonic() - t0,
    }
    if how != "exit" or small["how"] != "exit":
        res["how"] = how if how != "exit" else small["how"]
        return res
    path = tmp / "out" / "results.parquet"
    points: set = set()
    if path.is_file():
        table = pd.read_parquet(path)
        if "genome.eta" in table:
            points = {round(float(v), 4) for v in table["genome.eta"]}
    missing = sorted(set(ETAS) - points)
    if big.returncode != 0:
        kind = "traceback" if "Traceback" in err_a else "clean error"
        res["verdict"] = (kind, f"first batch failed (rc {big.returncode}): {last_line(err_a)}")
        if missing:
            res["verdict"] = (
                "data loss",
                f"first batch failed (rc {big.returncode}); "
                f"results.parquet lacks {len(missing)} of its 12 points",
            )
    elif missing:
        res["verdict"] = (
            "data loss",
            f"results.parquet lacks {len(missing)} of the first "
            f"batch's 12 points: replaced by the second batch (rc {small['rc']})",
        )
    elif small["rc"] == 0:
        res["verdict"] = (
            "silent acceptance",
            "second batch ran into the same folder at once "
            "(exit 0); results.parquet kept the 12 points",
        )
    elif "Traceback" not in small["stderr"] and len(error_lines(small["stderr"])) == 1:
        res["verdict"] = (
            "clean error",
            f"second refused: {error_lines(small['stderr'])[0][:150]}"
            "; the first finished with its 12 points",
        )
    return res


# --------------------------------------------------------------------------- main


def features(code: Path) -> dict:
    """What the attacked code offers. The probes run in an empty folder: ``python -c`` puts
    the working folder first on sys.path, which must not shadow ``code``."""
    env = dict(os.environ, PYTHONPATH=str(code), MPLBACKEND="Agg")
    with tempfile.TemporaryDirectory(prefix="devsim-attack-probe-") as cwd:
        return _features(env, cwd, code)


def _features(env: dict, cwd: str, code: Path) -> dict:
    where = subprocess.run(
        [PYTHON, "-c", "import devsim; print(devsim.__file__)"],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout.strip()
    if not where.startswith(str(code)):
        raise SystemExit(f"devsim imports from {where}, not from {code}")
    helptext = subprocess.run(
        [PYTHON, "-c", ENTRY, "lesson", "--help"],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout
    probe = (
        "import sys\nfrom devsim.errors import DevsimInputError\n"
        "try:\n    from devsim.outputs import check_out\nexcept ImportError:\n    sys.exit(3)\n"
        "try:\n    check_out('/')\nexcept DevsimInputError:\n    sys.exit(0)\nsys.exit(4)\n"
    )
    root = subprocess.run([PYTHON, "-c", probe], env=env, cwd=cwd, capture_output=True, timeout=60)
    return {"lesson_file": "--file" in helptext, "root_refused": root.returncode == 0}


def selected(attacks: list[Attack], only: list[str] | None) -> list[Attack]:
    if not only:
        return attacks
    keep = []
    for a in attacks:
        for pat in only:
            if (
                a.id == pat
                or (pat.endswith("*") and a.id.startswith(pat[:-1]))
                or (pat.isdigit() and a.item == int(pat))
            ):
                keep.append(a)
                break
    return keep


def report(results: list[dict]) -> str:
    classes = list(CLASSES) + sorted({r["class"] for r in results} - set(CLASSES))
    counts = {c: sum(r["class"] == c for r in results) for c in classes}
    lines = ["", "counts by class:"]
    lines += [f"  {c:<18} {counts[c]:>4}" for c in classes]
    lines.append(f"  {'total':<18} {len(results):>4}")
    short = {
        "clean error": "clean",
        "worked": "worked",
        "traceback": "trace",
        "hang": "hang",
        "silent acceptance": "silent",
        "data loss": "loss",
    }
    head = "  item " + "".join(f"{short.get(c, c[:6]):>8}" for c in classes)
    lines += ["", "by item:", head]
    for item in sorted({r["item"] for r in results}):
        row = [r for r in results if r["item"] == item]
        lines.append(
            f"  {item:>4} " + "".join(f"{sum(r['class'] == c for r in row):>8}" for c in classes)
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--code", default=str(REPO), help="folder holding the devsim package")
    parser.add_argument("--jobs", type=int, default=2, help="attacks run at a time")
    parser.add_argument("--only", nargs="+", help="attack ids (PREFIX* or item numbers too)")
    parser.add_argument("--json", help="write the details to this file")
    parser.add_argument("--list", action="store_true", help="list the attacks and exit")
    args = parser.parse_args(argv)
    attacks = selected(catalogue(), args.only)
    if args.list:
        for a in attacks:
            print(f"{a.id:<40} {a.item}  {a.expect:<6}  {a.desc}")
        print(f"{len(attacks)} attacks")
        return 0
    code = Path(args.code).resolve()
    feat = features(code)
    print(f"attacking {code} ({len(attacks)} attacks, {args.jobs} at a time; {feat})", flush=True)
    t0 = time.monotonic()
    results = []
    # slow attacks first, so that the tail of the run is short
    order = sorted(attacks, key=lambda a: -(a.timeout + (100 if a.driver else 0)))
    with concurrent.futures.ThreadPoolExecutor(max(1, args.jobs)) as pool:
        futures = {pool.submit(execute, a, code, feat): a for a in order}
        for fut in concurrent.futures.as_completed(futures):
            r = fut.result()
            results.append(r)
            print(f"{r['id']:<40} {r['item']}  {r['class']:<18} {r['reason']}", flush=True)
    index = {a.id: i for i, a in enumerate(attacks)}
    results.sort(key=lambda r: index[r["id"]])
    print(report(results))
    print(f"\n{len(results)} attacks in {time.monotonic() - t0:.0f} s")
    if args.json:
        Path(args.json).write_text(
            json.dumps(
                {
                    "code": str(code),
                    "features": feat,
                    "results": results,
                    "counts": {c: sum(r["class"] == c for r in results) for c in CLASSES},
                },
                indent=1,
                ensure_ascii=False,
            )
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())

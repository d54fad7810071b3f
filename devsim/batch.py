"""Scenario batches: sweeps of parameters x seeds that resume, serially or on Dask.

A **sweep file** (TOML) holds one ``[sweep]`` table. Every run is one scenario: the base
scenario with one *parameter point* applied and one seed. Example (a 4 x 3 grid)::

    [sweep]
    name = "Inhibition x learning rate"      # optional (default: the base scenario's name)
    base = "md_critical.toml"               # scenario file, relative to this sweep file
    seeds = 4                               # 4 seeds derived from `seed` (SeedSequence) ...
    seed = 2024                             # ... (default: the base scenario's seed)
    # seeds = [1, 2, 3]                     # ... or the scenario seeds themselves

    [sweep.set]                             # fixed changes applied to every run
    organisms = 8

    [sweep.grid]                            # cartesian product: one axis per parameter
    "genome.g_inh" = [0.35, 0.7, 1.0, 1.5]
    "genome.eta" = [0.05, 0.1, 0.2]

Other axes::

    [sweep.zip]                             # lists of equal length varied together (one axis)
    "groups.md_p24.rearing.0.from" = [20, 22, 24]
    "groups.md_p24.genome.eta" = [0.1, 0.2, 0.3]

    [[sweep.points]]                        # explicit points (one axis; same keys in each)
    "groups.md_p24.rearing.0.condition" = "lid_suture"
    [[sweep.points]]
    "groups.md_p24.rearing.0.condition" = "inactivate"

    [sweep.link]                            # parameters computed from a swept one
    "groups.md_p24.rearing.0.to" = "groups.md_p24.rearing.0.from + 4"

The parameter points are the cartesian product of the axes: each ``grid`` entry, the
``zip`` table (its rows) and the ``points`` list; any of them may be left out (with none,
the sweep is the base scenario over the seeds). ``link`` values are ``"PARAMETER"``,
``"PARAMETER + N"`` or ``"PARAMETER - N"`` where PARAMETER is a swept one (the operator
needs a space before it), e.g. a 4-day deprivation whose start day varies
(the shipped ``cp_profile_sweep``). Each parameter may appear once (set, an axis or
link); values in a list must be distinct.

**Parameter names** address the scenario:

* ``days``, ``neurons``, ``presentations_per_day``, ``batch_size``, ``species``;
* ``organisms``: every group; ``genome.GENE``: every group that does not set GENE itself
  in the base scenario (a group's own gene wins; to vary it too, link
  ``groups.NAME.genome.GENE`` to ``genome.GENE``);
* ``groups.NAME.organisms``, ``groups.NAME.species``, ``groups.NAME.genome.GENE``;
* ``groups.NAME.rearing.K.from|to|condition|eye`` and
  ``groups.NAME.treatments.K.from|to|drug`` (K indexes the base scenario's list).

A group NAME may contain dots: unquoted, the group whose name leaves a valid field is
taken (groups ``md`` and ``md.genome``: ``groups.md.genome.eta`` is ``md``'s gene); in
double quotes it is always exact: ``'groups."md.genome".genome.eta'`` (a TOML literal key).
Parameters of every group (``organisms``, ``genome.GENE``) are applied first, so a group's
own parameter (``groups.NAME.…``) wins over them, as a gene a group of the base scenario sets
does; one field may not be named twice (e.g. quoted and unquoted).

Values keep their TOML type, never coerced: integers for ``days``, ``neurons``,
``presentations_per_day``, ``batch_size``, ``organisms``, ``from`` and ``to``; strings for
``species``, ``condition``, ``eye`` and ``drug``; numbers within bounds for genes and for
the world's rearing statistics (``world.sigma_closed`` and the rest of
:data:`devsim.senses.REARING_STATISTICS`, 0-10; the base scenario need not have a
``[world]`` table).

Everything is validated before any run (unknown parameter, empty list, gene out of bounds,
missing base file, and every generated scenario through :func:`parse_scenario`); each
problem is one :class:`DevsimInputError` line naming the sweep file and the field. The runs
are counted (grid sizes x zip length x points x seeds) before any is built: more than
:data:`MAX_RUNS` (100,000; ``--max-runs``) is refused, and so is a sweep over the memory
or organism-days budget of :mod:`devsim.budget` (:func:`check_cost`).

**Seeds.** With ``seeds = N`` the scenario seed of seed index ``i`` is drawn from
``numpy.random.SeedSequence(seed, spawn_key=(i,))``: it depends on the sweep seed and the
index only, never on the backend or the order of completion, and every parameter point
uses the same seeds (common random numbers make differences between points sharper).

**Runs and outputs** (folder ``DIR``):

* ``runs/<run_id>/summary.json`` — the run's summary, byte-identical to ``devsim run`` of
  the same scenario; written atomically when the run finishes, it marks the run as done.
  ``run_id`` is a hash of the resolved scenario (description left out): rerunning the
  same command skips finished runs; extending a grid reuses the points already run.
  ``runs/<run_id>/run.json`` holds the parameters, scenario, timing and the code that
  made the run (:func:`devsim.provenance.provenance`); a run made by other devsim code
  (another version, or the model changed) is run again, and the log says how many. A run
  that raised leaves ``runs/<run_id>/error.txt`` (the traceback) and is retried on the
  next rerun.
* ``results.parquet`` — one tidy row per (run, group), ordered by parameter point, seed
  index and group: a column per parameter (named as the parameter, except where that is a
  column below: ``sweep.organisms``, ``sweep.days``, ...; a gene's or a world statistic's
  values as floats), ``gene.NAME`` for every gene the
  sweep sets (in ``set``, swept or linked: the value this group ran with, where a
  group's own ``groups.G.genome.NAME`` wins over a sweep-wide ``genome.NAME``, whose
  column stays the run's coordinate in the sweep), ``seed_index``, ``seed``,
  ``run_id``, ``group``, ``status`` (``ok``/``failed``), ``error``, ``organisms`` and
  ``species`` (the group's own, else the scenario's), the run's :data:`RUN_SETTINGS`
  (``days``, ``neurons``, ``presentations_per_day``, ``batch_size``, ``cortex``,
  ``sheet_size``: held fixed or swept, so that the tables of several batches can be
  concatenated), the final
  metrics of ``summary.json`` (the OD histogram as ``od_class_1`` .. ``od_class_7``), ``shift_cbi``
  (its control's CBI, the group's own ``control`` or else the reference group's, minus
  this group's CBI: 0 for the reference group itself),
  ``md_end_day`` (end of the group's last one-eye rearing interval) and
  ``shift_cbi_md_end`` (the same shift read from the daily series at ``md_end_day``: the
  shift at the end of deprivation even when the scenario lives longer), then bookkeeping
  in ``timing_*`` columns (``timing_run_s``, ``timing_worker``).
* ``manifest.json`` — the sweep (base scenario, parameters, seeds, run ids) and the code
  that ran it (devsim's version, the code digest, Python's version).
* ``figures/<metric>_vs_<param>.png`` — mean +/- sd over seeds, one line per group
  (names drawn as plain text: ``$`` is no maths; long or clashing file names get a hash).

Every file is written atomically (temporaries ``.NAME.XXXXXXXX.devsim-tmp``; those an
interrupted batch left are removed). A batch with runs to do removes ``results.parquet``
and its figures first and writes them when every run is done: a batch stopped part-way
(Ctrl-C, a crash) leaves its finished runs, never a table of fewer runs than its manifest.
Before any run, ``DIR`` is locked (``DIR/.devsim-batch.lock``, ``fcntl.flock``, held for
the batch's life: a second batch into ``DIR`` stops with one line naming the first one's
pid; the lock of a dead process blocks nothing); ``DIR`` must be new or hold this sweep
(same base scenario, ``set``, parameter names and links; grid values and seeds may change),
never another sweep's or anyone else's files; and nothing may be in the way of a file the
batch writes (e.g. a folder named ``results.parquet``).

Backends (:mod:`devsim.runner`, shared with ``devsim evolve``): ``workers=1`` runs in this
process; otherwise a ``distributed.LocalCluster`` of ``workers`` single-threaded processes,
or an existing cluster given by ``scheduler``. Runs are executed by the pure function
:func:`run_one`; the client writes each result as it completes (workers need no shared file
system). A run that raises (e.g. :class:`~devsim.errors.DevsimRunError` on non-finite
values) is recorded as failed. A script that calls :func:`run_sweep` with a local cluster
does so under ``if __name__ == "__main__":``: the workers import it as they start, and a
call at its top level is refused there (:func:`devsim.runner.check_script_guarded`).
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import itertools
import json
import math
import os
import re
import reprlib
from collections.abc import Callable, Iterable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from devsim.budget import (
    MAX_RUNS,
    Cost,
    check_workers,
    checked_limits,
    cortex_terms,
    cortex_units,
    default_workers,
    development_cost,
)
from devsim.budget import check_cost as budget_check
from devsim.errors import DevsimInputError
from devsim.experiment import FINAL_METRICS, cbi_shift, md_end_day, run_scenario, summary_json
from devsim.genome import DEVELOPMENT_GENES, GENE_NAMES, Genome, check_gene, unknown_gene
from devsim.maps import MAP_METRICS
from devsim.outputs import atomic_text, atomic_write, count_of, printable
from devsim.provenance import code_digest, provenance, recorded_code
from devsim.runner import (
    Job,
    Outcome,
    Progress,
    backend,
    check_script_guarded,
    connect,
    error_line,
    run_jobs,
    write_failure,
)
from devsim.scenario import (
    SEED_MAX,
    Scenario,
    World,
    check_name,
    load_scenario,
    parse_scenario,
    read_toml,
    reference_group,
)
from devsim.senses import EYE_CONDITIONS, REARING_STATISTICS
from devsim.shipped import file_kind, is_path, scenario_names, scenario_path

SWEEP_KEYS = (
    "name",
    "description",
    "base",
    "seed",
    "seeds",
    "set",
    "grid",
    "zip",
    "points",
    "link",
)
TOP_PARAMETERS = ("days", "neurons", "presentations_per_day", "batch_size", "species")
GROUP_FIELDS = ("organisms", "species")
ITEM_FIELDS = {"rearing": ("from", "to", "condition", "eye"), "treatments": ("from", "to", "drug")}
METRIC_COLUMNS = tuple(m for m in FINAL_METRICS if m != "od_histogram")
OD_COLUMNS = tuple(f"od_class_{k}" for k in range(1, 8))
FIGURE_METRICS = {
    "cbi": "CBI (contralateral bias index)",
    "mean_odi": "mean ODI (+1 = contra)",
    "shift_cbi": "OD shift: control CBI - group CBI (final day)",
    "shift_cbi_md_end": "OD shift at the end of MD: control CBI - group CBI",
}
# What defines a run besides its parameters and seed, in every row: results.parquet of
# other batches can be concatenated without losing a condition only the manifest named
RUN_SETTINGS = ("days", "neurons", "presentations_per_day", "batch_size", "cortex", "sheet_size")
RESULT_COLUMNS = (  # after one column per parameter
    "seed_index",
    "seed",
    "run_id",
    "group",
    "status",
    "error",
    "organisms",
    "species",
    *RUN_SETTINGS,
    *METRIC_COLUMNS,
    *OD_COLUMNS,
    "shift_cbi",
    "md_end_day",
    "shift_cbi_md_end",
    "timing_run_s",
    "timing_worker",
)
FIGURE_STEM_MAX = 150  # characters of a figure's file name (before .png)
MAX_SEEDS = 100_000
INTEGER_FIELDS = ("days", "neurons", "presentations_per_day", "batch_size", "organisms")
STRING_FIELDS = ("species", "condition", "eye", "drug")
LOCK_NAME = ".devsim-batch.lock"
_TEMPORARY = re.compile(r"^\..+\.devsim-tmp$")  # devsim.outputs.atomic_write's temporaries
_REPR = reprlib.Repr(maxlevel=3, maxstring=60, maxother=60, maxlist=6, maxdict=6, maxlong=40)
# the offset's digits are bounded: a number is a day or a gene value, never 4,300 digits
_LINK = re.compile(r"^(?P<source>\S+)(?:\s+(?P<op>[+-])\s*(?P<num>\d{1,15}(?:\.\d{0,15})?))?$")


# --- the sweep ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Run:
    """One scenario of the batch: a parameter point and a seed."""

    run_id: str
    point: int
    seed_index: int
    seed: int
    params: dict[str, Any]
    scenario: dict[str, Any]


@dataclass(frozen=True)
class Sweep:
    """A validated sweep: the base scenario, the parameters and every run."""

    source: str
    name: str
    base_file: str
    base: dict[str, Any]
    fixed: dict[str, Any]
    axes: dict[str, Any]  # the grid / zip / points / link tables as given
    swept: tuple[str, ...]  # parameters varied by grid / zip / points, in column order
    linked: dict[str, str]
    seed_spec: dict[str, Any]
    seeds: tuple[int, ...]
    runs: tuple[Run, ...] = field(repr=False)
    # every gene the sweep sets (in set, swept or linked, for every group or one), sorted:
    # each gets a gene.NAME column with the value each group ran with
    genes: tuple[str, ...] = ()
    # parameters of a float field (a gene, a world's statistic): their column is float
    # whether the sweep file wrote 1 or 1.0, as devsim reads them
    real: tuple[str, ...] = ()

    @property
    def parameters(self) -> tuple[str, ...]:
        """The parameter columns of the results: swept ones, then linked ones."""
        return (*self.swept, *self.linked)

    @property
    def n_points(self) -> int:
        return len(self.runs) // len(self.seeds)

    def varied_with(self, parameter: str) -> tuple[str, ...]:
        """The other swept parameters that vary together with ``parameter`` (those of its
        ``[sweep.zip]``, or of the ``[[sweep.points]]``): one axis, not a grid."""
        for together in (list(self.axes.get("zip", {})), list(self.axes.get("points", [{}])[0])):
            if parameter in together:
                return tuple(p for p in self.swept if p in together and p != parameter)
        return ()

    @property
    def columns(self) -> dict[str, str]:
        """The results column of each parameter: its name, unless that is a column of its
        own (``organisms``, the group's count): then ``sweep.NAME``."""
        return {p: column_name(p) for p in self.parameters}


SCENARIO_SPECIES = Scenario.model_fields["species"].default  # a scenario that names none
# what a scenario that leaves out one of RUN_SETTINGS runs with (days it must give)
SCENARIO_DEFAULTS = {
    name: Scenario.model_fields[name].default
    for name in RUN_SETTINGS
    if not Scenario.model_fields[name].is_required()
}


def column_name(parameter: str) -> str:
    """The results column of a swept parameter (never the name of another column)."""
    return f"sweep.{parameter}" if parameter in RESULT_COLUMNS else parameter


class _Errors:
    """Builds the one-line messages: ``FILE: FIELD: problem; allowed ...``."""

    def __init__(self, source: str):
        self.source = source

    def __call__(self, where: str, problem: str) -> DevsimInputError:
        return DevsimInputError(f"{self.source}: {where}: {problem}")


def load_sweep(path: str | Path, max_runs: int = MAX_RUNS) -> Sweep:
    """Read and validate a sweep TOML file (the base path is relative to it)."""
    path = Path(path)
    return parse_sweep(
        read_toml(path, "sweep"), source=str(path), base_dir=path.parent, max_runs=max_runs
    )


def parse_sweep(
    data: dict, source: str = "<sweep>", base_dir: str | Path = ".", max_runs: int = MAX_RUNS
) -> Sweep:
    """Validate a sweep given as a dict (the parsed TOML); build every run.

    The number of runs is counted before any is built: more than ``max_runs`` is refused.
    """
    err = _Errors(source)
    if isinstance(max_runs, bool) or not isinstance(max_runs, int) or max_runs < 1:
        raise DevsimInputError(f"--max-runs: must be an integer >= 1, got {_show(max_runs)}")
    table = _sweep_table(data, err)
    base_file, base = _load_base(table, Path(base_dir), err)
    seed_spec, n_seeds = _seed_spec(table, base, err)
    axes = _Axes(base, err)
    axes.read_set(table)
    axes.read_grid(table)
    axes.read_zip(table)
    axes.read_points(table)
    axes.read_links(table)
    # --- count the runs before building any --------------------------------------------------
    sizes = [len(axis) for axis in axes.axes]
    n_runs = math.prod(sizes) * n_seeds
    if n_runs > max_runs:
        shape = " x ".join(str(s) for s in sizes) or "1"
        raise err(
            "sweep",
            f"{n_runs:,} runs ({shape} points x {count_of(n_seeds, 'seed')}) is more than the "
            f"limit; allowed: at most {count_of(max_runs, 'run')} (fewer values or seeds, or "
            "--max-runs N)",
        )
    seeds = (
        list(seed_spec["seeds"])
        if "seeds" in seed_spec
        else derive_seeds(seed_spec["seed"], n_seeds)
    )
    links = table.get("link")
    return Sweep(
        source=source,
        name=str(table.get("name") or base["name"]),
        base_file=base_file,
        base=base,
        fixed=axes.fixed,
        axes=axes.spec,
        swept=tuple(axes.swept),
        linked={k: links[k] for k in axes.linked} if links else {},
        seed_spec=seed_spec,
        seeds=tuple(seeds),
        runs=tuple(axes.runs(seeds, source)),
        # from where each parameter lands, not its spelling: a group may be named "genome"
        genes=tuple(
            sorted({loc[3] for locs in axes.places.values() for loc in locs if _gene_at(loc)})
        ),
        real=tuple(
            k for k, locs in axes.places.items() if _gene_at(locs[0]) or locs[0][0] == "world"
        ),
    )


def _gene_at(loc: tuple) -> bool:
    """A location ``("groups", i, "genome", NAME)``."""
    return len(loc) == 4 and loc[0] == "groups" and loc[2] == "genome"


def _sweep_table(data: Any, err: _Errors) -> dict:
    """The ``[sweep]`` table: the only top-level key, with known keys only."""
    if not isinstance(data, dict):
        raise err("<top level>", "must be a TOML table; allowed: a single [sweep] table")
    extra = sorted(set(data) - {"sweep"})
    if extra:
        raise err(extra[0], "unknown key; allowed: a single [sweep] table")
    table = data.get("sweep")
    if not isinstance(table, dict):
        raise err(
            "sweep",
            "required table is missing; allowed: [sweep] with base, seeds, grid / zip / points",
        )
    for key in table:
        if key not in SWEEP_KEYS:
            raise err(f"sweep.{key}", f"unknown key; allowed keys: {', '.join(SWEEP_KEYS)}")
    for key in ("name", "description"):
        if key in table and not isinstance(table[key], str):
            raise err(f"sweep.{key}", f"got {_show(table[key])}; allowed: a string")
    if "name" in table:
        try:  # the same rule as scenario names: printable, at most NAME_MAX characters
            check_name(table["name"])
        except ValueError as exc:
            raise err("sweep.name", str(exc)) from None
    return table


class _Axes:
    """The parameters of a sweep as they are read: where each lands in the scenario, the
    fixed changes, the axes (each a list of ``{parameter: value}``) and the links."""

    def __init__(self, base: dict, err: _Errors):
        self.base, self.err = base, err
        self.places: dict[str, list[tuple]] = {}
        self.claimed: dict[tuple, str] = {}
        self.fixed: dict[str, Any] = {}
        self.spec: dict[str, Any] = {}
        self.axes: list[list[dict[str, Any]]] = []
        self.swept: list[str] = []
        self.linked: dict[str, tuple[str, str | None, float | int]] = {}

    def unquoted(self, table: dict, where: str) -> None:
        """A dotted parameter written without quotes reaches here as a table (TOML reads
        ``genome.eta = ...`` as a table ``genome`` holding ``eta``): say to quote it (the
        message was "unknown parameter 'genome'")."""
        for key, value in table.items():
            if isinstance(value, dict):
                path = [str(key)]
                while isinstance(value, dict) and value and len(path) < 8:
                    name, value = next(iter(value.items()))
                    path.append(str(name))
                dotted = printable(".".join(path), 100)
                raise self.err(
                    f"{where}.{_quote(key)}",
                    "a table, not a parameter (TOML reads dots outside quotes as tables); "
                    f'allowed: the parameter in double quotes, "{dotted}" = ...',
                )

    def place(self, key: Any, where: str) -> list[tuple]:
        """Where ``key`` lands; each parameter once, however it is spelled."""
        locs = _locations(key, self.base, self.err, where)
        same = (_broad(key), tuple(locs))
        if same in self.claimed:
            raise self.err(
                where,
                f"{key!r} and {self.claimed[same]!r} are the same parameter; allowed: each "
                "parameter once",
            )
        self.claimed[same] = key
        self.places[key] = locs
        return locs

    def claim(self, key: str, where: str) -> list[tuple]:
        if key in self.fixed:
            raise self.err(where, f"{key!r} is also in sweep.set; allowed: each parameter once")
        if key in self.swept:
            raise self.err(where, f"{key!r} is varied twice; allowed: each parameter once")
        locs = self.place(key, where)
        self.swept.append(key)
        return locs

    def check_values(self, key: str, values: Any, where: str) -> None:
        locs = self.claim(key, where)
        if not isinstance(values, list):
            raise self.err(where, f"must be a list of values, got {_show(values)}")
        for k, value in enumerate(values):  # types first: duplicates are compared as JSON
            _check_value(key, value, locs, self.err, f"{where}[{k}]")
        _check_list(values, self.err, where)

    def read_set(self, table: dict) -> None:
        self.fixed = _table(table, "set", self.err, allow_empty=False) or {}
        self.unquoted(self.fixed, "sweep.set")
        for key, value in self.fixed.items():
            where = f"sweep.set.{_quote(key)}"
            _check_value(key, value, self.place(key, where), self.err, where)

    def read_grid(self, table: dict) -> None:
        grid = _table(table, "grid", self.err)
        if grid is not None:
            self.unquoted(grid, "sweep.grid")
            self.spec["grid"] = grid
            for key, values in grid.items():
                self.check_values(key, values, f"sweep.grid.{_quote(key)}")
                self.axes.append([{key: v} for v in values])

    def read_zip(self, table: dict) -> None:
        zipped = _table(table, "zip", self.err)
        if zipped is None:
            return
        self.unquoted(zipped, "sweep.zip")
        self.spec["zip"] = zipped
        lengths = {}
        for key, values in zipped.items():
            self.check_values(key, values, f"sweep.zip.{_quote(key)}")
            lengths[key] = len(values)
        if len(set(lengths.values())) > 1:
            raise self.err(
                "sweep.zip",
                f"lists have different lengths {lengths}; allowed: lists of "
                "one length (their rows are varied together)",
            )
        n = next(iter(lengths.values()))
        self.axes.append([{key: zipped[key][k] for key in zipped} for k in range(n)])

    def read_points(self, table: dict) -> None:
        if "points" not in table:
            return
        err, points = self.err, table["points"]
        if not isinstance(points, list) or not all(isinstance(p, dict) for p in points):
            raise err(
                "sweep.points",
                "must be a list of tables; allowed: [[sweep.points]] blocks of PARAMETER = value",
            )
        if not points:
            raise err("sweep.points", "empty list; allowed: one or more points")
        for k, point in enumerate(points):
            self.unquoted(point, f"sweep.points[{k}]")
        self.spec["points"] = points
        keys = list(points[0])
        if not keys:
            raise err("sweep.points[0]", "empty point; allowed: PARAMETER = value entries")
        for key in keys:
            self.claim(key, f"sweep.points[0].{_quote(key)}")
        for k, point in enumerate(points):
            if sorted(point) != sorted(keys):
                raise err(
                    f"sweep.points[{k}]",
                    f"keys {sorted(point)} differ from "
                    f"sweep.points[0]; allowed: the same "
                    f"parameters {sorted(keys)} in every point",
                )
            for key, value in point.items():
                where = f"sweep.points[{k}].{_quote(key)}"
                _check_value(key, value, self.places[key], err, where)
        if len({_same(p) for p in points}) != len(points):
            raise err("sweep.points", "two points are the same; allowed: distinct points")
        self.axes.append([dict(p) for p in points])

    def read_links(self, table: dict) -> None:
        links = _table(table, "link", self.err)
        if links is None:
            return
        self.unquoted(links, "sweep.link")
        self.spec["link"] = links
        for key, expr in links.items():
            where = f"sweep.link.{_quote(key)}"
            if key in self.fixed or key in self.swept:
                raise self.err(
                    where, f"{key!r} is also set or varied; allowed: each parameter once"
                )
            self.place(key, where)
            self.linked[key] = _parse_link(expr, self.swept, self.err, where)

    def point_params(self, point: int, combo: tuple) -> dict[str, Any]:
        """The parameters of one point: its swept values, then the linked ones."""
        params: dict[str, Any] = {}
        for part in combo:
            params.update(part)
        params = {key: params[key] for key in self.swept}
        for key, (src, op, num) in self.linked.items():
            value = params[src]
            if op is not None:
                if isinstance(value, bool) or not isinstance(value, int | float):
                    raise self.err(
                        f"sweep.link.{_quote(key)}",
                        f"{src} = {value!r} is not a number; allowed: arithmetic on "
                        f"numeric parameters only",
                    )
                value = value + num if op == "+" else value - num
            where = f"sweep.link.{_quote(key)} (point {point})"
            _check_value(key, value, self.places[key], self.err, where)
            params[key] = value
        return params

    def scenario(self, params: dict[str, Any]) -> dict:
        """The base scenario with the fixed changes and ``params`` applied (parameters of
        every group first, so that a group's own parameter wins over them)."""
        data_point = copy.deepcopy(self.base)
        changes = sorted([*self.fixed.items(), *params.items()], key=lambda kv: not _broad(kv[0]))
        for key, value in changes:
            for loc in self.places[key]:
                _assign(data_point, loc, value)

        # A rearing interval switched to a condition of both eyes leaves out the eye it had
        # from below: the base's, or sweep.set's when the sweep varies the condition. An eye
        # given at the condition's own level or above (both in sweep.set, or an eye the
        # sweep varies) is the user's, and the scenario's check names the clash.
        def eyes(table: dict) -> set:
            return {loc[:-1] for k in table if k.endswith(".eye") for loc in self.places[k]}

        for table, kept in ((self.fixed, eyes(self.fixed) | eyes(params)), (params, eyes(params))):
            for key, value in table.items():
                if key.endswith(".condition") and value not in EYE_CONDITIONS:
                    for loc in self.places[key]:
                        if loc[:-1] not in kept:
                            _holder(data_point, loc).pop("eye", None)
        return data_point

    def runs(self, seeds: list[int], source: str) -> list[Run]:
        """Generate and validate every scenario; one run per point and seed."""
        seen: dict[str, int] = {}
        runs: list[Run] = []
        for point, combo in enumerate(itertools.product(*self.axes) if self.axes else [()]):
            params = self.point_params(point, combo)
            data_point = self.scenario(params)
            label = ", ".join(f"{k}={v!r}" for k, v in params.items()) or (
                "the base with sweep.set" if self.fixed else "base"
            )
            parsed = parse_scenario(data_point, source=f"{source}: sweep point {point} ({label})")
            # The id hashes the scenario as devsim reads it, so `eta = 1` and `eta = 1.0`
            # name one run (and a sweep listing both is refused below as a repeat).
            resolved = parsed.model_dump(mode="json", exclude_unset=True, by_alias=True)
            for seed_index, seed in enumerate(seeds):
                scenario = {**data_point, "seed": seed}
                run_id = _run_id({**resolved, "seed": seed})
                if run_id in seen:
                    raise self.err(
                        "sweep",
                        f"points {seen[run_id]} and {point} give the same scenario "
                        f"({label}); allowed: distinct parameter points",
                    )
                seen[run_id] = point
                runs.append(Run(run_id, point, seed_index, seed, dict(params), scenario))
        return runs


def _quote(key: Any) -> str:
    if isinstance(key, str) and re.fullmatch(r"[A-Za-z0-9_]+", key):
        return key
    return json.dumps(str(key), ensure_ascii=False)


def _show(value: Any) -> str:
    """A short repr of a value from the user's file (bounded depth: never a RecursionError)."""
    return _REPR.repr(value)


def _name(name: str) -> str:
    """A group name in a message: bare when plain, else quoted."""
    return name if re.fullmatch(r"[\w.+-]+", name) else repr(name)


def _broad(key: str) -> bool:
    """Whether a parameter addresses every group (``organisms``, ``genome.GENE``)."""
    return key == "organisms" or key.startswith("genome.")


def _load_base(table: dict, base_dir: Path, err: _Errors) -> tuple[str, dict]:
    base = table.get("base")
    if base is None:
        raise err(
            "sweep.base",
            "required field is missing; allowed: a scenario file path relative to the "
            'sweep file, e.g. base = "my_md.toml", or a shipped name, e.g. "md_critical"',
        )
    if not isinstance(base, str) or not base:
        raise err("sweep.base", f"must be a file path (a string), got {base!r}")
    path = base_dir / base
    try:
        found = path.is_file()
    except (OSError, ValueError) as exc:  # a name too long, a NUL byte
        problem = getattr(exc, "strerror", None) or str(exc)
        raise err("sweep.base", f"cannot read {_show(base)} ({problem})") from None
    if not found and not is_path(base) and base in scenario_names("scenario"):
        path, found = scenario_path(base), True  # a shipped name, as every command takes
    if not found:
        raise err(
            "sweep.base",
            f"no such scenario file {_show(base)} (looked for {printable(str(path), 120)}); "
            f"allowed: a scenario TOML path relative to the sweep file, or a shipped "
            "scenario's name (see devsim scenarios)",
        )
    if file_kind(path, "scenario") == "sweep":  # not "sweep: unknown key"
        raise err(
            "sweep.base",
            f"{_show(base)} is a sweep file, not a scenario; allowed: a scenario file (the one "
            "scenario this sweep varies), e.g. the base of that sweep",
        )
    try:
        scenario = load_scenario(path)
    except DevsimInputError as exc:
        raise err("sweep.base", str(exc)) from None
    return str(path), scenario.model_dump(mode="json", by_alias=True)


def _seed_spec(table: dict, base: dict, err: _Errors) -> tuple[dict, int]:
    """The seeds as given (``{"seeds": [...]}`` or ``{"seed": S, "count": N}``) and their
    number; the scenario seeds are derived only once the runs are counted."""
    spec = table.get("seeds")
    allowed = "allowed: a list of seeds >= 0 (seeds = [1, 2, 3]) or a count (seeds = 5)"
    if spec is None:
        raise err("sweep.seeds", f"required field is missing; {allowed}")
    if isinstance(spec, bool) or not isinstance(spec, int | list):
        raise err("sweep.seeds", f"got {_show(spec)}; {allowed}")
    if isinstance(spec, list):
        if "seed" in table:
            raise err(
                "sweep.seed",
                "only used with a seed count; allowed: seeds = N with "
                "seed = S, or seeds = [list] without seed",
            )
        if not spec:
            raise err("sweep.seeds", f"empty list; {allowed}")
        if len(spec) > MAX_SEEDS:
            raise err("sweep.seeds", f"{len(spec):,} seeds; allowed: at most {MAX_SEEDS:,}")
        for k, s in enumerate(spec):
            if isinstance(s, bool) or not isinstance(s, int) or not 0 <= s <= SEED_MAX:
                raise err(f"sweep.seeds[{k}]", f"got {_show(s)}; {allowed} (at most {SEED_MAX})")
        if len(set(spec)) != len(spec):
            raise err("sweep.seeds", f"duplicate seeds in {_show(spec)}; allowed: distinct seeds")
        return {"seeds": list(spec)}, len(spec)
    if not 1 <= spec <= MAX_SEEDS:
        raise err("sweep.seeds", f"got {spec}; allowed: a count in 1..{MAX_SEEDS}")
    seed = table.get("seed", base["seed"])
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= SEED_MAX:
        raise err("sweep.seed", f"got {_show(seed)}; allowed: an integer in 0..{SEED_MAX}")
    return {"seed": seed, "count": spec}, spec


def derive_seeds(seed: int, count: int) -> list[int]:
    """Scenario seeds for seed indices ``0..count-1`` (SeedSequence of the sweep seed)."""
    return [
        int(np.random.SeedSequence(seed, spawn_key=(i,)).generate_state(1, np.uint32)[0])
        for i in range(count)
    ]


def _table(table: dict, key: str, err: _Errors, allow_empty: bool = False) -> dict | None:
    if key not in table:
        return None
    value = table[key]
    if not isinstance(value, dict):
        raise err(
            f"sweep.{key}", f"must be a table [sweep.{key}] of PARAMETER = ..., got {_show(value)}"
        )
    if not value and not allow_empty:
        raise err(
            f"sweep.{key}",
            "empty table; allowed: one or more PARAMETER entries (or leave the table out)",
        )
    return value


def _check_list(values: Any, err: _Errors, where: str) -> None:
    """A non-empty list of distinct values (the values are already known to be scalars)."""
    if not isinstance(values, list):
        raise err(where, f"must be a list of values, got {_show(values)}")
    if not values:
        raise err(where, "empty list; allowed: a non-empty list of values")
    if len({_same(v) for v in values}) != len(values):
        raise err(where, f"duplicate values in {_show(values)}; allowed: distinct values")


def _same(value: Any) -> str:
    """A key equal for values that give the same scenario: 1 and 1.0, 0.0 and -0.0 (a gene
    is a float); otherwise the value's JSON."""
    if isinstance(value, dict):
        return "{" + ",".join(f"{json.dumps(k)}:{_same(v)}" for k, v in sorted(value.items())) + "}"
    if isinstance(value, int | float) and not isinstance(value, bool):
        try:
            return repr(float(value) + 0.0)  # -0.0 + 0.0 is 0.0
        except OverflowError:  # an integer beyond any float: refused later, by its field
            return repr(value)
    return json.dumps(value, sort_keys=True)


def _check_value(key: str, value: Any, locs: list[tuple], err: _Errors, where: str) -> None:
    """A value of the parameter's own type (never coerced): an integer for days, counts and
    interval ends, a string for species, conditions, eyes and drugs, a gene in bounds, a
    number for a rearing statistic of the world."""
    loc = locs[0]
    if len(loc) >= 2 and loc[-2] == "genome":
        if isinstance(value, dict | list):
            raise err(where, f"got {_show(value)}; allowed: a number")
        try:
            check_gene(loc[-1], value, where="", allowed=DEVELOPMENT_GENES)
        except DevsimInputError as exc:
            raise err(where, str(exc)) from None
    elif loc[-1] in STRING_FIELDS:
        if not isinstance(value, str):
            raise err(where, f"got {_show(value)}; allowed: a string ({loc[-1]})")
    elif loc[0] == "world":  # a rearing statistic: a number (its range is the scenario's)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise err(where, f"got {_show(value)}; allowed: a number ({loc[-1]})")
    elif isinstance(value, bool) or not isinstance(value, int):
        raise err(where, f"got {_show(value)}; allowed: an integer ({loc[-1]})")


def _parse_link(expr: Any, swept: list[str], err: _Errors, where: str):
    allowed = 'allowed: "PARAMETER", "PARAMETER + N" or "PARAMETER - N"'
    if not isinstance(expr, str):
        raise err(where, f"got {_show(expr)}; {allowed}")
    match = _LINK.match(expr.strip())
    if not match:
        raise err(where, f"cannot read {_show(expr)}; {allowed}")
    source = match["source"]
    if source not in swept:
        raise err(
            where,
            f"{source!r} is not a swept parameter; allowed sources: "
            f"{', '.join(swept) or 'none (sweep nothing yet)'}",
        )
    num = match["num"]
    value = None if num is None else (float(num) if "." in num else int(num))
    return source, match["op"], value


def _allowed_parameters(groups: list[str]) -> str:
    return (
        f"allowed: {', '.join(TOP_PARAMETERS)}, organisms, genome.GENE, "
        f"world.{{{','.join(REARING_STATISTICS)}}}, "
        "groups.NAME.organisms, groups.NAME.species, groups.NAME.genome.GENE, "
        "groups.NAME.rearing.K.{from,to,condition,eye}, "
        "groups.NAME.treatments.K.{from,to,drug} (NAME: "
        f"{', '.join(map(_name, groups))}; "
        'a NAME with dots may be quoted: groups."NAME".FIELD)'
    )


def _locations(key: Any, base: dict, err: _Errors, where: str) -> list[tuple]:
    """Where parameter ``key`` lands in the scenario dict (several places for all-groups).

    A group is named as written (``groups.md.genome.eta``) or in double quotes
    (``groups."md.genome".genome.eta``); unquoted, the group whose name gives a valid
    field is taken, and a name that could be read two ways must be quoted.
    """
    groups = [g["name"] for g in base["groups"]]
    if not isinstance(key, str) or not key:
        raise err(where, f"unknown parameter {_show(key)}; {_allowed_parameters(groups)}")
    unknown = f"unknown parameter {key!r}; {_allowed_parameters(groups)}"
    if key in TOP_PARAMETERS:
        return [(key,)]
    every = range(len(groups))
    if key == "organisms":
        return [("groups", i, "organisms") for i in every]
    if key.startswith("genome."):
        gene = _gene(key.removeprefix("genome."), err, where)
        # a group that sets the gene itself in the base keeps it (its own gene wins)
        own = [i for i in every if gene in (base["groups"][i].get("genome") or {})]
        if len(own) == len(groups):
            raise err(
                where,
                f"{key!r}: every group of the base scenario sets {gene} itself, and a group's "
                f"own gene wins; allowed: groups.NAME.genome.{gene}",
            )
        return [("groups", i, "genome", gene) for i in every if i not in own]
    if key.startswith("world."):  # the scenario's [world] table, made if the base has none
        if key.removeprefix("world.") not in REARING_STATISTICS:
            raise err(where, unknown)
        return [("world", key.removeprefix("world."))]
    if not key.startswith("groups."):
        raise err(where, unknown)
    rest = key.removeprefix("groups.")
    allowed_groups = f"allowed groups: {', '.join(map(_name, groups))}"
    if rest.startswith('"'):
        try:
            name, end = json.JSONDecoder().raw_decode(rest)
        except ValueError:
            name, end = None, 0
        if not isinstance(name, str) or rest[end : end + 1] != ".":
            raise err(
                where,
                f"{key!r}: cannot read the quoted group name; allowed: "
                'groups."NAME".FIELD with NAME in double quotes',
            )
        if name not in groups:
            raise err(where, f"no group named {name!r}; {allowed_groups}")
        return _group_field(key, groups.index(name), rest[end + 1 :], base, err, where)
    matches = sorted((n for n in groups if rest.startswith(n + ".")), key=len, reverse=True)
    if not matches:
        raise err(where, f"no group named in {key!r}; {allowed_groups}")
    found: list[tuple[str, list[tuple]]] = []
    problems: list[DevsimInputError] = []
    for name in matches:
        tail = rest.removeprefix(name + ".")
        try:
            found.append((name, _group_field(key, groups.index(name), tail, base, err, where)))
        except DevsimInputError as exc:
            problems.append(exc)
    if len(found) > 1:
        (a, _), (b, _) = found[:2]
        raise err(
            where,
            f"{key!r} could address group {a!r} or group {b!r}; allowed: the group name in "
            f"double quotes, e.g. groups.{json.dumps(a, ensure_ascii=False)}."
            f"{rest.removeprefix(a + '.')}",
        )
    if found:
        return found[0][1]
    raise problems[0]


def _group_field(key: str, gi: int, tail: str, base: dict, err: _Errors, where: str) -> list[tuple]:
    """The location of ``tail`` (e.g. ``genome.eta``, ``rearing.0.from``) in group ``gi``."""
    parts = tail.split(".")
    if len(parts) == 1 and parts[0] in GROUP_FIELDS:
        return [("groups", gi, parts[0])]
    if len(parts) == 2 and parts[0] == "genome":
        return [("groups", gi, "genome", _gene(parts[1], err, where))]
    if len(parts) == 3 and parts[0] in ITEM_FIELDS:
        kind, index, item_field = parts
        items = base["groups"][gi][kind]
        if not index.isdigit() or int(index) >= len(items):
            span = f"0..{len(items) - 1}" if items else "none (the base group has no " + kind + ")"
            raise err(where, f"{key!r}: no {kind} interval {index}; allowed index: {span}")
        if item_field not in ITEM_FIELDS[kind]:
            raise err(
                where,
                f"{key!r}: unknown field {item_field!r}; allowed: {', '.join(ITEM_FIELDS[kind])}",
            )
        return [("groups", gi, kind, int(index), item_field)]
    groups = [g["name"] for g in base["groups"]]
    raise err(where, f"unknown parameter {key!r}; {_allowed_parameters(groups)}")


def _gene(name: str, err: _Errors, where: str) -> str:
    if name not in DEVELOPMENT_GENES:
        if name in GENE_NAMES:
            what = f"gene {name!r} acts only in evolution scenarios; allowed genes: "
            raise err(where, what + ", ".join(DEVELOPMENT_GENES))
        raise err(where, unknown_gene(name, DEVELOPMENT_GENES))
    return name


def _assign(data: dict, loc: tuple, value: Any) -> None:
    _holder(data, loc)[loc[-1]] = value


def _holder(data: dict, loc: tuple) -> dict:
    """The table holding the field at ``loc`` (a rearing interval for its condition)."""
    node: Any = data
    for part in loc[:-1]:
        node = node.setdefault(part, {}) if part == "world" else node[part]
    return node


def _run_id(scenario: dict) -> str:
    """A stable name for a run: a hash of its resolved scenario (as validated, in JSON
    form: a number written ``1`` in a float field hashes as ``1.0``; description left
    out)."""
    content = {k: v for k, v in scenario.items() if k != "description"}
    text = json.dumps(content, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


# --- running -------------------------------------------------------------------------------


def run_one(scenario_dict: dict) -> dict:
    """Run one scenario (a plain dict) and return its summary as summary.json holds it.

    Pure: the result depends on ``scenario_dict`` only, so any backend can call it.
    """
    scenario = parse_scenario(scenario_dict, source="<batch run>")
    summary, _ = run_scenario(scenario)
    return json.loads(summary_json(summary))


WARM_SCENARIO = {  # one tiny run: each local Dask worker loads devsim's code before joining
    "name": "warm-up",
    "days": 1,
    "neurons": 4,
    "presentations_per_day": 16,
    "batch_size": 16,
    "groups": [{"name": "control", "organisms": 1}],
}


def warm_up() -> None:
    """Import and load (numba) everything a run needs: the workers' start-up work."""
    run_one(WARM_SCENARIO)


def _job(run: Run) -> Job:
    """The runner's job of one run: :func:`run_one` by name (looked up where it runs)."""
    return Job(run.run_id, "devsim.batch:run_one", (run.scenario,))


def _done(out: Path, run: Run) -> bool:
    """The run's summary.json is there, was made by this code (see :func:`_made_by`) and
    holds what the results table reads from it (a damaged or hand-edited one is run again,
    not read into the table)."""
    path = out / "runs" / run.run_id / "summary.json"
    try:
        if _made_by(out, run) != code_digest():
            return False
        summary = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(summary, dict):  # `null` would read as a run of NaNs
            return False
        groups = run.scenario["groups"]
        for group in groups:
            _metrics(summary, group, _reference(groups))
    except (OSError, ValueError, RecursionError, KeyError, TypeError, IndexError, AttributeError):
        return False
    return True


def _stale(out: Path, run: Run) -> bool:
    """The run finished (its summary.json is there) but not by this code."""
    finished = (out / "runs" / run.run_id / "summary.json").is_file()
    return finished and _made_by(out, run) != code_digest()


def _made_by(out: Path, run: Run) -> str | None:
    """The code digest a finished run's run.json records (:func:`recorded_code`)."""
    return recorded_code(out / "runs" / run.run_id / "run.json")


def _record(out: Path, run: Run, outcome: Outcome) -> None:
    """Write one finished run; summary.json (the 'done' mark) goes last, atomically."""
    folder = out / "runs" / run.run_id
    if outcome.ok:
        info = {
            "run_id": run.run_id,
            "point": run.point,
            "params": run.params,
            "seed_index": run.seed_index,
            "seed": run.seed,
            "scenario": run.scenario,
            "timing": {"run_s": round(outcome.seconds, 4), "worker": outcome.worker},
            **provenance(),
        }
        atomic_text(folder / "run.json", json.dumps(info, indent=1) + "\n")
        atomic_text(folder / "summary.json", summary_json(outcome.value))
        (folder / "error.txt").unlink(missing_ok=True)
    else:
        write_failure(folder / "error.txt", outcome)


def _clean_temporaries(out: Path) -> None:
    """Drop devsim's own temporaries (``.NAME.XXXXXXXX.devsim-tmp``) that an interrupted
    batch left in ``out``, ``out/figures`` and ``out/runs/*``; nothing else is touched.

    Called with the folder's lock held, so no other devsim batch is writing them."""
    folders = [out, out / "figures"]
    runs = out / "runs"
    if runs.is_dir() and not runs.is_symlink():
        folders += [Path(e.path) for e in os.scandir(runs) if e.is_dir(follow_symlinks=False)]
    for folder in folders:
        if not folder.is_dir() or folder.is_symlink():
            continue
        for entry in os.scandir(folder):
            if _TEMPORARY.match(entry.name) and entry.is_file(follow_symlinks=False):
                Path(entry.path).unlink(missing_ok=True)


@contextlib.contextmanager
def batch_lock(out: Path) -> Iterator[None]:
    """Hold ``out/.devsim-batch.lock`` (``fcntl.flock``) for the batch's life.

    A second batch into the same folder stops with one line naming the holder's pid. The
    lock dies with its process, so a lock file left by a killed batch does not block; the
    file is removed (while still locked) when the batch ends.
    """
    import fcntl

    path = out / LOCK_NAME
    shown = printable(str(out), 200)
    while True:
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o644)
        except OSError as exc:
            raise DevsimInputError(
                f"{printable(str(path), 200)}: cannot open the batch lock "
                f"({exc.strerror or exc.__class__.__name__}); allowed: a folder devsim can "
                "write, with no folder or link of that name"
            ) from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode("ascii", "replace").strip() or "unknown"
            os.close(fd)
            raise DevsimInputError(
                f"{shown} is in use by another devsim batch (pid {printable(holder, 20)}); "
                "allowed: wait for it to finish, or --out another folder"
            ) from None
        try:  # the file may have been removed by the batch that held it: lock the new one
            same = os.fstat(fd).st_ino == os.stat(path, follow_symlinks=False).st_ino
        except FileNotFoundError:
            same = False
        if same:
            break
        os.close(fd)
    try:
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        yield
    finally:
        try:
            path.unlink(missing_ok=True)
        finally:
            os.close(fd)


def _blocked(path: Path, what: str) -> DevsimInputError:
    return DevsimInputError(
        f"{printable(str(path), 300)}: is in the way of the batch's {what}; allowed: move it "
        "away and rerun (no run was started, nothing was written)"
    )


def _check_places(out: Path, sweep: Sweep, todo: Iterable[Run]) -> None:
    """Every file the batch will write can be written: no folder where a file goes, no
    file where a folder goes. Checked before any run starts."""
    for name in ("figures", "runs"):
        path = out / name
        if path.exists() and not path.is_dir():
            raise _blocked(path, f"{name}/ folder")
    files = [out / "manifest.json", out / "results.parquet"]
    files += [out / "figures" / name for name in figure_names(sweep).values()]
    for path in files:
        if path.is_dir():
            raise _blocked(path, path.name)
    for run in todo:
        folder = out / "runs" / run.run_id
        if not folder.exists():
            continue
        if not folder.is_dir():
            raise _blocked(folder, "run folder")
        for name in ("run.json", "summary.json", "error.txt"):
            if (folder / name).is_dir():
                raise _blocked(folder / name, f"run file {name}")


def _identity(data: dict) -> dict[str, Any]:
    """What makes a batch folder's runs one sweep: base scenario, fixed changes, parameter
    names and links (grid values and seeds may change: runs are reused by their id)."""
    base = data.get("base_scenario")
    if isinstance(base, dict):
        base = {k: v for k, v in base.items() if k != "description"}
    columns = data.get("columns")
    parameters = data.get("parameters")
    return {
        "base scenario": base,
        "set": data.get("set") or {},
        "parameters": sorted(map(str, columns)) if isinstance(columns, list) else columns,
        "links": (parameters.get("link") if isinstance(parameters, dict) else None) or {},
    }


def _check_folder(out: Path, sweep: Sweep, new: dict) -> None:
    """``out`` is new, or a batch folder of this sweep (never another sweep's results)."""
    path = out / "manifest.json"
    shown = printable(str(out), 200)
    if path.is_dir():
        raise _blocked(path, "manifest.json")
    if not path.exists():
        ours = [n for n in ("results.parquet", "runs", "figures") if (out / n).exists()]
        if ours:
            raise DevsimInputError(
                f"{shown}: holds {ours[0]} but no manifest.json of a devsim batch; allowed: "
                "--out a new folder, or the folder of this sweep (nothing was written)"
            )
        return
    try:
        old = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):
        old = None
    if not isinstance(old, dict) or not {"devsim_version", "runs", "base_scenario"} <= set(old):
        raise DevsimInputError(
            f"{shown}: manifest.json is not a devsim batch manifest; allowed: --out a new "
            "folder, or the folder of this sweep (nothing was written)"
        )
    now = _identity(new)
    try:
        before = _identity(old)
        differs = [
            k
            for k in now
            if json.dumps(before[k], sort_keys=True, default=str)
            != json.dumps(now[k], sort_keys=True, default=str)
        ]
    except RecursionError:  # a hand-made manifest nested beyond reason
        differs = list(now)
    if differs:
        source = old.get("sweep_file")
        source = printable(source, 120) if isinstance(source, str) else _show(source)
        raise DevsimInputError(
            f"{shown}: holds another sweep ({_show(old.get('name'))} from {source}): its "
            f"{' and '.join(differs)} {'differs' if len(differs) == 1 else 'differ'} from "
            f"{printable(sweep.source, 120)}; allowed: "
            "--out a new folder (in one folder only the grid values and the seeds of a sweep "
            "may change)"
        )


# --- cost (one place for the budget) ----------------------------------------------------------


@dataclass(frozen=True)
class SweepCost:
    """What a sweep asks of the machine, before anything runs.

    ``largest_run``: the run with most ``groups x organisms x neurons x days`` (its
    ``organisms`` is the sum over its groups); ``organism_days``: summed over every run.
    """

    runs: int
    largest_run: dict[str, int]
    organism_days: int


def _units(scenario: dict) -> int:
    """Units of one organism's cortex in a resolved scenario (point or sheet)."""
    return cortex_units(
        scenario.get("cortex", "point"), scenario["neurons"], scenario.get("sheet_size")
    )


def sweep_cost(sweep: Sweep) -> SweepCost:
    """The size of the largest single run and the total organism-days of a sweep."""
    largest: dict[str, int] = {}
    size = -1
    total = 0
    for run in sweep.runs:
        scenario = run.scenario
        groups = scenario["groups"]
        organisms = sum(g["organisms"] for g in groups)
        days, neurons = scenario["days"], _units(scenario)
        total += organisms * days
        if organisms * neurons * days > size:
            size = organisms * neurons * days
            largest = {
                "groups": len(groups),
                "organisms": organisms,
                "neurons": neurons,
                "days": days,
                "presentations_per_day": scenario["presentations_per_day"],
            }
    return SweepCost(runs=len(sweep.runs), largest_run=largest, organism_days=total)


def check_cost(sweep: Sweep, workers: int = 1, limits: tuple = (None, None)) -> Cost:
    """The sweep's cost (:mod:`devsim.budget`), checked before anything is written
    (``run_sweep`` calls it first): the memory of the run that needs most times the runs
    held at once, and the organism-days of every run; ``limits`` = (max memory, max
    organism-days), None for the defaults (``--max-memory``, ``--max-organism-days``)."""
    terms = cortex_terms(sweep.base.get("cortex", "point"))  # the base's: not swept
    total = Cost(0.0, 0.0)
    for run in sweep.runs:  # a Cost's sum keeps the larger memory
        scenario = run.scenario
        total = total + development_cost(
            sum(g["organisms"] for g in scenario["groups"]),
            _units(scenario),
            scenario["days"],
            scenario["presentations_per_day"],
            **terms,
        )
    # the most any run needs (the run of most organisms x units x days may need less)
    total = Cost(total.memory * min(workers, len(sweep.runs)), total.organism_days)
    return budget_check(total, *limits, what=f"{sweep.source}: sweep")


def run_sweep(
    sweep_path_or_obj: str | Path | Sweep | dict,
    out_dir: str | Path,
    workers: int | None = None,
    scheduler: Any = None,
    progress: bool = True,
    limits: tuple = (None, None),
    draw: Callable[[pd.DataFrame, Sweep], dict[str, bytes]] | None = None,
) -> pd.DataFrame:
    """Run every (parameter point, seed) of a sweep not already finished in ``out_dir``.

    ``workers=1`` runs serially in this process; more starts a local Dask cluster (at most
    one worker a core; default, as ``devsim batch``: 2, or 1 on a one-core machine);
    ``scheduler`` (an address or a ``distributed.Client``) uses an existing cluster.
    Returns the results table (also written to ``out_dir/results.parquet``);
    ``table.attrs["batch"]`` counts runs: total, reused, ran, failed. Figures are drawn
    only with ``draw`` (``devsim batch`` passes
    :func:`devsim.plots.batch.render_figures`): plots sit above this module.

    Before any run: the cost is checked (:func:`check_cost`; ``limits`` = (max memory, a
    size such as ``"16G"`` or bytes; max organism-days), as ``--max-memory`` and
    ``--max-organism-days``, None for the defaults), ``out_dir`` is locked against
    other batches, must be new or hold this sweep, and nothing may be in the way of the
    files the batch writes.
    """
    sweep = _as_sweep(sweep_path_or_obj)
    workers = default_workers() if workers is None else workers
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise DevsimInputError(f"workers: must be an integer >= 1, got {workers!r}")
    check_script_guarded("run_sweep", workers, scheduler)  # before out_dir is locked
    check_workers(workers, None if scheduler is None else "cluster", ("workers", "scheduler="))
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise DevsimInputError(f"{printable(str(out))}: --out must be a folder, not a file")
    if not isinstance(limits, tuple | list) or len(limits) != 2:
        raise DevsimInputError(
            f"limits: expected (max memory, max organism-days), each None for the default, "
            f"got {printable(repr(limits))}"
        )
    limits = checked_limits(
        *limits, flags=("limits[0] (max memory)", "limits[1] (max organism-days)")
    )
    check_cost(sweep, workers if scheduler is None else 1, limits)
    made = [p for p in (out, *out.parents) if not p.exists()]  # removed again if left empty
    try:
        with ExitStack() as stack:
            client = scheduler  # a distributed.Client, an address, or None
            if isinstance(scheduler, str):
                client = stack.enter_context(connect(scheduler))  # before anything is written
            todo = _prepare(stack, sweep, out)
            return _run_all(sweep, out, todo, (workers, client, stack), progress, draw)
    except BaseException:
        for path in made:  # folders this call created and left empty (deepest first)
            try:
                path.rmdir()
            except OSError:
                break
        raise


def _as_sweep(sweep_path_or_obj: str | Path | Sweep | dict) -> Sweep:
    if isinstance(sweep_path_or_obj, Sweep):
        return sweep_path_or_obj
    if isinstance(sweep_path_or_obj, dict):
        return parse_sweep(sweep_path_or_obj)
    return load_sweep(sweep_path_or_obj)


def _prepare(stack: ExitStack, sweep: Sweep, out: Path) -> list[Run]:
    """Make and lock ``out`` (held by ``stack``), check it, write the manifest; return the
    runs not finished yet."""
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise _unwritable(out, exc) from None
    stack.enter_context(batch_lock(out))
    plan = manifest(sweep)
    _check_folder(out, sweep, plan)
    todo = [run for run in sweep.runs if not _done(out, run)]
    _check_places(out, sweep, todo)
    try:
        _clean_temporaries(out)
        if todo:  # the table of an earlier batch, beside a manifest of more runs, looked whole
            _remove_results(out, sweep)
        atomic_text(out / "manifest.json", json.dumps(plan, indent=1) + "\n")
    except OSError as exc:
        raise _unwritable(out, exc) from None
    return todo


def _remove_results(out: Path, sweep: Sweep) -> None:
    """Remove results.parquet and the figures of an earlier batch into ``out`` (made again
    when every run is done): a batch stopped before then leaves its runs, never a table or
    figures of fewer runs than its manifest lists."""
    for path in (
        out / "results.parquet",
        *(out / "figures" / n for n in figure_names(sweep).values()),
    ):
        path.unlink(missing_ok=True)


def _unwritable(out: Path, exc: OSError) -> DevsimInputError:
    where = printable(str(exc.filename or out), 300)
    return DevsimInputError(
        f"{where}: cannot write ({exc.strerror or exc.__class__.__name__}); allowed: --out a "
        "folder devsim can write"
    )


def _run_all(
    sweep: Sweep, out: Path, todo: list[Run], backend_: tuple, progress: bool, draw=None
) -> pd.DataFrame:
    """Run ``todo`` (with ``out`` locked), then write results.parquet and the figures.

    ``backend_``: (workers, scheduler or client, the stack that holds ``out``'s lock: a
    new cluster closes in the background while the results are drawn and written)."""
    workers, client, stack = backend_
    total = len(sweep.runs)
    reused = total - len(todo)
    # finished earlier, but by other code (or code that did not record itself in run.json,
    # as before devsim recorded it): their numbers may not be this model's
    redo = sum(_stale(out, run) for run in todo)
    bar = Progress(total, reused, progress, "devsim batch")
    bar.log(
        f"{printable(sweep.name, 200)}: {count_of(total, 'run')} "
        f"({count_of(sweep.n_points, 'point')} x {count_of(len(sweep.seeds), 'seed')}); "
        f"{reused} already finished, {len(todo)} to run"
        + (f" ({redo} of them made by other or unrecorded devsim code: run again)" if redo else "")
        + (f" ({backend(workers, client)})" if todo else "")
    )
    errors: dict[str, str] = {}
    runs = {run.run_id: run for run in todo}

    def on_result(job: Job, outcome: Outcome) -> None:
        try:
            _record(out, runs[job.key], outcome)
        except OSError as exc:
            raise _unwritable(out, exc) from None
        if not outcome.ok:
            errors[job.key] = outcome.error
        bar.update(failed=not outcome.ok)

    try:
        jobs = [_job(run) for run in todo]
        run_jobs(jobs, on_result, workers, client, "devsim.batch:warm_up", later=stack)
    finally:
        bar.close()
    table = results_table(sweep, out, errors)
    _publish(out, table, draw(table, sweep) if draw is not None else {})
    table.attrs["batch"] = {
        "total": total,
        "reused": reused,
        "ran": len(todo),
        "failed": len(errors),
    }
    return table


def _publish(out: Path, table: pd.DataFrame, figures: dict[str, bytes]) -> None:
    """Write results.parquet and the figures (every figure is drawn before this)."""
    try:
        table.attrs["devsim"] = provenance()  # the table carries what made it
        atomic_write(out / "results.parquet", lambda tmp: table.to_parquet(tmp, index=False))
        for name, png in figures.items():
            atomic_write(out / "figures" / name, lambda tmp, png=png: tmp.write_bytes(png))
    except OSError as exc:
        raise _unwritable(out, exc) from None


def manifest(sweep: Sweep) -> dict:
    """The sweep as run: base scenario, parameters, seeds, every run id."""
    return {
        **provenance(),
        "sweep_file": sweep.source,
        "name": sweep.name,
        "base_file": sweep.base_file,
        "base_scenario": sweep.base,
        "set": sweep.fixed,
        "parameters": sweep.axes,
        "columns": list(sweep.parameters),
        "result_columns": sweep.columns,
        "seeds": sweep.seed_spec,
        "scenario_seeds": list(sweep.seeds),
        "runs": [
            {
                "run_id": r.run_id,
                "point": r.point,
                "seed_index": r.seed_index,
                "seed": r.seed,
                "params": r.params,
            }
            for r in sweep.runs
        ],
    }


# --- results -----------------------------------------------------------------------------


def _nan(value: Any) -> float:
    return math.nan if value is None else float(value)


def results_table(sweep: Sweep, out: Path, errors: dict[str, str] | None = None) -> pd.DataFrame:
    """The tidy table, read back from the run folders (same bytes whichever backend ran)."""
    errors = errors or {}
    columns = sweep.columns
    maps = _map_columns(sweep)
    rows = []
    for run in sweep.runs:
        summary, timing = _read_run(out / "runs" / run.run_id, run.run_id in errors)
        error = None if summary is not None else error_line(errors.get(run.run_id, "missing"))
        scenario = run.scenario
        groups = scenario["groups"]
        ref_name = _reference(groups)
        # what every group of the run ran with: its settings and the rearing statistics of
        # its world (a swept one is its parameter's column)
        settings = {n: scenario.get(n, SCENARIO_DEFAULTS.get(n)) for n in RUN_SETTINGS}
        world = {f"world.{n}": v for n, v in world_statistics(scenario).items()}
        for group in groups:
            # what the group ran with: its own value wins over a sweep-wide genome.NAME,
            # whose column stays the sweep's coordinate
            species = group.get("species") or scenario.get("species") or SCENARIO_SPECIES
            ran = Genome.preset(species, group.get("genome"))
            row: dict[str, Any] = {
                **{columns[k]: float(v) if k in sweep.real else v for k, v in run.params.items()},
                **{f"gene.{name}": ran[name] for name in sweep.genes},
                "seed_index": run.seed_index,
                "seed": run.seed,
                "run_id": run.run_id,
                "group": group["name"],
                "status": "ok" if summary else "failed",
                "error": error,
                "organisms": group["organisms"],
                "species": species,
                **settings,
                **world,
            }
            row.update(_metrics(summary, group, ref_name, maps))
            row["timing_run_s"] = _nan(timing["run_s"]) if timing else math.nan
            row["timing_worker"] = timing["worker"] if timing else None
            rows.append(row)
    genes = [f"gene.{name}" for name in sweep.genes]
    # after the run's settings, the world's statistics held fixed (a swept one is a
    # parameter's column)
    held = [c for c in (f"world.{n}" for n in REARING_STATISTICS) if c not in columns.values()]
    rest = result_columns(sweep)
    at = rest.index(RUN_SETTINGS[-1]) + 1
    table = pd.DataFrame(rows, columns=[*columns.values(), *genes, *rest[:at], *held, *rest[at:]])
    for col in (*OD_COLUMNS, "md_end_day"):
        table[col] = table[col].astype("Int64")
    for col in (*METRIC_COLUMNS, *maps, "shift_cbi", "shift_cbi_md_end", "timing_run_s"):
        table[col] = table[col].astype("float64")
    for col in ("error", "timing_worker", "species", "cortex"):
        table[col] = table[col].astype("string")
    return table


def world_statistics(scenario: dict) -> dict[str, float]:
    """The rearing statistics (:data:`devsim.senses.REARING_STATISTICS`) a scenario's runs
    see: its ``[world]`` table's, else the standard world's (the format's own
    :data:`devsim.scenario.World`, which fills in the defaults)."""
    return World(**(scenario.get("world") or {})).model_dump()


def _reference(groups: list[dict]) -> str:
    """The group shifts are measured against (:func:`devsim.scenario.reference_group`)."""
    return reference_group([g["name"] for g in groups])


def _read_run(folder: Path, failed: bool) -> tuple[dict | None, dict | None]:
    """A run's summary and timing as written (None where missing or unreadable)."""
    summary = timing = None
    if not failed:
        try:
            summary = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            summary = None
        try:
            timing = json.loads((folder / "run.json").read_text(encoding="utf-8"))["timing"]
        except (OSError, ValueError, KeyError):
            timing = None
    return summary, timing


def _map_columns(sweep: Sweep) -> tuple[str, ...]:
    """The map measures of a sweep on a cortical sheet (its base's cortex: not a sweep
    parameter), none on the point cortex."""
    return MAP_METRICS if sweep.base.get("cortex", "point") == "sheet" else ()


def result_columns(sweep: Sweep) -> tuple[str, ...]:
    """The columns of ``results.parquet`` after the parameters: :data:`RESULT_COLUMNS`,
    on a sheet with the map measures after the final metrics."""
    at = RESULT_COLUMNS.index(METRIC_COLUMNS[-1]) + 1
    return RESULT_COLUMNS[:at] + _map_columns(sweep) + RESULT_COLUMNS[at:]


def _metrics(
    summary: dict | None, group: dict, ref_name: str, maps: tuple[str, ...] = ()
) -> dict[str, Any]:
    """One group's final metrics (and ``maps``, a sheet's map measures), OD classes and
    shifts against the reference group."""
    md_end = md_end_day(group)
    if summary is None:
        row: dict[str, Any] = {
            m: math.nan for m in (*METRIC_COLUMNS, *maps, "shift_cbi", "shift_cbi_md_end")
        }
        row.update(dict.fromkeys(OD_COLUMNS))
        row["md_end_day"] = md_end
        return row
    data = summary["groups"][group["name"]]
    final = data["final"]
    row = {m: _nan(final[m]) for m in (*METRIC_COLUMNS, *maps)}
    row.update(dict(zip(OD_COLUMNS, final["od_histogram"], strict=True)))
    control = group.get("control") or ref_name  # a group's own control, else the reference
    row["shift_cbi"] = cbi_shift(summary, group["name"], control)  # 0 for the reference
    row["md_end_day"] = md_end
    row["shift_cbi_md_end"] = (
        math.nan if md_end is None else cbi_shift(summary, group["name"], control, md_end)
    )
    return row


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name)


def figure_names(sweep: Sweep) -> dict[tuple[str, str], str]:
    """The file name of each (metric, swept parameter) figure: ``<metric>_vs_<param>.png``,
    shortened and made unique by a hash where the name is too long or already taken
    (also ignoring case, for case-insensitive file systems)."""
    names: dict[tuple[str, str], str] = {}
    used: set[str] = set()
    for param in sweep.swept:
        for metric in FIGURE_METRICS:
            stem = f"{_safe(metric)}_vs_{_safe(param)}"
            if len(stem) > FIGURE_STEM_MAX or stem.lower() in used:
                digest = hashlib.sha256(param.encode()).hexdigest()[:10]
                stem = f"{stem[: FIGURE_STEM_MAX - 11]}-{digest}"
            used.add(stem.lower())
            names[(metric, param)] = f"{stem}.png"
    return names


def summary_table(table: pd.DataFrame, parameters: Iterable[str]) -> pd.DataFrame:
    """Per parameter point and group: runs ok / failed, and the mean and sd over the point's
    seeds of each run's CBI and shift (``cbi_mean``, ``cbi_sd_over_seeds``...; a run's own
    ``cbi_sd`` is the sd between its animals)."""
    keys = [*parameters, "group"]
    metrics = ["cbi", "shift_cbi"]
    if table["shift_cbi_md_end"].notna().any():
        metrics.append("shift_cbi_md_end")
    grouped = table.groupby(keys, sort=False)
    out = grouped.agg(
        runs=("status", lambda s: int((s == "ok").sum())),
        failed=("status", lambda s: int((s == "failed").sum())),
    )
    for metric in metrics:
        out[f"{metric}_mean"] = grouped[metric].mean()
        out[f"{metric}_sd_over_seeds"] = grouped[metric].std()
    return out.reset_index()

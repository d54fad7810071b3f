"""The island model: several populations evolving in parallel, exchanging migrants.

An island scenario (``[islands]`` with ``count`` > 1) evolves ``count`` populations, each
the scenario's grid of habitats (so ``count x grid x per_cell`` organisms in all). Time is
cut into epochs of ``migration_every`` generations. In an epoch every island lives its
generations on its own, as one job of :func:`devsim.runner.run_jobs` (in this process, or
on Dask workers: one job per island, so the islands of an epoch run side by side); then
``migrants`` organisms drawn at random on each island are copied to the next island round
the ring (as in a GA's island model, the emigrants also stay: every island keeps its size),
replacing as many residents drawn at random there (they keep the cell and take the
place of the one they replace; their genes, mutation scales and the fitness of the life
they lived come with them, so they breed in the next generation like any resident).

Every epoch starts each island afresh from its state (:meth:`EvolutionModel.state`: the
population, its generator's state, the world) and every random draw comes from generators
seeded by the scenario's seed, the island and the epoch (a world that changes every G
generations: the seed and the generation, so all islands live in it) -- never from where a
job ran. So the same seed gives the same generations, byte for byte, serially, on a local
cluster or on ``--scheduler``; and after each epoch the states and the generations so far
are written to ``checkpoint.npz`` (atomically), from which a rerun of the same command
continues after a crash.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from devsim import __version__
from devsim.errors import DevsimRunError
from devsim.evolution import (
    EvolutionModel,
    between_island_share,
    circular_columns,
    column_period,
)
from devsim.evolution_runs import WARM
from devsim.evolution_scenario import EvolutionScenario
from devsim.outputs import atomic_write, printable
from devsim.provenance import code_digest
from devsim.runner import Job, check_script_guarded, cluster_client, error_line, run_jobs

CHECKPOINT = "checkpoint.npz"
MIGRATION = 1 << 20  # spawn key of the migration draws (beyond any island's index)
STATE_ARRAYS = ("values", "sigmas", "cells", "traits")


# --- the random streams -------------------------------------------------------------------
def island_generators(seed: int, island: int) -> tuple[np.random.Generator, np.random.Generator]:
    """An island's generator of everything and the one of its pattern banks (the same banks
    whenever the island is rebuilt)."""
    model = np.random.SeedSequence(seed, spawn_key=(island, 0))
    world = np.random.SeedSequence(seed, spawn_key=(island, 1))
    return np.random.default_rng(model), np.random.default_rng(world)


def migration_generator(seed: int, epoch: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(MIGRATION, epoch)))


# --- one island, one epoch (a job) ---------------------------------------------------------
def island_model(
    scenario: EvolutionScenario, seed: int, island: int, state: dict[str, Any] | None
) -> EvolutionModel:
    """Island ``island`` founded (``state`` None) or rebuilt from ``state``."""
    rng, world_rng = island_generators(seed, island)
    return EvolutionModel(
        **scenario.model_kwargs(), rng=rng, world_rng=world_rng, world_seed=seed, state=state
    )


def live_epoch(
    scenario: EvolutionScenario,
    seed: int,
    island: int,
    state: dict[str, Any] | None,
    generations: int,
) -> dict[str, Any]:
    """Continue island ``island`` from ``state`` (or found it: generation 0) for
    ``generations`` generations; its new state and one record row per generation lived."""
    model = island_model(scenario, seed, island, state)
    rows = [] if state is not None else [dict(model.last_row)]
    for _ in range(generations):
        model.step()
        rows.append(dict(model.last_row))
    return {"state": model.state(), "rows": rows}


# --- migration -----------------------------------------------------------------------------
def migrate(
    states: list[dict[str, Any]], migrants: int, rng: np.random.Generator
) -> list[dict[str, Any]]:
    """Ring migration: ``migrants`` organisms drawn at random (without replacement) on island
    ``i`` replace as many residents drawn at random on island ``i + 1`` (mod the count), all
    at once (emigrants are taken before anyone arrives). Cells stay where they are."""
    n = len(states)
    if n < 2 or migrants == 0:
        return states
    leaving = [rng.choice(len(s["values"]), migrants, replace=False) for s in states]
    replaced = [rng.choice(len(s["values"]), migrants, replace=False) for s in states]
    out = [{**s, **{k: np.array(s[k], copy=True) for k in STATE_ARRAYS}} for s in states]
    for i in range(n):
        j = (i + 1) % n
        for key in ("values", "sigmas", "traits"):
            out[j][key][replaced[j]] = states[i][key][leaving[i]]
    return out


# --- checkpoints ---------------------------------------------------------------------------
def fingerprint(scenario: EvolutionScenario, seed: int) -> str:
    """The resolved scenario and seed of a run and the code that runs it (devsim's version
    and :func:`~devsim.provenance.code_digest`): what its ``scenario.json`` holds and what a
    checkpoint must match to be continued (so a run is never finished by other code)."""
    content = {
        "seed": seed,
        "scenario": scenario.model_dump(mode="json"),
        "devsim_version": __version__,
        "code": code_digest(),
    }
    return json.dumps(content, indent=1, sort_keys=True) + "\n"


def save_checkpoint(
    path: Path, print_: str, epoch: int, states: list[dict[str, Any]], rows: list[dict]
) -> None:
    """Epochs done, island states and the generations so far, in one file (atomically)."""
    columns = list(rows[0]) if rows else []
    meta = {
        "fingerprint": print_,
        "epoch": epoch,
        "columns": columns,
        "islands": [{k: v for k, v in s.items() if k not in STATE_ARRAYS} for s in states],
    }
    arrays = {f"{k}_{i}": np.asarray(s[k]) for i, s in enumerate(states) for k in STATE_ARRAYS}
    arrays["rows"] = np.array([[row[c] for c in columns] for row in rows], dtype=float)

    def write(tmp: Path) -> None:
        with open(tmp, "wb") as handle:
            np.savez(handle, meta=np.array(json.dumps(meta)), **arrays)

    atomic_write(path, write)


def load_checkpoint(path: Path, print_: str) -> tuple[int, list[dict], list[dict]] | None:
    """(epochs done, island states, rows) of this very run (same scenario and seed), or None
    when there is none (or it belongs to another run, or cannot be read)."""
    try:
        with np.load(path, allow_pickle=False) as data:
            meta = json.loads(str(data["meta"]))
            if meta["fingerprint"] != print_:
                return None
            states = [
                {**extra, **{k: data[f"{k}_{i}"] for k in STATE_ARRAYS}}
                for i, extra in enumerate(meta["islands"])
            ]
            table = data["rows"]
    except (OSError, ValueError, KeyError, EOFError):
        return None
    rows = [dict(zip(meta["columns"], r.tolist(), strict=True)) for r in table]
    for row in rows:
        row["island"], row["generation"] = int(row["island"]), int(row["generation"])
    return int(meta["epoch"]), states, rows


# --- the run -------------------------------------------------------------------------------
def run_islands(
    scenario: EvolutionScenario,
    seed: int,
    folder: Path | None = None,
    workers: int = 1,
    scheduler: Any = None,
    report: Callable[[str], None] | None = None,
) -> tuple[pd.DataFrame, list[dict[str, Any]]]:
    """Evolve an island scenario: one row per island and generation (``island`` first) and
    the islands' last states.

    With a ``folder``, resumes from ``folder/checkpoint.npz`` when it holds this very run
    and writes it after every epoch. The islands of an epoch run as jobs of
    :func:`run_jobs` on one backend for the whole run: in this process (``workers`` 1, no
    ``scheduler``), a local cluster of ``workers`` processes, or the cluster at
    ``scheduler``.
    """
    check_script_guarded("run_islands (devsim.evolution_runs.evolve)", workers, scheduler)
    islands = scenario.islands
    every, total = islands.migration_every, scenario.generations
    epochs = math.ceil(total / every)
    path = None if folder is None else folder / CHECKPOINT
    print_ = fingerprint(scenario, seed)
    found = None if path is None else load_checkpoint(path, print_)
    epoch, states, rows = found if found else (0, [None] * islands.count, [])
    if found and report:
        report(f"continuing from {printable(str(path))}: {epoch} of {epochs} epochs done")
    elif path is not None and path.is_file() and report:
        report(
            f"{printable(str(path))} is another run's, other devsim code's or unreadable: "
            "starting over"
        )
    start = time.perf_counter()
    with ExitStack() as stack:
        client = cluster_client(stack, workers, scheduler, WARM)
        while epoch < epochs:
            generations = min(every, total - epoch * every)
            jobs = [
                Job(
                    f"epoch{epoch}-island{i}",
                    "devsim.islands:live_epoch",
                    (scenario, seed, i, states[i], generations),
                )
                for i in range(islands.count)
            ]
            results = _run_epoch(jobs, workers, client)
            states = [r["state"] for r in results]
            rows += [{"island": i, **row} for i, r in enumerate(results) for row in r["rows"]]
            epoch += 1
            if epoch < epochs:
                states = migrate(states, islands.migrants, migration_generator(seed, epoch - 1))
            if path is not None:
                save_checkpoint(path, print_, epoch, states, rows)
            if report:
                report(_progress_line(scenario, epoch, epochs, rows, time.perf_counter() - start))
    return table_of(rows), states


def island_models(
    scenario: EvolutionScenario, seed: int, states: list[dict[str, Any]]
) -> list[EvolutionModel]:
    """The islands rebuilt from their states (for maps of the last generation)."""
    return [island_model(scenario, seed, i, state) for i, state in enumerate(states)]


def _run_epoch(jobs: list[Job], workers: int, client) -> list[dict[str, Any]]:
    """The islands' results of one epoch, in island order; a failed island stops the run."""
    done: dict[str, dict] = {}

    def keep(job: Job, outcome) -> None:
        if not outcome.ok:
            raise DevsimRunError(f"{job.key}: {error_line(outcome.error)}")
        done[job.key] = outcome.value

    run_jobs(jobs, keep, workers=1 if client is None else workers, scheduler=client)
    return [done[job.key] for job in jobs]


def table_of(rows: list[dict]) -> pd.DataFrame:
    """The generations, one row per island and generation, in (generation, island) order."""
    table = pd.DataFrame(rows)
    return table.sort_values(["generation", "island"], kind="stable").reset_index(drop=True)


def pooled(table: pd.DataFrame) -> pd.DataFrame:
    """One row per generation: the mean over islands of every column (islands are the same
    size, so a mean of island means is the population's mean; ``*_sd`` columns become the
    mean within-island spread; an angle's mean is circular), and the ``*_fst`` of each gene
    that varies, the share of its variance between the islands
    (:func:`devsim.evolution.between_island_share`). A table without islands is returned
    as it is."""
    if "island" not in table:
        return table
    grouped = table.drop(columns="island").groupby("generation", sort=True)
    pool = circular_columns(grouped.mean(), grouped)
    for gene in (c.removesuffix("_sigma") for c in table if c.endswith("_sigma")):
        means, sds = (  # (generations, islands), in the pool's order of generations
            table.pivot(index="generation", columns="island", values=f"{gene}_{kind}")
            .reindex(pool.index)
            .to_numpy()
            for kind in ("mean", "sd")
        )
        share = between_island_share(means, sds, column_period(f"{gene}_mean"))
        if np.isfinite(share).any():  # a gene that never varies has no share to take
            pool[f"{gene}_fst"] = share
    return pool.reset_index()


def _progress_line(scenario, epoch: int, epochs: int, rows: list[dict], seconds: float) -> str:
    generation = max(row["generation"] for row in rows)
    last = [row for row in rows if row["generation"] == generation]
    fitness = np.mean([row["fitness_mean"] for row in last])
    plasticity = np.mean([row["plasticity_mean"] for row in last])
    return (
        f"  [{printable(scenario.name, 40)}] epoch {epoch}/{epochs}, generation "
        f"{generation}/{scenario.generations}: fitness {fitness:.3f}, plasticity "
        f"{plasticity:.3f} (mean of {scenario.islands.count} islands)  ({seconds:.0f} s)"
    )

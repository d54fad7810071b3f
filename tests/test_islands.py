"""The island model (issue 19): migration, islands rebuilt from their state, the same bytes
serially and on Dask, and a run killed mid-way that continues from its last epoch."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from devsim import cli
from devsim.evolution import EvolutionModel
from devsim.evolution_scenario import parse_evolution_scenario
from devsim.islands import (
    CHECKPOINT,
    fingerprint,
    island_generators,
    load_checkpoint,
    migrate,
    migration_generator,
    pooled,
    run_islands,
)

ISLANDS = """\
name = "islands"
seed = 4
generations = {generations}
days = 16
assess_from = 15
assess_every = 1
grid = [2, 2]
per_cell = 2
neurons = 4
presentations_per_day = 16
batch_size = 16
evolve = ["eta", "r_close", "floor_adult", "marker"]

[islands]
count = {count}
migration_every = 2
migrants = {migrants}
"""


def scenario(generations=4, count=3, migrants=2):
    import tomllib

    text = ISLANDS.format(generations=generations, count=count, migrants=migrants)
    return parse_evolution_scenario(tomllib.loads(text), source="islands.toml")


def write(tmp_path, **kw):
    path = tmp_path / "islands.toml"
    defaults = {"generations": 4, "count": 3, "migrants": 2}
    path.write_text(ISLANDS.format(**(defaults | kw)), encoding="utf-8")
    return path


def states_of(n, size=8, genes=3, traits=2, rng=None):
    rng = rng or np.random.default_rng(0)
    return [
        {
            "values": rng.random((size, genes)) + 10 * i,
            "sigmas": rng.random((size, genes)),
            "cells": np.arange(2 * size).reshape(size, 2),
            "traits": rng.random((size, traits)),
            "generation": 3,
        }
        for i in range(n)
    ]


# --- migration ------------------------------------------------------------------------------
def test_ring_migration_moves_migrants_to_the_next_island_only():
    states = states_of(4)
    out = migrate(states, 3, np.random.default_rng(1))
    for j, after in enumerate(out):
        before = states[j]
        source = states[(j - 1) % 4]
        changed = np.flatnonzero((after["values"] != before["values"]).any(axis=1))
        assert changed.size == 3  # three residents replaced
        arrived = {tuple(r) for r in after["values"][changed]}
        assert arrived <= {tuple(r) for r in source["values"]}  # from the previous island
        np.testing.assert_array_equal(after["cells"], before["cells"])  # cells stay
        for row in changed:  # genes, scales and traits move together
            k = np.flatnonzero((source["values"] == after["values"][row]).all(axis=1))[0]
            np.testing.assert_array_equal(after["sigmas"][row], source["sigmas"][k])
            np.testing.assert_array_equal(after["traits"][row], source["traits"][k])
    assert all(s["values"].max() < 10 * (i + 1) for i, s in enumerate(states))  # not mutated


def test_no_migrants_or_one_island_changes_nothing():
    states = states_of(3)
    assert migrate(states, 0, np.random.default_rng(1)) is states
    one = states_of(1)
    assert migrate(one, 2, np.random.default_rng(1)) is one


def test_migration_draws_depend_on_seed_and_epoch_only():
    a = migrate(states_of(3), 2, migration_generator(7, 2))
    b = migrate(states_of(3), 2, migration_generator(7, 2))
    c = migrate(states_of(3), 2, migration_generator(7, 3))
    assert all((x["values"] == y["values"]).all() for x, y in zip(a, b, strict=True))
    assert any((x["values"] != y["values"]).any() for x, y in zip(a, c, strict=True))


# --- an island rebuilt from its state goes on as if never stopped -----------------------------
def test_a_model_rebuilt_from_its_state_continues_exactly():
    sc = scenario()
    kwargs = sc.model_kwargs()
    rng, world = island_generators(5, 1)
    straight = EvolutionModel(**kwargs, rng=rng, world_rng=world)
    for _ in range(2):
        straight.step()
    rng, world = island_generators(5, 1)
    first = EvolutionModel(**kwargs, rng=rng, world_rng=world)
    first.step()
    rng, world = island_generators(5, 1)  # a fresh process would draw these again
    second = EvolutionModel(**kwargs, rng=rng, world_rng=world, state=first.state())
    assert second.generation == 1
    assert len(second.agents) == len(first.agents)
    second.step()
    assert pd.Series(second.last_row).equals(pd.Series(straight.last_row))  # NaN == NaN
    a, b = straight.state(), second.state()
    for key in ("values", "sigmas", "cells", "traits"):
        assert a[key].tobytes() == b[key].tobytes()
    assert a["rng"] == b["rng"]


def test_a_state_of_the_wrong_size_is_refused():
    sc = scenario()
    state = EvolutionModel(**sc.model_kwargs(), rng=1).state()
    state["values"] = state["values"][:-1]
    with pytest.raises(ValueError, match="genomes of shape"):
        EvolutionModel(**sc.model_kwargs(), rng=1, state=state)


# --- runs -------------------------------------------------------------------------------------
def test_the_islands_of_a_run_live_in_one_world_that_changes_every_generation():
    """A world "the same for everybody", redrawn every generation, is one world across the
    islands (it was drawn from each island's own generator: 15, 135 and 135 degrees)."""
    import tomllib

    text = ISLANDS.format(generations=5, count=3, migrants=1) + (
        '[environment]\norientation = "generations"\norientation_every = 1\n'
        'eye_offset = "generations"\neye_offset_every = 1\n'
    )
    table, _ = run_islands(parse_evolution_scenario(tomllib.loads(text), source="w.toml"), seed=9)
    for column in ("world_orientation", "world_offset"):
        per_generation = table.groupby("generation")[column]
        assert (per_generation.nunique() == 1).all(), column  # one world, every island
        assert per_generation.first().nunique() > 1, column  # and it does change
    assert set(pooled(table)["world_offset"]) <= {-2, -1, 0, 1, 2}  # a world that exists


def test_islands_without_migrants_are_independent_populations():
    two, _ = run_islands(scenario(count=2, migrants=0), seed=9)
    three, _ = run_islands(scenario(count=3, migrants=0), seed=9)
    for island in (0, 1):
        a = two[two["island"] == island].reset_index(drop=True)
        b = three[three["island"] == island].reset_index(drop=True)
        assert a.equals(b)
    with_migrants, _ = run_islands(scenario(count=2, migrants=2), seed=9)
    first_epoch = with_migrants["generation"] <= 2  # migrants arrive after generation 2
    assert (
        with_migrants[first_epoch]
        .reset_index(drop=True)
        .equals(two[two["generation"] <= 2].reset_index(drop=True))
    )
    assert not with_migrants.equals(two)


def test_checkpoint_holds_the_run_after_each_epoch(tmp_path):
    sc = scenario(generations=4)
    table, states = run_islands(sc, 4, tmp_path)
    epoch, saved, rows = load_checkpoint(tmp_path / CHECKPOINT, fingerprint(sc, 4))
    assert epoch == 2
    assert len(rows) == len(table) == 3 * 5
    for a, b in zip(states, saved, strict=True):
        assert a["values"].tobytes() == b["values"].tobytes()
        assert a["rng"] == b["rng"]
    assert load_checkpoint(tmp_path / CHECKPOINT, fingerprint(sc, 5)) is None  # other seed
    # other code: the checkpoint is not continued
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("devsim.islands.code_digest", lambda: "sha256:0123456789abcdef")
        assert load_checkpoint(tmp_path / CHECKPOINT, fingerprint(sc, 4)) is None
    # continuing a finished run does nothing more and gives the same table
    again, _ = run_islands(sc, 4, tmp_path)
    assert again.equals(table)


def test_serial_and_two_dask_workers_write_the_same_bytes(tmp_path, capsys):
    path = write(tmp_path)
    assert cli.main(["evolve", str(path), "--out", str(tmp_path / "serial")]) == 0
    argv = ["evolve", str(path), "--out", str(tmp_path / "dask"), "--workers", "2"]
    assert cli.main(argv) == 0
    for name in ("generations.parquet", "summary.json"):
        serial = (tmp_path / "serial" / name).read_bytes()
        assert serial == (tmp_path / "dask" / name).read_bytes(), name
    assert not (tmp_path / "serial" / CHECKPOINT).exists()  # gone once the run is written
    out = capsys.readouterr().out
    assert "3 islands, 5 generations each" in out
    shares = re.search(r"F_ST, the share of each evolving gene's variance between the "
                       r"islands:\n((?:    \S+ +\d\.\d{3}\n)+)", out)  # fmt: skip
    assert shares, out
    assert [line.split()[0] for line in shares[1].splitlines()] == [
        "eta", "r_close", "floor_adult", "marker"]  # fmt: skip
    summary = json.loads((tmp_path / "serial" / "summary.json").read_text())
    assert 0 <= summary["final"]["marker_fst"] <= 1
    assert "w_max_fst" not in summary["final"]  # no gene that never varies
    # the islands pooled: each generation's rise against its selection differential
    assert isinstance(summary["realised_heritability"], float)


def test_a_killed_run_continues_from_its_last_epoch(tmp_path):
    path = write(tmp_path, generations=8)
    whole = tmp_path / "whole"
    assert cli.main(["evolve", str(path), "--out", str(whole)]) == 0
    out = tmp_path / "killed"
    devsim = Path(sys.executable).with_name("devsim")  # the console script of this venv
    argv = [str(devsim), "evolve", str(path), "--out", str(out)]
    log = tmp_path / "killed.log"
    with log.open("wb") as sink:
        child = subprocess.Popen(argv, stdout=sink, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 120
        while not (out / CHECKPOINT).exists():  # the first epoch is done
            assert child.poll() is None, log.read_text()
            assert time.monotonic() < deadline
            time.sleep(0.05)
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
    epoch, _, _ = load_checkpoint(out / CHECKPOINT, fingerprint(_read(path), 4))
    assert 1 <= epoch < 4
    assert not (out / "generations.parquet").exists()
    rerun = subprocess.run(argv, capture_output=True, text=True, timeout=300, check=True)
    assert f"{epoch} of 4 epochs done" in rerun.stderr
    assert f"epoch {epoch}/4" not in rerun.stderr  # not lived again
    for name in ("generations.parquet", "summary.json"):
        assert (out / name).read_bytes() == (whole / name).read_bytes(), name


def _read(path):
    from devsim.evolution_scenario import load_evolution_scenario

    return load_evolution_scenario(path)


def test_too_many_migrants_is_one_line(tmp_path, capsys):
    path = write(tmp_path, migrants=9)
    assert cli.main(["evolve", str(path), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert "islands.migrants" in err[0]
    assert "allowed 0..8" in err[0]
    assert "islands.toml" in err[0]
    assert not (tmp_path / "o").exists()


# --- statistics: confidence intervals and the drift baseline ----------------------------------
def test_summary_gives_the_t_interval_of_the_mean():
    import pandas as pd

    from devsim.evolution_runs import summarise

    runs = pd.DataFrame(
        {
            "scenario": ["a"] * 5 + ["b"],
            "selection": ["on"] * 5 + ["off"],
            "seed": range(6),
            "x": [1.0, 2.0, 3.0, 4.0, 5.0, 7.0],
        }
    )
    table = summarise(runs).set_index(["scenario", "metric"])
    a = table.loc[("a", "x")]
    assert a["n"] == 5
    assert a["mean"] == pytest.approx(3.0)
    # t(0.975, 4) = 2.7764, sd = sqrt(2.5): half-width 1.9632
    assert a["ci_high"] - a["mean"] == pytest.approx(1.9632, abs=1e-4)
    assert a["mean"] - a["ci_low"] == pytest.approx(1.9632, abs=1e-4)
    b = table.loc[("b", "x")]
    assert b["n"] == 1
    assert b["mean"] == 7.0
    assert np.isnan(b["ci_low"])


def test_orientations_average_as_angles_over_islands_generations_and_seeds():
    """An orientation of 179 and one of 1 degree average to 0 (mod 180), not 90: pooled
    islands, a run's last generations and seeds alike; other columns as before."""
    from devsim.evolution_runs import end_state, summarise
    from devsim.islands import pooled

    table = pd.DataFrame(
        {
            "generation": [0, 0, 1, 1, 2, 2],
            "island": [0, 1, 0, 1, 0, 1],
            "innate_orientation_mean": [179.0, 1.0, 178.0, 4.0, 2.0, 176.0],
            "world_orientation": [170.0, 10.0, 170.0, 10.0, 170.0, 10.0],
            "fitness_mean": [1.0, 2.0, 3.0, 5.0, 6.0, 8.0],
        }
    )
    islands = pooled(table)
    assert islands["innate_orientation_mean"].tolist() == pytest.approx([0.0, 1.0, 179.0], abs=1e-9)
    assert islands["world_orientation"].tolist() == pytest.approx([0.0, 0.0, 0.0], abs=1e-9)
    assert islands["fitness_mean"].tolist() == [1.5, 4.0, 7.0]
    end = end_state(table)  # the bred generations 1 and 2 (never the founders)
    angle = end["innate_orientation_mean"] % 180  # 1 and 179 average to 0, i.e. 180
    assert min(angle, 180 - angle) == pytest.approx(0.0, abs=1e-9)
    assert end["fitness_mean"] == 5.5
    assert end_state(table[table["generation"] == 0])["fitness_mean"] == 1.5  # none bred
    seeds = pd.DataFrame(
        {
            "scenario": "a",
            "selection": "on",
            "seed": [0, 1, 2],
            "innate_orientation_mean": [178.0, 2.0, 0.0],
        }  # fmt: skip
    )
    row = summarise(seeds).set_index("metric").loc["innate_orientation_mean"]
    assert min(row["mean"], 180 - row["mean"]) == pytest.approx(0.0, abs=1e-9)
    assert row["sd"] < 3  # the circular spread, not the sd of 178, 2 and 0


def test_between_island_share_is_wrights_fst_of_a_quantitative_gene():
    from devsim.evolution import between_island_share, circular_mean_sd

    # islands at 0 and 2, sd 1 in each: between 1, within 1
    assert between_island_share([0.0, 2.0], [1.0, 1.0]) == pytest.approx(0.5)
    assert between_island_share([3.0, 3.0, 3.0], [1.0, 2.0, 0.5]) == 0.0  # alike islands
    assert between_island_share([1.0, 5.0], [0.0, 0.0]) == 1.0  # nothing within
    assert np.isnan(between_island_share([1.0, 1.0], [0.0, 0.0]))  # nothing varies
    # the same from the pooled population's own variance (equal sizes: exact)
    rng = np.random.default_rng(0)
    islands = [rng.normal(m, s, 50) for m, s in [(0, 1), (1, 2), (4, 0.5)]]
    whole = np.concatenate(islands)
    share = between_island_share([i.mean() for i in islands], [i.std() for i in islands])
    assert share == pytest.approx(np.var([i.mean() for i in islands]) / whole.var())
    # angles: islands about 1 and 179 degrees, sd 1, are 2 degrees apart, not 178: half
    # the variance between them (as 0 and 2 would be), not nearly all of it
    tight = [np.array([0.0, 2.0]), np.array([178.0, 180.0])]
    stats = [circular_mean_sd(a, 180.0) for a in tight]
    assert [s for _, s in stats] == pytest.approx([1.0, 1.0], rel=1e-3)
    near = between_island_share([m for m, _ in stats], [s for _, s in stats], 180.0)
    assert near == pytest.approx(0.5, abs=1e-3)
    assert between_island_share([1.0, 179.0], [1.0, 1.0]) > 0.99  # read as numbers
    apart = [np.array([44.0, 46.0]), np.array([134.0, 136.0])]  # opposite on the circle
    stats = [circular_mean_sd(a, 180.0) for a in apart]
    assert between_island_share([m for m, _ in stats], [s for _, s in stats], 180.0) > 0.99


def test_pooled_islands_report_each_genes_fst():
    table, _ = run_islands(scenario(count=3, migrants=0), seed=9)
    islands = pooled(table)
    for gene in ("eta", "r_close", "floor_adult", "marker"):
        share = islands[f"{gene}_fst"]
        assert share.between(0, 1).all(), (gene, share.tolist())
    # founders drawn alike on every island share little; isolated islands drift apart
    assert islands["marker_fst"].iloc[-1] > islands["marker_fst"].iloc[0]
    # every generation at once is each generation alone (the marker is an angle)
    from devsim.evolution import between_island_share

    for gene, period in (("eta", None), ("marker", 180.0)):
        for g, rows in table.groupby("generation"):
            alone = between_island_share(rows[f"{gene}_mean"], rows[f"{gene}_sd"], period)
            at_once = islands.loc[islands["generation"] == g, f"{gene}_fst"].item()
            assert at_once == pytest.approx(alone, rel=1e-12)


def test_drift_runs_the_same_scenarios_without_selection(tmp_path, capsys):
    import json

    import pandas as pd

    path = write(tmp_path, generations=2, count=2)
    out = tmp_path / "out"
    argv = ["evolve", str(path), "--out", str(out), "--seeds", "2", "--drift"]
    assert cli.main(argv) == 0
    for seed in (4, 5):
        selected = json.loads((out / "islands" / f"seed{seed}" / "scenario.json").read_text())
        drift = json.loads(
            (out / "drift" / "islands" / f"seed{seed}" / "scenario.json").read_text()
        )
        # the same tournaments (the same effective size), run on shuffled fitness
        assert selected["scenario"]["tournament"] == drift["scenario"]["tournament"] == 3
        assert selected["scenario"]["selection"] is True
        assert drift["scenario"]["selection"] is False
        selected["scenario"].pop("selection")
        drift["scenario"].pop("selection")
        assert selected == drift  # one parameter apart
        # no selection, no response to it: the realised heritability is null (not NaN)
        text = (out / "drift" / "islands" / f"seed{seed}" / "summary.json").read_text()
        assert json.loads(text)["realised_heritability"] is None
        assert "NaN" not in text
    runs = pd.read_csv(out / "comparison.csv")
    assert sorted(zip(runs["selection"], runs["seed"], strict=True)) == [
        ("off", 4),
        ("off", 5),
        ("on", 4),
        ("on", 5),
    ]
    summary = pd.read_csv(out / "comparison_summary.csv")
    assert set(summary["selection"]) == {"on", "off"}
    assert (summary[summary["metric"] == "fitness_mean"]["n"] == 2).all()
    assert "eta_sigma_change" in set(summary["metric"])
    assert "no selection (drift)" in capsys.readouterr().out


def test_a_scenario_named_drift_is_refused_with_drift(tmp_path, capsys):
    path = tmp_path / "drift.toml"
    path.write_text(ISLANDS.format(generations=1, count=2, migrants=1), encoding="utf-8")
    argv = ["evolve", str(path), "--out", str(tmp_path / "o"), "--drift"]
    assert cli.main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert "--drift" in err[0]
    assert not (tmp_path / "o").exists()

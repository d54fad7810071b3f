"""`devsim bench`: the quick run's JSON has every figure, and each is a positive number.

No timing is asserted: the machine may be busy.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys

import numpy as np
import pytest

from devsim.bench import PHASES, format_report, linear_fit, phase_breakdown
from devsim.cli import main
from devsim.cohort import Cohort, PhaseTimer
from devsim.genome import Genome, gene_table
from devsim.senses import VisualWorld

TOP = (
    "organisms",
    "days",
    "synapses_per_organism",
    "wall_s",
    "organism_days_per_s",
    "synapse_updates_per_s",
    "floor_s",
    "ratio_to_floor",
    "naive_s",
    "speedup_over_naive",
    "peak_rss_mb",
    "bytes_per_synapse",
)
LARGE = ("organisms", "days", "wall_s", "organism_days_per_s", "floor_s", "peak_rss_mb")
GROWTH = ("s_per_organism_day", "r2")
CLI = "import sys; from devsim.cli import main; sys.exit(main(sys.argv[1:]))"


@pytest.fixture(scope="module")
def quick():
    """One ``devsim bench --quick --json`` in a fresh process (its own peak memory)."""
    done = subprocess.run(
        [sys.executable, "-c", CLI, "bench", "--quick", "--json"],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    return json.loads(done.stdout)  # stdout is exactly one JSON object


def positive(value) -> bool:
    return isinstance(value, int | float) and math.isfinite(value) and value > 0


def test_quick_json_has_every_figure_and_they_are_positive(quick):
    for key in TOP:
        assert positive(quick[key]), key
    for key in LARGE:
        assert positive(quick["large"][key]), f"large.{key}"
    for key in GROWTH:
        assert positive(quick["large"]["growth"][key]), f"large.growth.{key}"
    assert quick["quick"] is True
    assert quick["synapses_per_organism"] == 32 * 128
    assert quick["large"]["organisms"] > quick["organisms"]
    growth = quick["large"]["growth"]
    assert len(growth["organisms"]) == len(growth["day_s"]) >= 3


def test_figures_are_consistent_with_their_definitions(quick):
    q = quick
    assert q["organism_days_per_s"] == pytest.approx(q["organisms"] * q["days"] / q["wall_s"])
    updates = q["days"] * q["presentations_per_day"] / q["batch_size"]
    expected = q["organisms"] * q["synapses_per_organism"] * updates / q["wall_s"]
    assert q["synapse_updates_per_s"] == pytest.approx(expected)
    assert q["ratio_to_floor"] == pytest.approx(q["wall_s"] / q["floor_s"])
    assert q["speedup_over_naive"] == pytest.approx(q["naive_s"] / q["wall_s"])
    assert q["bytes_per_synapse"] >= 10  # weights 4 + mask 1 + slot_prob 4 + weak_days 1


def test_text_report_names_the_blas_and_the_load(quick):
    text = format_report(quick)
    assert "floor" in text
    assert "naive" in text
    assert "BLAS" in text
    assert "load average" in text


def test_seeds_below_two_is_one_clear_error(capsys):
    assert main(["bench", "--checks", "--seeds", "1"]) == 2
    assert "--seeds" in capsys.readouterr().err


def test_seeds_default_is_run_benchs():
    """``devsim bench --checks`` with no --seeds runs :func:`run_bench`'s default (the parser
    wrote 5 a second time)."""
    import inspect

    from devsim.bench import run_bench
    from devsim.cli import build_parser

    args = build_parser().parse_args(["bench", "--checks"])
    assert args.seeds == inspect.signature(run_bench).parameters["seeds"].default


def test_the_sheet_workload_runs_the_shipped_sheet_presentations():
    """The sheet workload presents what the shipped sheet scenarios do (the bench wrote 256
    beside them): it reads ``sheet_cat``'s, and every shipped sheet scenario agrees."""
    from devsim.bench import build_sheet, sheet_settings
    from devsim.scenario import load_scenario
    from devsim.shipped import scenario_names, scenario_path

    cohort = build_sheet(1, 1, size=8).cohort
    scenarios = [load_scenario(scenario_path(name)) for name in scenario_names()]
    shipped = {s.presentations_per_day for s in scenarios if s.cortex == "sheet"}
    assert shipped == {sheet_settings().presentations_per_day}
    assert {cohort.updates_per_day * cohort.batch_size} == shipped


def test_help_states_the_workloads_the_bench_runs(capsys):
    """``devsim bench --help`` is built without importing devsim.bench, so it writes the
    sizes of :data:`~devsim.bench.FULL` and :data:`~devsim.bench.QUICK` again: this ties them."""
    from devsim.bench import FULL, QUICK
    from devsim.sheet import SHEET_SIZE

    def litters(plan):
        return " and ".join(map(str, plan.sheet_organisms))

    with pytest.raises(SystemExit):
        main(["bench", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    for phrase in (
        f"({FULL.organisms} organisms x {FULL.days} days in one model)",
        f"a large one ({FULL.large_organisms:,} organisms, a few days)",
        f"(cats on a {SHEET_SIZE}x{SHEET_SIZE} sheet, {litters(FULL)} organisms x "
        f"{FULL.sheet_days} days)",
        f"({QUICK.organisms} organisms x {QUICK.days} days; large {QUICK.large_organisms:,} "
        f"organisms x {QUICK.large_days} days; sheet {litters(QUICK)} organisms x "
        f"{QUICK.sheet_days} days)",
    ):
        assert phrase in text, phrase


def test_linear_fit_recovers_a_line():
    fit = linear_fit([1, 2, 4], [3.0, 5.0, 9.0])
    assert fit["slope"] == pytest.approx(2.0)
    assert fit["intercept"] == pytest.approx(1.0)
    assert fit["r2"] == pytest.approx(1.0)


@pytest.mark.parametrize("block", [2, 128])  # a day in blocks (draws first) and in one piece
def test_phase_timer_hook_times_every_phase_and_changes_no_result(block):
    world = VisualWorld(np.random.default_rng(1))
    genes = gene_table([Genome.preset("mouse")] * 5)
    litter = np.array([0, 1, 2, 0, 1])
    args = (np.ones((5, 2)), np.full((5, 2), 0.3), np.zeros(5, bool))
    states, timer = [], PhaseTimer()
    for t in (None, timer):
        rng = np.random.default_rng(2)
        cohort = Cohort(rng, genes, litter, world, presentations_per_day=64, block=block, timer=t)
        for day in range(3):
            cohort.develop_day(rng, day, *args)
        states.append((cohort.weights.tobytes(), cohort.theta.tobytes(), cohort.mask.tobytes()))
        states[-1] += (str(rng.bit_generator.state),)
    assert states[0] == states[1]
    assert set(timer.seconds) == {*PhaseTimer.PHASES, "day"}
    assert all(v > 0 for v in timer.seconds.values())
    assert timer.seconds["day"] >= sum(timer.seconds[p] for p in PhaseTimer.PHASES)


def test_phase_breakdown_reports_every_phase_of_a_day():
    out = phase_breakdown(organisms=3, days=2)
    assert list(out) == [*PHASES, "other"]
    assert all(positive(out[p]) for p in PHASES)

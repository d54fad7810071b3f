"""Hinton & Nowlan (1987): helpers, learning-trial law, model behaviour and the CLI."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from devsim import cli
from devsim.baldwin import (
    CORRECT,
    INCORRECT,
    UNDECIDED,
    BaldwinModel,
    Learner,
    fitness,
    learning_trials,
    run_baldwin,
    success_probability,
)
from devsim.errors import DevsimInputError
from devsim.plots.baldwin import plot_alleles

ALLELE_COLUMNS = [
    "generation",
    "correct",
    "incorrect",
    "undecided",
    "correct_sd",
    "incorrect_sd",
    "undecided_sd",
]


# -- pure helpers -------------------------------------------------------------------------------


def test_fitness_formula():
    assert fitness(1000, 1000) == 20.0
    assert fitness(0, 1000) == 1.0
    assert fitness(500, 1000) == pytest.approx(10.5)
    assert fitness(999, 1000) == pytest.approx(1 + 19 * 999 / 1000)
    np.testing.assert_allclose(fitness(np.array([0, 10, 20]), 20), [1.0, 10.5, 20.0])


@pytest.mark.parametrize(
    ("trials_left", "trials", "name"),
    [(1001, 1000, "trials_left"), (-1, 1000, "trials_left"), (0, 0, "trials")],
)
def test_fitness_rejects_bad_input(trials_left, trials, name):
    with pytest.raises(DevsimInputError, match=name):
        fitness(trials_left, trials)


def test_success_probability_formula():
    assert success_probability(0, 1000) == 1.0
    assert success_probability(1, 1) == 0.5
    assert success_probability(3, 0) == 0.0
    assert success_probability(10, 1000) == pytest.approx(1 - (1 - 2.0**-10) ** 1000, rel=1e-12)
    assert success_probability(20, 1000) == pytest.approx(1 - (1 - 2.0**-20) ** 1000, rel=1e-9)
    k = np.arange(0, 21)
    assert np.all(np.diff(success_probability(k, 1000)) <= 0)  # 1 - 2**-1000 rounds to 1
    with pytest.raises(DevsimInputError, match="k_undecided"):
        success_probability(-1, 1000)


def test_learning_trials_special_cases():
    rng = np.random.default_rng(1)
    k = np.array([0, 0, 5, 2])
    wrong = np.array([0, 1, 1, 0])
    found_at = learning_trials(k, 1000, rng, n_incorrect=wrong)
    assert found_at[0] == 0  # born with the target: nothing to learn
    assert found_at[1] == 1001
    assert found_at[2] == 1001
    assert 1 <= found_at[3] <= 1001
    with pytest.raises(DevsimInputError, match="n_incorrect"):
        learning_trials(k, 1000, rng, n_incorrect=np.array([0, 1]))


def test_learning_trials_success_rate_matches_success_probability():
    """k = 10 ?-alleles, 1000 trials: empirical success rate within 4 binomial SEs."""
    rng = np.random.default_rng(20240601)
    draws = 200_000
    found_at = learning_trials(np.full(draws, 10), 1000, rng)
    p = success_probability(10, 1000)  # about 0.62
    se = math.sqrt(p * (1 - p) / draws)
    assert abs(np.mean(found_at <= 1000) - p) < 4 * se


def test_learning_trials_mean_matches_geometric():
    """Uncensored: mean 1/p; censored at 1000: the exact truncated-geometric mean."""
    rng = np.random.default_rng(7)
    draws = 200_000
    p = 2.0**-10
    uncensored = learning_trials(np.full(draws, 10), 10**15, rng)
    se = math.sqrt(1 - p) / p / math.sqrt(draws)
    assert abs(uncensored.mean() - 1 / p) < 4 * se

    censored = learning_trials(np.full(draws, 10), 1000, rng)
    hits = censored[censored <= 1000]
    t = np.arange(1, 1001)
    pmf = p * (1 - p) ** (t - 1)
    pmf /= pmf.sum()  # law of T given success within 1000 trials
    mean = float((t * pmf).sum())
    sd = math.sqrt(float(((t - mean) ** 2 * pmf).sum()))
    assert abs(hits.mean() - mean) < 4 * sd / math.sqrt(hits.size)


def test_learning_trials_match_brute_force_guessing():
    """The geometric shortcut has the law of actually guessing every ? on every trial."""
    rng = np.random.default_rng(3)
    draws, k, trials = 20_000, 4, 30
    guesses = rng.integers(0, 2, size=(draws, trials, k), dtype=np.int8)
    hit = np.all(guesses == 1, axis=2)
    brute = np.where(hit.any(axis=1), hit.argmax(axis=1) + 1, trials + 1)
    fast = learning_trials(np.full(draws, k), trials, rng)

    p_success = success_probability(k, trials)
    se = math.sqrt(p_success * (1 - p_success) / draws)
    assert abs(np.mean(brute <= trials) - p_success) < 4 * se
    assert abs(np.mean(fast <= trials) - p_success) < 4 * se
    brute_hits, fast_hits = brute[brute <= trials], fast[fast <= trials]
    se_difference = math.sqrt(brute_hits.var() / brute_hits.size + fast_hits.var() / fast_hits.size)
    assert abs(brute_hits.mean() - fast_hits.mean()) < 4 * se_difference


# -- the model ----------------------------------------------------------------------------------


def test_agents_mirror_the_genotype_array():
    model = BaldwinModel(population=50, rng=11)
    assert model.genotypes.shape == (50, 20)
    assert model.genotypes.dtype == np.int8
    assert set(np.unique(model.genotypes)) <= {CORRECT, INCORRECT, UNDECIDED}
    for _ in range(3):
        model.step()
        agents = list(model.agents)
        assert len(agents) == 50
        assert all(isinstance(a, Learner) for a in agents)
        assert sorted(a.slot for a in agents) == list(range(50))
        for agent in agents:
            np.testing.assert_array_equal(agent.genotype, model.genotypes[agent.slot])
            assert agent.fitness == model.fitness[agent.slot]
    assert model.generation == 3
    assert len(model.history()) == 4


def test_fitness_of_born_correct_individuals_with_and_without_learning():
    for learning in (True, False):
        model = BaldwinModel(population=10, initial_frequencies=(1, 0, 0), learning=learning, rng=0)
        np.testing.assert_array_equal(model.fitness, 20.0)
    hopeful = BaldwinModel(population=200, initial_frequencies=(0.9, 0, 0.1), learning=False, rng=0)
    has_question = np.any(hopeful.genotypes == UNDECIDED, axis=1)
    np.testing.assert_array_equal(hopeful.fitness[has_question], 1.0)  # ? counts as wrong
    np.testing.assert_array_equal(hopeful.fitness[~has_question], 20.0)


def test_mutation_changes_alleles_to_either_other_allele():
    model = BaldwinModel(population=400, initial_frequencies=(1, 0, 0), mutation_rate=0.05, rng=4)
    model.step()
    mutated = model.genotypes != CORRECT
    assert mutated.mean() == pytest.approx(0.05, abs=0.01)
    share_incorrect = np.mean(model.genotypes[mutated] == INCORRECT)
    assert share_incorrect == pytest.approx(0.5, abs=0.1)
    still = BaldwinModel(population=200, initial_frequencies=(1, 0, 0), rng=4)
    still.step()
    assert np.all(still.genotypes == CORRECT)


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"loci": 1}, "loci"),
        ({"population": 1}, "population"),
        ({"trials": 0}, "trials"),
        ({"trials": 2.5}, "trials"),
        ({"mutation_rate": 1.5}, "mutation_rate"),
        ({"mutation_rate": float("nan")}, "mutation_rate"),
        ({"initial_frequencies": (0.5, 0.5, 0.5)}, "initial_frequencies"),
        ({"initial_frequencies": (0.5, 0.5)}, "initial_frequencies"),
        ({"learning": "yes"}, "learning"),
    ],
)
def test_model_rejects_bad_arguments(kwargs, name):
    with pytest.raises(DevsimInputError, match=name):
        BaldwinModel(**kwargs, rng=0)


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"runs": 0}, "runs"),
        ({"generations": 0}, "generations"),
        ({"seed": -1}, "seed"),
        ({"rng": 3}, "rng"),
        ({"population": 0}, "population"),
    ],
)
def test_run_baldwin_rejects_bad_arguments(kwargs, name):
    with pytest.raises(DevsimInputError, match=name):
        run_baldwin(**kwargs)


def test_run_baldwin_is_deterministic_per_seed():
    first = run_baldwin(generations=8, runs=3, seed=5, population=200)
    again = run_baldwin(generations=8, runs=3, seed=5, population=200)
    other = run_baldwin(generations=8, runs=3, seed=6, population=200)
    pd.testing.assert_frame_equal(first, again)
    assert not first.equals(other)
    assert list(first.columns[:7]) == ALLELE_COLUMNS
    assert first["generation"].tolist() == list(range(9))
    totals = first[["correct", "incorrect", "undecided"]].sum(axis=1)
    np.testing.assert_allclose(totals, 1.0)


@pytest.fixture(scope="module")
def published_setting():
    """20 runs x 50 generations with the published parameters."""
    return run_baldwin(generations=50, runs=20, seed=0).set_index("generation")


def test_learning_guides_evolution(published_setting):
    start, gen50 = published_setting.loc[0], published_setting.loc[50]
    assert start["correct"] == pytest.approx(0.25, abs=0.01)
    assert start["undecided"] == pytest.approx(0.5, abs=0.01)
    assert gen50["incorrect"] < 0.02  # incorrect alleles vanish
    assert 0.6 < gen50["correct"] < 0.9  # about 75 % in the paper
    assert gen50["undecided"] > 0.1  # learning keeps ? alleles around
    assert gen50["fitness_mean"] > 15  # nearly everybody finds the target


def test_without_learning_the_target_is_never_found():
    table = run_baldwin(generations=50, runs=20, seed=0, learning=False).set_index("generation")
    assert (table["found_fraction"] == 0).all()
    assert (table["fitness_mean"] == 1.0).all()  # no individual ever has fitness > 1
    assert table.loc[50, "correct"] == pytest.approx(0.25, abs=0.05)  # drift only


# -- plot and command line ----------------------------------------------------------------------


def test_plot_alleles_requires_columns(tmp_path):
    with pytest.raises(DevsimInputError, match="undecided_sd"):
        plot_alleles(pd.DataFrame({"generation": [0], "correct": [0.25]}), tmp_path / "x.png")
    assert not (tmp_path / "x.png").exists()


@pytest.fixture
def baldwin_only_cli():
    """The real ``devsim`` entry point (all sub-commands registered)."""
    return cli.main


def test_cli_writes_csv_and_png(baldwin_only_cli, tmp_path, capsys):
    out = tmp_path / "result"
    code = baldwin_only_cli(
        ["baldwin", "--generations", "20", "--runs", "3", "--population", "300", "--out", str(out)]
    )
    assert code == 0
    table = pd.read_csv(out / "alleles.csv")
    assert list(table.columns[:7]) == ALLELE_COLUMNS
    assert table["generation"].tolist() == list(range(21))
    assert (out / "alleles.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert sorted(p.name for p in out.iterdir()) == ["alleles.csv", "alleles.png", "baldwin.json"]
    printed = capsys.readouterr().out
    assert "generation" in printed
    assert "alleles.csv" in printed
    found = int(table["runs_found"].iloc[-1])
    assert f"the target was found in {found} of 3 runs by generation 20" in printed


def test_the_table_says_in_how_many_runs_the_target_was_found():
    """Runs split into those that find the target and those that never do, and the means
    mix them (0.44 ± 0.18 correct from 6 runs at ~0.65 and 4 at ~0.25): the table counts
    the runs that had found it by each generation, recounted here run by run."""
    runs, generations, seed = 6, 15, 1
    table = run_baldwin(generations=generations, runs=runs, seed=seed, population=60)
    ever = np.zeros(generations + 1, dtype=int)
    for child in np.random.SeedSequence(seed).spawn(runs):
        model = BaldwinModel(population=60, rng=np.random.default_rng(child))
        for _ in range(generations):
            model.step()
        found = np.array(model._history["found_fraction"]) > 0
        ever += np.maximum.accumulate(found)
    assert table["runs_found"].tolist() == ever.tolist()
    assert 0 < ever[-1] < runs  # this seed splits the runs, as the docstring says they may


def test_cli_defaults_are_the_librarys():
    """``devsim baldwin`` with no options runs :func:`run_baldwin`'s and
    :class:`BaldwinModel`'s defaults (the parser wrote 50/20/1000/1000 a second time)."""
    import inspect

    args = cli.build_parser().parse_args(["baldwin", "--out", "x"])
    library = {
        name: p.default
        for function in (run_baldwin, BaldwinModel.__init__)
        for name, p in inspect.signature(function).parameters.items()
        if p.default is not inspect.Parameter.empty
    }
    for name in ("generations", "runs", "seed", "population", "trials", "mutation_rate"):
        assert float(getattr(args, name)) == library[name], name


@pytest.mark.parametrize(
    "bad",
    [
        ["--runs", "0"],
        ["--generations", "-3"],
        ["--population", "many"],
        ["--mutation-rate", "2"],
        ["--trials", "0"],
    ],
)
def test_cli_bad_argument_exits_2_and_writes_nothing(baldwin_only_cli, tmp_path, capsys, bad):
    out = tmp_path / "result"
    assert baldwin_only_cli(["baldwin", *bad, "--out", str(out)]) == 2
    assert not out.exists()
    assert list(tmp_path.iterdir()) == []
    error = capsys.readouterr().err.strip()
    assert error.startswith("devsim: error: " + bad[0])
    assert "\n" not in error


def test_cli_refuses_a_job_over_budget_before_it_runs(baldwin_only_cli, tmp_path, capsys):
    """Each flag is bounded, but their product was not: 10^12 lives (~7 days on one core)
    were accepted."""
    out = tmp_path / "result"
    big = ["--population", "100000", "--runs", "1000", "--generations", "10000"]
    assert baldwin_only_cli(["baldwin", *big, "--out", str(out)]) == 2
    error = capsys.readouterr().err.strip()
    assert error.startswith("devsim: error: baldwin: 2,100,210,000 organism-days (~166.7 h")
    assert "raise --max-organism-days" in error
    assert not out.exists()
    small = ["--population", "2", "--runs", "1", "--generations", "1"]
    assert baldwin_only_cli(["baldwin", *small, "--max-memory", "1K", "--out", str(out)]) == 2
    assert "(a smaller --population, or raise --max-memory)" in capsys.readouterr().err
    assert not out.exists()


def test_the_budget_of_a_run_is_its_lives():
    from devsim.budget import BALDWIN_LIFE_SECONDS, baldwin_cost

    cost = baldwin_cost(population=1000, generations=50, runs=20)
    assert cost.hours() * 3600 == pytest.approx(1000 * 51 * 20 * BALDWIN_LIFE_SECONDS)
    assert baldwin_cost(2000, 50, 20).memory > cost.memory

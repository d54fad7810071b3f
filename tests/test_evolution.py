"""EvolutionModel: determinism, the mutation operator, selection, inheritance and the CLI."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from devsim import cli
from devsim.environment import discriminability, innate_orientations, innate_template
from devsim.errors import DevsimInputError
from devsim.evolution import (
    GENE_NAMES,  # the genes evolution carries (no sheet genes)
    EvolutionModel,
    choose_parents,
    circular_mean_sd,
    into_bounds,
    learning_rates,
    mutate,
    realised_heritability,
    tournament,
    window_traits,
)
from devsim.evolution_scenario import parse_evolution_scenario
from devsim.provenance import code_digest

# A very small world and life so that a generation takes a fraction of a second.
TINY = dict(
    days=20,
    assess_from=16,
    assess_every=4,
    grid=(3, 2),
    per_cell=2,
    neurons=4,
    presentations_per_day=40,
    batch_size=4,
)


def tiny_model(rng=0, **changes) -> EvolutionModel:
    return EvolutionModel(**{**TINY, **changes}, rng=rng)


# --- determinism ----------------------------------------------------------------------------


def test_same_seed_same_history_different_seed_differs():
    a, b, c = tiny_model(5), tiny_model(5), tiny_model(6)
    for m in (a, b, c):
        m.step()
    pd.testing.assert_frame_equal(a.history(), b.history())
    assert not np.allclose(a.history()["fitness_mean"], c.history()["fitness_mean"])


# --- the mutation operator ------------------------------------------------------------------


def test_learning_rates_follow_evolution_strategies():
    tau0, tau = learning_rates(16)
    assert tau0 == pytest.approx(1 / math.sqrt(32))
    assert tau == pytest.approx(1 / math.sqrt(2 * 4))


def test_self_adapted_sigma_is_lognormal_with_the_right_taus():
    rng = np.random.default_rng(0)
    n, g = 40_000, 8
    values = np.zeros((n, g))
    sigmas = np.full((n, g), 0.1)
    low, high = np.full(g, -1e9), np.full(g, 1e9)
    _, new = mutate(values, sigmas, rng, low, high, np.zeros(g, bool))
    log_ratio = np.log(new / sigmas)
    tau0, tau = learning_rates(g)
    assert abs(log_ratio.mean()) < 0.01
    assert log_ratio.var() == pytest.approx(tau0**2 + tau**2, rel=0.03)
    # the shared N0 term: genes of one genome co-vary by tau0^2
    cov = np.cov(log_ratio[:, 0], log_ratio[:, 1])[0, 1]
    assert cov == pytest.approx(tau0**2, abs=0.01)
    # normal, not skewed: symmetric quantiles
    q = np.quantile(log_ratio, [0.05, 0.5, 0.95])
    assert abs(q[0] + q[2]) < 0.02
    assert abs(q[1]) < 0.01


def test_steps_have_the_new_sigma_and_fixed_mode_keeps_sigma():
    rng = np.random.default_rng(1)
    n, g = 20_000, 3
    sigmas = np.tile([0.5, 2.0, 0.0], (n, 1))
    big = np.full(g, 1e9)
    values, new = mutate(np.zeros((n, g)), sigmas, rng, -big, big, np.zeros(g, bool), False)
    assert np.array_equal(new, sigmas)
    assert values[:, 0].std() == pytest.approx(0.5, rel=0.03)
    assert values[:, 1].std() == pytest.approx(2.0, rel=0.03)
    assert np.all(values[:, 2] == 0.0)  # scale 0: the gene does not mutate


def test_values_are_reflected_or_wrapped_into_bounds():
    low, high = np.array([0.0, 0.0]), np.array([1.0, 180.0])
    periodic = np.array([False, True])
    x = np.array([[1.3, 190.0], [-0.2, -10.0], [2.6, 370.0]])
    out = into_bounds(x, low, high, periodic)
    np.testing.assert_allclose(out[:, 0], [0.7, 0.2, 0.6])
    np.testing.assert_allclose(out[:, 1], [10.0, 170.0, 10.0])


# --- selection and inheritance ---------------------------------------------------------------


def test_tournament_favours_the_fitter():
    rng = np.random.default_rng(2)
    fitness = np.arange(10.0)
    wins = tournament(rng, fitness, np.arange(10), 3, 20_000)
    counts = np.bincount(wins, minlength=10)
    assert np.all(np.diff(counts) > 0)  # strictly more offspring for fitter genomes
    assert np.array_equal(
        np.unique(tournament(rng, fitness, np.arange(10), 1, 5000)), np.arange(10)
    )


def test_fitter_organisms_leave_more_offspring_in_the_model():
    model = tiny_model(3, neighbourhood=5, per_cell=6)  # one neighbourhood: all compete
    organisms = model.organisms()
    rank = np.arange(len(organisms), dtype=float) / (len(organisms) - 1)
    for agent, f in zip(organisms, rank, strict=True):
        agent.traits["fitness"] = f
    model.reproduce()
    chosen = rank[model.parents_of_last_generation]
    # 3-way tournaments: the winner's expected rank is the 0.75 quantile (0.5 without selection)
    assert chosen.mean() > 0.65
    top, bottom = chosen >= 0.5, chosen < 0.5
    assert top.sum() > 2 * bottom.sum()


@pytest.mark.parametrize("tournament_size", [1, 3])
def test_the_effective_size_is_recorded_and_selection_lowers_it(tournament_size):
    """The effective size was not in the outputs (the docs gave a count made by hand):
    3-way tournaments concentrate parenthood, random parents give about N."""
    model = tiny_model(3, neighbourhood=5, per_cell=8, tournament=tournament_size)
    organisms = model.organisms()
    rank = np.arange(len(organisms), dtype=float) / (len(organisms) - 1)
    for agent, f in zip(organisms, rank, strict=True):
        agent.traits["fitness"] = f
    model.reproduce()
    parents, size = model.parentage
    n = len(organisms)
    if tournament_size == 1:  # Wright-Fisher: N in expectation
        assert 0.6 * n < size < 1.6 * n
    else:
        assert size < 0.75 * n
        assert parents < n


def test_each_bred_generation_records_its_parents_and_effective_size():
    model = tiny_model(5)
    model.step()
    table = model.history()
    founders, bred = table.iloc[0], table.iloc[-1]
    assert np.isnan(founders["parents"])  # nobody bred the founders
    assert np.isnan(founders["effective_size"])
    assert 1 <= bred["parents"] <= len(model.organisms())
    assert 0 < bred["effective_size"] < np.inf


def test_offspring_inherit_parent_genes_exactly_without_mutation():
    model = tiny_model(4, mutation=False, recombination=False, genome={"eta": 0.2})
    values, sigmas = model.genome_arrays()
    model.reproduce()
    child_values, child_sigmas = model.genome_arrays()
    parents = model.parents_of_last_generation
    assert np.array_equal(parents[:, 0], parents[:, 1])  # one parent without recombination
    parents = parents[:, 0]
    np.testing.assert_array_equal(child_values, values[parents])
    np.testing.assert_array_equal(child_sigmas, sigmas[parents])
    assert np.all(child_values[:, GENE_NAMES.index("eta")] == 0.2)


def test_with_recombination_each_gene_comes_from_one_of_the_two_recorded_parents():
    """parents_of_last_generation recorded only the first parent: a child's genes taken
    from the second pointed at nobody."""
    model = tiny_model(4, mutation=False, recombination=True)
    for row, agent in enumerate(model.organisms()):  # every founder's genes its own
        for n in model.gene_names:
            agent.genome.values[n] *= 1 + 1e-9 * row
    values, _ = model.genome_arrays()
    assert len(np.unique(values[:, 0])) == len(values)
    model.reproduce()
    children, _ = model.genome_arrays()
    parents = model.parents_of_last_generation
    assert parents.shape == (len(children), 2)
    from_first = children == values[parents[:, 0]]
    from_second = children == values[parents[:, 1]]
    assert np.all(from_first | from_second)
    assert np.any(~from_first)  # some genes came from the second parent alone


@pytest.mark.parametrize("selection", [True, False])
def test_recombining_parents_are_two_organisms_of_the_neighbourhood(selection):
    """Both parents were drawn by independent tournaments, so the fittest often won both:
    8-23 % of window_fixed_world's offspring were a clone of one haploid parent. The second
    parent is now another organism of the same neighbourhood, under selection and under
    the drift baseline's shuffled tournaments alike."""
    model = tiny_model(6, grid=(3, 2), per_cell=2, neighbourhood=1, selection=selection)
    organisms = model.organisms()
    for agent, f in zip(organisms, np.linspace(0, 1, len(organisms)), strict=True):
        agent.traits["fitness"] = f**8  # one organism far fitter: it would often win twice
    cell_of = [a.cell.coordinate for a in organisms]
    model.reproduce()
    parents = model.parents_of_last_generation
    assert np.all(parents[:, 0] != parents[:, 1])
    for child, (a, b) in zip(model.organisms(), parents, strict=True):
        home = model._neighbours[child.cell.coordinate]
        assert cell_of[a] in home
        assert cell_of[b] in home


def test_a_tournament_excluding_one_candidate_never_draws_it_and_favours_the_fitter():
    rng = np.random.default_rng(3)
    fitness = np.arange(6.0)
    pool = np.array([5, 2, 0, 4, 1, 3])  # in any order
    first = tournament(rng, fitness, pool, 3, 30_000)
    second = tournament(rng, fitness, pool, 3, 30_000, exclude=first)
    assert np.all(first != second)
    assert np.all(np.isin(second, pool))
    # the others still compete on fitness: after a first parent 2, 0 < 1 < 3 < 4 < 5
    counts = np.bincount(second[first == 2], minlength=6)
    assert counts[2] == 0
    assert np.all(np.diff(counts[[0, 1, 3, 4, 5]]) > 0)
    one = tournament(rng, fitness, np.array([2, 4]), 5, 100, exclude=np.full(100, 4))
    assert np.all(one == 2)  # two candidates, one excluded: the other, every time


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"per_cell": 1, "neighbourhood": 0}, "per_cell"),
        ({"grid": [1, 1], "per_cell": 1}, "per_cell"),
        ({"quick": {"grid": [1, 1], "per_cell": 1}}, "quick.per_cell"),
    ],
)
def test_recombination_with_a_neighbourhood_of_one_organism_is_refused(changes, field):
    base = {"name": "x", "grid": [3, 2], "per_cell": 2, "neighbourhood": 1}
    with pytest.raises(DevsimInputError) as info:
        parse_evolution_scenario({**base, **changes}, "my.toml")
    message = str(info.value)
    assert message.startswith(f"my.toml: {field}: 1 leaves a neighbourhood of one organism")
    assert "\n" not in message
    # the same population without recombination is an asexual one, and allowed
    parse_evolution_scenario({**base, **changes, "recombination": False}, "my.toml")


def test_selection_acts_on_developed_phenotypes():
    model = tiny_model(7)
    fitness = np.array([a.fitness for a in model.organisms()])
    traits = model.organisms()[0].traits
    assert np.all(np.isfinite(fitness))
    assert fitness.std() > 0
    costs = model.config.costs
    expected = (
        traits["quality"]
        - costs.plasticity * traits["plasticity"]
        - costs.activity * traits["activity"]
    )
    assert traits["fitness"] == pytest.approx(expected)


def test_a_costed_template_lowers_fitness_by_its_strength_and_nothing_else():
    """The template was free and learning charged for, so assimilation was partly built
    into the fitness: ``costs.template`` charges per unit of innate_strength. The same
    litter lives the same lives with and without it; only the fitness differs."""
    free, costed = (
        tiny_model(8, genome={"innate_strength": 0.4}, template_cost=c) for c in (0.0, 0.3)
    )
    strengths = []
    for a, b in zip(free.organisms(), costed.organisms(), strict=True):
        assert a.traits["quality"] == b.traits["quality"]
        assert a.traits["innate"] == b.traits["innate"]
        strengths.append(a.traits["innate"])
        assert b.traits["fitness"] == pytest.approx(a.traits["fitness"] - 0.3 * strengths[-1])
    assert 0 < min(strengths) < max(strengths)  # founders' own (mutated) templates


# --- environment and read-out helpers --------------------------------------------------------


def test_discriminability_grows_with_separation():
    r = np.zeros((2, 3, 4))
    r[1] = np.eye(3, 4) * 5.0
    d = discriminability(r, 1.0)
    assert d[0] == 0.0
    assert 0.5 < d[1] <= 1.0


def test_template_is_unit_rms_and_shifts_between_eyes():
    t = innate_template(np.array([0.0, 90.0]), np.array([0.0, 1.0]), 5, 8)
    assert t.shape == (2, 5, 128)
    np.testing.assert_allclose((t[..., :64] ** 2).mean(-1), 1.0, rtol=1e-5)
    np.testing.assert_allclose(t[0, :, :64], t[0, :, 64:], atol=1e-6)  # offset 0: same RF
    assert not np.allclose(t[1, :, :64], t[1, :, 64:])


def test_window_traits_and_circular_mean():
    gates = np.array([[0.0, 0.0], [0.9, 0.1], [0.6, 0.1], [0.2, 0.1]])
    traits = window_traits(gates, np.array([1.0, 2.0]))
    np.testing.assert_allclose(traits["plasticity"], [1.7, 0.6])
    assert traits["window_open"][0] == 1
    assert traits["window_close"][0] == 3
    assert math.isnan(traits["window_open"][1])
    mean, _ = circular_mean_sd(np.array([170.0, 10.0]))
    assert min(mean, 180 - mean) < 1e-6


def test_bad_model_arguments_raise_one_line_errors():
    with pytest.raises(DevsimInputError, match="evolve"):
        tiny_model(evolve=("not_a_gene",))
    with pytest.raises(DevsimInputError, match="deprivation"):
        EvolutionModel(**TINY, environment={"deprivation": 1.5})
    with pytest.raises(DevsimInputError, match="allowed keys"):
        parse_evolution_scenario({"name": "x", "environment": {"colour": 1}})


# --- CLI --------------------------------------------------------------------------------------

SCENARIO = """
name = "assimilation test"
seed = 3
generations = 50
days = 20
assess_from = 16
assess_every = 4
[environment]
orientation = "individual"
world_change = { left = 0.0, right = 1.0 }
world_change_days = [14, 15]
deprivation = 0.5
deprivation_days = [14, 15]
[quick]
generations = 2
grid = [2, 2]
neurons = 4
presentations_per_day = 40
batch_size = 4
"""


def test_cli_quick_run_writes_generations_table(tmp_path, capsys):
    scenario = tmp_path / "s.toml"
    scenario.write_text(SCENARIO)
    out = tmp_path / "out"
    assert cli.main(["evolve", str(scenario), "--out", str(out), "--quick"]) == 0
    table = pd.read_parquet(out / "generations.parquet")
    assert table["generation"].tolist() == [0, 1, 2]
    required = ["generation", "fitness_mean", "fitness_sd", "plasticity_mean", "innate_mean"]
    for gene in GENE_NAMES:
        required += [f"{gene}_mean", f"{gene}_sd", f"{gene}_sigma"]
    assert set(required) <= set(table.columns)
    assert table[required].notna().all().all()
    summary = json.loads((out / "summary.json").read_text())
    assert summary["final"]["generation"] == 2
    assert summary["final"]["plasticity_mean"] == pytest.approx(
        table["plasticity_mean"].iloc[-1], abs=1e-6
    )
    assert len(summary["habitat_map"]["plasticity"]) == 2  # columns
    for name in ("traits", "genes", "mutation_scales", "habitat_map"):
        assert (out / "figures" / f"{name}.png").stat().st_size > 0
    printed = capsys.readouterr()
    assert "generation 2/2: fitness" in printed.err  # progress on stderr, as every command's
    assert "generation 2/2" not in printed.out
    assert "2 generations)" in printed.out  # the results


def test_cli_seeds_write_one_folder_per_run_and_a_comparison(tmp_path):
    scenario = tmp_path / "s.toml"
    scenario.write_text(SCENARIO.replace("generations = 2\n", "generations = 1\n"))
    out = tmp_path / "out"
    assert cli.main(["evolve", str(scenario), "--out", str(out), "--quick", "--seeds", "2"]) == 0
    for seed in (3, 4):
        assert (out / "s" / f"seed{seed}" / "generations.parquet").exists()
    comparison = pd.read_csv(out / "comparison.csv")
    assert comparison["seed"].tolist() == [3, 4]
    assert (out / "comparison.png").stat().st_size > 0


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ('name = "x"\ngenerations = 0\n', "generations"),
        ('name = "x"\n[environment]\norientation = "sometimes"\n', "environment.orientation"),
        ('name = "x"\nevolve = ["eta", "wings"]\n', "evolve"),
        ('name = "x"\nbogus = 1\n', "allowed keys"),
    ],
)
def test_cli_bad_scenario_exits_2_with_one_line(tmp_path, capsys, text, field):
    scenario = tmp_path / "bad.toml"
    scenario.write_text(text)
    assert cli.main(["evolve", str(scenario), "--out", str(tmp_path / "o"), "--quick"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert str(scenario) in err
    assert field in err
    assert not (tmp_path / "o").exists()


def test_innate_orientations_share_set_by_the_genome():
    """innate_strength is the share of neurons the genome tunes to innate_orientation; the
    others cover all orientations evenly."""
    ori = innate_orientations(np.array([0.0, 0.5, 1.0]), np.array([30.0, 30.0, 30.0]), 32)
    assert ori.shape == (3, 32)
    assert np.sum(ori[0] == 30.0) == 0
    assert np.sum(ori[2] == 30.0) == 32
    assert abs(np.sum(ori[1] == 30.0) - 16) <= 1
    # untuned neurons: one in each 20-degree bin, give or take one
    counts = np.histogram(ori[0], bins=9, range=(0, 180))[0]
    assert counts.min() >= 2
    assert counts.max() <= 5
    # per-neuron orientations give the same fields as one orientation per organism
    same = innate_template(np.full((2, 4), 45.0), np.zeros(2), 4, 8)
    np.testing.assert_array_equal(same, innate_template(np.full(2, 45.0), np.zeros(2), 4, 8))


def template_cohort(model: EvolutionModel, neurons: int, **changes: np.ndarray):
    """Genes of the model's first organisms (one per value in ``changes``) with ``changes``
    applied, and a fresh Cohort of them in the model's world: (genes, cohort)."""
    from devsim.cohort import Cohort
    from devsim.genome import gene_table

    n = len(next(iter(changes.values())))
    genes = gene_table([a.genome for a in model.organisms()[:n]])
    genes.update(changes)
    model.world.assign(np.zeros(n, int), np.full(n, model.world_params.max_offset))
    cohort = Cohort(np.random.default_rng(1), genes, np.arange(n), model.world, neurons=neurons)
    return genes, cohort


def test_innate_map_sets_part_of_the_initial_wiring():
    """Every organism is born with the innate map at INNATE_MAP_SHARE of its wiring; the
    genes change which orientations it holds, not how much wiring it sets."""
    from devsim.evolution import INNATE_MAP_SHARE, INNATE_SCALE

    model = tiny_model(8)
    genes, cohort = template_cohort(
        model,
        32,
        innate_strength=np.array([0.0, 1.0, 1.0]),
        innate_orientation=np.array([0.0, 45.0, 90.0]),
        innate_offset=np.zeros(3),
    )
    before_w, before_m = cohort.weights.copy(), cohort.mask.copy()
    model._apply_template(cohort, genes)
    ori = innate_orientations(genes["innate_strength"], genes["innate_orientation"], 32)
    template = innate_template(ori, genes["innate_offset"], 32, 8)
    w_max = genes["w_max"][:, None, None]
    expected = np.clip(
        (1 - INNATE_MAP_SHARE) * before_w + INNATE_MAP_SHARE * INNATE_SCALE * template,
        -w_max,
        w_max,
    )
    np.testing.assert_allclose(cohort.weights, expected * cohort.mask, rtol=1e-5, atol=1e-6)
    # old synapses stay; about INNATE_MAP_SHARE of the free slots are added, at any strength
    assert (cohort.mask >= before_m).all()
    for i in range(3):
        added = (cohort.mask[i] & ~before_m[i]).sum() / (~before_m[i]).sum()
        assert abs(added - INNATE_MAP_SHARE) < 0.05
    # an all-orientation map and a tuned one carry the same amount of wiring
    rms = np.sqrt((cohort.weights**2).mean(axis=(1, 2)))
    assert rms.max() / rms.min() < 1.1
    # a tuned map's neurons share one orientation: their fields are alike
    corr = np.corrcoef(cohort.weights[1][:, :64])
    untuned = np.corrcoef(cohort.weights[0][:, :64])
    assert np.abs(corr).mean() > np.abs(untuned).mean()


def test_without_an_innate_map_the_template_genes_do_nothing():
    """innate_map = 0: the random projection alone; no draw, whatever the template genes."""
    model = tiny_model(8, innate_map=0.0)
    genes, cohort = template_cohort(model, 4, innate_strength=np.array([0.0, 1.0]))
    before_w, before_m = cohort.weights.copy(), cohort.mask.copy()
    state = model.rng.bit_generator.state
    model._apply_template(cohort, genes)
    np.testing.assert_array_equal(cohort.weights, before_w)
    np.testing.assert_array_equal(cohort.mask, before_m)
    assert model.rng.bit_generator.state == state


def test_cli_seeds_on_dask_match_serial_runs_and_resume(tmp_path, capsys):
    """Several runs on a local Dask cluster give the same files as in-process runs; a
    rerun keeps finished runs and only redoes what is missing."""
    scenario = tmp_path / "s.toml"
    scenario.write_text(SCENARIO.replace("generations = 2\n", "generations = 1\n"))
    serial, dask = tmp_path / "serial", tmp_path / "dask"
    common = [str(scenario), "--quick", "--seeds", "2"]
    assert cli.main(["evolve", *common, "--out", str(serial)]) == 0
    assert cli.main(["evolve", *common, "--out", str(dask), "--workers", "2"]) == 0
    for seed in (3, 4):
        a, b = serial / "s" / f"seed{seed}", dask / "s" / f"seed{seed}"
        assert (a / "summary.json").read_bytes() == (b / "summary.json").read_bytes()
        pd.testing.assert_frame_equal(
            pd.read_parquet(a / "generations.parquet"), pd.read_parquet(b / "generations.parquet")
        )
    kept = dask / "s" / "seed3" / "summary.json"
    before = kept.stat().st_mtime_ns
    (dask / "s" / "seed4" / "summary.json").unlink()  # as if stopped before it finished
    capsys.readouterr()
    assert cli.main(["evolve", *common, "--out", str(dask)]) == 0
    assert "1 of 2 runs already done" in capsys.readouterr().err
    assert kept.stat().st_mtime_ns == before
    assert (dask / "s" / "seed4" / "summary.json").exists()
    # another setting is another run: nothing is reused
    assert cli.main(["evolve", *common, "--out", str(dask), "--generations", "2"]) == 0
    assert json.loads(kept.read_text())["generations"] == 2
    # a run made by other devsim code is run again, and the log says so
    made = dask / "s" / "seed4" / "scenario.json"
    record = json.loads(made.read_text())
    assert record["code"] == code_digest()
    made.write_text(json.dumps({**record, "code": "sha256:0000000000000000"}, indent=1) + "\n")
    other = (dask / "s" / "seed4" / "summary.json").stat().st_mtime_ns
    before = kept.stat().st_mtime_ns
    capsys.readouterr()
    assert cli.main(["evolve", *common, "--out", str(dask), "--generations", "2"]) == 0
    printed = capsys.readouterr().err  # the log is stderr's; stdout holds the results
    assert "1 of 2 runs already done" in printed
    assert "1 of 2 runs were made by other devsim code; running them again" in printed
    assert kept.stat().st_mtime_ns == before
    assert (dask / "s" / "seed4" / "summary.json").stat().st_mtime_ns != other
    assert json.loads(made.read_text())["code"] == code_digest()


def test_log_axes_label_their_ticks_as_numbers(tmp_path, monkeypatch):
    """matplotlib labels log axes in TeX, which devsim's figures print as written: the
    mutation scales' axis reads 0.9 and 1, never $\\mathdefault{10^{0}}$."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from devsim.plots.evolution import plot_sigmas

    drawn = []
    monkeypatch.setattr(Figure, "savefig", lambda fig, *args, **kwargs: drawn.append(fig))
    table = pd.DataFrame({"generation": range(5), "eta_sigma": [1.0, 0.95, 0.9, 0.92, 0.85]})
    plot_sigmas(table, ["eta"], tmp_path / "mutation_scales.png")
    FigureCanvasAgg(drawn[0]).draw()
    axis = drawn[0].axes[0].yaxis
    labels = [t.get_text() for t in axis.get_ticklabels(which="both") if t.get_text()]
    assert labels
    assert all(float(label) > 0 for label in labels), labels


def test_the_world_reported_is_the_world_lived():
    """The world holds 12 orientations 15 degrees apart: an orientation asked between them
    lives as the nearest, and the tables and the habitat map report that one (they
    reported 10 where the animals lived 15)."""
    from devsim.evolution_scenario import parse_evolution_scenario

    base = {"name": "w", "days": 16, "assess_from": 15, "assess_every": 1, "grid": [4, 1],
            "per_cell": 1, "neurons": 2, "presentations_per_day": 4, "batch_size": 4,
            "generations": 1}  # fmt: skip
    environment = {"orientation": "constant", "orientation_value": 10.0}
    constant = parse_evolution_scenario({**base, "environment": environment})
    model = EvolutionModel(**constant.model_kwargs(), rng=1)
    assert model.history()["world_orientation"].tolist() == [15.0]
    assert model.grid.orientation.data[:, 0].tolist() == [15.0] * 4
    environment = {"orientation": "habitat", "orientation_value": 0.0, "orientation_span": 100.0}
    gradient = parse_evolution_scenario({**base, "environment": environment})
    model = EvolutionModel(**gradient.model_kwargs(), rng=1)
    assert model.grid.orientation.data[:, 0].tolist() == [0.0, 30.0, 60.0, 105.0]


def test_an_orientation_gene_is_drawn_without_wrap_around_spikes(tmp_path):
    """The circular mean of innate_orientation crossing 0/180 was drawn 0 -> 178 -> 0: a
    spike that is not evolution."""
    from devsim.plots.evolution import plot_genes

    table = pd.DataFrame({
        "generation": [0, 1, 2, 3, 4],
        "innate_orientation_mean": [178.0, 1.0, 179.0, 2.0, 177.0],
        "innate_orientation_sd": [3.0] * 5,
        "eta_mean": [0.2, 0.21, 0.22, 0.2, 0.19],
        "eta_sd": [0.01] * 5,
    })  # fmt: skip
    fig = plot_genes(table, ["innate_orientation", "eta"], tmp_path / "genes.png")
    orientation = fig.axes[0].lines[0].get_ydata()
    assert np.ptp(orientation) < 10  # within degrees of each other, as the angles are
    assert "unwrapped" in fig.axes[0].get_title()
    assert list(fig.axes[1].lines[0].get_ydata()) == [0.2, 0.21, 0.22, 0.2, 0.19]


def test_quick_says_what_it_changed_of_the_file(tmp_path, capsys):
    """--quick replaced a researcher's per_cell = 4 with its own 2 and said nothing (the
    summary said population 12)."""
    scenario = tmp_path / "s.toml"
    scenario.write_text(SCENARIO.replace("seed = 3\n", "seed = 3\nper_cell = 4\n"))
    assert cli.main(["evolve", str(scenario), "--out", str(tmp_path / "o"), "--quick"]) == 0
    err = capsys.readouterr().err
    assert "--quick runs " in err
    assert "per_cell 2 (the file: 4)" in err
    assert "a smoke test, not evidence" in err


def test_quick_does_not_claim_the_generations_an_option_set():
    """--quick --generations 1 said "generations 2 (the file: 50)" and ran one."""
    import tomllib

    from devsim.cli.evolve import quick_changes

    full = parse_evolution_scenario(tomllib.loads(SCENARIO), "s.toml")
    quick = full.quick_version().with_changes(generations=1)
    assert "generations 2" in quick_changes(full, full.quick_version())
    note = quick_changes(full, quick, given=("generations",))
    assert "generations" not in note
    assert "--quick runs " in note


@pytest.mark.parametrize("seed", [-1, 1.0, True, 2**64])
def test_evolve_from_python_checks_its_seed(seed):
    """evolve(scenario, seed) failed inside numpy (-1, 1.0), recorded True as the seed and
    took 2**64, which no other command takes."""
    import tomllib

    from devsim.evolution_runs import evolve

    scenario = parse_evolution_scenario(tomllib.loads(SCENARIO), "s.toml")
    with pytest.raises(DevsimInputError, match=r"^seed: a whole number 0\.\.4294967295"):
        evolve(scenario, seed, progress=False)
    with pytest.raises(TypeError, match="expected an EvolutionScenario"):
        evolve("assimilation_constant", 0, progress=False)


def test_the_drift_baseline_keeps_selections_effective_size_without_selecting():
    """--drift drew parents at random (tournaments of one): about twice the effective size
    of 3-way tournaments, so it drifted less than the runs it was the baseline of. Without
    selection the tournaments run on shuffled fitness: parenthood as concentrated, but
    blind to fitness."""
    sizes, ranks = {}, {}
    for selection in (True, False):
        kept, chosen = [], []
        for seed in range(6):
            model = tiny_model(seed, neighbourhood=5, per_cell=8, selection=selection)
            organisms = model.organisms()
            rank = np.arange(len(organisms), dtype=float) / (len(organisms) - 1)
            for agent, f in zip(organisms, rank, strict=True):
                agent.traits["fitness"] = f
            model.reproduce()
            kept.append(model.parentage[1])
            chosen.append(rank[model.parents_of_last_generation].mean())
        sizes[selection], ranks[selection] = np.mean(kept), np.mean(chosen)
    n = 48
    assert sizes[False] < 0.75 * n  # not Wright-Fisher's N: selection's concentration
    assert 0.7 < sizes[False] / sizes[True] < 1.4
    assert ranks[True] > 0.65  # 3-way tournaments pick the fit (0.75 quantile)
    assert abs(ranks[False] - 0.5) < 0.06  # shuffled: the fit are not favoured


def test_without_selection_the_orientation_sigma_over_the_markers_scatters_about_one():
    """The σ signature of selection (orientation gene's σ change / the neutral marker's)
    fell below 1 with no selection at all (median 0.14 over 200 neutral runs at
    mutation_scales' settings, benchmarks/neutral_sigma.py): the
    marker's σ could grow 50x, the orientation gene's 4.5x. The marker now mutates as the
    orientation gene does. The model's own operators, fitness without genetic content."""
    from devsim.evolution import GENE_BY_NAME, PERIODIC_GENES, mutate

    genes = [GENE_BY_NAME["innate_orientation"], GENE_BY_NAME["marker"]]
    low, high = np.array([g.low for g in genes]), np.array([g.high for g in genes])
    periodic = np.array([g.name in PERIODIC_GENES for g in genes])
    start = np.array([g.sigma for g in genes]) * 2.0  # the timescale scenarios' scale
    bounds = {"sigma_floor": 1e-3 * start, "sigma_ceiling": (high - low) / 2}
    ratios = []
    for seed in range(120):
        rng, n = np.random.default_rng(seed), 64
        values, sigmas = np.zeros((n, 2)), np.tile(start, (n, 1))
        values, sigmas = mutate(values, sigmas, rng, low, high, periodic, **bounds)
        first = sigmas.mean(axis=0)
        for _ in range(100):
            noise = rng.random(n)  # no genetic information: drift at selection's Ne
            a, b = choose_parents(rng, noise, [np.arange(n)], 3, n, recombination=True)
            take = rng.random(values.shape) < 0.5
            values, sigmas = (
                np.where(take, values[b], values[a]),
                np.where(take, sigmas[b], sigmas[a]),
            )
            values, sigmas = mutate(values, sigmas, rng, low, high, periodic, **bounds)
        change = sigmas.mean(axis=0) / first
        ratios.append(change[0] / change[1])
    ratios = np.array(ratios)
    assert 0.6 < np.median(ratios) < 1.6, np.median(ratios)
    assert 0.35 < np.mean(ratios < 1) < 0.65


def test_each_generation_records_its_heritability_and_selection_differential():
    """The breeder's equation's terms (R = h² S) were not recorded: parents were kept
    (parents_of_last_generation) and never read. A fitness that is a gene inherited
    exactly has a heritability of 1; tournaments on it give a positive selection
    differential, the drift baseline's shuffled ones none."""
    for selection in (True, False):
        model = tiny_model(2, neighbourhood=5, per_cell=8, recombination=False,
                           mutation_scale=5.0, selection=selection)  # fmt: skip
        model.config = model.config.model_copy(update={"mutation": False})

        lived = model.live

        def fitness_is_eta(model=model):
            for agent in model.organisms():
                agent.traits["fitness"] = agent.genome.values["eta"]

        def live(lived=lived, fitness_is_eta=fitness_is_eta):  # development, then fitness = eta
            lived()
            fitness_is_eta()

        fitness_is_eta()  # the founders'
        spread = np.std([a.fitness for a in model.organisms()])
        model.live = live
        model.step()
        row = model.history().iloc[-1]
        founders = model.history().iloc[0]
        assert np.isnan(founders["heritability"])
        assert np.isnan(founders["selection_differential"])
        assert row["heritability"] == pytest.approx(1.0)
        if selection:
            assert row["selection_differential"] > 0.3 * spread
            # exact inheritance: each generation's mean rises by exactly its S, so the
            # realised heritability over the run (cumulative R on cumulative S) is 1
            assert np.isnan(realised_heritability(model.history()))  # one bred generation
            model.step()
            model.step()
            # (the founders' recorded fitness is their development's, from before fitness
            # became eta: their generation is left out, as a missing one is)
            history = model.history()
            assert realised_heritability(history[history["generation"] > 0]) == pytest.approx(1.0)
        else:
            assert abs(row["selection_differential"]) < 0.3 * spread


def test_the_marker_is_the_sigma_reference_only_of_the_gene_it_copies():
    """summary.json gave every evolving gene a σ ratio to the marker, but the marker
    mutates as innate_orientation does: another gene's range and ceiling drift otherwise,
    so its ratio would not scatter about 1 without selection."""
    from devsim.evolution_runs import evolve

    scenario = parse_evolution_scenario({
        "name": "ratios", "generations": 1, **TINY, "grid": [3, 2],
        "evolve": ["eta", "innate_strength", "innate_orientation", "marker"],
    })  # fmt: skip
    summary = evolve(scenario, seed=1, progress=False)["summary"]
    assert set(summary["sigma_ratio_to_marker"]) == {"innate_orientation"}
    assert set(summary["sigma_change"]) >= {"eta", "innate_orientation", "marker"}

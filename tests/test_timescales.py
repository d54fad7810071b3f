"""Worlds of several features on their own timescales, and the spectrum's analysis."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from test_evolution import TINY  # the evolution tests' very small world and life

from devsim import cli
from devsim.errors import DevsimInputError
from devsim.evolution import EvolutionModel, base_gene
from devsim.evolution_scenario import DEFAULT_REGIONAL, parse_evolution_scenario
from devsim.islands import island_generators
from devsim.shipped import resolve
from devsim.timescales import (
    claims,
    feature_timescale,
    holm,
    layer_measures,
    predictions,
    shares,
    smallest_p,
    timescale_label,
    versus_drift,
)

FEATURES = [
    {"name": "fixed", "orientation": "constant", "orientation_value": 90.0},
    {"name": "every_2", "orientation": "generations", "orientation_every": 2},
    {"name": "individual", "orientation": "individual"},
    {
        "name": "within_life",
        "orientation": "constant",
        "orientation_value": 45.0,
        "world_change": 1.0,
        "world_change_days": [15, 17],  # after eye opening (P14): a change the animal sees
    },
]


def features_model(rng=0, **changes) -> EvolutionModel:
    return EvolutionModel(**{**TINY, "features": FEATURES, **changes}, rng=rng)


def test_an_organisms_window_is_the_mean_over_its_regions_that_opened():
    """One region whose window never opened made the organism's opening and closing days
    NaN, and dropped it from window_open_mean: in a quick timescales run, half the
    organisms."""
    from devsim.evolution import build_evolution_model
    from devsim.evolution_scenario import load_evolution_scenario

    scenario = load_evolution_scenario(resolve("timescales", "evolution", "evolution"))
    model = build_evolution_model(scenario.quick_version(), 2)
    model.step()
    names = [f.name for f in scenario.features]
    some_unopened = 0
    for agent in model.organisms():
        regions = np.array([agent.traits[f"window_open@{n}"] for n in names])
        opened = np.isfinite(regions)
        some_unopened += bool(opened.any() and not opened.all())
        if opened.any():
            assert agent.traits["window_open"] == pytest.approx(regions[opened].mean())
        else:
            assert np.isnan(agent.traits["window_open"])
    assert some_unopened  # the case this checks occurs


# --- the genome: one copy of each regional gene per feature -----------------------------------
def test_regional_genes_have_one_column_per_feature_and_reach_their_region():
    m = features_model()
    names = [f["name"] for f in FEATURES]
    for gene in DEFAULT_REGIONAL:
        assert gene not in m.gene_names
        assert [n for n in m.gene_names if base_gene(n) == gene] == [f"{gene}@{f}" for f in names]
    assert "marker" in m.gene_names
    assert "innate_offset" in m.gene_names
    organisms = m.organisms()
    values, _ = m.genome_arrays(organisms)
    rows = m.row_genes(organisms)
    r = len(names)
    for k, f in enumerate(names):  # organism i's region k is row i * r + k
        column = values[:, m.gene_names.index(f"eta@{f}")]
        assert np.array_equal(rows["eta"][k::r], column)
    marker = values[:, m.gene_names.index("marker")]
    for k in range(r):
        assert np.array_equal(rows["marker"][k::r], marker)
    # founders start alike, one round of mutation apart: copies differ between regions
    assert not np.array_equal(rows["eta"][0::r], rows["eta"][1::r])


def test_each_feature_varies_on_its_own_timescale():
    m = features_model(3)
    k = m.world_params.orientations
    birth = []
    for _ in range(4):
        m.step()
        birth.append(m.last_row)
    table = m.history()
    assert (table["world_orientation@fixed"] == 90.0).all()
    changes = table["world_orientation@every_2"].diff().fillna(0) != 0
    assert changes.tolist() == [False, False, True, False, True]  # generations 2 and 4
    assert table["world_orientation@individual"].isna().all()
    # this generation's worlds, as the organisms' regions saw them at the end of life
    organisms = len(m.organisms())
    seen = m.world.orientation_bin.reshape(organisms, len(FEATURES))
    assert (seen[:, 0] == round(90.0 / m.world_params.bin_degrees) % k).all()
    assert len(set(seen[:, 2])) > 1  # drawn for each individual
    born = round(45.0 / m.world_params.bin_degrees) % k
    assert (seen[:, 3] != born).all()  # every within-life world changed before the end
    assert table["world_changed_fraction"].iloc[-1] == 1.0


def test_traits_are_recorded_per_feature_and_fitness_counts_every_region():
    m = features_model(1)
    a = m.organisms()[0]
    regions = [a.traits[f"quality@{f['name']}"] for f in FEATURES]
    assert a.traits["quality"] == pytest.approx(np.mean(regions))
    row = m.last_row
    for trait in ("template_match", "innate_effective", "window_close", "adult_gate"):
        for f in FEATURES:
            assert f"{trait}@{f['name']}_mean" in row
    assert np.isfinite(row["innate_orientation@fixed_sigma"])


def test_a_features_model_rebuilt_from_its_state_continues_exactly():
    kwargs = dict(**TINY, features=FEATURES)
    rng, world = island_generators(2, 0)
    straight = EvolutionModel(**kwargs, rng=rng, world_rng=world)
    straight.step()
    straight.step()
    rng, world = island_generators(2, 0)
    first = EvolutionModel(**kwargs, rng=rng, world_rng=world)
    first.step()
    rng, world = island_generators(2, 0)
    second = EvolutionModel(**kwargs, rng=rng, world_rng=world, state=first.state())
    second.step()  # generation 2: every_2's world is redrawn from the restored one
    assert pd.Series(second.last_row).equals(pd.Series(straight.last_row))


# --- scenario files ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("change", "where", "says"),
    [
        ({"features": [{"name": "a", "bogus": 1}]}, "features[0].bogus", "allowed keys:"),
        ({"features": [{"name": "A"}]}, "features[0].name", "lowercase letter"),
        ({"features": [{"name": "a"}, {"name": "a"}]}, "features", "its own name"),
        (
            {"features": [{"name": "a"}], "environment": {"orientation": "individual"}},
            "environment.orientation",
            "remove it from [environment]",
        ),
        (
            {"features": [{"name": "a", "world_change": 1.0, "world_change_days": [10, 80]}]},
            "features[0].world_change_days",
            "allowed days 0..59",
        ),
        ({"features": [{"name": "a"}], "regional": ["r_exc"]}, "regional", "cortical sheet"),
        ({"regional": ["eta"]}, "regional", "only a world of [[features]]"),  # ran as without
        ({"features": [{"name": f"f{i}"} for i in range(17)]}, "features", "at most 16"),
    ],
)
def test_bad_features_are_one_line_naming_the_field(change, where, says):
    with pytest.raises(DevsimInputError) as err:
        parse_evolution_scenario({"name": "x", **change}, source="w.toml")
    text = str(err.value)
    assert "\n" not in text
    assert text.startswith(f"w.toml: {where}")
    assert says in text


def test_a_bad_features_file_exits_2_with_one_line(tmp_path, capsys):
    path = tmp_path / "w.toml"
    path.write_text('name = "w"\n[[features]]\nname = "x"\norientation = "weekly"\n')
    assert cli.main(["evolve", str(path), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert "features[0].orientation" in err[0]
    assert "w.toml" in err[0]
    assert not (tmp_path / "o").exists()


def test_shipped_spectrum_and_control_differ_in_one_feature_only():
    from devsim.evolution_scenario import load_evolution_scenario

    spectrum = load_evolution_scenario(resolve("timescales", "evolution"))
    control = load_evolution_scenario(resolve("timescales_control", "evolution"))
    a = {f.name: f for f in spectrum.features}
    b = {f.name: f for f in control.features}
    assert list(a) == list(b)
    differ = [n for n in a if a[n] != b[n]]
    assert differ == ["every_10"]
    assert b["every_10"].orientation == "constant"
    same = spectrum.model_dump(exclude={"name", "description", "features"})
    assert same == control.model_dump(exclude={"name", "description", "features"})
    labels = [timescale_label(feature_timescale(f, spectrum.days)) for f in spectrum.features]
    assert labels == ["fixed", "every 50 gen.", "every 10 gen.", "each individual", "within a life"]


# --- the analysis ------------------------------------------------------------------------------
def end_state(**per_feature) -> dict[str, float]:
    """A run's end state with the given values ``<trait>@<feature>_mean`` and
    ``<gene>@<feature>_sigma_change``."""
    out = {"marker_sigma_change": 0.5}
    for key, value in per_feature.items():
        out[key.replace("__", "@")] = value
    return out


def test_layer_measures_split_learning_at_the_window_close():
    end = end_state(
        eta__f_mean=0.2,
        window_close__f_mean=30.0,
        adult_gate__f_mean=0.05,
        plasticity__f_mean=2.0,
        innate__f_mean=0.8,
        template_match__f_mean=0.95,
        innate_effective__f_mean=0.76,
        innate_orientation__f_sigma_change=0.01,
        floor_adult__f_mean=0.04,
    )
    m = layer_measures(end, "f", days=60)
    assert m["adult_learning"] == pytest.approx(0.2 * 0.05 * 30)
    assert m["window_learning"] == pytest.approx(2.0 - 0.3)
    assert m["sigma_ratio"] == pytest.approx(0.02)
    assert m["innate_effective"] == 0.76


def test_shares_scale_each_layer_by_its_largest_use_then_sum_to_one():
    loads = {
        "fixed": {"genome": 0.8, "window": 0.5, "adult": 0.0},
        "individual": {"genome": -0.1, "window": 1.0, "adult": 0.1},
        "life": {"genome": 0.0, "window": 0.5, "adult": 0.4},
    }
    s = shares(loads)
    for v in s.values():
        assert sum(v.values()) == pytest.approx(1.0)
    assert s["fixed"]["genome"] == pytest.approx(1.0 / 1.5)
    assert s["individual"]["genome"] == 0.0  # a template against the world carries nothing
    assert s["life"]["adult"] == pytest.approx(1.0 / 1.5)


def test_predictions_hold_and_fail_on_the_measured_values():
    timescales = {"fixed": math.inf, "g10": 10.0, "ind": 1.0, "life": 0.6}
    good = {
        "innate_strength@fixed": 0.7,
        "template_match@fixed": 0.95,
        "sigma_ratio@fixed": 0.05,
        "sigma_ratio@g10": 0.4,
        "eta@fixed": 0.01,
        "eta@ind": 0.05,
        "window_learning@fixed": 0.1,
        "window_learning@ind": 0.3,
        "template_match@ind": 0.02,
        "adult_gate@fixed": 0.001,
        "adult_gate@ind": 0.01,
        "adult_gate@life": 0.03,
    }
    checks = predictions(good, timescales)
    assert len(checks) == 8
    assert all(c["holds"] for c in checks)
    bad = {**good, "sigma_ratio@g10": 0.01, "eta@ind": 0.015, "adult_gate@life": 0.015}
    failed = [c["claim"] for c in predictions(bad, timescales) if not c["holds"]]
    assert failed == [
        "g10: orientation sigma / fixed's",
        "ind: learning rate / fixed's",
        "life: adult gate / ind's",
    ]
    # a measure the run lacks (no marker evolved: no sigma ratio) leaves its claims out
    # (a KeyError once, after every run had finished)
    unmeasured = {k: v for k, v in good.items() if not k.startswith("sigma_ratio")}
    left = [c["claim"] for c in predictions(unmeasured, timescales)]
    assert len(left) == 6
    assert not any("sigma" in claim for claim in left)


def test_a_prediction_is_beyond_drift_only_where_selections_seeds_differ_from_drifts():
    """'Holds under drift' compared each arm's mean with the target, never the arms with
    each other: 0.866 against drift's 0.860 counted as selection's when 0.816 was the bar."""
    timescales = {"fixed": math.inf}

    def arm(strengths):
        return [{"innate_strength@fixed": v, "template_match@fixed": 0.5,
                 "sigma_ratio@fixed": 1.0} for v in strengths]  # fmt: skip

    apart = versus_drift(
        timescales, arm([0.8, 0.85, 0.9, 0.95, 0.99]), arm([0.1, 0.2, 0.3, 0.4, 0.5])
    )
    assert apart["fixed: template strength"] == pytest.approx(3 / 252)  # 1/252, Holm x 3
    alike = versus_drift(
        timescales, arm([0.2, 0.4, 0.6, 0.8, 0.9]), arm([0.1, 0.3, 0.5, 0.7, 0.95])
    )
    assert alike["fixed: template strength"] > 0.3
    # less is selection's side for a sigma ratio
    low = arm([0.5] * 5)
    for k, m in enumerate(low):
        m["sigma_ratio@fixed"] = 0.01 * (k + 1)
    assert (
        versus_drift(timescales, low, arm([0.5] * 5))["fixed: orientation sigma / marker sigma"]
        < 0.05
    )


def test_holm_adjusts_the_smallest_p_by_the_number_of_claims():
    assert holm([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06])
    assert holm([0.5, 0.001]) == pytest.approx([0.5, 0.002])


def tiny_spectrum(folder) -> Path:
    """A scenario file of a tiny world with the first three FEATURES."""
    path = folder / "spectrum.toml"
    features = "".join(
        f'[[features]]\nname = "{f["name"]}"\norientation = "{f["orientation"]}"\n'
        for f in FEATURES[:3]
    )
    path.write_text(
        'name = "tiny spectrum"\ndays = 20\nassess_from = 16\nassess_every = 4\n'
        "generations = 2\ngrid = [2, 1]\nper_cell = 2\nneurons = 4\n"
        "presentations_per_day = 16\nbatch_size = 4\n" + features
    )
    return path


def test_evolve_writes_the_spectrum_for_worlds_of_several_features(tmp_path, capsys):
    path = tiny_spectrum(tmp_path)
    out = tmp_path / "o"
    assert cli.main(["evolve", str(path), "--seeds", "2", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "which layer carries each feature" in printed
    # the last line names every file written (it left the spectrum's three out)
    last = printed.strip().splitlines()[-1]
    assert last.endswith("comparison.png, timescales.csv, predictions.csv, timescales.png)")
    summary = pd.read_csv(out / "timescales.csv")
    for f in ("fixed", "every_2", "individual"):
        for measure in ("innate_effective", "sigma_ratio", "window_learning", "adult_learning"):
            assert f"{measure}@{f}" in set(summary["metric"])
    checks = pd.read_csv(out / "predictions.csv")
    assert set(checks["claim"]) >= {
        "fixed: template strength",
        "individual: learning rate / fixed's",
        "every_2: orientation sigma / fixed's",
    }
    assert (out / "timescales.png").stat().st_size > 10_000


def test_a_scenario_without_features_beside_one_with_them_gets_no_spectrum(tmp_path, capsys):
    """The spectrum is measured on the scenarios whose worlds have features; another
    scenario in the same command gets no (NaN) predictions and no headline figure."""
    common = (
        "days = 20\nassess_from = 16\nassess_every = 4\ngenerations = 2\ngrid = [2, 1]\n"
        "per_cell = 2\nneurons = 4\npresentations_per_day = 16\nbatch_size = 4\n"
    )
    plain = tmp_path / "plain.toml"
    plain.write_text('name = "plain"\n' + common)
    spectrum = tmp_path / "spectrum.toml"
    spectrum.write_text(
        'name = "spectrum"\n'
        + common
        + "".join(
            f'[[features]]\nname = "{f["name"]}"\norientation = "{f["orientation"]}"\n'
            for f in FEATURES[:2]
        )
    )
    out = tmp_path / "o"
    assert cli.main(["evolve", str(plain), str(spectrum), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "nan" not in printed.lower()
    checks = pd.read_csv(out / "predictions.csv")
    assert set(checks["scenario"]) == {"spectrum"}
    assert checks["value"].notna().all()
    summary = pd.read_csv(out / "timescales.csv")
    assert set(summary["scenario"]) == {"spectrum"}
    assert summary["mean"].notna().all()


def test_each_prediction_is_checked_on_the_drift_baseline_too(tmp_path, capsys):
    """The spectrum's predictions were checked on the selection arm only, so a prediction
    that drift meets as well (no evidence of selection) counted as holding; then each arm
    was checked against the target alone. Now selection's seeds are tested against
    drift's, and only a difference counts."""
    path = tiny_spectrum(tmp_path)
    out = tmp_path / "o"
    assert cli.main(["evolve", str(path), "--drift", "--seeds", "2", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    checks = pd.read_csv(out / "predictions.csv")
    summary = pd.read_csv(out / "timescales.csv")
    drift = summary[summary["selection"] == "off"].set_index("metric")["mean"].to_dict()
    timescales = {"fixed": math.inf, "every_2": 2.0, "individual": 1.0}
    expected = predictions(drift, timescales)
    assert list(checks["drift_value"]) == pytest.approx([c["value"] for c in expected])
    assert list(checks["holds_under_drift"]) == [c["holds"] for c in expected]
    # two seeds an arm: a one-sided rank test can reach 1/6 at best, 6/6 over six tested
    # claims: untested, and said so (not "not beyond drift", which reads as a finding)
    tested = checks[checks["claim"] != "individual: |template match|"]
    assert tested["p_vs_drift"].between(1 / 6 - 1e-9, 1).all(), tested["p_vs_drift"]
    assert checks.loc[checks["claim"] == "individual: |template match|", "p_vs_drift"].isna().all()
    assert not checks["tested"].any()
    assert not checks["beyond_drift"].any()
    assert "too few seeds to test against drift: the smallest p they allow is 1, " in printed
    held = checks[checks["holds"]]
    assert f"{len(held)} of {len(checks)} hold; 0 of them beyond drift (p < 0.05): evidence " \
        f"of selection; {len(held)} untested" in printed  # fmt: skip


def test_how_small_a_p_the_seeds_allow():
    timescales = {"fixed": math.inf, "g10": 10.0, "ind": 1.0, "life": 0.6}
    # 8 claims, the template match of a world drawn for each individual not among them
    assert sum(c.tested for c in claims(timescales)) == 7
    assert smallest_p(5, 5, timescales) == pytest.approx(7 / 252)
    assert smallest_p(4, 4, timescales) == pytest.approx(7 / 70)
    assert smallest_p(5, 0, timescales) == math.inf


def test_an_interval_reaching_zero_has_no_lower_whisker_on_a_log_panel(tmp_path):
    """A σ ratio of 3.02 [−5.1, 11] was drawn down to 3.02/1000: three decades of spread
    that are not in the data."""
    from devsim.plots.evolution import plot_timescales

    rows = []
    for f, (mean, low, high) in {
        "fixed": (3.02, -5.1, 11.0),
        "individual": (0.5, 0.2, 0.8),
    }.items():
        for measure in ("innate_effective", "sigma_ratio", "window_learning", "adult_learning"):
            rows.append({"scenario": "s", "selection": "on", "metric": f"{measure}@{f}",
                         "mean": mean, "ci_low": low, "ci_high": high})  # fmt: skip
    fig = plot_timescales(pd.DataFrame(rows), [("fixed", "fixed"), ("individual", "individual")],
                          {}, tmp_path / "t.png")  # fmt: skip
    sigma = fig.axes[2]
    assert "reaches 0" in sigma.get_title()
    (_, _, (bars,)) = sigma.containers[0]
    lows = [min(seg[:, 1]) for seg in bars.get_segments()]
    assert lows == pytest.approx([3.02, 0.2])  # no whisker below the first; the second's own


def test_a_measure_over_decades_is_summarised_by_its_geometric_mean():
    """Learning rates and σ ratios spread over decades between seeds: 1, 10 and 100 have
    the arithmetic interval 37 ± 136 (below 0), the geometric one 10 [0.033, 3.0e3]."""
    from scipy.stats import t

    from devsim.evolution_runs import summarise

    runs = pd.DataFrame({"scenario": ["a"] * 3 + ["b"] * 2 + ["c"], "selection": ["on"] * 6,
                         "seed": range(6), "x": [1.0, 10.0, 100.0, 0.0, 2.0, 4.0]})  # fmt: skip
    table = summarise(runs).set_index("scenario")
    a = table.loc["a"]
    half = t.ppf(0.975, 2) * math.log(10) / math.sqrt(3)  # the logs' sd is log 10
    assert a["geo_mean"] == pytest.approx(10.0)
    assert a["geo_ci_low"] == pytest.approx(10 * math.exp(-half))
    assert a["geo_ci_high"] == pytest.approx(10 * math.exp(half))
    assert a["ci_low"] < 0 < a["geo_ci_low"]
    assert np.isnan(table.loc["b", "geo_mean"])  # a seed at 0 has no logarithm
    c = table.loc["c"]  # one seed: its value, no interval
    assert c["geo_mean"] == 4.0
    assert np.isnan(c["geo_ci_low"])


def test_a_log_panel_draws_the_geometric_mean_and_its_interval(tmp_path):
    from devsim.plots.evolution import plot_timescales

    rows = []
    for measure in ("innate_effective", "sigma_ratio", "window_learning", "adult_learning"):
        rows.append({"scenario": "s", "selection": "on", "metric": f"{measure}@fixed",
                     "mean": 37.0, "ci_low": -87.0, "ci_high": 161.0, "geo_mean": 10.0,
                     "geo_ci_low": 0.5, "geo_ci_high": 200.0})  # fmt: skip
    fig = plot_timescales(pd.DataFrame(rows), [("fixed", "fixed")], {}, tmp_path / "t.png")
    linear, sigma = fig.axes[1], fig.axes[2]
    assert "geometric mean" in sigma.get_title()
    assert "reaches 0" not in sigma.get_title()
    (_, _, (bars,)) = sigma.containers[0]
    assert bars.get_segments()[0][:, 1] == pytest.approx([0.5, 200.0])
    assert "geometric" not in linear.get_title()  # a linear panel keeps the mean
    (_, _, (bars,)) = linear.containers[0]
    assert bars.get_segments()[0][:, 1] == pytest.approx([-87.0, 161.0])


def test_a_spectrum_whose_marker_does_not_evolve_reports_the_rest(tmp_path, capsys):
    """Without the marker in `evolve` (a valid scenario) the run ended, after every
    generation had been lived, in a KeyError at predictions.csv."""
    path = tiny_spectrum(tmp_path)
    path.write_text(
        path.read_text().replace("batch_size = 4\n", 'batch_size = 4\nevolve = ["eta"]\n')
    )
    out = tmp_path / "o"
    assert cli.main(["evolve", str(path), "--seeds", "2", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    checks = pd.read_csv(out / "predictions.csv")
    assert not checks["claim"].str.contains("sigma").any()
    assert "individual: learning rate / fixed's" in set(checks["claim"])
    assert "2 not measured (a measure they read is missing or zero" in printed


def test_the_smallest_p_is_a_probability():
    """Two seeds an arm over eight predictions printed "the smallest p they allow is 1.3"."""
    timescales = {"fixed": math.inf, "g10": 10.0, "ind": 1.0, "life": 0.6}
    assert smallest_p(2, 2, timescales) == 1.0

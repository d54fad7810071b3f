"""Exact properties of the measures (docs/science.md, Measures)."""

from __future__ import annotations

import numpy as np
import pytest

from devsim import measures as m


def test_odi_bounds_and_values():
    odi = m.ocular_dominance_index(np.array([1.0, 0.0, 2.0]), np.array([0.0, 1.0, 2.0]))
    assert odi.tolist() == [1.0, -1.0, 0.0]


def test_od_classes_follow_hubel_wiesel_edges():
    odi = np.array([1.0, 0.76, 0.75, 0.5, 0.2, 0.0, -0.2, -0.5, -0.76, -1.0])
    assert m.od_classes(odi).tolist() == [1, 1, 2, 2, 3, 4, 5, 6, 7, 7]


def test_histogram_sums_to_responsive_cells():
    rng = np.random.default_rng(0)
    odi = rng.uniform(-1, 1, 500)
    hist = m.od_histogram(odi)
    assert hist.sum() == 500
    assert hist.shape == (7,)


@pytest.mark.parametrize(
    ("hist", "cbi"),
    [
        ([10, 0, 0, 0, 0, 0, 0], 1.0),
        ([0, 0, 0, 0, 0, 0, 10], 0.0),
        ([0, 0, 0, 10, 0, 0, 0], 0.5),
        ([0, 6, 0, 0, 0, 0, 0], (2 / 3 * 6 + 6) / 12),
    ],
)
def test_cbi_formula(hist, cbi):
    assert m.contralateral_bias_index(np.array(hist)) == pytest.approx(cbi)


def test_binocular_fraction_and_monocularity():
    hist = np.array([1, 2, 3, 4, 3, 2, 1])
    assert m.binocular_fraction(hist) == pytest.approx(14 / 16)
    assert m.monocularity_index(hist) == pytest.approx((2 + 2 / 3 * 4 + 1 / 3 * 6) / 16)
    assert m.class_share(hist, 3, 5) == pytest.approx(10 / 16)  # the balanced classes
    assert m.class_share(hist, 7, 7) == pytest.approx(1 / 16)
    assert m.class_share(hist, 1, 7) == pytest.approx(1.0)
    assert np.isnan(m.class_share(np.zeros(7), 3, 5))


def test_responses_follow_the_eye_that_carries_the_weights():
    patterns = np.random.default_rng(1).standard_normal((20, 4)).astype(np.float32)
    weights = np.zeros((2, 8), dtype=np.float32)
    weights[0, :4] = patterns[0]  # neuron 0: left eye only
    weights[1, 4:] = patterns[0]  # neuron 1: right eye only
    left, right = m.eye_responses(weights, patterns)
    assert left[0] > 0
    assert right[0] == 0
    assert right[1] > 0
    assert left[1] == 0


def test_grating_acuity_is_zero_without_weights_and_high_with_detectors():
    from devsim.senses import WorldParams, grating_stimuli

    params = WorldParams()
    gratings = grating_stimuli(params)  # (sf, k, c)
    n_sf, k, c = gratings.shape
    rng = np.random.default_rng(2)
    noise = 0.1 * rng.standard_normal((n_sf, k, 10, 64)).astype(np.float32)
    weights = np.zeros((2, 64, 2 * c), dtype=np.float32)
    # organism 1, left eye: one detector per grating of the three lowest frequencies
    detectors = gratings[:3].reshape(-1, c)
    weights[1, : len(detectors), :c] = 5 * detectors
    left, right = m.acuity(weights, gratings, noise, params.acuity_sfs)
    assert left[0] == 0.0
    assert right[0] == 0.0
    assert right[1] == 0.0
    assert left[1] >= params.acuity_sfs[2]


def test_acuity_at_the_top_of_the_tested_range_is_flagged_as_a_bound():
    """An organism that tells apart the finest gratings tested has an acuity of at least that
    frequency: the group's ``acuity_at_ceiling`` says what share of it is a bound."""
    from conftest import shipped

    from devsim.experiment import run_scenario
    from devsim.senses import WorldParams

    scenario = shipped("normal", organisms=3, days=35)
    full = run_scenario(scenario)[0]["groups"]["control"]["final"]
    assert full["acuity_at_ceiling"] == 0.0
    assert 0.2 < full["acuity_left"] < WorldParams().acuity_sfs[-1]
    # the same mice tested only up to 0.1 cycles per channel all reach the top
    short = run_scenario(scenario, WorldParams(acuity_sfs=(0.05, 0.1)))[0]
    final = short["groups"]["control"]["final"]
    assert final["acuity_at_ceiling"] == 1.0
    assert final["acuity_left"] == pytest.approx(0.1)
    both = m.at_ceiling(np.array([0.45, 0.2, 0.3]), np.array([0.1, 0.45, 0.3]), (0.1, 0.45))
    assert both.tolist() == [True, True, False]


def test_devsim_run_says_when_acuity_is_a_bound(tmp_path, monkeypatch, capsys):
    import functools

    from devsim import model
    from devsim.cli import main
    from devsim.senses import WorldParams

    scenario = tmp_path / "s.toml"
    scenario.write_text(
        'name = "s"\nseed = 3\ndays = 30\n[[groups]]\nname = "control"\norganisms = 2\n'
    )
    assert main(["run", str(scenario), "--out", str(tmp_path / "a")]) == 0
    assert "note:" not in capsys.readouterr().out
    monkeypatch.setattr(model, "WorldParams", functools.partial(WorldParams, acuity_sfs=(0.05,)))
    assert main(["run", str(scenario), "--out", str(tmp_path / "b")]) == 0
    out = capsys.readouterr().out
    assert (
        "note: 100% of control told apart the finest gratings tested (0.05 cycles per "
        "channel); their acuity is at least that" in out
    )


def test_each_organisms_cbi_is_the_cbi_of_its_own_cells():
    """organism_cbi, vectorised over organisms, against the pooled measures of each one
    alone (unresponsive cells left out, none responsive: NaN)."""
    rng = np.random.default_rng(5)
    left = rng.exponential(0.5, size=(6, 40)) * (rng.random((6, 40)) < 0.8)
    right = rng.exponential(0.4, size=(6, 40)) * (rng.random((6, 40)) < 0.8)
    left[2], right[2] = 0.0, 0.0  # an animal with no responsive cell
    each = m.organism_cbi(left, right)
    for k in range(6):
        alone = m.summarize_od(left[k], right[k])["cbi"]
        assert (np.isnan(each[k]) and np.isnan(alone)) or each[k] == pytest.approx(alone)
    assert np.isnan(each[2])
    assert m.sample_sd(each) == pytest.approx(np.nanstd(each, ddof=1))
    assert np.isnan(m.sample_sd(np.array([0.5, np.nan])))  # one value has no spread

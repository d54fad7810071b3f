"""Hubel & Wiesel's monocular deprivation, computed by the model (not asserted from constants)."""

from __future__ import annotations

import numpy as np
import pytest


def final(summary, group):
    return summary["groups"][group]["final"]


def test_normal_rearing_is_binocular_with_contralateral_bias(deprivation_runs):
    control = final(deprivation_runs["normal"], "control")
    assert 0.55 <= control["cbi"] <= 0.85
    assert 0.6 <= control["binocular_fraction"] <= 0.92
    assert control["responsive_fraction"] > 0.9


def test_md_at_the_peak_shifts_ocular_dominance_to_the_open_eye(deprivation_runs):
    run = deprivation_runs["md_critical"]
    shift_peak = final(run, "control")["cbi"] - final(run, "md_p24")["cbi"]
    assert shift_peak >= 0.15, shift_peak
    # the deprived (left) eye loses drive relative to the open eye
    md = final(run, "md_p24")
    assert md["response_left"] < final(run, "control")["response_left"]


def test_md_in_adulthood_shifts_at_most_a_third_as_much(deprivation_runs):
    peak = deprivation_runs["md_critical"]
    adult = deprivation_runs["md_adult"]
    shift_peak = final(peak, "control")["cbi"] - final(peak, "md_p24")["cbi"]
    shift_adult = final(adult, "control")["cbi"] - final(adult, "md_p60")["cbi"]
    assert shift_adult <= 0.05
    assert shift_peak >= 3 * max(shift_adult, 0.0)
    assert shift_peak >= 3 * abs(shift_adult)


def test_long_md_leaves_few_cells_driven_by_the_deprived_eye(deprivation_runs):
    hist = np.array(final(deprivation_runs["md_long"], "md_long")["od_histogram"])
    assert hist[:2].sum() / hist.sum() <= 0.10


def test_synapses_rise_then_are_pruned_to_a_plateau(deprivation_runs):
    synapses = np.array(deprivation_runs["normal"]["groups"]["control"]["daily"]["synapses"])
    peak_day = int(synapses.argmax())
    assert synapses[peak_day] > synapses[0] * 1.05  # exuberant growth first
    assert 0 < peak_day < len(synapses) - 10
    plateau = synapses[-5:]
    assert synapses[peak_day] > plateau.mean() * 1.2  # then pruned
    assert np.ptp(plateau) < 0.02 * plateau.mean()  # and stable


def test_daily_series_cover_every_age(deprivation_runs):
    run = deprivation_runs["md_critical"]
    for group in run["groups"].values():
        daily = group["daily"]
        assert daily["day"] == list(range(run["days"] + 1))
        assert daily["cbi"][-1] == group["final"]["cbi"]
        assert all(0.0 <= g <= 1.0 for g in daily["plasticity"])


def test_each_condition_delivers_the_input_variance_it_stands_for():
    # measured on what the senses deliver, against the world's declared statistics
    from devsim.senses import WorldParams, input_variances

    p = WorldParams()
    rng = np.random.default_rng(0)
    closed, open_ = input_variances("lid_suture", "left", p, rng)
    assert abs(closed / p.sigma_closed**2 - 1) < 0.05, closed
    assert abs(open_ - (1 + p.sigma_open**2)) < 0.1, open_  # unit-std patterns + noise
    silenced, seeing = input_variances("inactivate", "left", p, rng)
    assert silenced == 0.0
    assert abs(seeing / open_ - 1) < 0.05
    dark_left, dark_right = input_variances("dark", None, p, rng)
    assert abs(dark_left / p.sigma_dark**2 - 1) < 0.05
    assert abs(dark_right / p.sigma_dark**2 - 1) < 0.05
    left_open, right_closed = input_variances("lid_suture", "right", p, rng)
    assert abs(left_open / open_ - 1) < 0.05
    assert abs(right_closed / closed - 1) < 0.05
    assert input_variances("binocular_inactivation", None, p, rng) == (0.0, 0.0)


def test_ttx_in_both_eyes_silences_the_retinal_waves_too_and_cortex_stays_finite():
    """Stryker & Harris (1986) blocked both eyes' impulses with TTX from before eye
    opening: nothing reaches cortex, waves included (a suture or darkness leaves the
    waves). Cortex with no input at all develops without a NaN and stays unselective
    between the eyes, and the weights it has still answer both eyes."""
    from devsim.experiment import run_scenario
    from devsim.scenario import parse_scenario
    from devsim.senses import Span, WorldParams, rearing_inputs

    gain, sigma, _, labels = rearing_inputs(
        6, 3, [Span(1, 5, "binocular_inactivation")], WorldParams()
    )
    assert gain[1:5].tolist() == [[0.0, 0.0]] * 4  # waves (days 1-2) and vision (3-4) gone
    assert sigma[1:5].tolist() == [[0.0, 0.0]] * 4
    assert gain[0].tolist() == [0.4, 0.4]  # the waves before it
    assert gain[5].tolist() == [1.0, 1.0]  # vision after it
    assert labels[1] == "eyes not yet open; binocular_inactivation"
    scenario = parse_scenario({
        "name": "ttx", "seed": 2, "days": 30, "neurons": 8, "presentations_per_day": 32,
        "groups": [
            {"name": "control", "organisms": 2},
            {"name": "ttx", "organisms": 2,
             "rearing": [{"from": 10, "to": 30, "condition": "binocular_inactivation"}]},
        ],
    })  # fmt: skip
    summary, _ = run_scenario(scenario)
    final = summary["groups"]["ttx"]["final"]
    for name in ("cbi", "mean_odi", "response_left", "response_right", "acuity_left",
                 "acuity_right", "synapses"):  # fmt: skip
        assert np.isfinite(final[name]), name
    # no activity reaches the PV cells: the window stays shut, as in darkness (its opening
    # day is none, not a number: null in the files)
    assert final["window_opened_share"] == 0.0
    assert summary["groups"]["control"]["final"]["window_opened_share"] == 1.0


def test_a_condition_the_senses_do_not_name_is_refused_not_run_as_another():
    """A one-eye condition added to the list but not to eye_inputs ran as TTX (every one-eye
    condition but the lid was silenced); a one-eye condition without an eye closed the
    right eye."""
    from devsim.senses import EYE_CONDITIONS, MONOCULAR_DEPRIVATIONS, WorldParams, eye_inputs

    p = WorldParams()
    with pytest.raises(ValueError, match="unknown condition 'blur'"):
        eye_inputs("blur", "left", p)
    with pytest.raises(ValueError, match="needs an eye"):
        eye_inputs("lid_suture", None, p)
    for condition in EYE_CONDITIONS:
        left, right = eye_inputs(condition, "left", p), eye_inputs(condition, "right", p)
        assert left[0] == right[0][::-1]
        assert left[1] == right[1][::-1]
    # the end of a deprivation is the end of an MD (shift at the MD's end, the lessons'
    # "closed"/"silenced"): a deprivation is a one-eye condition, not every one of them
    assert set(MONOCULAR_DEPRIVATIONS) <= set(EYE_CONDITIONS)

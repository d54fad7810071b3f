"""Legal inputs give finite results, and a run with non-finite state stops with one line.

Issue 17, item 2: few presentations a day (dt = 1/2 or 1/4 day) or a fast sliding threshold
(tau_theta = 0.01 day) used to make the forward-Euler threshold update diverge (theta
overflowed to inf, weights turned NaN, the run ended with exit 0 and null metrics).
"""

from __future__ import annotations

import math
import textwrap

import numpy as np
import pytest

from devsim.cli import main
from devsim.cohort import Cohort
from devsim.errors import DevsimRunError
from devsim.experiment import run_scenario
from devsim.genome import Genome, gene_table
from devsim.model import DevelopmentModel
from devsim.plasticity import Y_MAX, PlasticityKernel, plasticity_step, threshold_rate
from devsim.scenario import parse_scenario

# The three reports of the issue; days shortened where the old code failed well before.
UNSTABLE = {
    "32 presentations a day (NaN from day 32)": dict(days=60, presentations_per_day=32),
    "64 presentations a day (NaN from day 54)": dict(days=120, presentations_per_day=64),
    "fast threshold, low target (NaN from day 6)": dict(
        days=30, genome={"tau_theta": 0.01, "tau_theta_down": 0.01, "y0": 0.05}
    ),
}


def scenario(days, presentations_per_day=640, genome=None, organisms=2):
    return parse_scenario(
        {
            "name": "x",
            "days": days,
            "presentations_per_day": presentations_per_day,
            "groups": [{"name": "control", "organisms": organisms, "genome": genome or {}}],
        }
    )


def finite_numbers(value):
    """Every number in a (nested) summary."""
    if isinstance(value, dict):
        return [v for item in value.values() for v in finite_numbers(item)]
    if isinstance(value, list | tuple):
        return [v for item in value for v in finite_numbers(item)]
    return [value] if isinstance(value, int | float) else []


@pytest.mark.parametrize("case", sorted(UNSTABLE))
def test_reported_unstable_inputs_now_give_finite_results(case):
    summary, model = run_scenario(scenario(**UNSTABLE[case]))
    group = summary["groups"]["control"]
    final = dict(group["final"])
    # the window's opening day is undefined (NaN, null in JSON) only if no window opened
    if final["window_opened_share"] == 0:
        assert math.isnan(final.pop("window_opened"))
        assert math.isnan(final.pop("window_opened_sd"))
    numbers = finite_numbers({"daily": group["daily"], "final": final})
    assert numbers
    assert all(math.isfinite(v) for v in numbers)
    assert all(v is not None for v in final.values())
    assert sum(group["final"]["od_histogram"]) > 0  # responsive cells, a real OD histogram
    theta = model.cohort.theta
    y0 = model.genes["y0"][:, None]
    assert np.all(theta >= 0)
    assert np.all(theta <= Y_MAX**2 / y0)


def test_threshold_step_is_euler_until_it_would_pass_the_target():
    tau = np.array([0.1, 0.025, 0.01, 5.0])
    # dt <= tau: exactly the forward-Euler fraction (the shipped setting is 0.025 / 0.1)
    assert threshold_rate(0.025, tau[[0, 1, 3]]).tolist() == [0.25, 1.0, 0.005]
    # dt > tau: the threshold reaches its target, never passes it
    assert threshold_rate(0.5, tau[:3]).tolist() == [1.0, 1.0, 1.0]
    assert threshold_rate(0.025, tau[2:3]).tolist() == [1.0]


@pytest.mark.parametrize("asymmetric", [False, True])
def test_fast_threshold_stays_between_old_value_and_target(asymmetric):
    # the numpy reference rule and the optimised kernel, with dt = 20 tau
    rng = np.random.default_rng(5)
    o, n, i, b = 3, 4, 6, 8
    genes = gene_table([Genome.preset("mouse", {"tau_theta": 0.025})] * o)
    if asymmetric:
        genes["tau_theta_down"] = np.full(o, 0.01)
    mask = rng.random((o, n, i)) < 0.7
    w0 = (rng.random((o, n, i), dtype=np.float32) * mask).astype(np.float32)
    gate = np.ones(o)
    ref_w, ref_t = w0.copy(), np.ones((o, n), np.float32)
    kernel = PlasticityKernel(o, n, i, b)
    kernel.prepare_day(genes, gate, 0.5, mask)
    w, t = w0.copy(), np.ones((o, n), np.float32)
    for _ in range(200):
        x = rng.gamma(1.0, 1.0, size=(o, b, i)).astype(np.float32)
        before = ref_t.copy()
        y = plasticity_step(ref_w, mask, ref_t, x, genes, gate, 0.5)
        target = (y * y).mean(axis=1)
        assert np.all(ref_t >= np.minimum(before, target) - 1e-3)
        assert np.all(ref_t <= np.maximum(before, target) + 1e-3)
        kernel.step(0, o, w, t, x)
    assert np.isfinite(ref_t).all()
    assert np.isfinite(ref_w).all()
    np.testing.assert_allclose(t, ref_t, rtol=1e-4)


def small_model(**kw):
    groups = [{"name": "control", "organisms": 2}, {"name": "md", "organisms": 3}]
    return DevelopmentModel(groups=groups, days=5, presentations_per_day=32, rng=3, **kw)


@pytest.mark.parametrize(
    ("array", "value"), [("weights", np.nan), ("theta", np.nan), ("theta", np.inf)]
)
def test_guard_stops_the_run_naming_organism_day_and_genes(array, value):
    model = small_model()
    model.step()
    model.step()
    # organism 1 of group 'md' is cohort row 3; poison one existing synapse / one threshold
    if array == "weights":
        j, k = np.argwhere(model.cohort.mask[3])[0]
        model.cohort.weights[3, j, k] = value
    else:
        model.cohort.theta[3, 0] = value
    with pytest.raises(DevsimRunError) as info:
        model.step()
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith("organism 1 of group 'md' (genes eta=0.2, tau_theta=0.1,")
    # within the day the poison spreads from weights to thresholds and back
    assert "non-finite weights and thresholds on day 2;" in message
    assert "other organisms" not in message  # the others stayed finite
    assert model.age == 2  # the poisoned day was not recorded as lived


def test_guard_covers_a_bare_cohort_as_evolution_uses_it():
    model = small_model()
    genes = gene_table([Genome.preset("mouse", {"eta": 0.2})] * 4)
    cohort = Cohort(np.random.default_rng(0), genes, np.arange(4), model.world)
    args = (np.ones((4, 2)), np.full((4, 2), 0.1), np.zeros(4, bool))
    cohort.develop_day(np.random.default_rng(1), 0, *args)  # a healthy day passes
    cohort.check_finite(0)
    # an absent synapse is never updated: only the weights are non-finite
    j, k = np.argwhere(~cohort.mask[1])[0]
    cohort.weights[1, j, k] = -np.inf
    with pytest.raises(DevsimRunError, match=r"^organism 1 of the cohort \(genes eta=0.2, "):
        cohort.check_finite(7)
    with pytest.raises(DevsimRunError, match=r"\): non-finite weights on day 7; the run cannot"):
        cohort.check_finite(7)
    cohort.weights[1, j, k] = 0.0
    # finite, but far beyond the threshold's bound (its sum overflows): stopped, not passed
    cohort.theta[3, :2] = 3e38
    with pytest.raises(DevsimRunError, match=r"^organism 3 .*: out-of-bounds thresholds on day 3;"):
        cohort.check_finite(3)
    cohort.theta[3, :2] = 1.0
    cohort.check_finite(3)
    cohort.theta[2, 5] = np.nan
    cohort.theta[3, 1] = np.inf
    with pytest.raises(
        DevsimRunError,
        match=r"^organism 2 of the cohort .* on day 1 \(and 1 other organisms\)",
    ):
        cohort.develop_day(np.random.default_rng(1), 1, *args)


def test_cli_run_reports_non_finite_state_in_one_line_exit_1(tmp_path, capsys, monkeypatch):
    path = tmp_path / "s.toml"
    path.write_text(
        textwrap.dedent("""
        name = "x"
        days = 6
        presentations_per_day = 32
        [[groups]]
        name = "control"
        organisms = 2
    """)
    )
    lived = Cohort.develop_day

    def poisoned(self, rng, day, *args):
        if day == 4:
            self.weights[1] = np.nan
        return lived(self, rng, day, *args)

    monkeypatch.setattr(Cohort, "develop_day", poisoned)
    assert main(["run", str(path), "--out", str(tmp_path / "out")]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert "Traceback" not in err
    assert "organism 1 of group 'control' (genes eta=0.2," in err
    assert "non-finite weights" in err
    assert "on day 4;" in err
    assert not (tmp_path / "out" / "summary.json").exists()

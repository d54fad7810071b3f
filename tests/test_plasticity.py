"""The plasticity rule has one definition, :func:`devsim.plasticity.plasticity_step` (the
numpy reference); the fast kernel that :meth:`devsim.cohort.Cohort.develop_day` runs
(:class:`~devsim.plasticity.PlasticityKernel` and the numba loops of :mod:`devsim.fused`)
is checked against it here, branch by branch.

Tolerance: none. In float32 and in float64 the kernel's responses, weights and thresholds
are the reference's bit for bit (compared as raw bytes), organism block by organism block,
in every branch: each rule term A..E, the weight decay gamma, the w_max clip (one w_max for
all organisms or one each), the threshold sliding up (tau_theta) and down
(tau_theta_down), its step capped at the target (``min(dt / tau, 1)``), the learning rate,
the gates of depression and potentiation, the PV inhibition and the circuit's activity
readouts (PV drive, mean y**2), the synapse mask, mini-batches of a power of two (the
kernel folds the division into the scale) or not, and the default BCM rule on the fused
loops.

The reference itself is checked against the rule as written (one synapse, one
presentation, computed by hand in float64).
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from devsim.cohort import RULE_GENES
from devsim.genome import GENE_BY_NAME, Genome, gene_table
from devsim.plasticity import Y_MAX, PlasticityKernel, plasticity_step, threshold_rate

GENE = GENE_BY_NAME
ORGS, NEURONS, INPUTS = 4, 5, 6


def mouse_genes(organisms: int = ORGS, **genes) -> dict[str, np.ndarray]:
    """The mouse preset for ``organisms``, with genes set to a scalar or one value each."""
    table = gene_table([Genome.preset("mouse")] * organisms)
    for name, value in genes.items():
        table[name] = np.broadcast_to(np.asarray(value, dtype=np.float64), (organisms,)).copy()
    return table


def run_both(
    genes,
    *,
    gate=None,
    inhibition=None,
    potentiation=None,
    dt=1 / 40,
    batch=16,
    steps=6,
    dtype=np.float32,
    block=ORGS,
    seed=0,
    x_scale=1.0,
    density=0.6,
):
    """Advance the same synapses ``steps`` mini-batches with :func:`plasticity_step` and with
    the kernel (prepared once, as for a day; stepped block by block as the cohort does),
    asserting after every step that both hold the same bytes. Returns the reference's
    initial and final weights, thresholds, the mask and each step's (theta before, after)."""
    o = len(genes["eta"])
    rng = np.random.default_rng(seed)
    mask = rng.random((o, NEURONS, INPUTS)) < density
    # signed weights at synapses, +0 at free slots (as initial_wiring and pruning leave them)
    w0 = np.where(mask, rng.random((o, NEURONS, INPUTS)) * 1.2 - 0.2, 0.0).astype(dtype)
    theta0 = (rng.random((o, NEURONS)) * 2.0).astype(dtype)
    gate = np.linspace(0.2, 1.0, o) if gate is None else np.asarray(gate, dtype=np.float64)
    if inhibition is not None:
        inhibition = np.asarray(inhibition, dtype=np.float64)
    if potentiation is not None:
        potentiation = np.asarray(potentiation, dtype=np.float64)
    ref_w, ref_t = w0.copy(), theta0.copy()
    w, t = w0.copy(), theta0.copy()
    kernel = PlasticityKernel(block, NEURONS, INPUTS, batch, dtype)
    kernel.prepare_day(genes, gate, dt, mask, inhibition=inhibition, potentiation=potentiation)
    activity, y2 = np.zeros(o), np.zeros((o, NEURONS))
    thetas = []
    for step in range(steps):
        x = (rng.normal(0.5, 1.0, size=(o, batch, INPUTS)) * x_scale).astype(dtype)
        before = ref_t.copy()
        y_ref = plasticity_step(
            ref_w, mask, ref_t, x, genes, gate, dt, inhibition, potentiation, activity, y2
        )
        y = np.empty_like(y_ref)
        for a in range(0, o, block):
            b = min(a + block, o)
            y[a:b] = kernel.step(a, b, w, t, x[a:b])
        where = f"step {step}"
        assert y.tobytes() == y_ref.tobytes(), f"responses differ at {where}"
        assert w.tobytes() == ref_w.tobytes(), f"weights differ at {where}"
        assert t.tobytes() == ref_t.tobytes(), f"thresholds differ at {where}"
        assert kernel.activity.tobytes() == activity.tobytes(), f"PV drive differs at {where}"
        assert kernel.y2.tobytes() == y2.tobytes(), f"y**2 sums differ at {where}"
        thetas.append((before, ref_t.copy()))
    # absent synapses hold +0 and keep it, in both
    assert not np.any(ref_w[~mask])
    assert not np.signbit(ref_w[~mask]).any()
    return dict(
        w0=w0, weights=ref_w, theta=ref_t, mask=mask, thetas=thetas, activity=activity, y2=y2
    )


# --- the reference is the rule as written --------------------------------------------
@pytest.mark.parametrize(
    ("theta", "tau_theta", "tau_down", "dt"),
    [
        (0.3, 0.1, 0.4, 0.025),  # target 1.0 above theta: slides up at dt / tau_theta
        (3.0, 0.1, 0.4, 0.025),  # target below theta: slides down at dt / tau_theta_down
        (3.0, 0.01, 0.02, 0.025),  # dt > tau: the step is capped at the target
    ],
)
def test_reference_is_the_documented_rule_on_one_synapse(theta, tau_theta, tau_down, dt):
    g = dict(eta=0.7, gamma=0.2, w_max=5.0, y0=2.0, rule_A=0.9, rule_B=0.3, rule_C=-0.2)
    g.update(rule_D=0.1, rule_E=0.05, tau_theta=tau_theta, tau_theta_down=tau_down)
    genes = mouse_genes(1, **g)
    gate, w0, x = 0.6, 0.5, 2.0
    weights = np.full((1, 1, 1), w0)
    th = np.full((1, 1), theta)
    y = plasticity_step(
        weights, np.ones((1, 1, 1), bool), th, np.full((1, 1, 1), x), genes, np.array([gate]), dt
    )
    yy = w0 * x
    terms = g["rule_A"] * x * yy * (yy - theta) + g["rule_B"] * x * yy + g["rule_C"] * x
    terms += g["rule_D"] * yy + g["rule_E"]
    w1 = w0 + g["eta"] * gate * dt * terms - g["eta"] * g["gamma"] * dt * w0
    target = yy * yy / g["y0"]
    tau = tau_theta if target >= theta else tau_down
    theta1 = theta + min(dt / tau, 1.0) * (target - theta)
    assert y[0, 0, 0] == pytest.approx(yy, rel=1e-12)
    assert weights[0, 0, 0] == pytest.approx(w1, rel=1e-12)
    assert th[0, 0] == pytest.approx(theta1, rel=1e-12)
    if dt > tau_theta:
        assert th[0, 0] == pytest.approx(target, rel=1e-12)  # reached, not passed


def test_reference_clips_weights_and_responses():
    genes = mouse_genes(1, w_max=0.3, eta=1000.0)
    weights = np.full((1, 1, 2), 0.25, np.float32)
    th = np.ones((1, 1), np.float32)
    x = np.full((1, 1, 2), 200.0, np.float32)  # y = 100 before the clip
    y = plasticity_step(weights, np.ones((1, 1, 2), bool), th, x, genes, np.ones(1), 0.025)
    assert y[0, 0, 0] == Y_MAX
    assert np.all(weights == np.float32(0.3))


# --- the kernel against the reference, branch by branch --------------------------------
BRANCHES = {
    "default BCM (fused loops)": {},
    "rule_A": {"rule_A": [0.5, -1.0, 2.0, 1.0]},
    "rule_B": {"rule_B": 0.3},
    "rule_B negative zero": {"rule_B": -0.0},
    "rule_C": {"rule_C": [0.0, 0.2, -0.5, 1.0]},
    "rule_D": {"rule_D": -0.3},
    "rule_E": {"rule_E": [0.01, 0.0, -0.02, 0.5]},
    "gamma": {"gamma": [0.0, 0.1, 0.5, 1.0]},
    "w_max shared, clipping (fused loops)": {"w_max": 0.4},
    "w_max per organism, clipping": {"w_max": [0.05, 0.3, 2.0, 100.0]},
    "y0 (fused loops)": {"y0": [0.05, 1.0, 3.0, 20.0]},
    "y0 with a slower threshold down (fused loops)": {
        "y0": [0.5, 2.0, 1.0, 7.0],
        "tau_theta_down": [0.1, 0.5, 2.0, 0.1],
    },
    "tau_theta (fused loops)": {
        "tau_theta": [0.05, 0.1, 1.0, 5.0],
        "tau_theta_down": [0.05, 0.1, 1.0, 5.0],
    },
    "tau_theta_down slower (fused loops)": {"tau_theta_down": [0.1, 0.5, 2.0, 20.0]},
    "tau_theta_down faster (fused loops)": {
        "tau_theta": 0.5,
        "tau_theta_down": [0.5, 0.1, 0.05, 0.025],
    },
    "threshold step capped (dt > tau, fused loops)": {
        "tau_theta": [0.01, 0.02, 0.01, 0.1],
        "tau_theta_down": [0.01, 0.02, 0.01, 0.1],
    },
    "threshold step capped, sliding down slower (fused loops)": {
        "tau_theta": 0.01,
        "tau_theta_down": 0.02,
    },
    "threshold step capped, sliding down faster (fused loops)": {
        "tau_theta": 0.1,
        "tau_theta_down": 0.01,
    },
    "every term": {
        "rule_A": 0.8,
        "rule_B": 0.2,
        "rule_C": 0.05,
        "rule_D": -0.05,
        "rule_E": 0.01,
        "gamma": 0.2,
        "w_max": [0.5, 1.0, 2.0, 3.0],
        "y0": 2.0,
        "tau_theta_down": 0.3,
    },
}


# The circuit's inputs to a day: PV inhibition per unit of PV drive, and a potentiation
# gate that differs from the depression gate (part of the brakes spare potentiation).
CIRCUIT = {
    "no inhibition, one gate": {},
    "PV inhibition": {"inhibition": [0.0, 0.25, 0.5, 2.0]},
    "potentiation gate above the depression gate": {"potentiation": [0.3, 0.6, 1.0, 1.0]},
    "both": {"inhibition": [1.0, 0.5, 0.0, 4.0], "potentiation": [1.0, 0.9, 0.5, 1.0]},
}


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("batch", [16, 10])
@pytest.mark.parametrize("branch", sorted(BRANCHES))
@pytest.mark.parametrize("circuit", sorted(CIRCUIT))
def test_kernel_is_bit_identical_to_the_reference(branch, circuit, batch, dtype):
    genes = mouse_genes(**BRANCHES[branch])
    for block in (ORGS, 3):
        run_both(genes, batch=batch, dtype=dtype, block=block, x_scale=2.0, **CIRCUIT[circuit])


def test_pv_inhibition_and_the_potentiation_gate_change_the_outcome():
    genes = mouse_genes()
    plain = run_both(genes, x_scale=2.0)
    inhibited = run_both(genes, x_scale=2.0, inhibition=[1.0] * ORGS)
    assert not np.array_equal(plain["weights"], inhibited["weights"])
    # the PV drive is the same afferent drive either way (it is read before inhibition)
    assert plain["activity"][0] > 0
    potentiated = run_both(genes, x_scale=2.0, gate=[0.2] * ORGS, potentiation=[1.0] * ORGS)
    depressed = run_both(genes, x_scale=2.0, gate=[0.2] * ORGS)
    gained = potentiated["weights"] - depressed["weights"]
    assert gained.sum() > 0  # more potentiation, the same depression


def test_default_genes_take_the_fused_path_and_others_the_general_one():
    kernel = PlasticityKernel(ORGS, NEURONS, INPUTS, 16)
    mask = np.ones((ORGS, NEURONS, INPUTS), bool)
    for branch, genes in BRANCHES.items():
        kernel.prepare_day(mouse_genes(**genes), np.ones(ORGS), 1 / 40, mask)
        assert kernel.plain_bcm == ("fused loops" in branch), branch
    odd_batch = PlasticityKernel(ORGS, NEURONS, INPUTS, 10)  # 10 is not a power of two
    odd_batch.prepare_day(mouse_genes(), np.ones(ORGS), 1 / 40, mask)
    assert not odd_batch.plain_bcm


def test_the_branches_are_reached():
    # the w_max clip holds weights at the bound
    run = run_both(mouse_genes(w_max=0.4), x_scale=2.0)
    assert np.any(np.abs(run["weights"][run["mask"]]) == np.float32(0.4))
    # responses saturate at Y_MAX (thresholds then rise towards Y_MAX**2 / y0)
    run = run_both(mouse_genes(eta=50.0), x_scale=30.0, steps=3)
    assert run["theta"].max() > 100
    # with tau_theta_down != tau_theta the threshold moves both ways in one run, and the
    # downward steps are slower than with a symmetric threshold
    slow_down = mouse_genes(tau_theta_down=2.0)
    moves = np.concatenate([(t1 - t0).ravel() for t0, t1 in run_both(slow_down)["thetas"]])
    assert (moves > 0).any()
    assert (moves < 0).any()
    asymmetric = run_both(slow_down, steps=1)["theta"]
    assert not np.array_equal(asymmetric, run_both(mouse_genes(), steps=1)["theta"])
    # a fast threshold (dt > tau) reaches its target in one step, for both directions
    assert threshold_rate(1 / 40, np.array([0.01, 0.02])).tolist() == [1.0, 1.0]


def test_a_closed_gate_or_zero_learning_rate_leaves_weights_unchanged():
    genes = mouse_genes(eta=[0.0, 0.15, 0.15, 0.15], rule_E=0.1)
    run = run_both(genes, gate=[1.0, 0.0, 1.0, 1.0])
    assert run["weights"][:2].tobytes() == run["w0"][:2].tobytes()
    assert run["weights"][2:].tobytes() != run["w0"][2:].tobytes()


# --- a property over gene values within their bounds -----------------------------------
def gene_values(name: str):
    """Values of gene ``name`` for the organisms: the default, one value for all, or one
    each, within the gene's bounds (GENES)."""
    g = GENE[name]
    value = st.floats(g.low, g.high, allow_nan=False, allow_subnormal=False)
    shared = st.one_of(st.just(g.default), value).map(lambda v: [v] * ORGS)
    return st.one_of(shared, st.lists(value, min_size=ORGS, max_size=ORGS))


@settings(max_examples=50, derandomize=True, deadline=None, database=None)
@given(
    genes=st.fixed_dictionaries({name: gene_values(name) for name in RULE_GENES}),
    gate=st.lists(st.floats(0.0, 1.0, allow_subnormal=False), min_size=ORGS, max_size=ORGS),
    extra=st.lists(st.floats(0.0, 1.0, allow_subnormal=False), min_size=ORGS, max_size=ORGS),
    inhibition=st.lists(st.floats(0.0, 4.0, allow_subnormal=False), min_size=ORGS, max_size=ORGS),
    batch=st.sampled_from([1, 10, 16]),
    dt=st.sampled_from([1 / 40, 1 / 10, 1 / 2]),
    dtype=st.sampled_from([np.float32, np.float64]),
    block=st.sampled_from([1, 3, ORGS]),
    x_scale=st.sampled_from([0.3, 2.0, 30.0]),
    seed=st.integers(0, 2**16),
)
def test_kernel_matches_the_reference_for_any_genes_within_bounds(
    genes, gate, extra, inhibition, batch, dt, dtype, block, x_scale, seed
):
    table = mouse_genes(**genes)
    potentiation = np.minimum(np.asarray(gate) + np.asarray(extra), 1.0)
    with np.errstate(over="ignore", invalid="ignore"):  # as in Cohort.develop_day
        run_both(
            table,
            gate=gate,
            inhibition=inhibition,
            potentiation=potentiation,
            dt=dt,
            batch=batch,
            dtype=dtype,
            block=block,
            seed=seed,
            x_scale=x_scale,
            steps=4,
        )

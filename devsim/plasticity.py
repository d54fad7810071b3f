"""The plasticity rule family and the critical-window gate, vectorised over a cohort.

Pure numerics (no Mesa). Shapes: ``o`` organisms, ``b`` presentations in a mini-batch,
``n`` cortical neurons per organism, ``i`` input channels (both eyes).
"""

from __future__ import annotations

import numpy as np

from devsim import fused

Y_MIN = -1.0  # small negative floor of the output nonlinearity (Blais et al. 1998)
Y_MAX = 50.0  # saturation ceiling


def threshold_rate(dt: float, tau: np.ndarray) -> np.ndarray:
    """The fraction of the way the sliding threshold moves to its target in one update,
    ``min(dt / tau, 1)`` (float64, per organism).

    The threshold relaxes to its target, ``d theta / dt = (<y^2>/y0 - theta) / tau``; the
    exact solution over a step never passes the target. The forward-Euler step
    ``dt / tau`` does once ``dt > tau`` (few presentations a day, or a fast threshold) and
    diverges once ``dt > 2 tau`` (``theta - target`` is multiplied by ``1 - dt/tau`` each
    update, so theta overflows to inf and the weights turn to NaN). Capping the step at 1
    is the limit of the exact solution when ``tau`` is much shorter than a step: the
    threshold reaches today's target (the quasi-static BCM threshold ``theta = <y^2>/y0``).
    With ``dt <= tau`` (every shipped setting: dt = 1/40 day, tau = 0.1 day) the step is
    ``dt / tau`` exactly, as before. The new threshold is then a convex combination of the
    old one and the target, so it stays within ``[0, max(THETA_INIT, Y_MAX**2 / y0)]``.
    """
    return np.minimum(dt / np.asarray(tau, dtype=np.float64), 1.0)


def response(u: np.ndarray) -> np.ndarray:
    """Output nonlinearity: a saturating rectifier with a small negative floor.

    The negative floor matters: with heavy-tailed inputs it makes a noise-only eye lose
    strength on average under BCM (lid suture depresses more than silencing; docs/science.md,
    Senses).
    """
    return np.clip(u, Y_MIN, Y_MAX, out=u)


def pv_drive(u: np.ndarray) -> np.ndarray:
    """The drive of the PV population for each presentation: the mean rectified afferent
    drive of the organism's excitatory cells, ``(o, b)`` from ``u`` (o, b, n).

    PV cells pool many excitatory cells and are broadly tuned and binocular (Kerlin et al.
    2010; Kameyama et al. 2010). Summed in neuron order (a running sum), as the fused loop
    does, so the two agree bit for bit.
    """
    n = u.shape[-1]
    total = np.add.accumulate(np.maximum(u, u.dtype.type(0)), axis=-1)[..., -1]
    return total * u.dtype.type(1.0 / n)


def plasticity_step(
    weights: np.ndarray,
    mask: np.ndarray,
    theta: np.ndarray,
    x: np.ndarray,
    genes: dict[str, np.ndarray],
    gate: np.ndarray,
    dt: float,
    inhibition: np.ndarray | None = None,
    potentiation: np.ndarray | None = None,
    activity: np.ndarray | None = None,
    y2: np.ndarray | None = None,
) -> np.ndarray:
    """Advance weights and thresholds by one mini-batch, in place; return the responses.

    This is the one definition of the rule, written for clarity (the reference): the fast
    path that :meth:`devsim.cohort.Cohort.develop_day` runs, :class:`PlasticityKernel`, must
    give the same responses, weights and thresholds bit for bit, which
    ``tests/test_plasticity.py`` checks for every branch below.

    The circuit: excitatory cells receive the afferent drive ``u = W x`` minus feedback
    inhibition from the PV population, whose drive is the pooled excitatory activity
    (:func:`pv_drive`): ``y = clip(u - c * pv, Y_MIN, Y_MAX)`` with ``c = w_pv * I`` (the
    inhibition ``I`` of :class:`Circuit`). Afferent weights are signed, in ``[-w_max,
    w_max]`` (a negative weight stands for feed-forward inhibition relayed by the same
    channel, Blais et al. 1998); docs/science.md says why Dale's law is not imposed yet.

    The rule family (Najarro & Risi 2020's ABCD rule plus the BCM term of Bienenstock,
    Cooper & Munro 1982, as in Blais' Plasticnet):

    .. math::
        \\Delta w = \\eta\\,dt\\,\\langle g_\\pm\\,[A x y (y-\\theta) + B x y]
                    + g\\,(C x + D y + E)\\rangle - \\eta\\,\\gamma\\,dt\\,w,
        \\qquad
        \\Delta\\theta = \\min\\left(\\frac{dt}{\\tau_\\theta}, 1\\right)
                    \\left(\\frac{\\langle y^2\\rangle}{y_0} - \\theta\\right)

    with ``<.>`` the mean over the mini-batch. The window's gate ``g`` scales depression;
    potentiation is scaled by ``potentiation`` (:meth:`Circuit.potentiation`: the brakes
    spare part of potentiation, Sawtell et al. 2003; Sato & Stryker 2008). The
    threshold's step is capped at its target (:func:`threshold_rate`); it slides down with
    ``tau_theta_down`` in place of ``tau_theta`` where ``<y^2>/y0 < theta``. Genes are cast
    to the weights' dtype (float32 by default, float64 for precision checks).

    Parameters
    ----------
    weights : (o, n, i) float32 or float64, updated in place (+0 where ``mask`` is False,
        and kept so).
    mask : (o, n, i) bool, existing synapses.
    theta : (o, n) sliding thresholds (the weights' dtype), updated in place.
    x : (o, b, i) presynaptic activity for the mini-batch (the weights' dtype).
    genes : per-organism gene arrays of shape (o,), see :mod:`devsim.genome`.
    gate : (o,) plasticity gate g in [0, 1] (depression and the C, D, E terms).
    dt : days per mini-batch.
    inhibition : (o,) ``w_pv * I``, the PV inhibition per unit of PV drive (default 0).
    potentiation : (o,) the gate of potentiation (default ``gate``).
    activity : (o,) float64, optional: the PV drive summed over the presentations is
        added to it (the circuit's daily readout).
    y2 : (o, n) float64, optional: the mini-batch mean of ``y**2`` is added to it (the
        activity that homeostatic scaling reads).
    """
    batch = x.shape[1]
    u = np.matmul(x, weights.transpose(0, 2, 1))  # (o, b, n) afferent drive
    y = inhibited_response(u, inhibition, activity)
    phi = rule_factor(y, theta, genes, gate, potentiation)
    dw = np.matmul(phi.transpose(0, 2, 1), x)  # (o, n, i): sum over the batch of phi * x
    dw /= batch
    rule_terms(dw, x.mean(axis=1)[:, None, :], y, genes, gate)
    apply_rule(weights, dw, mask, genes, dt)
    slide(theta, y, genes, dt, y2)
    return y


def inhibited_response(
    u: np.ndarray,
    inhibition: np.ndarray | None,
    activity: np.ndarray | None,
    afferent: np.ndarray | None = None,
) -> np.ndarray:
    """The excitatory cells' response to drive ``u`` (o, b, n), in place: minus the PV
    feedback ``inhibition * pv`` (:func:`pv_drive` of the ``afferent`` drive, default
    ``u``: on a sheet, ``u`` also holds the lateral interaction, which PV cells do not
    pool), through the output nonlinearity; the PV drive of each presentation is added to
    ``activity`` (o,) in presentation order."""
    pv = pv_drive(u if afferent is None else afferent)  # (o, b)
    if activity is not None:
        for j in range(u.shape[1]):  # presentation order, as the fused loop adds them
            activity += pv[:, j]
    if inhibition is not None:
        u -= np.asarray(inhibition).astype(u.dtype)[:, None, None] * pv[:, :, None]
    return response(u)


def rule_factor(
    y: np.ndarray,
    theta: np.ndarray,
    genes: dict[str, np.ndarray],
    gate: np.ndarray,
    potentiation: np.ndarray | None = None,
) -> np.ndarray:
    """The postsynaptic factor of the rule, ``g_pm * (A y (y - theta) + B y)``, (o, b, n):
    potentiation (positive factor) gated by ``potentiation`` (default ``gate``), depression
    by ``gate``."""
    f = y.dtype
    col = lambda v: np.asarray(v).astype(f)[:, None, None]  # noqa: E731 - broadcast a gene
    phi = y * (y - theta[:, None, :])
    phi *= col(genes["rule_A"])
    phi += col(genes["rule_B"]) * y
    ltp = gate if potentiation is None else potentiation
    phi *= np.where(phi > 0, col(ltp), col(gate))
    return phi


def rule_terms(
    dw: np.ndarray, x_mean: np.ndarray, y: np.ndarray, genes: dict[str, np.ndarray], gate
) -> None:
    """Add the rule's C, D and E terms (gated) to the mean Hebbian step ``dw`` (o, n, i), in
    place; ``x_mean`` is the mini-batch mean input each synapse saw (broadcast to ``dw``)."""
    f = dw.dtype
    col = lambda v: np.asarray(v).astype(f)[:, None, None]  # noqa: E731 - broadcast a gene
    # The C, D and E terms are zero for BCM; skip their arithmetic when the whole cohort
    # has them at zero (keeps the common case close to the bare-kernel floor).
    if np.any(genes["rule_C"]):
        dw += col(genes["rule_C"] * gate) * x_mean
    if np.any(genes["rule_D"]):
        dw += col(genes["rule_D"] * gate) * y.mean(axis=1)[:, :, None]
    if np.any(genes["rule_E"]):
        dw += col(genes["rule_E"] * gate)


def apply_rule(
    weights: np.ndarray, dw: np.ndarray, mask: np.ndarray, genes: dict[str, np.ndarray], dt
) -> None:
    """``weights += eta * dt * dw`` at existing synapses, minus the decay, clipped to
    ``[-w_max, w_max]``; in place (``dw`` is overwritten)."""
    f = weights.dtype
    col = lambda v: np.asarray(v).astype(f)[:, None, None]  # noqa: E731 - broadcast a gene
    step = genes["eta"] * dt
    dw *= col(step)
    # Only existing synapses change (absent ones hold 0 and stay 0).
    dw *= mask
    if np.any(genes["gamma"]):
        dw -= col(step * genes["gamma"]) * weights
    weights += dw
    # Synapses saturate: hard bounds [-w_max, w_max] (signed weights as in Blais et al. 1998).
    w_max = genes["w_max"].astype(f)[:, None, None]
    np.clip(weights, -w_max, w_max, out=weights)


def slide(
    theta: np.ndarray, y: np.ndarray, genes: dict[str, np.ndarray], dt, y2: np.ndarray | None
) -> None:
    """The sliding threshold's step towards ``<y^2>/y0`` (in place), down with
    ``tau_theta_down``; the mini-batch mean of ``y**2`` is added to ``y2`` when given."""
    f = theta.dtype
    square = (y * y).mean(axis=1)
    if y2 is not None:
        y2 += square
    target = square / genes["y0"].astype(f)[:, None]
    rate = threshold_rate(dt, genes["tau_theta"]).astype(f)[:, None]
    if np.any(genes["tau_theta_down"] != genes["tau_theta"]):
        down = threshold_rate(dt, genes["tau_theta_down"]).astype(f)[:, None]
        rate = np.where(target < theta, down, rate)
    theta += rate * (target - theta)


# The critical window counts as open while the gate is at least this (figures, window
# timing traits, the page's window status).
WINDOW_OPEN_GATE = 0.5

DIAZEPAM_INHIBITION = 0.6
FLUOXETINE_REDUCTION = 0.8
CHONDROITINASE_DIGESTION = 0.9
# Treatments act on the circuit only (each as given on a day, dose 1):
TREATMENTS = {
    "diazepam": f"adds {DIAZEPAM_INHIBITION:g} to inhibition I (a GABA-A agonist; "
    "Fagiolini & Hensch 2000)",
    "fluoxetine": f"lowers inhibition I by {FLUOXETINE_REDUCTION:.0%} (less GABA release; "
    "Maya Vetencourt et al. 2008)",
    "chondroitinase": f"digests {CHONDROITINASE_DIGESTION:.0%} of the perineuronal nets a day "
    "(Pizzorusso et al. 2002)",
}
DRIVE_CAP = 2.0  # the PV drive's effect on maturation saturates (a.u. of a_ref)
NETS_FULL_DRIVE = 1.0  # nets grow fully from this drive on, or the used-to one if higher (x a_ref)


class Circuit:
    """The critical window as a circuit, per organism (docs/science.md, The critical window).

    Read each day from the cortex's own activity, never from the rearing: ``v`` is the
    day's mean PV drive (:func:`pv_drive`) in units of ``a_ref``.

    * PV maturation (Otx2/BDNF-like): ``dm/dt = r_mat' * (a_vis * min(v, DRIVE_CAP) +
      1 - a_vis) * (1 - m)``, with ``r_mat' = r_mat * exp(mat_noise * z)`` for a draw ``z``
      per individual (littermates differ).
    * Inhibition ``I = g_inh * m * (1 - FLUOXETINE_REDUCTION * fluoxetine) +
      DIAZEPAM_INHIBITION * diazepam``. The window is a
      trigger: it opens as the highest inhibition reached crosses ``theta_open`` and runs
      its course if ``I`` falls back (Fagiolini & Hensch 2000).
    * Brakes, from the trigger on: perineuronal nets ``P`` grow with the drive the cortex
      is used to and wear off as it falls short of it, ``dP/dt = r_close * s * (1 - P) -
      pnn_loss * (1 - s) * P`` with ``s = min(v / max(used, NETS_FULL_DRIVE), 1)`` and
      ``used`` the drive averaged over ``tau_used`` days: a monocularly deprived cortex,
      whose PV drive falls (Kuhlman et al. 2013), grows its nets more slowly in the window
      and stays open to recover, and loses them day by day as an adult, until the lower
      drive becomes the norm (chondroitinase digests them); Lynx1 ``L`` is expressed with
      age, ``dL/dt = r_lynx * (1 - L)``. Both are needed to hold plasticity shut, and
      they act through inhibition: ``B = s_brake * P * L * I`` (lowering inhibition,
      digesting nets or lacking Lynx1 each reopens plasticity: Harauzov et al. 2010;
      Pizzorusso et al. 2002; Morishita et al. 2010).
    * The gate ``g = min(sigmoid((I_max - theta_open) / open_width) * exp(-B) +
      floor_adult, 1)`` scales depression; potentiation is held by ``ltp_brake * B`` only.
    """

    def __init__(self, organisms: int, rate_factor: np.ndarray | None = None):
        self.rate_factor = np.ones(organisms) if rate_factor is None else rate_factor
        self.maturity = np.zeros(organisms)  # m
        self.inhibition = np.zeros(organisms)  # I today
        self.peak_inhibition = np.zeros(organisms)  # I_max so far
        self.nets = np.zeros(organisms)  # P, perineuronal nets
        self.lynx = np.zeros(organisms)  # L, Lynx1
        self.triggered = np.zeros(organisms, dtype=bool)
        self.opened_day = np.full(organisms, np.nan)
        self.used = np.full(organisms, np.nan)  # the drive the cortex is used to (x a_ref)

    def brake(self, genes: dict[str, np.ndarray]) -> np.ndarray:
        """The brakes' hold on plasticity, ``B = s_brake * P * L * I``."""
        return genes["s_brake"] * self.nets * self.lynx * np.maximum(self.inhibition, 0.0)

    def opening(self, genes: dict[str, np.ndarray]) -> np.ndarray:
        """How far the trigger has opened the window: sigmoid((I_max - theta_open) / width)."""
        z = (self.peak_inhibition - genes["theta_open"]) / genes["open_width"]
        return 0.5 * (1.0 + np.tanh(0.5 * z))  # a numerically safe sigmoid

    def gate(self, genes: dict[str, np.ndarray]) -> np.ndarray:
        """The plasticity gate g(t) in [0, 1] for every organism (it scales depression)."""
        held = self.opening(genes) * np.exp(-self.brake(genes))
        return np.minimum(held + genes["floor_adult"], 1.0)

    def potentiation(self, genes: dict[str, np.ndarray]) -> np.ndarray:
        """The gate of potentiation: the brakes hold it with ``ltp_brake`` of their force,
        ``min(opening * exp(-ltp_brake * B) + floor_adult, 1)`` (LTD is lost with age
        before LTP: Kirkwood et al. 1996; adult open-eye potentiation: Sawtell et al. 2003;
        Sato & Stryker 2008)."""
        held = self.opening(genes) * np.exp(-genes["ltp_brake"] * self.brake(genes))
        return np.minimum(held + genes["floor_adult"], 1.0)

    def pv_inhibition(self, genes: dict[str, np.ndarray]) -> np.ndarray:
        """``w_pv * I``: PV inhibition onto excitatory cells per unit of PV drive."""
        return genes["w_pv"] * np.maximum(self.inhibition, 0.0)

    def dose(self, genes: dict[str, np.ndarray], treatments: dict[str, np.ndarray]) -> None:
        """Today's treatments (doses per organism, 0 or 1), given at the day's start, before
        its gate is read: they act on the plasticity of the days they are given, from the
        first (inhibition under fluoxetine and diazepam; chondroitinase digests the nets),
        and not after the last."""
        unknown = sorted(set(treatments) - set(TREATMENTS))
        if unknown:  # a misspelt name would otherwise be a dose of nothing
            raise ValueError(f"unknown treatment(s) {unknown}; known: {sorted(TREATMENTS)}")
        self.inhibition = self._inhibition(genes, treatments)
        chabc = treatments.get("chondroitinase", 0.0)
        self.nets = self.nets * (1.0 - CHONDROITINASE_DIGESTION * chabc)

    def _inhibition(
        self, genes: dict[str, np.ndarray], treatments: dict[str, np.ndarray]
    ) -> np.ndarray:
        """``I`` from the PV cells' maturity under today's fluoxetine and diazepam."""
        fluoxetine = treatments.get("fluoxetine", 0.0)
        diazepam = treatments.get("diazepam", 0.0)
        return (
            genes["g_inh"] * self.maturity * (1.0 - FLUOXETINE_REDUCTION * fluoxetine)
            + DIAZEPAM_INHIBITION * diazepam
        )

    @staticmethod
    def drive(genes: dict[str, np.ndarray], activity: np.ndarray) -> np.ndarray:
        """``v``: the day's mean PV drive ``activity`` in units of ``a_ref``, as the circuit
        reads it."""
        return np.maximum(activity, 0.0) / genes["a_ref"]

    def advance(
        self,
        genes: dict[str, np.ndarray],
        activity: np.ndarray,
        treatments: dict[str, np.ndarray],
        day: int,
        days: float = 1.0,
    ) -> None:
        """Advance maturation and the brakes by ``days`` given the day's mean PV drive
        ``activity`` (read from the circuit), and the inhibition the matured PV cells give
        under today's treatments (:meth:`dose` gave them at the day's start), from which
        the trigger is read at the day's end."""
        v = self.drive(genes, activity)
        used = np.where(np.isnan(self.used), v, self.used)
        seen = np.minimum(v / np.maximum(used, NETS_FULL_DRIVE), 1.0)
        rate = (
            genes["r_mat"]
            * self.rate_factor
            * (genes["a_vis"] * np.minimum(v, DRIVE_CAP) + (1.0 - genes["a_vis"]))
        )
        self.maturity += (1.0 - self.maturity) * (1.0 - np.exp(-rate * days))
        on = self.triggered
        grow = genes["r_close"] * seen
        loss = genes["pnn_loss"] * (1.0 - seen)
        total = grow + loss
        # exact over the day for constant rates: P relaxes to grow / (grow + loss)
        target = np.divide(grow, total, out=np.zeros_like(total), where=total > 0)
        relaxed = target + (self.nets - target) * np.exp(-total * days)
        self.nets = np.where(on, relaxed, self.nets)
        lynx = 1.0 - (1.0 - self.lynx) * np.exp(-genes["r_lynx"] * days)
        self.lynx = np.where(on, lynx, self.lynx)
        self.used = used + (v - used) * (1.0 - np.exp(-days / genes["tau_used"]))
        self.inhibition = self._inhibition(genes, treatments)
        self.peak_inhibition = np.maximum(self.peak_inhibition, self.inhibition)
        newly = ~self.triggered & (self.inhibition >= genes["theta_open"])
        self.opened_day[newly] = day
        self.triggered |= newly


class PlasticityKernel:
    """:func:`plasticity_step` restructured for speed, with the same arithmetic.

    Every floating-point operation of :func:`plasticity_step` is performed on the same
    operands in the same order, so responses, weights and thresholds come out bit for bit
    the same, in float32 and float64. ``tests/test_plasticity.py`` checks this kernel
    against :func:`plasticity_step` for every branch (each rule term, decay, the w_max clip,
    the threshold sliding up and down and its capped step, gate, mask, batch sizes, blocks)
    and over gene values drawn within their bounds; ``tests/test_performance_invariance.py``
    checks whole days of :meth:`devsim.cohort.Cohort.develop_day` against days built on
    :func:`plasticity_step`. What changes is bookkeeping:

    * the default rule (plain BCM) runs the two matrix products with numba loops between
      them (:mod:`devsim.fused`), each one pass over memory: the rectified responses and
      BCM factor; the update ``w + dw * scale`` clipped, at existing synapses only (absent
      ones hold 0, which is what the reference's ``* mask`` leaves there); the threshold;
    * per-day constants are cast once a day, not once per mini-batch; for other rules
      the learning-rate x gate scale and the synapse mask are folded into one per-synapse
      *gain* (``mask * scale``, made once a day: ``dw * scale * 1`` is ``dw * (scale * 1)``
      exactly);
    * ``dw / batch * scale`` becomes one multiply by ``scale / batch`` when ``batch`` is a
      power of two (dividing by a power of two is exact);
    * buffers are allocated once and filled with ``out=``; responses are stored
      batch-major, ``(batch, organisms, neurons)`` in memory, so the mean over the batch
      (for the threshold) is one long reduction instead of many short ones (BLAS writes
      the same numbers, only to another place);
    * :meth:`step` works on a block of organisms (rows ``a:b``) so that large cohorts are
      processed in cache-sized pieces; every operation is per organism, so the block size
      does not change any result.
    """

    def __init__(self, block: int, neurons: int, inputs: int, batch: int, dtype=np.float32):
        self.dtype = np.dtype(dtype)
        self.batch = batch
        self.block = block
        self.neurons = neurons
        self._y = np.empty((batch, block, neurons), dtype=self.dtype)  # batch-major
        self._phi = np.empty((batch, block, neurons), dtype=self.dtype)
        self._dw = np.empty((block, neurons, inputs), dtype=self.dtype)
        self._mean = np.empty((block, neurons), dtype=self.dtype)
        self.y_min, self.y_max = self.dtype.type(Y_MIN), self.dtype.type(Y_MAX)
        self.inv_n = self.dtype.type(1.0 / neurons)
        self.gain = np.empty((0, neurons, inputs), dtype=self.dtype)  # mask x scale
        self.mask = self.scale = None  # today's synapses and learning rate
        self.activity = np.zeros(0)  # (o,) PV drive summed over today's presentations
        self.y2 = np.zeros((0, neurons))  # (o, n) mini-batch means of y**2 summed today

    def prepare_day(
        self,
        genes: dict[str, np.ndarray],
        gate: np.ndarray,
        dt: float,
        mask: np.ndarray,
        inhibition: np.ndarray | None = None,
        potentiation: np.ndarray | None = None,
    ) -> None:
        """Cast today's per-organism constants (the gates, the inhibition and the synapses
        are fixed within a day) and zero the day's activity sums."""
        f = self.dtype.type
        o = mask.shape[0]
        cast = lambda v: np.asarray(v).astype(self.dtype)  # noqa: E731
        self.rule_a = None if np.all(genes["rule_A"] == 1.0) else cast(genes["rule_A"])
        rule_b = np.asarray(genes["rule_B"])
        # With B == +0 everywhere, ``phi += 0 * y`` only turns phi's -0 (where y == +0) into
        # +0: exactly what adding +0.0 does, without the product.
        self.rule_b = None if np.all((rule_b == 0) & ~np.signbit(rule_b)) else cast(rule_b)
        gate = np.asarray(gate, dtype=np.float64)
        self.ltd = cast(gate)
        self.ltp = self.ltd if potentiation is None else cast(potentiation)
        self.inhibition = np.zeros(o, self.dtype) if inhibition is None else cast(inhibition)
        self.rule_c = cast(genes["rule_C"] * gate) if np.any(genes["rule_C"]) else None
        self.rule_d = cast(genes["rule_D"] * gate) if np.any(genes["rule_D"]) else None
        self.rule_e = cast(genes["rule_E"] * gate) if np.any(genes["rule_E"]) else None
        step = genes["eta"] * dt
        scale = cast(step)
        # Exact fold of ``dw /= batch; dw *= scale``: x / 2**k == x * 2**-k (only when no
        # C, D, E term is added in between).
        plain = self.rule_c is None and self.rule_d is None and self.rule_e is None
        self.fold = plain and self.batch & (self.batch - 1) == 0
        if self.fold:
            scale = scale / f(self.batch)
        self.mask, self.scale = mask, scale
        self.decay = cast(step * genes["gamma"]) if np.any(genes["gamma"]) else None
        w_max = cast(genes["w_max"])
        self.w_max = f(w_max[0]) if w_max.size and np.all(w_max == w_max[0]) else w_max
        self.rate = cast(threshold_rate(dt, genes["tau_theta"]))
        # Metaplasticity may be asymmetric: the threshold rises fast (stability) but may
        # slide down slowly (delayed open-eye potentiation after MD, Frenkel & Bear 2004).
        asymmetric = np.any(genes["tau_theta_down"] != genes["tau_theta"])
        self.rate_down = cast(threshold_rate(dt, genes["tau_theta_down"])) if asymmetric else None
        self.y0 = cast(genes["y0"])  # divided by on both paths: x / 1 == x where it is 1
        self.plain_bcm = (
            self.fold
            and self.rule_a is None
            and self.rule_b is None
            and self.decay is None
            and np.ndim(self.w_max) == 0
        )
        if not self.plain_bcm:  # the general path multiplies by mask x scale, made today
            if self.gain.shape != mask.shape:
                self.gain = np.empty(mask.shape, dtype=self.dtype)
            np.multiply(mask, scale[:, None, None], out=self.gain)
        self.activity = np.zeros(o)
        self.y2 = np.zeros((o, self.neurons))

    def step(
        self, a: int, b: int, weights: np.ndarray, theta: np.ndarray, x: np.ndarray
    ) -> np.ndarray:
        """:func:`plasticity_step` for organisms ``a:b`` (``x`` holds just their inputs);
        returns the responses ``(b - a, batch, neurons)`` (a view of a reused buffer)."""
        o = b - a
        w = weights[a:b]
        th = theta[a:b]
        yb = self._y[:, :o]  # (batch, o, n): batch-major storage
        phib = self._phi[:, :o]
        y = yb.transpose(1, 0, 2)  # (o, batch, n) view
        np.matmul(x, w.transpose(0, 2, 1), out=y)
        activity = self.activity[a:b]
        if self.plain_bcm:
            # The default rule, the two matrix products around loops that each make one
            # pass over memory (devsim.fused; the same arithmetic as below).
            fused.bcm_factor(
                yb,
                th,
                phib,
                self.inhibition[a:b],
                self.ltp[a:b],
                self.ltd[a:b],
                self.inv_n,
                activity,
                self.y_min,
                self.y_max,
            )
            dw = np.matmul(phib.transpose(1, 2, 0), x, out=self._dw[:o])
            fused.apply_update(w, dw, self.mask[a:b], self.scale[a:b], self.w_max)
            down = self.rate if self.rate_down is None else self.rate_down
            fused.slide_threshold(
                yb, th, self.rate[a:b], down[a:b], self._mean[:o], self.y2[a:b], self.y0[a:b]
            )
            return y
        pv = pv_drive(y)  # (o, batch)
        for j in range(self.batch):
            activity += pv[:, j]
        y -= self.inhibition[a:b, None, None] * pv[:, :, None]
        response(yb)
        np.subtract(yb, th, out=phib)
        np.multiply(yb, phib, out=phib)  # y * (y - theta)
        if self.rule_a is not None:
            phib *= self.rule_a[a:b, None]
        if self.rule_b is None:
            phib += 0.0
        else:
            phib += self.rule_b[a:b, None] * yb
        phib *= np.where(phib > 0, self.ltp[a:b, None], self.ltd[a:b, None])
        dw = np.matmul(phib.transpose(1, 2, 0), x, out=self._dw[:o])  # (o, n, i)
        if not self.fold:
            dw /= self.batch
        if self.rule_c is not None:
            dw += self.rule_c[a:b, None, None] * x.mean(axis=1)[:, None, :]
        if self.rule_d is not None:
            dw += self.rule_d[a:b, None, None] * y.mean(axis=1)[:, :, None]
        if self.rule_e is not None:
            dw += self.rule_e[a:b, None, None]
        dw *= self.gain[a:b]
        if self.decay is not None:
            dw -= self.decay[a:b, None, None] * w
        w += dw
        if np.ndim(self.w_max):
            w_max = self.w_max[a:b, None, None]
            np.clip(w, -w_max, w_max, out=w)
        else:
            np.clip(w, -self.w_max, self.w_max, out=w)
        # theta += rate * (<y^2> / y0 - theta), <.> summed in batch order like ndarray.mean
        yy = np.multiply(yb, yb, out=phib)
        mean = np.add.reduce(yy, axis=0)
        np.true_divide(mean, np.intp(self.batch), out=mean, casting="unsafe")
        self.y2[a:b] += mean
        mean /= self.y0[a:b, None]
        if self.rate_down is None:
            th += self.rate[a:b, None] * (mean - th)
        else:
            rate = np.where(mean < th, self.rate_down[a:b, None], self.rate[a:b, None])
            th += rate * (mean - th)
        return y

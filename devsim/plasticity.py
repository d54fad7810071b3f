"""The plasticity rule family and the critical-window gate, vectorised over a cohort.

Pure numerics (no Mesa). Shapes: ``o`` organisms, ``b`` presentations in a mini-batch,
``n`` cortical neurons per organism, ``i`` input channels (both eyes).
"""

from __future__ import annotations

import numpy as np

Y_MIN = -1.0  # small negative floor of the output nonlinearity (Blais et al. 1998)
Y_MAX = 50.0  # saturation ceiling


def response(u: np.ndarray) -> np.ndarray:
    """Output nonlinearity: a saturating rectifier with a small negative floor.

    The negative floor matters: with heavy-tailed inputs it makes a noise-only eye lose
    strength on average under BCM (lid suture depresses more than silencing, SCIENCE.md §6).
    """
    return np.clip(u, Y_MIN, Y_MAX, out=u)


def plasticity_step(
    weights: np.ndarray,
    mask: np.ndarray,
    theta: np.ndarray,
    x: np.ndarray,
    genes: dict[str, np.ndarray],
    gate: np.ndarray,
    dt: float,
) -> np.ndarray:
    """Advance weights and thresholds by one mini-batch, in place; return the responses.

    The rule family (Najarro & Risi 2020's ABCD rule plus the BCM term of Bienenstock,
    Cooper & Munro 1982, as in Blais' Plasticnet):

    .. math::
        \\Delta w = \\eta\\,g\\,dt\\,\\langle A x y (y-\\theta) + B x y + C x + D y + E\\rangle
                    - \\eta\\,\\gamma\\,dt\\,w,
        \\qquad
        \\Delta\\theta = \\frac{dt}{\\tau_\\theta}\\left(\\frac{\\langle y^2\\rangle}{y_0}
                    - \\theta\\right)

    with ``<.>`` the mean over the mini-batch.

    Parameters
    ----------
    weights : (o, n, i) float32, updated in place (zero where ``mask`` is False).
    mask : (o, n, i) bool, existing synapses.
    theta : (o, n) float32 sliding thresholds, updated in place.
    x : (o, b, i) float32 presynaptic activity for the mini-batch.
    genes : per-organism gene arrays of shape (o,), see :mod:`devsim.genome`.
    gate : (o,) plasticity gate g in [0, 1].
    dt : days per mini-batch.
    """
    batch = x.shape[1]
    y = response(np.matmul(x, weights.transpose(0, 2, 1)))  # (o, b, n)
    col = lambda v: v.astype(np.float32)[:, None, None]  # noqa: E731 - broadcast a gene
    phi = y * (y - theta[:, None, :])
    phi *= col(genes["rule_A"])
    phi += col(genes["rule_B"]) * y
    dw = np.matmul(phi.transpose(0, 2, 1), x)  # (o, n, i): sum over the batch of phi * x
    dw /= batch
    # The C, D and E terms are zero for BCM; skip their arithmetic when the whole cohort
    # has them at zero (keeps the common case close to the bare-kernel floor).
    if np.any(genes["rule_C"]):
        dw += col(genes["rule_C"]) * x.mean(axis=1)[:, None, :]
    if np.any(genes["rule_D"]):
        dw += col(genes["rule_D"]) * y.mean(axis=1)[:, :, None]
    if np.any(genes["rule_E"]):
        dw += col(genes["rule_E"])
    step = genes["eta"] * dt
    dw *= col(step * gate)
    if np.any(genes["gamma"]):
        dw -= col(step * genes["gamma"]) * weights
    weights += dw
    # Synapses saturate: hard bounds [-w_max, w_max] (signed weights as in Blais et al. 1998;
    # a negative weight stands for feed-forward inhibition relayed by the same channel).
    w_max = genes["w_max"].astype(np.float32)[:, None, None]
    np.clip(weights, -w_max, w_max, out=weights)
    weights *= mask
    rate = (dt / genes["tau_theta"]).astype(np.float32)[:, None]
    theta += rate * ((y * y).mean(axis=1) / genes["y0"].astype(np.float32)[:, None] - theta)
    return y


class CriticalWindow:
    """The critical window as a mechanism, per organism (SCIENCE.md §3).

    Inhibition matures as ``dm/dt = r_mat * (a_vis * drive + (1 - a_vis)) * (1 - m)``;
    effective inhibition is ``I = g_inh * m + drug``. The window is a *trigger*: once
    ``I`` has crossed ``theta_open`` it runs its course even if ``I`` falls back (a brief
    diazepam pulse leaves a window open days later, Fagiolini & Hensch 2000). Openness
    follows the highest inhibition reached, a brake ``b`` accumulates at ``r_close`` from
    the trigger on, and the gate is
    ``g = sigmoid((I_max - theta_open) / open_width) * exp(-b) + floor_adult`` (capped at 1).
    """

    def __init__(self, organisms: int):
        self.maturity = np.zeros(organisms)  # m
        self.inhibition = np.zeros(organisms)  # I today
        self.peak_inhibition = np.zeros(organisms)  # I_max so far
        self.brake = np.zeros(organisms)  # b
        self.triggered = np.zeros(organisms, dtype=bool)
        self.opened_day = np.full(organisms, np.nan)

    def gate(self, genes: dict[str, np.ndarray]) -> np.ndarray:
        """The plasticity gate g(t) in [0, 1] for every organism."""
        z = (self.peak_inhibition - genes["theta_open"]) / genes["open_width"]
        opening = 0.5 * (1.0 + np.tanh(0.5 * z))  # a numerically safe sigmoid
        return np.minimum(opening * np.exp(-self.brake) + genes["floor_adult"], 1.0)

    def advance(
        self,
        genes: dict[str, np.ndarray],
        drive: np.ndarray,
        drug: np.ndarray,
        day: int,
        days: float = 1.0,
    ) -> None:
        """Advance maturation and the brake by ``days`` given today's visual drive and drug."""
        rate = genes["r_mat"] * (genes["a_vis"] * drive + (1.0 - genes["a_vis"]))
        self.maturity += (1.0 - self.maturity) * (1.0 - np.exp(-rate * days))
        self.brake += np.where(self.triggered, genes["r_close"] * days, 0.0)
        self.inhibition = genes["g_inh"] * self.maturity + drug
        self.peak_inhibition = np.maximum(self.peak_inhibition, self.inhibition)
        newly = ~self.triggered & (self.inhibition >= genes["theta_open"])
        self.opened_day[newly] = day
        self.triggered |= newly

"""Fused loops for the hot path of a day, compiled by numba.

Pure numerics. numpy does each step of a mini-batch as a separate pass over memory (and a
separate Python call); these loops do several steps in one pass, element by element, with
the *same* float operations in the same order as the numpy code they replace, so results
are bit for bit the same. ``tests/test_plasticity.py`` checks the loops of the rule
(:func:`bcm_factor`, :func:`apply_update`, :func:`slide_threshold`, as
:class:`devsim.plasticity.PlasticityKernel` uses them) against the reference
:func:`devsim.plasticity.plasticity_step`; ``tests/test_performance_invariance.py`` checks
whole days (:func:`gather_inputs` and :func:`prune_and_sprout_slots` included) against a day
built from that reference and frozen copies of the pre-optimisation stimuli and pruning;
the same file :func:`gather_scenes` against the habitat world's numpy gather.
numba compiles without fast-math: no reassociation and no fused multiply-add, so float32
stays IEEE float32 arithmetic.

Compiled code is cached next to this file (``__pycache__``), so only the first run on a
machine pays the compilation (a few seconds).
"""

from __future__ import annotations

import numba
import numpy as np

_jit = numba.njit(cache=True, nogil=True, boundscheck=False)


@_jit
def gather_inputs(pattern_bank, noise_bank, indices, litter, offsets, squint, out):
    """Inputs of a block of organisms for one mini-batch, into ``out`` (o, batch, 2, c).

    ``out[k, j, e] = pattern_bank[P + offsets[k, e]] + noise_bank[N + offsets[k, 2 + e]]``
    with ``P = indices[e, litter[k], j]`` (the left eye's pattern for both eyes unless
    ``squint[k]``: strabismic eyes see independent patterns) and
    ``N = indices[2 + e, litter[k], j]``. The banks are the pre-scaled copies of
    :meth:`devsim.senses.VisualWorld.stimulus_plan`; offsets pick each eye's copy.
    """
    organisms, batch = out.shape[0], out.shape[1]
    channels = out.shape[3]
    for k in range(organisms):
        pos = litter[k]
        for j in range(batch):
            left = indices[0, pos, j]
            right = indices[1, pos, j] if squint[k] else left
            for eye in range(2):
                p = (left if eye == 0 else right) + offsets[k, eye]
                n = indices[2 + eye, pos, j] + offsets[k, 2 + eye]
                for m in range(channels):
                    out[k, j, eye, m] = pattern_bank[p, m] + noise_bank[n, m]


@_jit
def gather_scenes(flat, noise, indices, litter, first_row, independent, gain, sigma, out):
    """A habitat world's inputs for a block of organisms and one mini-batch, into ``out``
    (o, batch, 2c): ``out[k, j, e*c:(e+1)*c] = gain[k, e] * flat[first_row[k, e] + P] +
    sigma[k, e] * noise[N]`` with ``P = indices[0, litter[k], j]`` for both eyes (the right
    eye's view of the left eye's scene) unless ``independent[k]`` (then ``indices[1, ...]``
    for the right eye) and ``N = indices[2 + e, litter[k], j]``. numpy equivalent: the
    float64 path of :meth:`devsim.environment.HabitatWorld.gather` (product, product, sum,
    each rounded to float32)."""
    organisms, batch = out.shape[0], out.shape[1]
    channels = flat.shape[1]
    for k in range(organisms):
        pos = litter[k]
        for j in range(batch):
            left = indices[0, pos, j]
            right = indices[1, pos, j] if independent[k] else left
            for eye in range(2):
                p = first_row[k, eye] + (left if eye == 0 else right)
                n = indices[2 + eye, pos, j]
                g = gain[k, eye]
                s = sigma[k, eye]
                base = eye * channels
                for m in range(channels):
                    out[k, j, base + m] = g * flat[p, m] + s * noise[n, m]


@_jit
def bcm_factor(y, theta, phi, inhibition, ltp, ltd, inv_n, activity, y_min, y_max):
    """The circuit's response and the BCM factor of a mini-batch, in one pass per
    presentation: ``y`` (batch, o, n) holds the afferent drive ``u`` and becomes the
    response; ``phi`` (batch, o, n) the gated BCM factor.

    For each presentation and organism ``k``: the PV drive ``pv = (running sum of
    max(u, 0) over neurons) * inv_n`` is added to ``activity[k]`` (float64); then
    ``y = clip(u - inhibition[k] * pv, y_min, y_max)``, ``phi = y * (y - theta) + 0``
    times ``ltp[k]`` where positive and ``ltd[k]`` elsewhere.

    numpy equivalent: :func:`devsim.plasticity.pv_drive`, ``u -= c * pv``,
    ``np.clip(u, y_min, y_max)``, ``phi = y * (y - theta); phi += 0.0;
    phi *= np.where(phi > 0, ltp, ltd)`` (adding +0 turns -0 into +0, as the rule's
    ``B * y`` term with B = +0 does)."""
    batch, organisms, neurons = y.shape
    zero = y_max - y_max  # +0 in y's dtype (a float64 literal would promote)
    for b in range(batch):
        for k in range(organisms):
            total = zero
            for i in range(neurons):
                u = y[b, k, i]
                total += u if (u >= zero or u != u) else zero  # np.maximum(u, 0)
            pv = total * inv_n
            activity[k] += pv
            c = inhibition[k]
            for i in range(neurons):
                v = y[b, k, i] - c * pv
                v = y_min if v < y_min else (y_max if v > y_max else v)
                y[b, k, i] = v
                p = v * (v - theta[k, i]) + zero
                phi[b, k, i] = p * (ltp[k] if p > zero else ltd[k])


@_jit
def slide_threshold(y, theta, rate, rate_down, mean, y2, y0):
    """``theta += r * (<y^2> / y0 - theta)`` with ``r = rate_down[k]`` where ``<y^2> / y0
    < theta`` and ``rate[k]`` elsewhere: ``<y^2>`` is the batch mean of ``y * y``, summed
    in batch order and divided in float64 (as ``np.add.reduce`` over the batch axis and
    ``np.true_divide(..., np.intp(batch))`` do), stored in ``mean`` (o, n) of theta's
    dtype and added to ``y2`` (o, n, float64) before the division by ``y0`` (o,), which is
    exact where ``y0`` is 1; ``y`` (batch, o, n), the rates (o,)."""
    batch, organisms, neurons = y.shape
    for k in range(organisms):  # batch-major: accumulate row by row, in batch order
        for i in range(neurons):
            mean[k, i] = y[0, k, i] * y[0, k, i]
    for b in range(1, batch):
        for k in range(organisms):
            for i in range(neurons):
                mean[k, i] += y[b, k, i] * y[b, k, i]
    for k in range(organisms):
        for i in range(neurons):
            mean[k, i] = np.float64(mean[k, i]) / batch  # rounded to theta's dtype on store
            y2[k, i] += mean[k, i]
            mean[k, i] = mean[k, i] / y0[k]  # one rounding either way: as the reference's /=
            r = rate_down[k] if mean[k, i] < theta[k, i] else rate[k]
            theta[k, i] += r * (mean[k, i] - theta[k, i])


@_jit
def apply_update(weights, dw, mask, scale, w_max):
    """``weights = clip(weights + dw * scale, -w_max, w_max)`` at existing synapses, in one
    pass; absent synapses hold 0 and keep it. ``weights``, ``dw``, ``mask`` (o, n, i);
    ``scale`` (o,) the learning rate (/ batch) of each organism; ``w_max`` a scalar
    of the weights' dtype."""
    organisms = weights.shape[0]
    w = weights.reshape(organisms, -1)
    d = dw.reshape(organisms, -1)
    m = mask.reshape(organisms, -1)
    lo = -w_max
    for k in range(organisms):
        s = scale[k]
        for t in range(w.shape[1]):
            if m[k, t]:
                v = w[k, t] + d[k, t] * s
                w[k, t] = lo if v < lo else (w_max if v > w_max else v)


@_jit
def prune_and_sprout_slots(
    weights,
    mask,
    weak_days,
    weak_below,
    prune_draw,
    prune_below,
    sprout_draw,
    sprout_below,
    prune_days,
    weak_days_max,
    initial_weight,
):
    """One day of structural plasticity over every slot, in one pass (see
    :func:`devsim.wiring.prune_and_sprout`, whose numpy path does the same comparisons):

    * a synapse is weak where ``|w| < weak_below[k, j]``; ``weak_days`` counts weak days
      in a row (int8, held at ``weak_days_max``) and is 0 elsewhere;
    * it is pruned where ``prune_draw < prune_below[k]`` and it has been weak for
      ``prune_days`` days: weight 0, mask False, counter 0;
    * a free slot sprouts where ``sprout_draw < sprout_below[k, j, eye]``: mask True,
      weight ``initial_weight``.

    ``weights``, ``mask``, ``weak_days``, the draws: (o, n, 2c); ``weak_below`` (o, n).
    """
    organisms, neurons, inputs = weights.shape
    channels = inputs // 2
    zero = weights.dtype.type(0)  # typed constants and selects keep the loop branch-free
    for k in range(organisms):
        pb = prune_below[k]
        for j in range(neurons):
            wb = weak_below[k, j]
            for eye in range(2):
                sb = sprout_below[k, j, eye]
                for s in range(eye * channels, (eye + 1) * channels):
                    present = mask[k, j, s]
                    w = weights[k, j, s]
                    weak = present and abs(w) < wb
                    days = (
                        np.int8(min(weak_days[k, j, s], weak_days_max - 1) + 1)
                        if weak
                        else np.int8(0)
                    )
                    pruned = weak and prune_draw[k, j, s] < pb and days >= prune_days
                    sprouted = not present and sprout_draw[k, j, s] < sb
                    weak_days[k, j, s] = np.int8(0) if pruned else days
                    mask[k, j, s] = (present and not pruned) or sprouted
                    weights[k, j, s] = zero if pruned else (initial_weight if sprouted else w)

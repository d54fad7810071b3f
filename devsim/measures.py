"""Measures of ocular dominance and vision, exactly as defined in docs/science.md (Measures).

Pure functions on numpy arrays. The left eye is the contralateral eye.
"""

from __future__ import annotations

import numpy as np

from devsim.plasticity import pv_drive, response

# ODI bin edges for the 7 classes of Hubel & Wiesel (1962): class 1 = ODI > 0.75.
OD_CLASS_EDGES = (0.75, 0.45, 0.15, -0.15, -0.45, -0.75)
RESPONSIVE_FLOOR = 0.05  # summed mean response (a.u.) below which a cell is unresponsive

# The measures every run reports, per group: each day of life, and at the end.
_POOLED = (  # over a group's responsive cells (OD) or all its cells (responses)
    "mean_odi",
    "cbi",
    "binocular_fraction",
    "responsive_fraction",
    "response_left",
    "response_right",
)
DAILY_METRICS = (*_POOLED, "plasticity", "synapses")
FINAL_METRICS = (
    "od_histogram",
    *_POOLED,
    "cbi_sd",  # sd of the organisms' own CBIs (n = animals); null unless two have one
    "acuity_left",
    "acuity_right",
    "acuity_at_ceiling",  # share of organisms whose acuity is the tested range's top: a bound
    "synapses",
    "window_opened_share",  # share of the group's organisms whose window has opened
    "window_opened",  # mean day it opened (at its end inhibition crossed theta_open; the
    # window is open from age day + 1); null if none
    "window_opened_sd",  # their sample sd (littermates); null unless two have opened
)


def circuit_response(
    u: np.ndarray,
    inhibition: np.ndarray | None,
    axis: int,
    afferent: np.ndarray | None = None,
) -> np.ndarray:
    """The rectified response of the circuit to drive ``u`` (in place): PV inhibition
    ``inhibition`` (o,) x the PV drive pooled over the neurons on ``axis`` from the
    ``afferent`` drive (default ``u``; as in
    :func:`devsim.plasticity.inhibited_response`), the output nonlinearity, then >= 0."""
    if inhibition is not None and np.any(inhibition):  # 0 x the PV drive changes nothing
        moved = np.moveaxis(u, axis, -1)
        source = moved if afferent is None else np.moveaxis(afferent, axis, -1)
        pv = pv_drive(source)[..., None]
        c = np.asarray(inhibition, dtype=u.dtype).reshape((-1,) + (1,) * (moved.ndim - 1))
        moved -= c * pv
    return np.maximum(response(u), 0.0)


def eye_responses(
    weights: np.ndarray, patterns: np.ndarray, inhibition: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Mean rectified response of every neuron to ``patterns`` shown through one eye alone.

    Parameters
    ----------
    weights : (o, n, 2c) synaptic weights, left-eye channels first.
    patterns : (t, c) test patterns; the other eye sees nothing.
    inhibition : (o,) the circuit's PV inhibition (``Circuit.pv_inhibition``); None for
        the afferent drive alone.

    Returns
    -------
    (R_left, R_right), each of shape (..., n).
    """
    c = patterns.shape[1]
    out = []
    for eye in (slice(0, c), slice(c, 2 * c)):
        # A contiguous copy of the eye's half lets BLAS do the products (a strided view
        # takes numpy's slow generic loop); one small product per organism stays on one
        # thread, so a busy machine does not stall it.
        u = np.matmul(np.ascontiguousarray(weights[..., eye]), patterns.T)  # (o, n, t)
        out.append(circuit_response(u, inhibition, axis=-2).mean(axis=-1))
    return out[0], out[1]


def ocular_dominance_index(r_contra: np.ndarray, r_ipsi: np.ndarray) -> np.ndarray:
    """ODI = (R_contra - R_ipsi) / (R_contra + R_ipsi), in [-1, 1]; NaN where both are 0.

    >>> ocular_dominance_index(np.array([3.0, 1.0]), np.array([1.0, 1.0]))
    array([0.5, 0. ])
    """
    total = r_contra + r_ipsi
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, (r_contra - r_ipsi) / np.where(total > 0, total, 1.0), np.nan)


def responsive(r_contra: np.ndarray, r_ipsi: np.ndarray, floor: float = RESPONSIVE_FLOOR):
    """True where a neuron's summed response reaches the responsiveness floor."""
    return (r_contra + r_ipsi) >= floor


def responsive_odi(r_contra: np.ndarray, r_ipsi: np.ndarray) -> np.ndarray:
    """The ODI of each cell, NaN where it is unresponsive (:func:`responsive`): the cells
    every OD statistic counts."""
    return np.where(responsive(r_contra, r_ipsi), ocular_dominance_index(r_contra, r_ipsi), np.nan)


def od_classes(odi: np.ndarray) -> np.ndarray:
    """Hubel & Wiesel's 7 ocular-dominance classes (1 = contralateral only, 7 = ipsi only).

    >>> od_classes(np.array([0.9, 0.5, 0.0, -0.8])).tolist()
    [1, 2, 4, 7]
    """
    edges = np.array(OD_CLASS_EDGES)
    return 1 + (odi[..., None] <= edges).sum(axis=-1)


def od_histogram(odi: np.ndarray) -> np.ndarray:
    """Counts of the 7 OD classes (index 0 = class 1) over the given (responsive) cells."""
    return np.bincount(od_classes(odi).ravel(), minlength=8)[1:8]


def contralateral_bias_index(hist: np.ndarray) -> float:
    """CBI = [(n1-n7) + 2/3 (n2-n6) + 1/3 (n3-n5) + N] / (2N); 1 = fully contralateral.

    >>> contralateral_bias_index(np.array([0, 0, 0, 10, 0, 0, 0]))
    0.5
    """
    n = hist.sum()
    if n == 0:
        return float("nan")
    return float(_cbi(hist, n))


def _cbi(counts: np.ndarray, n):
    """The CBI of 7-class counts (last axis) summing to ``n``: the one formula."""
    n1, n2, n3, _, n5, n6, n7 = np.moveaxis(np.asarray(counts), -1, 0)
    return ((n1 - n7) + 2 / 3 * (n2 - n6) + 1 / 3 * (n3 - n5) + n) / (2 * n)


def sample_sd(values: np.ndarray) -> float:
    """The sample sd (ddof 1) of the finite ``values``; NaN unless there are two."""
    values = np.asarray(values, dtype=float)
    values = values[np.isfinite(values)]
    return float(values.std(ddof=1)) if values.size > 1 else float("nan")


def organism_cbi(r_contra: np.ndarray, r_ipsi: np.ndarray) -> np.ndarray:
    """Each organism's own CBI over its responsive cells (NaN where none responds), from
    responses of shape (o, ...): the per-animal CBI that Gordon & Stryker (1996) average
    over mice, where :func:`summarize_od` pools a group's cells.

    >>> organism_cbi(np.array([[1.0, 1.0], [1.0, 0.0]]), np.array([[0.0, 1.0], [0.0, 0.0]]))
    array([0.75, 1.  ])
    """
    o = r_contra.shape[0]
    r_contra, r_ipsi = r_contra.reshape(o, -1), r_ipsi.reshape(o, -1)
    ok = responsive(r_contra, r_ipsi)
    classes = od_classes(np.nan_to_num(ocular_dominance_index(r_contra, r_ipsi)))
    counts = (ok[..., None] & (classes[..., None] == np.arange(1, 8))).sum(axis=1)  # (o, 7)
    n = counts.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n > 0, _cbi(counts, n), np.nan)


def class_share(hist: np.ndarray, first: int, last: int) -> float:
    """Fraction of responsive cells in OD classes ``first`` to ``last`` (1-7, inclusive)
    of a 7-class histogram (:func:`od_histogram`)."""
    hist = np.asarray(hist)
    n = hist.sum()
    return float(hist[first - 1 : last].sum() / n) if n else float("nan")


def binocular_fraction(hist: np.ndarray) -> float:
    """Fraction of responsive cells in classes 2-6."""
    return class_share(hist, 2, 6)


def monocularity_index(hist: np.ndarray) -> float:
    """[(n1+n7) + 2/3 (n2+n6) + 1/3 (n3+n5)] / N."""
    n = hist.sum()
    if n == 0:
        return float("nan")
    n1, n2, n3, _, n5, n6, n7 = hist
    return float(((n1 + n7) + 2 / 3 * (n2 + n6) + 1 / 3 * (n3 + n5)) / n)


def acuity(
    weights: np.ndarray,
    gratings: np.ndarray,
    cortical_noise: np.ndarray,
    sfs: tuple[float, ...],
    inhibition: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Per-eye grating acuity: the highest spatial frequency whose gratings can be told apart.

    For each spatial frequency, gratings of several orientations and phases are shown
    through one eye; every presentation's rectified responses get intrinsic cortical noise
    (so an eye that drives the cortex weakly is also decoded less reliably). A
    nearest-centroid read-out (a linear classifier) is fitted on half of the presentations
    and scored on the other half. Acuity is the frequency at which accuracy falls to
    halfway between chance and perfect: the highest frequency still at or above it,
    linearly interpolated (a behavioural or VEP acuity threshold, Mitchell 1988).

    Parameters
    ----------
    weights : (o, n, 2c).
    gratings : (s, k, c) for ``s`` spatial frequencies and ``k`` gratings each.
    cortical_noise : (s, k, r, >= n) noise added to responses of ``r`` presentations.
    sfs : the ``s`` spatial frequencies (cycles per channel), increasing.
    inhibition : (o,) the circuit's PV inhibition, as in :func:`eye_responses`.

    Returns
    -------
    (acuity_left, acuity_right), each (o,), in cycles per channel.
    """
    c = gratings.shape[2]
    out = []
    for eye in (slice(0, c), slice(c, 2 * c)):
        u = np.matmul(weights[:, None, :, eye], gratings.transpose(0, 2, 1)[None])  # (o,s,n,k)
        out.append(acuity_from_drive(u, cortical_noise, sfs, inhibition))
    return out[0], out[1]


def at_ceiling(
    acuity_left: np.ndarray, acuity_right: np.ndarray, sfs: tuple[float, ...]
) -> np.ndarray:
    """Per organism, whether either eye's acuity is the highest frequency tested: the eye
    told those gratings apart, so its true acuity is at least that (a lower bound, not a
    measurement)."""
    top = sfs[-1]
    return (np.asarray(acuity_left) >= top) | (np.asarray(acuity_right) >= top)


def acuity_from_drive(
    u: np.ndarray,
    cortical_noise: np.ndarray,
    sfs: tuple[float, ...],
    inhibition: np.ndarray | None = None,
    afferent: np.ndarray | None = None,
) -> np.ndarray:
    """One eye's grating acuity (o,) from the cortex's drive ``u`` (o, s, n, k) by each of
    ``k`` gratings at each of ``s`` frequencies (see :func:`acuity`; consumed in place;
    ``afferent`` as in :func:`circuit_response`)."""
    k = u.shape[3]
    reps = cortical_noise.shape[2]
    half = reps // 2
    neurons = u.shape[2]
    noise = cortical_noise[..., :neurons].transpose(0, 3, 1, 2)  # (s, n, k, r)
    labels = np.arange(k)
    threshold = 1 / k + 0.5 * (1 - 1 / k)
    y = circuit_response(u, inhibition, 2, afferent)[..., None] + noise[None]  # (o,s,n,k,r)
    centroids = y[..., :half].mean(axis=-1)  # (o, s, n, k)
    test = y[..., half:]
    dist = ((test[:, :, :, :, None, :] - centroids[:, :, :, None, :, None]) ** 2).sum(2)
    accuracy = (dist.argmin(axis=3) == labels[None, None, :, None]).mean(axis=(2, 3))
    return _threshold_crossing(accuracy, np.asarray(sfs), threshold)


def _threshold_crossing(accuracy: np.ndarray, sfs: np.ndarray, threshold: float) -> np.ndarray:
    """Per row, the highest frequency still at or above ``threshold`` (interpolated to the
    next one); 0 where none is. The retina is band-pass, so low frequencies may fail too."""
    result = np.zeros(accuracy.shape[0])
    for i, acc in enumerate(accuracy):
        above = np.nonzero(acc >= threshold)[0]
        if above.size == 0:
            continue
        j = above[-1]
        if j == len(sfs) - 1:
            result[i] = sfs[-1]
        else:
            frac = (acc[j] - threshold) / (acc[j] - acc[j + 1])
            result[i] = sfs[j] + frac * (sfs[j + 1] - sfs[j])
    return result


def summarize_od(r_left: np.ndarray, r_right: np.ndarray) -> dict[str, object]:
    """Group-level OD statistics over all neurons given (pooled over organisms)."""
    ok = responsive(r_left, r_right)
    odi = ocular_dominance_index(r_left[ok], r_right[ok])
    hist = od_histogram(odi)
    return {
        "od_histogram": [int(v) for v in hist],
        "mean_odi": float(np.mean(odi)) if odi.size else float("nan"),
        "cbi": contralateral_bias_index(hist),
        "binocular_fraction": binocular_fraction(hist),
        "monocularity_index": monocularity_index(hist),
        "responsive_fraction": float(ok.mean()) if ok.size else float("nan"),
    }

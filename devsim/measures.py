"""Measures of ocular dominance and vision, exactly as defined in SCIENCE.md §1.

Pure functions on numpy arrays. The left eye is the contralateral eye.
"""

from __future__ import annotations

import numpy as np

from devsim.plasticity import response

# ODI bin edges for the 7 classes of Hubel & Wiesel (1962): class 1 = ODI > 0.75.
OD_CLASS_EDGES = (0.75, 0.45, 0.15, -0.15, -0.45, -0.75)
RESPONSIVE_FLOOR = 0.05  # summed mean response (a.u.) below which a cell is unresponsive


def eye_responses(weights: np.ndarray, patterns: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean rectified response of every neuron to ``patterns`` shown through one eye alone.

    Parameters
    ----------
    weights : (..., n, 2c) synaptic weights, left-eye channels first.
    patterns : (t, c) test patterns; the other eye sees nothing.

    Returns
    -------
    (R_left, R_right), each of shape (..., n).
    """
    c = patterns.shape[1]
    out = []
    for eye in (slice(0, c), slice(c, 2 * c)):
        u = np.matmul(weights[..., eye], patterns.T)  # (..., n, t)
        out.append(np.maximum(response(u), 0.0).mean(axis=-1))
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
    n1, n2, n3, _, n5, n6, n7 = hist
    return float(((n1 - n7) + 2 / 3 * (n2 - n6) + 1 / 3 * (n3 - n5) + n) / (2 * n))


def binocular_fraction(hist: np.ndarray) -> float:
    """Fraction of responsive cells in classes 2-6."""
    n = hist.sum()
    return float(hist[1:6].sum() / n) if n else float("nan")


def monocularity_index(hist: np.ndarray) -> float:
    """[(n1+n7) + 2/3 (n2+n6) + 1/3 (n3+n5)] / N."""
    n = hist.sum()
    if n == 0:
        return float("nan")
    n1, n2, n3, _, n5, n6, n7 = hist
    return float(((n1 + n7) + 2 / 3 * (n2 + n6) + 1 / 3 * (n3 + n5)) / n)


def acuity(
    weights: np.ndarray,
    patterns: np.ndarray,
    noise: np.ndarray,
    cortical_noise: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Per-eye discriminability of ``patterns`` from cortical responses, in [0, 1].

    Each of the ``k`` patterns is shown ``r`` times through one eye with added noise; a
    nearest-centroid read-out (a linear classifier) is fitted on the first half of the
    presentations and scored on the held-out second half. Chance is ``1/k``.

    Parameters
    ----------
    weights : (o, n, 2c).
    patterns : (k, c); noise : (k, r, c) input noise per presentation.
    cortical_noise : optional (k, r, >= n) intrinsic response noise added to each neuron's
        rectified response, so that an eye that drives the cortex weakly is also decoded
        less reliably (amblyopia is a weak *and* noisy representation).

    Returns
    -------
    (acuity_left, acuity_right), each (o,).
    """
    k, reps, c = noise.shape
    half = reps // 2
    shown = (patterns[:, None, :] + noise).reshape(k * reps, c)
    labels = np.repeat(np.arange(k), reps).reshape(k, reps)
    out = []
    for eye in (slice(0, c), slice(c, 2 * c)):
        y = response(np.matmul(weights[:, :, eye], shown.T))  # (o, n, k*r)
        y = np.maximum(y, 0.0).reshape(weights.shape[0], -1, k, reps)
        if cortical_noise is not None:
            y = y + cortical_noise[:, :, : y.shape[1]].transpose(2, 0, 1)[None]
        centroids = y[..., :half].mean(axis=-1)  # (o, n, k)
        test = y[..., half:]  # (o, n, k, r - half)
        dist = ((test[:, :, :, None, :] - centroids[:, :, None, :, None]) ** 2).sum(axis=1)
        guess = dist.argmin(axis=2)  # (o, k, r - half)
        out.append((guess == labels[None, :, half:]).mean(axis=(1, 2)))
    return out[0], out[1]


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

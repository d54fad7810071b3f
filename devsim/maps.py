"""Measures of cortical maps: ocular dominance and orientation preference on a sheet.

Pure functions on numpy arrays (maps are periodic: the sheet is a torus). Definitions as
in the map literature: the column spacing is the wavelength of the ring in the map's power
spectrum; pinwheels are the points the preferred orientation winds around (Kaschube et al.
2010 count them per hypercolumn area, spacing squared); orientation maps are compared by
the correlation of their complex (vector) maps (Chapman et al. 1996).
"""

from __future__ import annotations

import numpy as np

from devsim.measures import od_classes, responsive_odi
from devsim.senses import torus_gaussian

MIN_COLUMN = 4  # the shortest column spacing looked for (units): 2 units per column
IMAGING_BLUR = 0.125  # sd of optical imaging's blur, x the column spacing (see imaged)


def od_map(r_left: np.ndarray, r_right: np.ndarray, size: int) -> np.ndarray:
    """ODI of every unit as a ``(..., size, size)`` map: NaN where a unit is unresponsive
    (summed response below :data:`devsim.measures.RESPONSIVE_FLOOR`, as for every ODI
    statistic), so the map measures leave it out as the point cortex's do."""
    odi = responsive_odi(r_left, r_right)
    return odi.reshape(*r_left.shape[:-1], size, size)


def orientation_map(responses: np.ndarray, size: int) -> np.ndarray:
    """The complex orientation map from responses ``(..., orientations, units)`` to gratings
    at evenly spaced orientations over 180 degrees: ``z = sum_k R_k exp(2 i theta_k) /
    sum_k R_k``, angle = twice the preferred orientation, modulus = selectivity (0 where a
    unit does not respond). On the sheet ``theta`` is the direction across the grating's
    bars (its wave vector, :attr:`devsim.sheet.SheetWorld.grating_parts`), from the way
    column indices grow toward the way row indices grow; figures colour the bars' own."""
    return _vector_sum(responses).reshape(*responses.shape[:-2], size, size)


def _vector_sum(responses: np.ndarray) -> np.ndarray:
    """:func:`orientation_map`'s ``z`` of each unit, (..., units), unshaped."""
    k = responses.shape[-2]
    phase = np.exp(2j * np.pi * np.arange(k) / k)[:, None]
    total = responses.sum(axis=-2)
    vector = (responses * phase).sum(axis=-2)
    return np.divide(vector, total, out=np.zeros_like(vector), where=total > 0)


def _power(field: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(power, ring) of a periodic map's Fourier components: |FFT|**2 of the map (mean
    removed, NaN as the mean) and each component's integer frequency in cycles per sheet."""
    size = field.shape[-1]
    mean = np.nanmean(field) if not np.isnan(field).all() else 0.0  # no unit responds
    values = np.nan_to_num(field - mean)
    power = np.abs(np.fft.fft2(values)) ** 2
    f = np.fft.fftfreq(size, 1.0 / size)
    return power, np.rint(np.hypot(f[:, None], f[None, :])).astype(int)


def radial_spectrum(field: np.ndarray) -> np.ndarray:
    """Mean power of a periodic map in rings of integer spatial frequency ``k = 0 ..
    size // 2`` cycles per sheet (k = 0 is the mean, removed: 0)."""
    return _ring_means(*_power(field), field.shape[-1])


def _ring_means(power: np.ndarray, ring: np.ndarray, size: int) -> np.ndarray:
    """:func:`radial_spectrum` from :func:`_power`'s components."""
    total = np.bincount(ring.ravel(), power.ravel())[: size // 2 + 1]
    counts = np.bincount(ring.ravel())[: size // 2 + 1]
    return total / np.maximum(counts, 1)


def wavelength(field: np.ndarray) -> tuple[float, float]:
    """(Lambda, ring peak) of a periodic map, looking for columns at least
    :data:`MIN_COLUMN` units apart (rings ``1 <= k <= size / MIN_COLUMN``: alternation
    between neighbouring units is salt and pepper, not columns).

    Lambda is the sheet side over the power-weighted mean frequency of those rings (steady
    where the ring straddles two integer frequencies; on a 32-unit sheet the rings alone
    only allow Lambda = 16, 10.7, 8, ...).

    The ring peak says whether there is a ring at all: the mean power of the band of the
    strongest of those rings and its neighbours (``k +- 1``) over the mean power of the
    rings inside the band and, separately, of those outside it (up to ``size / 2``),
    whichever ratio is smaller. Columns put their power on a ring, with less towards
    lower frequencies as well as higher ones, and score well above 1; a map of
    independent units scores about 1 (at most ~1.9 in 400 draws of 16-32 units). A smooth
    map without columns (a blur of noise, a gradient) usually has its strongest ring at
    k = 1 or 2, where the band reaches down to the lowest frequency and has nothing inside
    it to stand above: it scores 1, however much of its power sits there. (Measured
    against all other frequencies at once, as devsim did first, blurred noise scored 10 to
    10**7, more than the sheet's maps.)"""
    size = field.shape[-1]
    power, ring = _power(field)  # one FFT for the rings and the ratio
    spectrum = _ring_means(power, ring, size)
    top = max(size // MIN_COLUMN, 1)
    rings = spectrum[1 : top + 1]
    if not np.any(rings > 0):
        return float("nan"), float("nan")
    ks = np.arange(1, top + 1)
    k_mean = float((ks * rings).sum() / rings.sum())
    peak = int(np.argmax(rings)) + 1
    if peak <= 2:  # the band reaches k = 1: no lower frequency to fall towards
        return size / k_mean, 1.0
    band = power[np.abs(ring - peak) <= 1].mean()
    inner = power[(ring >= 1) & (ring < peak - 1)].mean()
    outer = power[(ring > peak + 1) & (ring <= size // 2)]
    sides = max(inner, outer.mean()) if outer.size else inner
    return size / k_mean, float(band / sides) if sides > 0 else float("inf")


def pinwheel_positions(z: np.ndarray) -> np.ndarray:
    """Pinwheels of a periodic orientation map ``z`` (size, size): the plaquettes of four
    neighbouring units around which the preferred orientation turns by a full 180 degrees
    (the phase of ``z`` by +-360), as (row, column) of each plaquette's centre, (count, 2)."""
    angle = np.angle(z)

    def step(a, b):  # the phase change from a to b, wrapped to (-pi, pi]
        return np.angle(np.exp(1j * (b - a)))

    right = np.roll(angle, -1, axis=-1)
    down = np.roll(angle, -1, axis=-2)
    diagonal = np.roll(right, -1, axis=-2)
    winding = step(angle, right) + step(right, diagonal) + step(diagonal, down)
    winding += step(down, angle)
    return np.argwhere(np.abs(winding) > np.pi) + 0.5


def pinwheels(z: np.ndarray) -> int:
    """How many pinwheels a periodic orientation map has (:func:`pinwheel_positions`), each
    counted once whatever its sign."""
    return len(pinwheel_positions(z))


def imaged(z: np.ndarray, spacing: float) -> np.ndarray:
    """An orientation map as optical imaging records it: blurred by a Gaussian of sd
    ``IMAGING_BLUR * spacing`` on the torus (the point spread of intrinsic-signal imaging,
    ~100-250 um, against column spacings of ~1 mm: Polimeni et al. 2005). Unit-to-unit
    scatter below that scale, which imaging cannot see, no longer adds pinwheel pairs."""
    return np.fft.ifft2(np.fft.fft2(z) * torus_gaussian(IMAGING_BLUR * spacing, z.shape[-1]))


def as_imaged(field: np.ndarray) -> np.ndarray:
    """A map (OD: real, NaN as 0; orientation: complex) as imaging records it, blurred at
    its own column spacing (:func:`imaged`); unchanged where it has no spacing."""
    spacing = wavelength(field)[0]
    if not np.isfinite(spacing):
        return field
    seen = imaged(np.nan_to_num(field), spacing)
    return seen if np.iscomplexobj(field) else seen.real


def pinwheel_density(z: np.ndarray) -> tuple[float, float, int]:
    """(pinwheels per Lambda**2, Lambda, pinwheels) of an orientation map as imaging sees it
    (:func:`imaged`): both the count and Lambda from that one map, as Kaschube et al. (2010:
    about pi in cat, ferret and tree shrew) take them. The blur removes unit-to-unit scatter,
    so on a broad spectrum its Lambda is longer than the unblurred map's
    (``orientation_wavelength``)."""
    size = z.shape[-1]
    spacing, _ = wavelength(z)
    if not np.isfinite(spacing):
        return float("nan"), spacing, 0
    seen = imaged(z, spacing)
    seen_spacing, _ = wavelength(seen)
    count = pinwheels(seen)
    return count * seen_spacing**2 / (size * size), seen_spacing, count


def map_correlation(a: np.ndarray, b: np.ndarray) -> float:
    """Correlation of two complex orientation maps, ``Re <a conj(b)> / sqrt(<|a|^2>
    <|b|^2>)`` after removing each map's mean (1 for the same map, ~0 for unrelated ones)."""
    a = a - a.mean()
    b = b - b.mean()
    norm = np.sqrt(np.mean(np.abs(a) ** 2) * np.mean(np.abs(b) ** 2))
    return float(np.real(np.mean(a * np.conj(b))) / norm) if norm > 0 else float("nan")


def neighbour_correlation(field: np.ndarray) -> float:
    """How alike neighbouring units are: the map's correlation with itself one unit over,
    the mean over the torus's two axes (~0 in salt and pepper, Ohki et al. 2005; near 1
    within columns). An OD map (real) correlates its units' ODI, leaving out pairs with an
    unresponsive unit (NaN); an orientation map (complex) its units' preferred orientations
    alone (``z / |z|``, by :func:`map_correlation`: the mean of cos 2(theta_i - theta_j) for
    a map without a common preference), so that selectivity does not count."""
    if np.iscomplexobj(field):
        selectivity = np.abs(field)
        u = np.divide(field, selectivity, out=np.zeros_like(field), where=selectivity > 0)
        if not u.any():
            return float("nan")
        return float(np.mean([map_correlation(u, np.roll(u, 1, axis)) for axis in (-1, -2)]))
    unit = np.concatenate([field.ravel(), field.ravel()])
    neighbour = np.concatenate([np.roll(field, 1, axis).ravel() for axis in (-1, -2)])
    pair = np.isfinite(unit) & np.isfinite(neighbour)
    if pair.sum() < 3 or np.ptp(unit[pair]) == 0 or np.ptp(neighbour[pair]) == 0:
        return float("nan")
    return float(np.corrcoef(unit[pair], neighbour[pair])[0, 1])


def eye_share(odi: np.ndarray, eye: str) -> float:
    """Share of the sheet's responsive units dominated by ``eye`` (left: ODI > 0)."""
    valid = odi[~np.isnan(odi)]
    if not valid.size:
        return float("nan")
    return float(np.mean(valid > 0) if eye == "left" else np.mean(valid < 0))


def monocular_fraction(odi: np.ndarray) -> float:
    """Share of responsive units driven by one eye only (Hubel & Wiesel classes 1 and 7, as
    :func:`devsim.measures.od_classes` bins them: an ODI of -0.75 is class 7)."""
    valid = odi[~np.isnan(odi)]
    if not valid.size:
        return float("nan")
    return float(np.mean(np.isin(od_classes(valid), (1, 7))))


# The map measures a sheet run reports per group at the end (means over its organisms).
MAP_METRICS = (
    "contra_share",  # share of the sheet dominated by the contralateral (left) eye
    "od_wavelength",  # OD column spacing Lambda (sheet positions)
    "od_ring_peak",  # the OD spectrum's ring band over the rings inside and outside it
    "monocular_fraction",  # share of units driven by one eye only (classes 1 and 7)
    "od_neighbour_correlation",  # neighbouring units' ODI (salt and pepper ~0)
    "orientation_selectivity",  # mean |z| of units at the frequency driving the sheet most
    "orientation_neighbour_correlation",  # neighbours' preferred orientations (~0: none)
    "orientation_wavelength",  # orientation column spacing (sheet positions)
    "pinwheel_density",  # pinwheels per Lambda**2, both as imaging records the map
    "map_stability",  # correlation of the first measurable orientation map with the final
    "map_first_day",  # the age at which the orientation map is first measurable
)
MEASURABLE = 0.5  # a map is measurable from the day its selectivity reaches this x final


def first_measurable(history: np.ndarray) -> int | None:
    """The first day (index into ``history``, (days, size, size) complex, the last day
    final) on which the orientation map's mean selectivity is at least
    :data:`MEASURABLE` of the final map's; None if the final map has none."""
    selectivity = np.abs(history).mean(axis=(1, 2))
    if not selectivity[-1] > 0:
        return None
    return int(np.argmax(selectivity >= MEASURABLE * selectivity[-1]))


def as_imaged_history(history: np.ndarray) -> np.ndarray:
    """Every day's orientation map of ``history`` (days, size, size) complex, the last day
    final, as optical imaging records it (:func:`imaged`, at the final map's column
    spacing: the point spread is fixed in the cortex); unchanged if the final map has no
    spacing."""
    spacing = wavelength(history[-1])[0]
    return imaged(history, spacing) if np.isfinite(spacing) else history


def stability_from(history: np.ndarray) -> tuple[float, int | None]:
    """(:func:`stability`, the day it compares: :func:`first_measurable` of the imaged
    history) of ``history`` (days, size, size) complex, the last day final."""
    seen = as_imaged_history(history)
    first = first_measurable(seen)
    value = float("nan") if first is None else map_correlation(seen[first], seen[-1])
    return value, first


def stability(history: np.ndarray) -> float:
    """Correlation of the orientation map on the first day it is measurable
    (:func:`first_measurable`) with the final map; ``history`` (days, size, size) complex,
    the last day final. Both read as imaging records them (:func:`as_imaged_history`):
    Chapman et al. (1996) compared imaged maps, whose point spread hides unit-to-unit
    scatter, as the pinwheel count does (:func:`pinwheel_density`)."""
    return stability_from(history)[0]


def unit_selectivity(tuning: np.ndarray) -> np.ndarray:
    """Each unit's orientation selectivity (|z| of :func:`orientation_map`) at the grating
    frequency that drives the sheet most (the largest mean response over its orientations
    and units), from one sheet's responses (frequencies, orientations, units), or several
    sheets' (..., frequencies, orientations, units): (..., units)."""
    z = np.abs(_vector_sum(tuning))  # (..., frequencies, units)
    best = np.argmax(tuning.sum(axis=-2).mean(axis=-1), axis=-1)[..., None, None]
    return np.take_along_axis(z, best, axis=-2)[..., 0, :]


def organism_maps(
    odi: np.ndarray, z: np.ndarray, history: np.ndarray | None, selectivity=None
) -> dict:
    """The :data:`MAP_METRICS` of one organism from its OD map, orientation map, the
    orientation maps of the days before (None: stability not measured) and its units'
    selectivity (:func:`unit_selectivity`; default the map's |z|)."""
    od_lambda, od_peak = wavelength(odi)
    density, _, _ = pinwheel_density(z)
    stable, first = (float("nan"), None) if history is None else stability_from(history)
    return {
        "contra_share": eye_share(odi, "left"),
        "od_wavelength": od_lambda,
        "od_ring_peak": od_peak,
        "monocular_fraction": monocular_fraction(odi),
        "od_neighbour_correlation": neighbour_correlation(odi),
        "orientation_selectivity": float(
            np.mean(np.abs(z) if selectivity is None else selectivity)
        ),
        "orientation_neighbour_correlation": neighbour_correlation(z),
        "orientation_wavelength": wavelength(z)[0],
        "pinwheel_density": density,
        "map_stability": stable,
        "map_first_day": float("nan") if first is None else float(first),
    }


def group_maps(per_organism: list[dict]) -> dict[str, float]:
    """Means over a group's organisms of each map measure (NaN only if none has it)."""
    out = {}
    for metric in MAP_METRICS:
        values = np.array([m[metric] for m in per_organism], dtype=float)
        values = values[np.isfinite(values)]
        out[metric] = float(values.mean()) if values.size else float("nan")
    return out

"""Habitat worlds for evolution: visual worlds whose statistics differ between organisms.

Pure numerics (no Mesa). A :class:`HabitatWorld` is a drop-in world for
:class:`devsim.cohort.Cohort` (it offers ``channels``, ``draw_indices`` and ``stimuli``),
so every organism of a generation develops in the one vectorised kernel, but each organism
sees *its own* world:

* a **dominant orientation**: natural-like images (1/f noise, an expansive nonlinearity,
  DoG filtering, as in :mod:`devsim.senses`) whose spectrum is concentrated around one
  orientation by an angular filter ``exp(kappa * (cos 2(theta_f - phi) - 1))``. Orientations
  are discretised into ``orientations`` bins of ``180 / orientations`` degrees; every bin
  is made from the *same* random spectra, so worlds differ only in their orientation;
* an **eye alignment**: the right eye sees the same scene as the left eye, cropped
  ``offset`` channels further along the horizontal axis (a strabismus-like misalignment;
  0 = aligned eyes);
* a **contrast**: a multiplier of the scenes' amplitude (a dimmer or brighter habitat).

The model sets each organism's orientation bin and offset (:meth:`HabitatWorld.assign`),
and may change them between days (a change of world within a life).

It also holds the innate weight template (:func:`innate_template`) and the fitness read-out
(:func:`discriminability`, :func:`visual_quality`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from devsim import fused
from devsim.errors import DevsimInputError
from devsim.plasticity import response
from devsim.senses import dog_filter, draw_bank_indices, stimuli_via_plan

TEMPLATE_SF = 0.25  # spatial frequency of the innate template (cycles per channel)
TEMPLATE_WIDTH = 3.0  # Gaussian envelope of the innate template (channels)


@dataclass(frozen=True)
class HabitatWorldParams:
    """Statistics shared by all habitat worlds (the environment, not the organism)."""

    patch: int = 8  # retina patch side, channels per eye = patch**2
    image_size: int = 48
    n_images: int = 8  # images per orientation (the same spectra in every orientation)
    orientations: int = 12  # orientation bins over 180 degrees
    anisotropy: float = 30.0  # kappa of the angular filter (0 = isotropic world)
    max_offset: int = 2  # eye offsets -max_offset..max_offset channels
    bank_size: int = 2048  # training patches per orientation
    noise_bank_size: int = 8192
    n_test: int = 24  # test patterns per orientation (fresh images)
    expansion: float = 3.0  # expansive nonlinearity exponent (heavy-tailed contrast)

    @property
    def offsets(self) -> tuple[int, ...]:
        return tuple(range(-self.max_offset, self.max_offset + 1))

    @property
    def bin_degrees(self) -> float:
        return 180.0 / self.orientations


def oriented_images(
    spectra: np.ndarray, orientation_deg: float, anisotropy: float, expansion: float
) -> np.ndarray:
    """1/f images whose spectrum is concentrated around one orientation.

    ``orientation_deg`` is the angle of the dominant wave vector (the convention of
    :func:`devsim.senses.grating_stimuli`); the expansive nonlinearity keeps the orientation
    (a pointwise function of a one-dimensional image is one-dimensional) and makes contrast
    heavy-tailed; then the retina's DoG filter.
    """
    size = spectra.shape[-1]
    fy = np.fft.fftfreq(size)[:, None]
    fx = np.fft.fftfreq(size)[None, :]
    f = np.sqrt(fx**2 + fy**2)
    f[0, 0] = np.inf
    angle = np.arctan2(fy, fx)
    phi = math.radians(orientation_deg)
    angular = np.exp(anisotropy * (np.cos(2.0 * (angle - phi)) - 1.0))
    images = np.fft.ifft2(spectra * angular / f).real
    images -= images.mean(axis=(1, 2), keepdims=True)
    images /= images.std(axis=(1, 2), keepdims=True)
    images = np.sign(images) * np.abs(images) ** expansion
    return dog_filter(images)


def _crops(images, which, rows, cols, patch, offsets) -> np.ndarray:
    """(1 + len(offsets), count, patch**2): the left crop, then the right crop per offset."""
    idx = np.arange(patch)
    out = []
    for shift in (0, *offsets):
        out.append(
            images[
                which[:, None, None],
                rows[:, None, None] + idx[None, :, None],
                cols[:, None, None] + shift + idx[None, None, :],
            ].reshape(which.size, patch * patch)
        )
    return np.stack(out)


def _spectra(rng: np.random.Generator, n: int, size: int) -> np.ndarray:
    return rng.standard_normal((n, size, size)) + 1j * rng.standard_normal((n, size, size))


@dataclass(frozen=True)
class HabitatPlan:
    """A day's stimulus set-up for :meth:`HabitatWorld.gather`."""

    litter_index: np.ndarray  # (o,)
    independent: np.ndarray  # (o,) bool
    first_row: np.ndarray  # (o, 2) first row of each eye's view in the flat pattern bank
    gain: np.ndarray  # (o, 2) float32
    sigma: np.ndarray  # (o, 2) float32


class HabitatWorld:
    """Pattern banks for every orientation and eye offset; each organism sees its own world.

    Compatible with :class:`devsim.cohort.Cohort`. Every organism has its own stimulus
    stream (use ``litter_index = arange(organisms)``). ``assign`` sets, per organism, the
    orientation bin of its world and the index of its eye offset in ``params.offsets``.
    """

    def __init__(self, rng: np.random.Generator, params: HabitatWorldParams | None = None):
        self.params = p = params or HabitatWorldParams()
        if p.image_size - p.patch - 2 * p.max_offset < 1:
            raise ValueError("image_size too small for patch and max_offset")
        self.channels = p.patch * p.patch
        self.offsets = np.array(p.offsets)
        margin = p.max_offset
        span = p.image_size - p.patch - 2 * margin

        def bank(count: int) -> np.ndarray:
            spectra = _spectra(rng, p.n_images, p.image_size)
            which = rng.integers(p.n_images, size=count)
            rows = rng.integers(p.image_size - p.patch, size=count)
            cols = margin + rng.integers(span, size=count)
            out = np.empty((p.orientations, 1 + len(p.offsets), count, self.channels), np.float32)
            for k in range(p.orientations):
                images = oriented_images(spectra, k * p.bin_degrees, p.anisotropy, p.expansion)
                crops = _crops(images, which, rows, cols, p.patch, p.offsets)
                crops -= crops[0].mean()
                crops /= crops[0].std()
                out[k] = crops
            return out

        self.patterns = bank(p.bank_size)  # (K, 1 + offsets, bank, c)
        self._flat_patterns = self.patterns.reshape(-1, self.channels)
        self.noise = rng.standard_normal((p.noise_bank_size, self.channels)).astype(np.float32)
        self.test_patterns = bank(p.n_test)  # fresh images: never trained on directly
        self.orientation_bin = np.zeros(0, dtype=np.int64)
        self.offset_index = np.zeros(0, dtype=np.int64)
        self.contrast = np.zeros(0, dtype=np.float32)

    # --- who sees what ------------------------------------------------------------------
    def assign(
        self,
        orientation_bin: np.ndarray,
        offset_index: np.ndarray,
        contrast: np.ndarray | None = None,
    ) -> None:
        """Set each organism's world: orientation bin, eye-offset index and contrast (a
        multiplier of the scenes' amplitude, 1 by default), (o,) each."""
        self.orientation_bin = np.asarray(orientation_bin, dtype=np.int64).copy()
        self.offset_index = np.asarray(offset_index, dtype=np.int64).copy()
        if contrast is None:
            contrast = np.ones(self.orientation_bin.shape)
        self.contrast = np.asarray(contrast, dtype=np.float32).copy()

    def orientation_degrees(self, orientation_bin: np.ndarray) -> np.ndarray:
        return np.asarray(orientation_bin) * self.params.bin_degrees

    def offset_index_of(self, offset: np.ndarray) -> np.ndarray:
        """Index into ``params.offsets`` of each (integer) eye offset."""
        return np.asarray(offset, dtype=np.int64) + self.params.max_offset

    # --- the Cohort interface -------------------------------------------------------------
    def draw_indices(self, rng: np.random.Generator, litter: int, batch: int) -> np.ndarray:
        """Indices for one update: (4, organisms, batch) = pattern L, pattern R (used only
        when the eyes see unrelated scenes), noise L, noise R."""
        return draw_bank_indices(rng, self.params, litter, batch)

    def stimulus_plan(
        self,
        litter_index: np.ndarray,
        pattern_gain: np.ndarray,
        noise_sigma: np.ndarray,
        independent: np.ndarray,
    ) -> HabitatPlan:
        """A day's set-up for :meth:`gather`: each organism's rows in the flat pattern bank
        (its world's orientation; left view and its eye offset's right view) and gains."""
        views = 1 + len(self.params.offsets)
        bank = self.params.bank_size
        left = (self.orientation_bin * views) * bank
        right = (self.orientation_bin * views + 1 + self.offset_index) * bank
        return HabitatPlan(
            litter_index=np.asarray(litter_index, dtype=np.intp),
            independent=np.asarray(independent, dtype=bool),
            first_row=np.stack([left, right], axis=1).astype(np.intp),
            gain=np.asarray(pattern_gain).astype(np.float32) * self.contrast[:, None],
            sigma=np.asarray(noise_sigma).astype(np.float32),
        )

    def gather(
        self,
        indices: np.ndarray,
        plan: HabitatPlan,
        a: int,
        b: int,
        out: np.ndarray,
        scratch: np.ndarray | None = None,
    ) -> np.ndarray:
        """Inputs of organisms ``a:b`` for a mini-batch into ``out`` (b - a, batch, 2c):
        each eye's ``gain * scene + sigma * noise``; the right eye sees the left eye's scene
        through the organism's eye offset (an unrelated scene where ``independent``)."""
        c = self.channels
        litter = plan.litter_index[a:b]
        if out.dtype == self._flat_patterns.dtype == plan.gain.dtype == plan.sigma.dtype:
            fused.gather_scenes(
                self._flat_patterns,
                self.noise,
                indices,
                litter,
                plan.first_row[a:b],
                plan.independent[a:b],
                plan.gain[a:b],
                plan.sigma[a:b],
                out,
            )
            return out
        # another working precision: the same steps in numpy
        left_idx = np.take(indices[0], litter, axis=0)
        right_idx = np.where(
            plan.independent[a:b, None], np.take(indices[1], litter, axis=0), left_idx
        )
        flat = self._flat_patterns
        gain = plan.gain[a:b, :, None, None]
        sigma = plan.sigma[a:b, :, None, None]
        out[:, :, :c] = gain[:, 0] * flat[plan.first_row[a:b, 0, None] + left_idx]
        out[:, :, :c] += sigma[:, 0] * self.noise[np.take(indices[2], litter, axis=0)]
        out[:, :, c:] = gain[:, 1] * flat[plan.first_row[a:b, 1, None] + right_idx]
        out[:, :, c:] += sigma[:, 1] * self.noise[np.take(indices[3], litter, axis=0)]
        return out

    def stimuli(
        self,
        indices: np.ndarray,
        litter_index: np.ndarray,
        pattern_gain: np.ndarray,
        noise_sigma: np.ndarray,
        independent: np.ndarray,
        out: np.ndarray | None = None,
    ) -> np.ndarray:
        """Both eyes' input for a mini-batch, (organisms, batch, 2 * channels); the same
        arguments as :meth:`devsim.senses.VisualWorld.stimuli`."""
        return stimuli_via_plan(
            self, indices, litter_index, pattern_gain, noise_sigma, independent, out
        )

    # --- test views of each organism's own world -----------------------------------------------
    def test_views(self) -> tuple[np.ndarray, np.ndarray]:
        """Each organism's test scenes through the left and the right eye, (o, t, c) each."""
        ori = self.orientation_bin
        k = self.contrast[:, None, None]
        left = k * self.test_patterns[ori, 0]
        right = k * self.test_patterns[ori, 1 + self.offset_index]
        return left, right


# --- the innate weight template ---------------------------------------------------------------
def _basis_positions(neurons: int, patch: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A fixed, genome-independent layout: each neuron's template centre and phase.

    Low-discrepancy (R2 and golden-ratio) sequences spread centres over the middle of the
    patch and phases over the cycle; the same for every organism, so only the genes
    (orientation, eye offset, strength) are heritable.
    """
    j = np.arange(neurons)
    u = (0.5 + j * 0.7548776662466927) % 1.0
    v = (0.5 + j * 0.5698402909980532) % 1.0
    centre = (patch - 1) / 2.0
    cx = centre + (u - 0.5) * patch / 2.0
    cy = centre + (v - 0.5) * patch / 2.0
    phase = 2.0 * np.pi * ((j * 0.6180339887498949) % 1.0)
    return cx, cy, phase


def innate_orientations(
    strength: np.ndarray, orientation_deg: np.ndarray, neurons: int
) -> np.ndarray:
    """Each neuron's innate preferred orientation, (o, neurons), in degrees.

    Without genetic bias (``strength`` 0) the innate map covers all orientations evenly
    (a golden-ratio sequence over the neurons, the same for every organism), as kitten and
    ferret cortex does at eye opening (Hubel & Wiesel 1963; Chapman & Stryker 1993; Crair
    et al. 1998). The gene ``innate_strength`` is the share of neurons whose orientation
    the genome sets to ``innate_orientation`` instead (a fixed low-discrepancy choice of
    neurons, so the share is exact up to rounding and the same neurons are chosen first).
    """
    strength = np.asarray(strength, dtype=float)[:, None]
    orientation = np.asarray(orientation_deg, dtype=float)[:, None]
    j = np.arange(neurons)
    # Weyl sequences with their own irrationals (sqrt 3, sqrt 2), so neither orientation
    # nor choice is tied to the neurons' centres or phases (_basis_positions).
    spread = 180.0 * ((0.5 + j * 0.7320508075688772) % 1.0)
    rank = (0.5 + j * 0.41421356237309515) % 1.0  # which neurons the genome sets first
    return np.where(rank[None, :] < strength, orientation, spread[None, :])


def innate_template(
    orientation_deg: np.ndarray, offset: np.ndarray, neurons: int, patch: int
) -> np.ndarray:
    """Innate receptive fields, (o, neurons, 2 * patch**2), unit RMS per neuron and eye.

    Neuron ``j`` of organism ``i`` gets a Gabor patch of orientation
    ``orientation_deg[i]`` (or ``orientation_deg[i, j]``: one per neuron, see
    :func:`innate_orientations`; wave-vector angle), spatial frequency
    :data:`TEMPLATE_SF` and envelope :data:`TEMPLATE_WIDTH`, at a fixed centre and phase;
    its right-eye half is the same Gabor shifted by ``-offset[i]`` channels, so it matches a
    right eye that sees the scene ``offset`` channels along (see :class:`HabitatWorld`). The
    model lays it into the initial wiring
    (:meth:`devsim.evolution.EvolutionModel._apply_template`).
    """
    orientation = np.radians(np.asarray(orientation_deg, dtype=float))
    if orientation.ndim == 1:
        orientation = orientation[:, None]
    orientation = orientation[:, :, None, None]
    offset = np.asarray(offset, dtype=float)[:, None, None, None]
    cx, cy, phase = _basis_positions(neurons, patch)
    cx, cy, phase = (a[None, :, None, None] for a in (cx, cy, phase))
    yy, xx = np.mgrid[0:patch, 0:patch].astype(float)
    yy, xx = yy[None, None], xx[None, None]

    def gabor(x0):
        dx, dy = xx - x0, yy - cy
        ramp = dx * np.cos(orientation) + dy * np.sin(orientation)
        env = np.exp(-(dx**2 + dy**2) / (2.0 * TEMPLATE_WIDTH**2))
        g = env * np.cos(2.0 * np.pi * TEMPLATE_SF * ramp + phase)
        g = g.reshape(*g.shape[:2], patch * patch)
        return g / np.sqrt((g**2).mean(axis=-1, keepdims=True))

    return np.concatenate([gabor(cx), gabor(cx - offset)], axis=-1).astype(np.float32)


# --- fitness read-out ---------------------------------------------------------------------------
def erf(x: np.ndarray) -> np.ndarray:
    """The error function (Abramowitz & Stegun 7.1.26; absolute error < 1.5e-7)."""
    x = np.asarray(x, dtype=np.float64)
    s = np.sign(x)
    a = np.abs(x)
    t = 1.0 / (1.0 + 0.3275911 * a)
    poly = t * (
        0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429)))
    )
    return s * (1.0 - poly * np.exp(-a * a))


def discriminability(responses: np.ndarray, noise: float) -> np.ndarray:
    """How well a set of scenes can be told apart from noisy cortical responses, in [0, 1].

    ``responses`` is (o, n, t): each organism's mean rectified responses of ``n`` neurons to
    ``t`` scenes. With independent Gaussian noise of std ``noise`` on every neuron, an ideal
    observer tells scenes a and b apart with probability ``Phi(d_ab / (2 noise))``
    (``d_ab`` the Euclidean distance of the two response vectors); the result is the mean
    over pairs of ``2 Phi - 1 = erf(d_ab / (2 sqrt(2) noise))``: 0 when every scene evokes
    the same response, 1 when all pairs are perfectly separable. Deterministic and smooth in
    the weights, so selection is not swamped by read-out sampling noise.
    """
    r = responses.astype(np.float64)
    sq = (r**2).sum(axis=1)  # (o, t)
    gram = np.einsum("onp,onq->opq", r, r)
    d2 = np.maximum(sq[:, :, None] + sq[:, None, :] - 2.0 * gram, 0.0)
    t = r.shape[2]
    iu = np.triu_indices(t, k=1)
    d = np.sqrt(d2[:, iu[0], iu[1]])
    return erf(d / (2.0 * math.sqrt(2.0) * noise)).mean(axis=1)


def view_responses(weights: np.ndarray, left: np.ndarray, right: np.ndarray):
    """Rectified responses, (o, n, t) each, to each organism's scenes seen through the left
    eye alone, the right eye alone and both eyes (the other eye sees nothing when closed)."""
    c = left.shape[-1]
    wl = weights[:, :, :c]
    wr = weights[:, :, c:]
    u_left = np.matmul(wl, left.transpose(0, 2, 1))
    u_right = np.matmul(wr, right.transpose(0, 2, 1))
    both = u_left + u_right
    return tuple(np.maximum(response(u), 0.0) for u in (u_left, u_right, both))


def view_activity(weights: np.ndarray, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Mean rectified response over neurons, scenes and the three views, (o,)."""
    return np.mean([r.mean(axis=(1, 2)) for r in view_responses(weights, left, right)], axis=0)


NR_EXPONENT = 2.0  # exponent of the Naka-Rushton response function (Albrecht & Hamilton 1982)


def naka_rushton(r: np.ndarray, c50: float, exponent: float = NR_EXPONENT) -> np.ndarray:
    """Saturating response function ``r^n / (r^n + c50^n)`` in [0, 1): a neuron's limited
    dynamic range (Naka & Rushton 1966). Weak drive stays near 0; strong drive saturates."""
    rn = np.power(r, exponent)
    return rn / (rn + c50**exponent)


def visual_quality(
    weights: np.ndarray,
    left: np.ndarray,
    right: np.ndarray,
    noise: float,
    c50: float | None = None,
) -> dict[str, np.ndarray]:
    """Discriminability of each organism's own scenes through each eye and both eyes, and
    their mean ``quality`` (equal weights), each (o,).

    Responses pass through the saturating :func:`naka_rushton` function (if ``c50`` is
    given) before the noise of the read-out: weak responses drown in it, saturated ones
    cannot tell scenes apart, so more drive is not always better.
    """
    for name, value in (("noise", noise), ("c50", c50)):
        if value is not None and not (math.isfinite(value) and value > 0):
            raise DevsimInputError(
                f"visual_quality: {name} must be a finite number > 0, got {value}"
            )
    views = view_responses(weights, left, right)
    if c50 is not None:
        views = tuple(naka_rushton(r, c50) for r in views)
    out = {
        "d_left": discriminability(views[0], noise),
        "d_right": discriminability(views[1], noise),
        "d_both": discriminability(views[2], noise),
    }
    out["quality"] = (out["d_left"] + out["d_right"] + out["d_both"]) / 3.0
    return out

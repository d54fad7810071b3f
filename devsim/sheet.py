"""A cortical sheet: excitatory units on a 2-D grid, each seeing a local patch of both
retinas, with lateral interactions; the same rule, window and treatments as the point cortex.

Pure numerics (no Mesa). The sheet is a torus of ``size x size`` units over a retina of the
same size (one retinal position per unit: retinotopy). Unit ``(i, j)`` receives a
``SHEET_PATCH x SHEET_PATCH`` window of each retina centred on ``(i, j)``, inside a disc
(its arbor). Its afferent drive settles through a recurrent lateral interaction,
short-range excitation minus longer-range inhibition (Miller, Keller & Stryker 1989's
intracortical interaction; a difference of Gaussians on the torus, by FFT), before PV
inhibition and the output nonlinearity of :func:`devsim.plasticity.inhibited_response`.
Learning is :func:`devsim.plasticity.rule_factor` and the rest of the point cortex's rule,
with each unit's own window as its presynaptic input. Weights are stored like the point
cortex's, ``(o, units, 2 * patch**2)`` (left eye first), so homeostatic scaling and the
circuit of the window are :class:`devsim.cohort.Cohort`'s, unchanged; arbors are complete
and the sheet has no pruning or sprouting.

What the eyes deliver is :mod:`devsim.senses`'s ``pattern_gain``, ``noise_sigma`` and
``independent``, on whole retinas: natural-like dead-leaves images (oriented edges), DoG
filtered like the point world's, translated at random for each presentation; the two eyes
see the same image shifted by a small random binocular disparity (strabismic eyes:
independent images); unstructured activity (spontaneous activity, light through a lid) is
independent noise at every retinal position, as in the point world, independent between
the eyes. docs/science.md ("The cortical sheet") says why each choice was made.
"""

from __future__ import annotations

import functools
from dataclasses import replace

import numba
import numpy as np
import scipy.fft
from scipy.special import ndtr

from devsim.cohort import Cohort
from devsim.measures import acuity_from_drive, circuit_response
from devsim.plasticity import (
    Y_MAX,
    apply_rule,
    inhibited_response,
    rule_factor,
    rule_terms,
    slide,
)
from devsim.senses import WorldParams, dog_filter, grating_stimuli, torus_gaussian
from devsim.wiring import INITIAL_WEIGHT

SHEET_PATCH = 9  # afferent window side (retinal positions) around each unit's own
SHEET_SIZE = 32  # default sheet side (units; the retina has the same side): room for ~4 columns
DISPARITY = 3  # largest binocular disparity between the two eyes' images (positions)
ORIENTATIONS = 8  # grating orientations for orientation maps
PHASES = 4  # grating phases for orientation maps
MAP_SFS = (0.1, 0.15, 0.2)  # grating frequencies (cycles per position) for orientation maps
SUBREGION = 1.0  # sd (retinal positions) of the clusters of ON or OFF afferents in a field
EYE_MATCH = 0.4  # correlation of the two eyes' innate draws: trades MD against map
# stability (rows 21, 23; the measured trade is in docs/science.md, Known disagreements)
SETTLE_STEPS = 4  # iterations of the recurrent lateral settling
IMAGE_BANK = 512  # training retinas (4 dihedral copies of IMAGE_BANK // 4 drawn images)
LEAVES = 80  # occluding rectangles per dead-leaves image
LEAF_SIZES = (1.5, 10.0)  # smallest / largest leaf side (positions, log-uniform)
LEAF_ASPECT = 3.0  # leaves are up to this elongated
LEAF_SUPERSAMPLE = 4  # leaves are drawn this much finer, then box-averaged (no aliasing)
# Draw rows of one presentation (see SheetWorld.draw_indices).
_IMAGE_L, _IMAGE_R, _SHIFT_L, _SHIFT_R, _DISPARITY, _NOISE_L, _NSHIFT_L, _NOISE_R, _NSHIFT_R = (
    range(9)
)

_jit = numba.njit(cache=True, nogil=True, boundscheck=False)


def dead_leaves(rng: np.random.Generator, count: int, size: int) -> np.ndarray:
    """``count`` periodic dead-leaves images (occluding rotated rectangles of random grey
    level, log-uniform sizes): natural-like images with straight, oriented edges."""
    ss = LEAF_SUPERSAMPLE
    fine = size * ss
    yy, xx = (np.mgrid[0:fine, 0:fine].astype(float) + 0.5) / ss
    rmin, rmax = LEAF_SIZES
    out = np.empty((count, size, size))
    for k in range(count):
        img = np.zeros((fine, fine))
        for _ in range(LEAVES):
            r = rmin * (rmax / rmin) ** rng.random()
            a = r * LEAF_ASPECT ** rng.random()
            b = r
            th = np.pi * rng.random()
            cy, cx = rng.random(2) * size
            dy = (yy - cy + size / 2) % size - size / 2
            dx = (xx - cx + size / 2) % size - size / 2
            u = dx * np.cos(th) + dy * np.sin(th)
            v = -dx * np.sin(th) + dy * np.cos(th)
            img[(np.abs(u) < a / 2) & (np.abs(v) < b / 2)] = rng.standard_normal()
        out[k] = img.reshape(size, ss, size, ss).mean(axis=(1, 3))
    return out


def retina_images(rng: np.random.Generator, count: int, size: int):
    """``count`` natural-like periodic retinas of ``size x size``, unit std, float32:
    dead-leaves images (oriented edges; the 1/f-noise recipe with its expansive
    nonlinearity gives isotropic blobs and unoriented receptive fields), DoG filtered."""
    images = dog_filter(dead_leaves(rng, count, size))
    images -= images.mean()
    images /= images.std()
    return images.astype(np.float32)


def image_bank(rng: np.random.Generator, size: int) -> np.ndarray:
    """The training retinas: IMAGE_BANK // 4 images and their 90/180/270-degree rotations
    (a small bank has a global orientation bias that every unit inherits)."""
    base = retina_images(rng, IMAGE_BANK // 4, size)
    turned = [
        base,
        base.transpose(0, 2, 1)[:, ::-1],
        base[:, ::-1, ::-1],
        base.transpose(0, 2, 1)[:, :, ::-1],
    ]
    return np.ascontiguousarray(np.concatenate(turned))


def retinal_noise(rng: np.random.Generator, count: int, size: int) -> np.ndarray:
    """``count`` periodic images of unstructured retinal activity, unit std, float32:
    independent at every retinal position, as the point world's noise is in every channel
    (diffuse light through a lid carries no pattern for the retina's centre-surround cells
    to pass, spontaneous activity none either)."""
    return rng.standard_normal((count, size, size)).astype(np.float32)


def arbor(patch: int = SHEET_PATCH) -> np.ndarray:
    """The afferent arbor: True inside the disc of radius ``patch // 2``, (patch * patch,)."""
    return arbor_distance2(patch) <= (patch // 2) ** 2


def arbor_distance2(patch: int = SHEET_PATCH) -> np.ndarray:
    """Squared distance of each arbor position from the unit's own, (patch * patch,)."""
    h = patch // 2
    return np.add.outer((np.arange(patch) - h) ** 2, (np.arange(patch) - h) ** 2).ravel()


def lateral_transfer(genes: dict[str, np.ndarray], size: int) -> np.ndarray:
    """The lateral interaction of each organism in Fourier space, (o, size, size // 2 + 1)
    complex64: ``lat_exc * G(r_exc) - lat_inh * G(r_inh)`` with ``G(s)`` a unit-sum
    Gaussian of sd ``s`` (sheet positions) on the torus (recurrent: no identity term)."""
    half = size // 2 + 1  # the rfft2 layout
    transfer = genes["lat_exc"][:, None, None] * torus_gaussian(genes["r_exc"], size)[..., :half]
    inhibition = torus_gaussian(genes["r_inh"], size)[..., :half]
    transfer = transfer - genes["lat_inh"][:, None, None] * inhibition
    return transfer.astype(np.complex64)


def spread(u: np.ndarray, transfer: np.ndarray, size: int) -> np.ndarray:
    """Recurrent lateral settling of afferent drive ``u`` (o, b, units): SETTLE_STEPS of
    ``y <- clip(u + transfer * y, 0, Y_MAX)`` from ``y = max(u, 0)``; returns the last
    ``u + transfer * y`` (the output nonlinearity is applied after), same dtype."""
    o, b = u.shape[:2]
    grid = u.reshape(o, b, size, size)
    y = np.maximum(grid, 0)
    lat = np.zeros_like(grid)
    for _ in range(SETTLE_STEPS):  # scipy's FFT keeps float32 and batches: ~2-3x numpy's
        lat = scipy.fft.irfft2(scipy.fft.rfft2(y) * transfer[:, None], s=(size, size))
        y = np.clip(grid + lat, 0, Y_MAX)
    return (grid + lat).astype(u.dtype, copy=False).reshape(o, b, size * size)


@_jit
def gather_retinas(images, noise, indices, litter, gain, sigma, squint, disparity, out):
    """Both eyes' padded retinas for a block of organisms and one mini-batch, into ``out``
    (o, batch, 2, P, P) with ``P = size + patch - 1`` (wrapped at the edges, so every unit's
    window is a plain slice).

    ``out[k, j, e, r, c] = gain[k, e] * images[I, r + sy, c + sx] + sigma[k, e] *
    noise[N, r + ny, c + nx]`` (indices modulo ``size``, shifted by ``-patch // 2``), where
    the right eye's image is the left eye's shifted by the presentation's disparity unless
    ``squint[k]`` (then its own image and shift), and each eye has its own noise.
    ``images`` and ``noise`` are given wide (:func:`wrapped_columns`), so every row of a
    retina is one contiguous run.
    """
    organisms, batch, _, padded, _ = out.shape
    size = images.shape[1]
    half = (padded - size) // 2
    span = 2 * disparity + 1
    for k in range(organisms):
        pos = litter[k]
        for j in range(batch):
            for eye in range(2):
                own = eye == 0 or squint[k]
                image = indices[_IMAGE_L if own and eye == 0 else _IMAGE_R, pos, j]
                shift = indices[_SHIFT_L if eye == 0 else _SHIFT_R, pos, j]
                if not own:  # the left eye's image, seen with the disparity
                    image = indices[_IMAGE_L, pos, j]
                    d = indices[_DISPARITY, pos, j]
                    shift = indices[_SHIFT_L, pos, j]
                    sy = shift // size + d // span - disparity
                    sx = shift % size + d % span - disparity
                else:
                    sy = shift // size
                    sx = shift % size
                nid = indices[_NOISE_L if eye == 0 else _NOISE_R, pos, j]
                nshift = indices[_NSHIFT_L if eye == 0 else _NSHIFT_R, pos, j]
                ny = nshift // size
                c_image = (sx - half) % size
                c_noise = (nshift % size - half) % size
                g = gain[k, eye]
                s = sigma[k, eye]
                for r in range(padded):
                    row = images[image, (r - half + sy) % size, c_image : c_image + padded]
                    dots = noise[nid, (r - half + ny) % size, c_noise : c_noise + padded]
                    target = out[k, j, eye, r]
                    for c in range(padded):
                        target[c] = g * row[c] + s * dots[c]


def wrapped_columns(images: np.ndarray, padded: int) -> np.ndarray:
    """Periodic images ``(n, size, size)`` widened to ``size + padded - 1`` columns (column
    ``c`` is column ``c % size``): any ``padded`` columns starting inside the image, wrapped,
    are then one contiguous run."""
    size = images.shape[-1]
    return np.ascontiguousarray(images[..., np.arange(size + padded - 1) % size])


@_jit
def _afferent_rows(w, x, size, patch, out):
    """``out[k, j, u] = sum over slots m of w[k, u, m] * x[k, j, eye, i + p, c + q]`` (unit
    ``u = i * size + c``, slot ``m = (eye * patch + p) * patch + q``; ``x`` of one organism
    serves all), a row of units at a time: the row's weights are turned slot-major in a
    small buffer, so the innermost loop runs along a retina row and the row of units at
    once (vectorised)."""
    o, batch = out.shape[0], out.shape[1]
    slots = 2 * patch * patch
    shared = x.shape[0] == 1
    local = np.empty((slots, size), dtype=w.dtype)
    acc = np.empty(size, dtype=out.dtype)
    for k in range(o):
        xk = 0 if shared else k
        for i in range(size):
            base = i * size
            for c in range(size):
                wu = w[k, base + c]
                for m in range(slots):
                    local[m, c] = wu[m]
            for j in range(batch):
                acc[:] = 0
                m = 0
                for eye in range(2):
                    for p in range(patch):
                        row = x[xk, j, eye, i + p]
                        for q in range(patch):
                            lm = local[m]
                            for c in range(size):
                                acc[c] += lm[c] * row[q + c]
                            m += 1
                out[k, j, base : base + size] = acc


@_jit
def _hebb_rows(phi, x, size, patch, out):
    """``out[k, u, m] = sum over presentations j of phi[k, j, u] * x[k, j, eye, i + p, c +
    q]`` (as :func:`_afferent_rows`), a row of units at a time, summed slot-major in a
    small buffer (vectorised along the row) and written out unit by unit."""
    o, batch = phi.shape[0], phi.shape[1]
    slots = 2 * patch * patch
    local = np.empty((slots, size), dtype=out.dtype)
    for k in range(o):
        for i in range(size):
            local[:] = 0
            base = i * size
            for j in range(batch):
                f = phi[k, j, base : base + size]
                m = 0
                for eye in range(2):
                    for p in range(patch):
                        row = x[k, j, eye, i + p]
                        for q in range(patch):
                            lm = local[m]
                            for c in range(size):
                                lm[c] += f[c] * row[q + c]
                            m += 1
            for c in range(size):
                ou = out[k, base + c]
                for m in range(slots):
                    ou[m] = local[m, c]


def afferent_drive(weights, x, size, patch, out):
    """Each unit's afferent drive from its own window of both retinas, into ``out`` (o,
    batch, units): ``sum over slots m of weights[k, u, m] * window[u, j, m]``; ``x`` (o or
    1, batch, 2, P, P) may hold one set of retinas for all organisms. Read straight from
    the retinas (no windows are made)."""
    _afferent_rows(weights, x, size, patch, out)
    return out


def local_hebb(phi, x, size, patch, out):
    """The Hebbian sum of a mini-batch on each unit's own window, into ``out`` (o, units,
    slots): ``sum over presentations j of phi[k, j, u] * window[u, j, m]``."""
    _hebb_rows(phi, x, size, patch, out)
    return out


class SheetWorld:
    """Whole retinas for a sheet of ``size x size`` units (see the module's docstring).

    Images, noise and test sets are drawn once from the model's generator; each
    presentation draws an image, its translation, the disparity and each eye's noise,
    per litter position (littermates in different groups see the same stream).
    """

    def __init__(
        self,
        rng: np.random.Generator,
        params: WorldParams | None = None,
        size: int = SHEET_SIZE,
        patch: int = SHEET_PATCH,
    ):
        self.params = params or WorldParams()
        self.size, self.patch = size, patch
        self.channels = patch * patch  # afferent slots per eye, per unit
        self.padded = size + patch - 1
        p = self.params
        self.images = image_bank(rng, size)
        self.noise = retinal_noise(rng, IMAGE_BANK, size)
        self.disparity = DISPARITY
        # Acuity gratings as the point world makes them (DoG-filtered, the same contrast),
        # cut to the padded frame, and the intrinsic cortical noise of their responses.
        frame = grating_stimuli(replace(p, patch=self.padded))
        self.gratings_acuity = frame.reshape(*frame.shape[:2], self.padded, self.padded)
        if size * size > p.max_neurons:
            raise ValueError(f"a sheet of {size}x{size} needs max_neurons >= {size * size}")
        self.cortical_noise = p.cortical_noise * rng.standard_normal(
            (len(p.acuity_sfs), frame.shape[1], p.acuity_reps, size * size)
        ).astype(np.float32)

    def draw_indices(self, rng: np.random.Generator, litter: int, batch: int) -> np.ndarray:
        """One mini-batch's draws, (9, litter, batch): image L, image R (strabismus),
        translation L, translation R, disparity, noise image and translation L, then R."""
        n, cells = self.images.shape[0], self.size * self.size
        span = (2 * self.disparity + 1) ** 2
        highs = (n, n, cells, cells, span, n, cells, n, cells)
        out = np.empty((9, litter, batch), dtype=np.int64)
        for row, high in enumerate(highs):
            out[row] = rng.integers(high, size=(litter, batch))
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
        """Both eyes' padded retinas for a mini-batch, (organisms, batch, 2, P, P) float32."""
        o, batch = litter_index.shape[0], indices.shape[2]
        if out is None:
            out = np.empty((o, batch, 2, self.padded, self.padded), dtype=np.float32)
        gather_retinas(
            *self._wide,
            indices,
            np.ascontiguousarray(litter_index, dtype=np.intp),
            np.ascontiguousarray(pattern_gain, dtype=np.float32),
            np.ascontiguousarray(noise_sigma, dtype=np.float32),
            np.ascontiguousarray(independent, dtype=np.bool_),
            self.disparity,
            out,
        )
        return out

    @functools.cached_property
    def _wide(self) -> tuple[np.ndarray, np.ndarray]:
        """The images and the noise, widened for :func:`gather_retinas`."""
        return wrapped_columns(self.images, self.padded), wrapped_columns(self.noise, self.padded)

    @functools.cached_property
    def grating_parts(self) -> tuple[np.ndarray, np.ndarray]:
        """The stimuli of OD maps and responses: full-field gratings ``sqrt(2) cos(2 pi sf
        (x cos theta + y sin theta) + 2 pi j / PHASES)`` on the padded frame (every unit sees
        an unbroken grating) at every frequency ``sf`` of :data:`MAP_SFS`, orientation
        ``theta`` and phase ``j``. Every unit sees the same statistics (as in optical imaging
        of OD: Bonhoeffer & Grinvald 1991); a few natural test images would give neighbouring
        units, which share their windows, the same sampling error and paint spurious OD
        patches. No frame is drawn: each is split into what each unit's window holds and
        where the unit sits. A full-field grating ``sqrt(2) cos(A + B)`` has, in the window
        of unit (i, c),
        the phase ``A`` of the unit's position (and the grating's phase) plus ``B`` of the
        slot's offset from the window's corner, so a unit's drive is ``sqrt(2) (cos A (w .
        cos B) - sin A (w . sin B))``: two products per orientation and frequency instead of
        one per frame. Returns ``basis`` (2 * G, patch**2): cos B then sin B of the G =
        frequencies x orientations, and ``phases`` (2, G, PHASES, units): sqrt(2) cos A and
        sqrt(2) sin A; the frames ordered frequency, orientation, phase; float64."""
        h = self.patch // 2
        p, q = np.mgrid[0 : self.patch, 0 : self.patch].reshape(2, -1) - h  # slot offsets
        i, c = np.mgrid[0 : self.size, 0 : self.size].reshape(2, -1)  # unit positions
        angles = np.tile(np.pi * np.arange(ORIENTATIONS) / ORIENTATIONS, len(MAP_SFS))[:, None]
        k = 2 * np.pi * np.repeat(MAP_SFS, ORIENTATIONS)[:, None]  # (G, 1)
        cos, sin = np.cos(angles), np.sin(angles)
        b = k * (q * cos + p * sin)  # (G, slots)
        a = (k * (c * cos + i * sin))[:, None, :] + (2 * np.pi * np.arange(PHASES) / PHASES)[
            None, :, None
        ]  # (G, PHASES, units)
        basis = np.concatenate([np.cos(b), np.sin(b)])
        phases = np.sqrt(2) * np.stack([np.cos(a), np.sin(a)])
        return basis, phases


class SheetKernel:
    """One mini-batch of the rule on the sheet, for organisms ``a:b`` (the interface of
    :class:`devsim.plasticity.PlasticityKernel`: :meth:`prepare_day`, :meth:`step`,
    ``activity``, ``y2``). The arithmetic is :func:`devsim.plasticity.plasticity_step`'s,
    with each unit's own window for ``x`` and the lateral interaction before inhibition."""

    def __init__(self, block: int, size: int, patch: int, batch: int, dtype=np.float32):
        self.dtype = np.dtype(dtype)
        self.size, self.patch, self.batch = size, patch, batch
        units = size * size
        self._dw = np.empty((block, units, 2 * patch * patch), dtype=self.dtype)
        self.activity = np.zeros(0)
        self.y2 = np.zeros((0, units))
        self.gain = np.empty(0)  # PlasticityKernel's per-synapse scratch (none here)

    def prepare_day(self, genes, gate, dt, mask, inhibition=None, potentiation=None) -> None:
        """Today's constants (genes, gates, inhibition, synapses) and zeroed day sums."""
        o = mask.shape[0]
        self.genes, self.gate, self.dt, self.mask = genes, np.asarray(gate), dt, mask
        self.inhibition = np.zeros(o) if inhibition is None else np.asarray(inhibition)
        self.potentiation = self.gate if potentiation is None else np.asarray(potentiation)
        self.transfer = lateral_transfer(genes, self.size)
        self.activity = np.zeros(o)
        self.y2 = np.zeros((o, self.size * self.size))

    def respond(self, weights, x, transfer, inhibition=None, activity=None) -> np.ndarray:
        """The sheet's responses to padded retinas ``x``: (o, b, units)."""
        o, b = weights.shape[0], x.shape[1]
        u = np.empty((o, b, self.size * self.size), dtype=weights.dtype)
        afferent_drive(weights, x, self.size, self.patch, u)
        return inhibited_response(spread(u, transfer, self.size), inhibition, activity, u)

    def step(self, a: int, b: int, weights: np.ndarray, theta: np.ndarray, x: np.ndarray):
        """The rule for organisms ``a:b`` on their retinas ``x`` (b - a, batch, 2, P, P)."""
        genes = {k: v[a:b] for k, v in self.genes.items()}
        w, th = weights[a:b], theta[a:b]
        activity = self.activity[a:b]
        y = self.respond(w, x, self.transfer[a:b], self.inhibition[a:b], activity)
        gate = self.gate[a:b]
        phi = rule_factor(y, th, genes, gate, self.potentiation[a:b])
        dw = self._dw[: b - a]
        local_hebb(phi, x, self.size, self.patch, dw)
        dw /= self.batch
        if np.any(genes["rule_C"]):  # each synapse's mean input: the sum with phi = 1 / b
            mean = np.full_like(phi, 1.0 / self.batch)
            x_mean = local_hebb(mean, x, self.size, self.patch, np.empty_like(dw))
            rule_terms(dw, x_mean, y, genes, gate)
        else:
            rule_terms(dw, 0.0, y, genes, gate)
        apply_rule(w, dw, self.mask[a:b], genes, self.dt)
        slide(th, y, genes, self.dt, self.y2[a:b])
        return y


def shared_afferent_draws(
    rng: np.random.Generator, litter_index: np.ndarray, length: np.ndarray, size: int, patch: int
) -> np.ndarray:
    """Uniform draws in (0, 1) for every afferent slot, (organisms, units, 2 * patch**2):
    the innate part of the wiring (docs/science.md, The cortical sheet). For each litter
    position, standard normals on (eye, retinal position, cortical position) are

    * smoothed over retinal position by a Gaussian of sd :data:`SUBREGION`: ON- and
      OFF-centre afferents come in clusters, so a unit's field has ON and OFF subregions
      rather than a salt-and-pepper of signs (Ringach 2004's statistical wiring);
    * shared between the eyes with correlation :data:`EYE_MATCH` (the two eyes' maps match
      even without common experience: Goedecke & Bonhoeffer 1996);
    * smoothed over cortical position by a Gaussian of sd ``length`` (each organism's
      ``aff_corr``, units; 0: independent): nearby cortical cells share thalamocortical
      axons, so their strengths from one afferent are alike, which gives a weak, smooth
      orientation map before vision (Crair et al. 1998);

    each smoothing on the torus and scaled back to unit variance, then mapped to uniform by
    the normal CDF. Littermates at one litter position share the normals whatever their
    group."""
    h = patch // 2
    i, c = np.mgrid[0:size, 0:size].reshape(2, -1)  # unit positions
    p, q = np.mgrid[0:patch, 0:patch].reshape(2, -1) - h  # slot offsets
    rows, cols = (i[:, None] + p) % size, (c[:, None] + q) % size  # (units, slots) retina

    def smooth(z, sd):  # a unit-variance Gaussian smoothing over the last two axes
        g = torus_gaussian(sd, size)
        half = g[:, : size // 2 + 1].astype(np.float32)
        return scipy.fft.irfft2(scipy.fft.rfft2(z) * half, s=(size, size)) / np.sqrt(
            np.mean(g**2), dtype=np.float32
        )

    out = np.empty((len(litter_index), size * size, 2 * patch * patch), dtype=np.float32)
    for position in range(int(litter_index.max()) + 1 if len(litter_index) else 0):
        # (eye, cortex row, cortex column, retina row, retina column)
        z = smooth(rng.standard_normal((2, size, size, size, size), dtype=np.float32), SUBREGION)
        z[1] = EYE_MATCH * z[0] + np.sqrt(1.0 - EYE_MATCH**2) * z[1]
        z = np.ascontiguousarray(np.moveaxis(z, (1, 2), (3, 4)))  # cortex last
        by_length = {}  # littermates with the same aff_corr share the smoothing
        for k in np.flatnonzero(litter_index == position):
            sd = float(length[k])
            if sd not in by_length:
                field = smooth(z, sd) if sd > 0 else z
                slots = field[:, rows, cols, i[:, None], c[:, None]]  # (eye, units, slots)
                by_length[sd] = ndtr(slots.transpose(1, 0, 2).reshape(size * size, -1))
            out[k] = by_length[sd]
    return out


class SheetCohort(Cohort):
    """:class:`devsim.cohort.Cohort` on a sheet: ``size**2`` units per organism, each with
    ``2 * patch**2`` afferent slots inside its arbor; the day, the circuit and homeostatic
    scaling are the cohort's own, the kernel is :class:`SheetKernel`. Arbors are complete
    and stay so: no pruning or sprouting (structural plasticity is the point cortex's)."""

    structural = False

    def __init__(self, rng, genes, litter_index, world: SheetWorld, **kwargs):
        self.size, self.patch = world.size, world.patch
        kwargs["neurons"] = world.size * world.size
        # Organisms develop in blocks (a block's retinas are one buffer; every operation
        # is per organism: results do not depend on it).
        kwargs.setdefault("block", MEASURE_BLOCK)
        super().__init__(rng, genes, litter_index, world, **kwargs)

    def _set_buffers(self) -> None:
        p = self.world.padded
        self._x = np.empty((self.block, self.batch_size, 2, p, p), dtype=self.weights.dtype)
        self._kernel = SheetKernel(
            self.block, self.size, self.patch, self.batch_size, self.weights.dtype
        )
        self._prune_scratch = {}
        self._draws = np.empty((0, 9, 0, 0), dtype=np.int64)

    def _initial_wiring(self, rng):
        """Every slot of each unit's arbor connected (retinotopic arbors are complete:
        a sparse random mask with a per-unit eye share seeds salt-and-pepper noise that no
        map outgrows), with signed strengths (the net of ON- and OFF-centre afferents: the
        retina's signal is centre-surround, :func:`devsim.senses.dog_filter`) uniform in
        ``[-2, 2] * INITIAL_WEIGHT`` (:func:`shared_afferent_draws`: correlated between
        neighbouring units over ``aff_corr``) times a Gaussian envelope of sd ``aff_spread``
        and the eye's share of the projection (``2 * contra_bias`` for the left eye, ``2 *
        (1 - contra_bias)`` for the right). Drawn per litter position, so littermates in
        different groups start identical."""
        c = self.channels
        d2 = np.tile(arbor_distance2(self.patch), 2)  # both eyes' windows
        inside = np.tile(arbor(self.patch), 2)
        genes = self.genes
        draws = shared_afferent_draws(
            rng, self.litter_index, np.asarray(genes["aff_corr"]), self.size, self.patch
        )
        spread_ = np.asarray(genes["aff_spread"])[:, None, None]
        envelope = np.exp(-d2 / (2.0 * spread_**2)) * inside
        left = np.arange(2 * c) < c
        contra = np.asarray(genes["contra_bias"])[:, None, None]
        share = np.where(left, 2.0 * contra, 2.0 * (1.0 - contra))
        mask = np.broadcast_to(inside, draws.shape).copy()
        weights = INITIAL_WEIGHT * 2.0 * (2.0 * draws - 1.0) * envelope * share
        weights = weights.astype(np.float32)
        return mask, weights, (mask * envelope).astype(np.float32)

    @property
    def transfer(self) -> np.ndarray:
        """Each organism's lateral interaction (Fourier space), for measuring responses."""
        return lateral_transfer(self.genes, self.size)


# --- measuring the sheet -------------------------------------------------------------------
MEASURE_BLOCK = 8  # organisms measured together (bounds the memory of the acuity read-out)


def _drive(cohort: SheetCohort, x: np.ndarray, rows: slice) -> tuple[np.ndarray, np.ndarray]:
    """The drive of organisms ``rows`` to shared retinas ``x`` (1, t, 2, P, P), before
    inhibition and the nonlinearity: (after the lateral interaction, afferent only), each
    (o, t, units)."""
    w = cohort.weights[rows]
    u = np.empty((w.shape[0], x.shape[1], cohort.neurons), dtype=w.dtype)
    afferent_drive(w, x.astype(w.dtype, copy=False), cohort.size, cohort.patch, u)
    return spread(u, cohort.transfer[rows], cohort.size), u


def _blocks(organisms: int):
    return [slice(a, min(a + MEASURE_BLOCK, organisms)) for a in range(0, organisms, MEASURE_BLOCK)]


def grating_drives(cohort: SheetCohort, world: SheetWorld, rows: slice) -> list[np.ndarray]:
    """Each eye's afferent drive to the test gratings (:attr:`SheetWorld.grating_parts`) for
    organisms ``rows``: [left, right], each (o, t, units), before the lateral interaction
    (from their parts). The drive is linear in the weights, so both
    eyes' drive is their sum."""
    w = cohort.weights[rows]  # (o, units, 2 * channels): left eye's slots, then right's
    basis, phases = (a.astype(w.dtype) for a in world.grating_parts)
    g, c = basis.shape[0] // 2, world.channels
    drives = []
    for e in (0, 1):
        parts = np.matmul(w[:, :, e * c : (e + 1) * c], basis.T).transpose(0, 2, 1)
        cos, sin = parts[:, :g, None, :], parts[:, g:, None, :]  # (o, G, 1, units)
        drive = phases[0] * cos - phases[1] * sin  # (o, G, PHASES, units)
        drives.append(drive.reshape(w.shape[0], -1, cohort.neurons))
    return drives


def _responses(cohort, afferent: np.ndarray, rows: slice, inhibition: np.ndarray):
    """The rectified responses (o, units, t) to afferent drive (o, t, units): the lateral
    interaction, then inhibition and the output nonlinearity."""
    u = spread(afferent, cohort.transfer[rows], cohort.size)
    return circuit_response(u.transpose(0, 2, 1), inhibition, -2, afferent.transpose(0, 2, 1))


def eye_responses(
    cohort: SheetCohort, world: SheetWorld, inhibition: np.ndarray, rows: slice | None = None
):
    """Mean rectified response of every unit to the test gratings
    (:attr:`SheetWorld.grating_parts`) through each eye alone (the other dark): (R_left,
    R_right), each (o, units) for the organisms ``rows`` (default all); as
    :func:`devsim.measures.eye_responses` for the point cortex."""
    first, last, _ = (rows or slice(None)).indices(cohort.organisms)
    out: list[list[np.ndarray]] = [[], []]
    for block in _blocks(last - first):  # ``inhibition`` is given for ``rows`` only
        rows = slice(block.start + first, block.stop + first)
        for eye, afferent in enumerate(grating_drives(cohort, world, rows)):
            out[eye].append(_responses(cohort, afferent, rows, inhibition[block]).mean(axis=-1))
    return np.concatenate(out[0]), np.concatenate(out[1])


def orientation_responses(cohort: SheetCohort, world: SheetWorld, inhibition: np.ndarray):
    """Each unit's mean rectified response (over ``PHASES`` phases) to full-field gratings
    seen by both eyes at each frequency of :data:`MAP_SFS` and ``ORIENTATIONS``
    orientations: (o, len(MAP_SFS), ORIENTATIONS, units)."""
    out = np.empty((cohort.organisms, len(MAP_SFS), ORIENTATIONS, cohort.neurons))
    for rows in _blocks(cohort.organisms):
        left, right = grating_drives(cohort, world, rows)
        both = _responses(cohort, left + right, rows, inhibition[rows])  # (o, units, t)
        y = both.reshape(both.shape[0], cohort.neurons, len(MAP_SFS), ORIENTATIONS, PHASES)
        out[rows] = y.mean(axis=-1).transpose(0, 2, 3, 1)
    return out


def acuity(cohort: SheetCohort, world: SheetWorld, inhibition: np.ndarray):
    """Per-eye grating acuity of every organism's sheet, as
    :func:`devsim.measures.acuity` (full-field gratings through the retina; each unit
    sees them in its own window, after the lateral interaction)."""
    s, k = world.gratings_acuity.shape[:2]
    out = []
    for eye in (0, 1):
        x = np.zeros((1, s * k, 2, world.padded, world.padded), dtype=np.float32)
        x[0, :, eye] = world.gratings_acuity.reshape(s * k, world.padded, world.padded)
        parts = []
        for rows in _blocks(cohort.organisms):
            u, afferent = (
                np.ascontiguousarray(
                    d.reshape(d.shape[0], s, k, cohort.neurons).transpose(0, 1, 3, 2)
                )
                for d in _drive(cohort, x, rows)
            )  # (o, s, units, k)
            parts.append(
                acuity_from_drive(
                    u, world.cortical_noise, world.params.acuity_sfs, inhibition[rows], afferent
                )
            )
        out.append(np.concatenate(parts))
    return out[0], out[1]


def synapse_graph(
    weights: np.ndarray, mask: np.ndarray, size: int, patch: int, genes: dict[str, float]
):
    """One organism's sheet as a ``networkx.DiGraph``: retinal positions ``("left", k)`` /
    ``("right", k)`` and units ``("cortex", j)`` (``k``, ``j`` = row * size + column; every
    node has ``pos`` = (row, column) and ``kind``); afferent synapses input -> unit
    (``weight``, ``kind`` "afferent"), and lateral interactions unit -> unit wherever the
    interaction is at least 1 % of its largest value (``weight`` in units of the drive,
    ``kind`` "lateral"; the unit's own recurrent interaction, the kernel's centre, is a
    self-loop). ``genes``: the organism's genes (scalars)."""
    import networkx as nx

    graph = nx.DiGraph()
    for k in range(size * size):
        pos = divmod(k, size)
        graph.add_node(("left", k), kind="left", pos=pos)
        graph.add_node(("right", k), kind="right", pos=pos)
        graph.add_node(("cortex", k), kind="cortex", pos=pos)
    h, per_eye = patch // 2, patch * patch
    units, slots = np.nonzero(mask)
    for j, m in zip(units.tolist(), slots.tolist(), strict=True):
        eye, rest = divmod(m, per_eye)
        p, q = divmod(rest, patch)
        i, c = divmod(j, size)
        k = ((i + p - h) % size) * size + (c + q - h) % size
        source = ("left" if eye == 0 else "right", k)
        graph.add_edge(source, ("cortex", j), weight=float(weights[j, m]), kind="afferent")
    one = {name: np.array([float(value)]) for name, value in genes.items()}
    # what one unit's output adds to each unit's drive in a settling step (spread: the
    # transfer has no identity term, so the centre is a recurrent self-interaction)
    kernel = np.fft.irfft2(lateral_transfer(one, size)[0], s=(size, size))
    strong = np.abs(kernel) >= 0.01 * np.abs(kernel).max() if np.any(kernel) else kernel != 0
    for dy, dx in np.argwhere(strong).tolist():
        for j in range(size * size):
            i, c = divmod(j, size)
            target = ((i + dy) % size) * size + (c + dx) % size
            graph.add_edge(
                ("cortex", j), ("cortex", target), weight=float(kernel[dy, dx]), kind="lateral"
            )
    return graph

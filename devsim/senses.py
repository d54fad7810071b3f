"""The visual world: what each eye delivers, day by day, under each rearing condition.

Pure numerics (no Mesa). Natural-like input is made the way the retina sees it:
1/f ("pink") noise images, an expansive pointwise nonlinearity so that contrast is
heavy-tailed like natural scenes, then a difference-of-Gaussians filter (centre-surround
retinal ganglion cells). Patches of ``patch x patch`` channels are cut from them.

Rearing conditions act only through two numbers per eye and one flag (docs/science.md, Senses):
``pattern_gain`` (does the eye see patterns?), ``noise_sigma`` (unstructured activity:
sutured lids pass diffuse light) and ``independent`` (strabismus: the eyes see
different patterns). Nothing downstream knows which experiment is running.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Sequence
from dataclasses import dataclass, fields
from typing import Any, Protocol, runtime_checkable

import numpy as np

from devsim import fused
from devsim.errors import DevsimInputError

LEFT, RIGHT = 0, 1  # the left eye is the contralateral eye by convention
# The rearing conditions a scenario may name, each as a reader (and the page's menu) reads
# it; what each delivers is eye_inputs'. One list: the scenario format, the page and the
# docs read it from here.
CONDITION_TEXTS = {
    "normal": "normal vision",
    "lid_suture": "lid suture of one eye (lid_suture)",
    "inactivate": "one eye silenced, as by TTX (inactivate)",
    "binocular_suture": "both lids sutured (binocular_suture)",
    "binocular_inactivation": "both eyes silenced, as by TTX in both (binocular_inactivation)",
    "dark": "darkness (dark)",
    "strabismus": "strabismus: the eyes see different images",
}
CONDITIONS = tuple(CONDITION_TEXTS)
EYE_CONDITIONS = ("lid_suture", "inactivate")  # conditions that need an `eye`
# one eye deprived of vision (the end of which is the end of an MD); a one-eye condition
# that is not a deprivation (a blur, a prism) would need an `eye` without being one
# (with what a deprived eye is, as a lesson's question says it: "the closed eye")
DEPRIVED_EYE_WORDS = {"lid_suture": "closed", "inactivate": "silenced"}
MONOCULAR_DEPRIVATIONS = tuple(DEPRIVED_EYE_WORDS)
# conditions that silence the retina (TTX): before eye opening they stop its waves too
SILENCING = ("inactivate", "binocular_inactivation")
# Scaled stimulus banks kept per world for the conditions seen lately: a browser session
# holds one world, so this bounds its memory (a day of the default page uses 24 MiB).
BANK_CACHE_BYTES = 24 * 2**20


@dataclass(frozen=True)
class WorldParams:
    """Statistics of the visual world (not genes: the environment, not the organism)."""

    patch: int = 8  # retina patch side, channels per eye = patch**2
    sigma_open: float = 0.3  # independent noise of an open eye (x pattern std)
    sigma_closed: float = 1.0  # diffuse light through a lid: 0.92x an open eye's variance (row 20)
    sigma_dark: float = 0.3  # spontaneous activity in darkness / before eye opening
    # Retinal waves before eye opening (Meister et al. 1991; Wong 1999): spontaneous,
    # spatially correlated activity within each eye, unrelated between the eyes, weaker
    # than vision (x the pattern std of an open eye); they end as the eyes open.
    wave_gain: float = 0.4
    image_size: int = 64  # side of each generated 1/f image
    n_images: int = 24
    bank_size: int = 16384  # patches in the training bank
    noise_bank_size: int = 32768
    n_test: int = 48  # fixed test patterns for responses and ODI
    # Grating acuity (Mitchell 1988 measured grating acuity): spatial frequencies in
    # cycles per retinal channel, orientations x phases to tell apart, presentations each.
    acuity_sfs: tuple[float, ...] = (0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45)
    acuity_orientations: int = 4
    acuity_phases: int = 2
    acuity_contrast: float = 1.0  # std of the best-transmitted grating (x training std)
    acuity_reps: int = 10  # presentations per grating (half to fit, half to test)
    cortical_noise: float = 1.1  # intrinsic noise of cortical responses (a.u.)
    max_neurons: int = 1024  # size of the cortical-noise bank (neurons per organism)
    expansion: float = 3.0  # expansive nonlinearity exponent (heavy-tailed contrast)

    def __post_init__(self) -> None:
        """Each field within what the world can be built and measured with: a bad one is
        one line naming it (a patch of 0 failed deep inside numpy; no test pattern gave a
        NaN CBI; no repetition or a NaN noise an acuity of 0, silently)."""
        at_least = {"patch": 1, "image_size": 2, "n_images": 1, "bank_size": 1,
                    "noise_bank_size": 1, "n_test": 1, "acuity_orientations": 2,
                    "acuity_phases": 1, "acuity_reps": 2, "max_neurons": 1}  # fmt: skip
        for name, low in at_least.items():
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < low:
                raise DevsimInputError(f"world.{name}: {value!r}; allowed: a whole number >= {low}")
        if self.image_size <= self.patch:
            raise DevsimInputError(
                f"world.image_size: {self.image_size}; allowed: larger than the patch "
                f"({self.patch})"
            )
        positive = ("acuity_contrast", "expansion")
        for name in (*REARING_STATISTICS, "cortical_noise", *positive):
            value = getattr(self, name)
            ok = isinstance(value, int | float | np.number) and not isinstance(value, bool)
            if not ok or not np.isfinite(value) or value < 0 or (name in positive and value == 0):
                sign = "> 0" if name in positive else ">= 0"
                raise DevsimInputError(f"world.{name}: {value!r}; allowed: a finite number {sign}")
        sfs = self.acuity_sfs
        if (
            not isinstance(sfs, tuple | list)
            or not sfs
            or not all(isinstance(f, int | float) and np.isfinite(f) and f > 0 for f in sfs)
        ):
            raise DevsimInputError(
                f"world.acuity_sfs: {sfs!r}; allowed: one or more finite frequencies > 0"
            )

    def apparatus_changes(self) -> list[str]:
        """The apparatus fields (all but :data:`REARING_STATISTICS`) set away from the
        standard world's: no scenario records them, so a run on them cannot be rerun."""
        standard = WorldParams()
        return [
            name
            for name in (f.name for f in fields(self))
            if name not in REARING_STATISTICS and getattr(self, name) != getattr(standard, name)
        ]


# What a scenario's [world] table may set: the statistics of what the eyes deliver besides
# the patterns (the lid's diffuse light, darkness, open-eye noise, the retinal waves). The
# rest of WorldParams is the apparatus (banks, patch, acuity test), fixed for a scenario.
REARING_STATISTICS = ("sigma_open", "sigma_closed", "sigma_dark", "wave_gain")


@runtime_checkable
class World(Protocol):
    """What a cohort draws its daily inputs from (:class:`VisualWorld`, the evolution's
    :class:`devsim.environment.HabitatWorld`): index draws, then both eyes' inputs."""

    channels: int  # input channels per eye

    def draw_indices(self, rng: np.random.Generator, litter: int, batch: int) -> np.ndarray:
        """Stimulus indices of one mini-batch, (4, litter, batch)."""
        ...

    def stimuli(
        self,
        indices: np.ndarray,
        litter_index: np.ndarray,
        pattern_gain: np.ndarray,
        noise_sigma: np.ndarray,
        independent: np.ndarray,
        out: np.ndarray | None = None,
    ) -> np.ndarray:
        """Both eyes' input for a mini-batch, (organisms, batch, 2 * channels)."""
        ...


@runtime_checkable
class PlannedWorld(World, Protocol):
    """A world with the fast path: a day's stimulus plan, then organisms gathered in
    blocks; ``params`` gives its bank sizes (``bank_size``, ``noise_bank_size``)."""

    params: Any  # WorldParams-like: bank_size, noise_bank_size

    def stimulus_plan(
        self,
        litter_index: np.ndarray,
        pattern_gain: np.ndarray,
        noise_sigma: np.ndarray,
        independent: np.ndarray,
    ) -> StimulusPlan: ...

    def gather(
        self,
        indices: np.ndarray,
        plan: StimulusPlan,
        a: int,
        b: int,
        out: np.ndarray,
        scratch: np.ndarray | None = None,
    ) -> np.ndarray: ...


def pink_noise_images(rng: np.random.Generator, n: int, size: int) -> np.ndarray:
    """``n`` images of ``size x size`` pixels with a 1/f amplitude spectrum, unit variance."""
    fy = np.fft.fftfreq(size)[:, None]
    fx = np.fft.fftfreq(size)[None, :]
    f = np.sqrt(fx**2 + fy**2)
    f[0, 0] = np.inf  # no DC component
    spectrum = rng.standard_normal((n, size, size)) + 1j * rng.standard_normal((n, size, size))
    images = np.fft.ifft2(spectrum / f).real
    images -= images.mean(axis=(1, 2), keepdims=True)
    images /= images.std(axis=(1, 2), keepdims=True)
    return images


def torus_gaussian(sd, size: int) -> np.ndarray:
    """The Fourier transform (..., size, size) of a unit-sum Gaussian of sd ``sd`` (in
    positions; an array gives one per leading index) on a torus of side ``size``: the one
    smoothing kernel of the retina's filter, the sheet's lateral interactions and innate
    draws, and the imaging blur of maps."""
    f2 = np.fft.fftfreq(size)[:, None] ** 2 + np.fft.fftfreq(size)[None, :] ** 2
    return np.exp(-2 * np.pi**2 * np.asarray(sd, dtype=float)[..., None, None] ** 2 * f2)


def dog_filter(images: np.ndarray, sigma_center: float = 0.8, sigma_surround: float = 2.4):
    """Difference-of-Gaussians (retinal centre-surround) filtering, applied in Fourier space."""
    size = images.shape[-1]
    kernel = torus_gaussian(sigma_center, size) - torus_gaussian(sigma_surround, size)
    return np.fft.ifft2(np.fft.fft2(images) * kernel).real


def natural_patches(rng: np.random.Generator, params: WorldParams, count: int) -> np.ndarray:
    """``count`` natural-like patches, each flattened to ``patch**2`` channels, float32.

    1/f images, an expansive nonlinearity ``sign(x)|x|^p`` (heavy tails), DoG filtering,
    then random crops; normalised to unit standard deviation over the bank.
    """
    images = pink_noise_images(rng, params.n_images, params.image_size)
    images = np.sign(images) * np.abs(images) ** params.expansion
    images = dog_filter(images)
    p = params.patch
    which = rng.integers(params.n_images, size=count)
    rows = rng.integers(params.image_size - p, size=count)
    cols = rng.integers(params.image_size - p, size=count)
    offsets = np.arange(p)
    patches = images[
        which[:, None, None],
        rows[:, None, None] + offsets[None, :, None],
        cols[:, None, None] + offsets[None, None, :],
    ].reshape(count, p * p)
    patches -= patches.mean()
    patches /= patches.std()
    return patches.astype(np.float32)


class StimulusPlan:
    """A day's stimulus set-up for :meth:`VisualWorld.gather` (see :meth:`stimulus_plan`).

    Banks are stacked copies of the pattern (noise) bank, one per distinct gain (sigma);
    ``*_offset`` (organisms, 2) is the first row of each eye's copy.
    """

    def __init__(
        self,
        litter_index: np.ndarray,
        independent: np.ndarray,
        pattern_bank: np.ndarray,
        pattern_offset: np.ndarray,
        noise_bank: np.ndarray,
        noise_offset: np.ndarray,
    ):
        self.litter_index = litter_index
        self.independent = independent
        self.pattern_bank = pattern_bank
        self.pattern_offset = pattern_offset
        self.noise_bank = noise_bank
        self.noise_offset = noise_offset
        self._blocks: dict[tuple[int, int], tuple] = {}
        self._fused: dict[tuple[int, int], tuple] = {}

    def _block(self, a: int, b: int) -> tuple:
        """Per block of organisms: litter positions (a slice start when contiguous), the
        non-zero row offsets of the four sources and the strabismic organisms."""
        info = self._blocks.get((a, b))
        if info is None:
            litter = self.litter_index[a:b]
            first = int(litter[0]) if litter.size else 0
            contiguous = np.array_equal(litter, np.arange(first, first + litter.size))
            offsets = []
            for table, eye in (
                (self.pattern_offset, 0),
                (self.pattern_offset, 1),
                (self.noise_offset, 0),
                (self.noise_offset, 1),
            ):
                column = table[a:b, eye]
                offsets.append(column[:, None].copy() if column.any() else None)
            squint = self.independent[a:b, None]
            info = (
                litter,
                first if contiguous else None,
                offsets,
                squint if squint.any() else None,
            )
            self._blocks[(a, b)] = info
        return info

    def fused_block(self, a: int, b: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """For :func:`devsim.fused.gather_inputs`: organisms ``a:b``'s litter positions, row
        offsets (o, 4) (pattern L, pattern R, noise L, noise R) and strabismus flags."""
        info = self._fused.get((a, b))
        if info is None:
            offsets = np.concatenate([self.pattern_offset[a:b], self.noise_offset[a:b]], axis=1)
            info = (
                np.ascontiguousarray(self.litter_index[a:b]),
                np.ascontiguousarray(offsets, dtype=np.intp),
                np.ascontiguousarray(self.independent[a:b]),
            )
            self._fused[(a, b)] = info
        return info

    def rows(self, indices: np.ndarray, a: int, b: int) -> np.ndarray:
        """Bank rows of organisms ``a:b`` from the litter-wide ``indices`` (4, litter,
        batch): array (2, b - a, batch, 2) = (patterns | noise, organism, batch, eye)."""
        litter, first, offsets, squint = self._block(a, b)
        o = b - a
        rows = np.empty((2, o, indices.shape[2], 2), dtype=np.intp)

        def pick(k: int) -> np.ndarray:
            if first is not None:
                return indices[k, first : first + o]
            return np.take(indices[k], litter, axis=0)

        left = pick(0)
        right = left if squint is None else np.where(squint, pick(1), left)
        sources = (left, right, pick(2), pick(3))
        for k, (source, offset) in enumerate(zip(sources, offsets, strict=True)):
            target = rows[k // 2, :, :, k % 2]
            if offset is None:
                np.copyto(target, source)
            else:
                np.add(source, offset, out=target)
        return rows


def stimuli_via_plan(world, indices, litter_index, pattern_gain, noise_sigma, independent, out):
    """A world's ``stimuli`` for every organism at once, through its ``stimulus_plan`` and
    ``gather`` (``out`` is allocated when None)."""
    plan = world.stimulus_plan(litter_index, pattern_gain, noise_sigma, independent)
    o = litter_index.shape[0]
    if out is None:
        out = np.empty((o, indices.shape[2], 2 * world.channels), dtype=np.float32)
    return world.gather(indices, plan, 0, o, out)


def draw_bank_indices(rng: np.random.Generator, params, litter: int, batch: int) -> np.ndarray:
    """Bank indices for one update: (4, litter, batch) = pattern L, pattern R, noise L, noise R.

    ``params`` needs ``bank_size`` and ``noise_bank_size``; every world draws the same way,
    so a seed gives the same stream whichever world a model uses.
    """
    idx = np.empty((4, litter, batch), dtype=np.int64)
    idx[:2] = rng.integers(params.bank_size, size=(2, litter, batch))
    idx[2:] = rng.integers(params.noise_bank_size, size=(2, litter, batch))
    return idx


class _Banks:
    """A visual world's banks (read-only) and its cache of scaled banks."""

    def __init__(self, rng: np.random.Generator, p: WorldParams):
        channels = p.patch * p.patch
        self.patterns = natural_patches(rng, p, p.bank_size)
        self.noise = rng.standard_normal((p.noise_bank_size, channels)).astype(np.float32)
        # Fixed test sets (drawn from fresh images so they are never trained on directly).
        self.test_patterns = natural_patches(rng, p, p.n_test)
        self.gratings = grating_stimuli(p)  # (sf, class, c)
        self.cortical_noise = p.cortical_noise * rng.standard_normal(
            (len(p.acuity_sfs), self.gratings.shape[1], p.acuity_reps, p.max_neurons)
        ).astype(np.float32)
        for array in (self.patterns, self.noise, self.test_patterns, self.cortical_noise):
            array.flags.writeable = False
        self.state_after = rng.bit_generator.state
        self.scaled: dict[tuple, np.ndarray] = {}
        self.lock = threading.Lock()


# Banks by the generator state they were drawn from, while some world uses them: models with
# the same seed (a class that opened one link) hold one copy. Taking them advances the
# generator exactly as drawing them would, so every later draw is the same.
_BANKS: weakref.WeakValueDictionary = weakref.WeakValueDictionary()
_BANKS_LOCK = threading.Lock()


def _shared_banks(rng: np.random.Generator, p: WorldParams) -> _Banks:
    key = (repr(rng.bit_generator.state), p)
    with _BANKS_LOCK:
        banks = _BANKS.get(key)
        if banks is None:
            banks = _BANKS[key] = _Banks(rng, p)
        else:
            rng.bit_generator.state = banks.state_after
    return banks


class VisualWorld:
    """Banks of natural-like patterns and noise, drawn once from the model's generator.

    Each update draws *indices* into the banks (cheap) rather than fresh images. Draws are
    made per litter position, so organism ``i`` of every group sees the same stream: groups
    are compared against same-seed littermates.
    """

    def __init__(self, rng: np.random.Generator, params: WorldParams | None = None):
        self.params = params or WorldParams()
        p = self.params
        self.channels = p.patch * p.patch
        banks = _shared_banks(rng, p)
        self._banks = banks  # worlds drawn from the same generator state share it
        self.patterns = banks.patterns
        self.noise = banks.noise
        self.test_patterns = banks.test_patterns
        self.gratings = banks.gratings
        self.cortical_noise = banks.cortical_noise

    def draw_indices(self, rng: np.random.Generator, litter: int, batch: int) -> np.ndarray:
        """Indices for one update: (4, litter, batch) = pattern L, pattern R, noise L, noise R."""
        return draw_bank_indices(rng, self.params, litter, batch)

    def stimuli(
        self,
        indices: np.ndarray,
        litter_index: np.ndarray,
        pattern_gain: np.ndarray,
        noise_sigma: np.ndarray,
        independent: np.ndarray,
        out: np.ndarray | None = None,
    ) -> np.ndarray:
        """Both eyes' input for a mini-batch: array (organisms, batch, 2 * channels).

        Each eye's input is ``gain * pattern + sigma * noise`` (float32), with ``pattern``
        and ``noise`` rows of the banks chosen by ``indices``.

        Parameters
        ----------
        indices : (4, litter, batch) ints from :meth:`draw_indices`.
        litter_index : (organisms,) which litter position each organism occupies.
        pattern_gain : (organisms, 2) 1 where the eye sees patterns, 0 where it does not.
        noise_sigma : (organisms, 2) std of the unstructured activity in each eye.
        independent : (organisms,) bool, True where the eyes see unrelated patterns.
        """
        return stimuli_via_plan(
            self, indices, litter_index, pattern_gain, noise_sigma, independent, out
        )

    # --- the fast path: scaled banks made once, then two gathers and one add per batch ---
    def stimulus_plan(
        self,
        litter_index: np.ndarray,
        pattern_gain: np.ndarray,
        noise_sigma: np.ndarray,
        independent: np.ndarray,
    ) -> StimulusPlan:
        """What :meth:`gather` needs for a day: the banks pre-multiplied by each distinct
        gain (and noise sigma) in use, and each organism's offset into them.

        ``gain * pattern`` is the same float32 product whether it is computed when the
        pattern is drawn or once for the whole bank, so :meth:`gather` returns exactly what
        the per-batch arithmetic would.
        """
        gains = np.asarray(pattern_gain).astype(np.float32)
        sigmas = np.asarray(noise_sigma).astype(np.float32)
        pattern_bank, pattern_offset = self._scaled_bank("patterns", gains)
        noise_bank, noise_offset = self._scaled_bank("noise", sigmas)
        return StimulusPlan(
            litter_index=np.asarray(litter_index, dtype=np.intp),
            independent=np.asarray(independent, dtype=bool),
            pattern_bank=pattern_bank,
            pattern_offset=pattern_offset,
            noise_bank=noise_bank,
            noise_offset=noise_offset,
        )

    def _scaled_bank(self, which: str, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(stacked scaled banks, (organisms, 2) row offsets) for the float32 ``values``."""
        bank = getattr(self, which)
        distinct = np.unique(values)
        key = (which, distinct.tobytes())
        with self._banks.lock:  # shared with the worlds of other sessions (threads)
            stacked = self._scaled_stack(bank, distinct, key)
        offset = np.searchsorted(distinct, values).astype(np.intp) * bank.shape[0]
        return stacked, offset

    def _scaled_stack(self, bank: np.ndarray, distinct: np.ndarray, key: tuple) -> np.ndarray:
        cache = self._banks.scaled
        stacked = cache.get(key)
        if stacked is None:
            stacked = np.empty((len(distinct) * len(bank), *bank.shape[1:]), dtype=bank.dtype)
            for k, v in enumerate(distinct):  # float32 products, written in place
                np.multiply(v, bank, out=stacked[k * len(bank) : (k + 1) * len(bank)])
            # the oldest go first once the cache would outgrow its budget (a day's two
            # stacks always fit: the arrays in use are referenced by the day's plan)
            while cache and sum(a.nbytes for a in cache.values()) + stacked.nbytes > (
                BANK_CACHE_BYTES
            ):
                del cache[next(iter(cache))]
            stacked.flags.writeable = False
            cache[key] = stacked
        return stacked

    def gather(
        self,
        indices: np.ndarray,
        plan: StimulusPlan,
        a: int,
        b: int,
        out: np.ndarray,
        scratch: np.ndarray | None = None,
    ) -> np.ndarray:
        """Inputs of organisms ``a:b`` for a mini-batch into ``out`` (b - a, batch, 2c);
        ``scratch`` is an optional buffer of at least ``out.size`` elements of its dtype."""
        o, batch, c = b - a, indices.shape[2], self.channels
        x = out.reshape(o, batch, 2, c)
        if out.dtype == plan.pattern_bank.dtype == plan.noise_bank.dtype:
            # one pass: each row read once from each bank and added (the same float32 sums)
            litter, offsets, squint = plan.fused_block(a, b)
            fused.gather_inputs(
                plan.pattern_bank, plan.noise_bank, indices, litter, offsets, squint, x
            )
            return out
        rows = plan.rows(indices, a, b)
        if out.dtype == plan.pattern_bank.dtype == plan.noise_bank.dtype:
            if scratch is None or scratch.size < out.size:
                scratch = np.empty(out.size, dtype=out.dtype)
            noise = scratch.reshape(-1)[: out.size].reshape(x.shape)
            np.take(plan.pattern_bank, rows[0], axis=0, out=x, mode="clip")
            np.take(plan.noise_bank, rows[1], axis=0, out=noise, mode="clip")
            np.add(x, noise, out=x)
        else:  # another working precision: the same float32 values, added in it
            x[...] = plan.pattern_bank[rows[0]]
            x += plan.noise_bank[rows[1]]
        return out


def grating_stimuli(params: WorldParams) -> np.ndarray:
    """Sinusoidal gratings seen through the retina: (n_sf, orientations * phases, c).

    Each grating is drawn on a full image, DoG-filtered like the training images (so the
    retina's band-pass shapes what reaches the cortex) and cropped to the central patch.
    All are scaled by one factor: the best-transmitted frequency has std ``acuity_contrast``.
    """
    size, p = params.image_size, params.patch
    yy, xx = np.mgrid[0:size, 0:size].astype(float)
    images = []
    for f in params.acuity_sfs:
        for k in range(params.acuity_orientations):
            angle = np.pi * k / params.acuity_orientations
            for j in range(params.acuity_phases):
                phase = 2 * np.pi * j / params.acuity_phases
                ramp = xx * np.cos(angle) + yy * np.sin(angle)
                images.append(np.cos(2 * np.pi * f * ramp + phase))
    filtered = dog_filter(np.array(images))
    lo = (size - p) // 2
    patches = filtered[:, lo : lo + p, lo : lo + p].reshape(len(params.acuity_sfs), -1, p * p)
    patches *= params.acuity_contrast / patches.std(axis=(1, 2)).max()
    return patches.astype(np.float32)


def eye_inputs(condition: str, eye: str | None, params: WorldParams):
    """What a rearing condition delivers: (pattern_gain[2], noise_sigma[2], independent).

    >>> eye_inputs("lid_suture", "left", WorldParams())[0]
    (0.0, 1.0)
    """
    open_eye = (1.0, params.sigma_open)
    if condition == "normal":
        return (1.0, 1.0), (params.sigma_open, params.sigma_open), False
    if condition == "strabismus":
        return (1.0, 1.0), (params.sigma_open, params.sigma_open), True
    if condition == "dark":
        return (0.0, 0.0), (params.sigma_dark, params.sigma_dark), False
    if condition == "retinal_waves":  # before eye opening: each eye its own waves
        waves = params.wave_gain
        return (waves, waves), (params.sigma_dark, params.sigma_dark), True
    if condition == "binocular_suture":
        return (0.0, 0.0), (params.sigma_closed, params.sigma_closed), False
    if condition == "binocular_inactivation":  # TTX in both eyes: no activity at all
        return (0.0, 0.0), (0.0, 0.0), False
    closed = {
        "lid_suture": (0.0, params.sigma_closed),  # diffuse light through the lid
        "inactivate": (0.0, 0.0),  # TTX: the eye is silent
    }.get(condition)
    if closed is None:  # every condition is named above: none falls through to another
        raise ValueError(f"unknown condition {condition!r}")
    if eye not in ("left", "right"):
        raise ValueError(f"condition {condition!r} needs an eye, 'left' or 'right'; got {eye!r}")
    left, right = (closed, open_eye) if eye == "left" else (open_eye, closed)
    return (left[0], right[0]), (left[1], right[1]), False


def input_variances(
    condition: str,
    eye: str | None,
    params: WorldParams,
    rng: np.random.Generator,
    presentations: int = 16384,
) -> tuple[float, float]:
    """The variance of each eye's input (left, right; per channel, over ``presentations``
    draws) that ``condition`` delivers in a world drawn from ``rng``: what a recording
    from the eyes would measure, not a formula."""
    world = VisualWorld(rng, params)
    gain, sigma, independent = eye_inputs(condition, eye, params)
    indices = world.draw_indices(rng, 1, presentations)
    x = world.stimuli(
        indices, np.array([0]), np.array([gain]), np.array([sigma]), np.array([independent])
    )[0].astype(np.float64)
    c = world.channels
    return float(x[:, :c].var()), float(x[:, c:].var())


@dataclass(frozen=True)
class Span:
    """Days ``[start, end)`` reared under ``condition`` (``eye`` for one-eye conditions)."""

    start: int
    end: int
    condition: str
    eye: str | None = None


def rearing_inputs(
    days: int, eye_opening: int, spans: Sequence[Span], params: WorldParams
) -> tuple[np.ndarray, np.ndarray, np.ndarray, tuple[str, ...]]:
    """What one rearing history delivers to the eyes on each day of life.

    The one builder of daily inputs for every model: before ``eye_opening`` the lids are
    closed and the retinas make their own waves (darkness or a suture does not stop them;
    TTX does, in the eyes it silences), after it vision is normal, and each span overrides it
    on its days. Returns ``pattern_gain``
    (days, 2), ``noise_sigma`` (days, 2), ``independent`` (days,) and a label per day.

    >>> gain, sigma, independent, labels = rearing_inputs(
    ...     4, 1, [Span(2, 3, "lid_suture", "left")], WorldParams())
    >>> gain.tolist(), labels
    ([[0.4, 0.4], [1.0, 1.0], [0.0, 1.0], [1.0, 1.0]], ('eyes not yet open', 'normal', \
'lid_suture (left)', 'normal'))
    """
    gain = np.zeros((days, 2))
    sigma = np.zeros((days, 2))
    independent = np.zeros(days, dtype=bool)
    labels = []
    for day in range(days):
        condition, eye = ("normal", None) if day >= eye_opening else ("dark", None)
        # before eye opening every animal's lids are shut: not a deprivation (the page's
        # header read "control: eyes closed")
        label = "eyes not yet open" if day < eye_opening else "normal"
        for span in spans:
            if span.start <= day < span.end:
                condition, eye = span.condition, span.eye
                label = condition + (f" ({eye})" if eye else "")
        if day < eye_opening and label != "eyes not yet open":
            label = f"eyes not yet open; {label}"
        if day < eye_opening and condition not in SILENCING:
            # behind lids not yet open the retinas wave whatever the room or a suture: a
            # suture's open eye saw patterned vision before eye opening
            condition, eye = "retinal_waves", None
        gain[day], sigma[day], independent[day] = eye_inputs(condition, eye, params)
        if day < eye_opening and condition == "inactivate":  # TTX stops one eye's waves
            waves = eye_inputs("retinal_waves", None, params)
            other = 1 if eye == "left" else 0
            gain[day, other], sigma[day, other] = waves[0][other], waves[1][other]
            independent[day] = True
        labels.append(label)
    return gain, sigma, independent, tuple(labels)

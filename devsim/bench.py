"""``devsim bench``: how close the development kernel runs to the machine's limit.

Workloads (one :class:`~devsim.model.DevelopmentModel` each, default brain: 32 neurons x
128 inputs, 640 presentations a day in mini-batches of 16, normal rearing):

* **standard**: 100 organisms for 90 days (``--quick``: 20 organisms, 10 days);
* **large**: 10,000 organisms for 3 days (``--quick``: 2,000 organisms, 2 days), plus a
  linear fit of the time of one day against the number of organisms;
* **sheet**: cats with a cortical sheet (:mod:`devsim.sheet`, 32 x 32 units, the shipped
  ``sheet_cat``'s 256 presentations a day, maps measured daily), 1 and 64 organisms for 90
  days, the whole window (``--quick``: 1 and 8 organisms, 10 days), against the sheet's own
  floor (:func:`sheet_floor_seconds`), plus one organism's day at other sheet sides and the
  bytes of state per organism.

For the standard workload the bench also times, in the same process:

* the **floor**: a bare numpy kernel with the same shapes and dtype doing the same number
  of forward passes and weight updates (``y = x @ W.T``, the inhibitory population's drive
  pooled over the neurons and subtracted, ``dW = y.T @ x; W += dW``; no nonlinearity,
  masks, thresholds, stimuli, pruning or measurement);
* the **naive** baseline: what a straightforward Mesa implementation does, each organism
  agent living its own day, presentation by presentation (one
  :class:`~devsim.cohort.Cohort` per organism with mini-batches of one, its own
  ``develop_day`` and daily measurement), timed on a few organism-days and scaled per
  organism-day. Both of devsim's optimisations are off: vectorising across organisms and
  mini-batching presentations (``--checks`` shows that mini-batches of 16 give the same
  MD shift as presenting one stimulus at a time). The bench also reports the organisms
  stepped one at a time *with* mini-batches, to separate the two gains.

Definitions: an *organism-day* is one organism living one day. A *synapse update* is one
synapse slot (organisms x neurons x inputs, present or not: the kernel touches every slot)
updated by one mini-batch, so ``synapse updates = organisms x neurons x inputs x days x
presentations_per_day / batch_size``. Bytes per synapse: bytes of the cohort's arrays
that have one entry per slot (state and per-day scratch) / number of slots.

``--checks`` adds three comparisons on monocular deprivation at the peak of the critical
period (several seeds): mini-batches of 16 vs one presentation at a time and vs 32
presentations, at the same presentations per day, and float32 vs float64 arithmetic. The
MD shift must agree within the seed-to-seed spread.

Timings are wall-clock and only as good as the machine is quiet: the load average is
reported at the start and the end, and ratios to the floor are also given by CPU time
(``time.process_time``), which other jobs on the machine disturb less. A separate short run
splits a day into its phases (index draws, stimulus gathering, the plasticity kernel,
pruning/sprouting, daily measurement; timed through the cohort's
:class:`~devsim.cohort.PhaseTimer` hook) so the kernel alone can be set against the floor.
"""

from __future__ import annotations

import ctypes
import math
import os
import platform
import resource
import sys
import time
from dataclasses import dataclass

import numpy as np
import scipy.fft

from devsim.budget import STANDARD_RATE, cortex_terms, development_cost
from devsim.cohort import BATCH_SIZE, NEURONS, PRESENTATIONS_PER_DAY, Cohort, PhaseTimer
from devsim.defaults import BENCH_SEEDS
from devsim.measures import eye_responses
from devsim.model import DevelopmentModel
from devsim.scenario import load_scenario
from devsim.sheet import MEASURE_BLOCK, SHEET_SIZE, lateral_transfer
from devsim.shipped import scenario_path


@dataclass(frozen=True)
class Plan:
    """Sizes of one bench run."""

    organisms: int = 100
    days: int = 90
    naive_organisms: int = 5
    naive_days: int = 5
    large_organisms: int = 10_000
    large_days: int = 3
    growth: tuple[int, ...] = (1_000, 3_000)  # plus large_organisms, from the large run
    # The sheet workload: cat, default sheet, these litter sizes, a critical period's days.
    sheet_organisms: tuple[int, ...] = (1, 64)
    sheet_days: int = 90
    sheet_sizes: tuple[int, ...] = (16, 24, 32)  # growth with the sheet's side (1 organism)
    sheet_size_days: int = 3


FULL = Plan()
QUICK = Plan(
    organisms=20,
    days=10,
    large_organisms=2_000,
    large_days=2,
    growth=(500, 1_000),
    sheet_organisms=(1, 8),
    sheet_days=10,
    sheet_sizes=(16, 24),
    sheet_size_days=2,
)
SEED = 2024


# --- process facts -------------------------------------------------------------------
def reset_peak_rss() -> bool:
    """Reset the kernel's peak-RSS counter (Linux); False where that is not possible."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def peak_rss_mb() -> float:
    """Peak resident memory since the last :func:`reset_peak_rss` (else since start), MiB."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 1024 / (1024 if sys.platform == "darwin" else 1)


def load_average() -> list[float] | None:
    try:
        return [round(v, 2) for v in os.getloadavg()]
    except OSError:
        return None


def blas_info() -> dict:
    """numpy's BLAS as built (``numpy.show_config``) and as running (OpenBLAS core, threads)."""
    info: dict = {"numpy": np.__version__}
    try:
        config = np.show_config(mode="dicts")
        blas = config["Build Dependencies"]["blas"]
        info["blas"] = {k: blas.get(k) for k in ("name", "version", "openblas configuration")}
        info["simd"] = config.get("SIMD Extensions", {}).get("found")
    except Exception as exc:  # pragma: no cover - depends on the numpy build
        info["blas"] = f"unavailable ({exc.__class__.__name__})"
    try:
        import threadpoolctl

        info["threadpools"] = threadpoolctl.threadpool_info()
    except ImportError:
        info["threadpools"] = _openblas_runtime()
    return info


def _openblas_runtime() -> list[dict]:
    """What threadpoolctl would say about a loaded OpenBLAS, via its C API (Linux)."""
    out = []
    try:
        with open("/proc/self/maps") as f:
            paths = sorted({ln.split()[-1] for ln in f if "openblas" in ln.lower()})
    except OSError:
        return out
    for path in paths:
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for prefix in ("scipy_openblas_", "openblas_"):
            for suffix in ("64_", ""):
                core = getattr(lib, f"{prefix}get_corename{suffix}", None)
                threads = getattr(lib, f"{prefix}get_num_threads{suffix}", None)
                if core is None or threads is None:
                    continue
                core.restype, threads.restype = ctypes.c_char_p, ctypes.c_int
                out.append(
                    {
                        "library": os.path.basename(path),
                        "internal_api": "openblas",
                        "architecture": core().decode(),
                        "num_threads": threads(),
                    }
                )
                break
            if out and out[-1]["library"] == os.path.basename(path):
                break
    return out


# --- the workloads ---------------------------------------------------------------------
def build_model(organisms: int, days: int, seed: int = SEED, **kw) -> DevelopmentModel:
    """One normal-reared group of ``organisms`` with the default brain and experience."""
    return DevelopmentModel(
        groups=[{"name": "control", "organisms": organisms}],
        days=days,
        neurons=kw.get("neurons", NEURONS),
        presentations_per_day=kw.get("presentations_per_day", PRESENTATIONS_PER_DAY),
        batch_size=kw.get("batch_size", BATCH_SIZE),
        rng=np.random.default_rng(seed),
    )


def time_days(model: DevelopmentModel, days: int) -> list[float]:
    """Step ``days`` days (kernel, pruning, daily measurement); seconds per day."""
    out = []
    for _ in range(days):
        t = time.perf_counter()
        model.step()
        out.append(time.perf_counter() - t)
    return out


def floor_seconds(
    organisms: int,
    neurons: int,
    inputs: int,
    batch: int,
    updates_per_day: int,
    days: int,
    dtype=np.float32,
    seed: int = 0,
) -> tuple[float, float]:
    """The bare kernel: ``days * updates_per_day`` times ``y = x @ W.T``, ``y -= c *
    mean(max(y, 0))`` over the neurons (the PV population: pooled drive, fed back),
    ``dW = y.T @ x; W += dW`` on stacked arrays of the cohort's shapes (no masks, no
    bookkeeping); returns (wall, CPU) seconds.

    Inputs are small (std 0.01) and ``W`` is reset once a day (included) so the numbers
    stay in a normal floating-point range."""
    rng = np.random.default_rng(seed)
    dtype = np.dtype(dtype)
    xs = [(rng.standard_normal((organisms, batch, inputs)) * 0.01).astype(dtype) for _ in range(4)]
    w0 = (rng.random((organisms, neurons, inputs)) * 0.6).astype(dtype)
    w = w0.copy()
    y = np.empty((organisms, batch, neurons), dtype=dtype)
    pos = np.empty_like(y)
    pv = np.empty((organisms, batch, 1), dtype=dtype)
    c = np.full((organisms, 1, 1), 0.5, dtype=dtype)
    dw = np.empty_like(w)
    t, cpu = time.perf_counter(), time.process_time()
    for _ in range(days):
        np.copyto(w, w0)
        for u in range(updates_per_day):
            x = xs[u % len(xs)]
            np.matmul(x, w.transpose(0, 2, 1), out=y)
            np.maximum(y, 0, out=pos)
            np.mean(pos, axis=2, keepdims=True, out=pv)
            y -= c * pv
            np.matmul(y.transpose(0, 2, 1), x, out=dw)
            np.add(w, dw, out=w)
    elapsed, cpu = time.perf_counter() - t, time.process_time() - cpu
    if not np.isfinite(w).all():  # pragma: no cover - guards the floor's own arithmetic
        raise RuntimeError("floor kernel overflowed")
    return elapsed, cpu


def naive_seconds_per_organism_day(
    organisms: int, days: int, seed: int = SEED, batch_size: int = 1
) -> float:
    """Organisms stepped one at a time: a 1-organism Cohort each, its own develop_day and
    the daily measurement (responses, synapse count), ``batch_size`` presentations per
    weight update (1: presentation by presentation); seconds per organism-day."""
    model = build_model(organisms, days, seed, batch_size=batch_size)
    cohorts = [
        Cohort(
            model.rng,
            {name: values[row : row + 1] for name, values in model.genes.items()},
            np.zeros(1, dtype=int),
            model.world,
            neurons=model.cohort.neurons,
            presentations_per_day=model.cohort.updates_per_day * model.cohort.batch_size,
            batch_size=model.cohort.batch_size,
        )
        for row in range(organisms)
    ]
    t = time.perf_counter()
    for day in range(days):
        for row, cohort in enumerate(cohorts):
            cohort.develop_day(model.rng, day, *model.day_inputs(day, slice(row, row + 1)))
            eye_responses(cohort.weights, model.world.test_patterns)
            cohort.synapse_counts()
    return (time.perf_counter() - t) / (organisms * days)


PHASES = (*PhaseTimer.PHASES, "measure")


def phase_breakdown(organisms: int, days: int, seed: int = SEED) -> dict[str, float]:
    """Milliseconds per simulated day spent in each phase of a day (a separate short run,
    after one warm-up day): the phases of ``Cohort.develop_day`` timed by its
    :class:`~devsim.cohort.PhaseTimer` hook; ``measure`` the rest of a model step (the daily
    measurement of every group and its recording); ``other`` the rest of ``develop_day``
    (the gates, homeostatic scaling, the circuit's daily step, the finiteness check)."""
    model = build_model(organisms, days + 1, seed)
    model.step()
    timer = PhaseTimer()
    model.cohort.timer = timer
    try:
        total = sum(time_days(model, days))
    finally:
        model.cohort.timer = None
    spent = timer.seconds
    out = {phase: spent[phase] / days * 1e3 for phase in PhaseTimer.PHASES}
    out["measure"] = (total - spent["day"]) / days * 1e3
    out["other"] = (spent["day"] - sum(spent[p] for p in PhaseTimer.PHASES)) / days * 1e3
    return out


def linear_fit(xs: list[float], ys: list[float]) -> dict:
    """Least-squares ``y = intercept + slope * x`` and its R^2."""
    x, y = np.asarray(xs, float), np.asarray(ys, float)
    slope, intercept = np.polyfit(x, y, 1)
    residual = y - (intercept + slope * x)
    total = ((y - y.mean()) ** 2).sum()
    r2 = 1.0 - (residual**2).sum() / total if total > 0 else float("nan")
    return {"slope": float(slope), "intercept": float(intercept), "r2": float(r2)}


def _synapse_bytes(model: DevelopmentModel) -> tuple[float, dict[str, int]]:
    detail = model.cohort.nbytes_per_synapse()
    return float(sum(detail.values())), detail


def warm_up() -> float:
    """Load (or, on a machine's first run, compile) the numba loops of :mod:`devsim.fused`
    before anything is timed: a start-up cost like an import. Returns its seconds."""
    t = time.perf_counter()
    time_days(build_model(2, 2), 2)
    return time.perf_counter() - t


def timed_workload(organisms: int, days: int) -> tuple:
    """Build a model of ``organisms`` and step it ``days`` days: (model, build seconds,
    seconds of each day, CPU seconds of the days, peak RSS MiB since the build began)."""
    reset_peak_rss()
    t = time.perf_counter()
    model = build_model(organisms, days)
    build_s = time.perf_counter() - t
    cpu = time.process_time()
    day_s = time_days(model, days)
    cpu = time.process_time() - cpu
    return model, build_s, day_s, cpu, peak_rss_mb()


def run_standard(plan: Plan) -> dict:
    warm_up_s = warm_up()
    model, build_s, day_s, cpu, peak = timed_workload(plan.organisms, plan.days)
    cohort = model.cohort
    wall = float(sum(day_s))
    bytes_per_synapse, detail = _synapse_bytes(model)
    slots = cohort.neurons * 2 * cohort.channels
    updates = plan.days * cohort.updates_per_day
    floor, floor_cpu = floor_seconds(
        plan.organisms,
        cohort.neurons,
        2 * cohort.channels,
        cohort.batch_size,
        cohort.updates_per_day,
        plan.days,
        cohort.weights.dtype,
    )
    naive_per = naive_seconds_per_organism_day(plan.naive_organisms, plan.naive_days)
    naive = naive_per * plan.organisms * plan.days
    looped_per = naive_seconds_per_organism_day(
        plan.naive_organisms, plan.naive_days, batch_size=cohort.batch_size
    )
    breakdown = phase_breakdown(plan.organisms, min(plan.days, 10))
    floor_update_ms = floor / updates * 1e3
    return {
        "organisms": plan.organisms,
        "days": plan.days,
        "neurons": cohort.neurons,
        "inputs": 2 * cohort.channels,
        "synapses_per_organism": slots,
        "presentations_per_day": cohort.updates_per_day * cohort.batch_size,
        "batch_size": cohort.batch_size,
        "dtype": str(cohort.weights.dtype),
        "warm_up_s": warm_up_s,
        "build_s": build_s,
        "wall_s": wall,
        "cpu_s": cpu,
        "organism_days_per_s": plan.organisms * plan.days / wall,
        "synapse_updates_per_s": plan.organisms * slots * updates / wall,
        "floor_s": floor,
        "ratio_to_floor": wall / floor,
        "floor_cpu_s": floor_cpu,
        "ratio_to_floor_cpu": cpu / floor_cpu,
        "floor_ms_per_update": floor_update_ms,
        "phases_ms_per_day": breakdown,
        "kernel_ratio_to_floor": breakdown["plasticity kernel"]
        / (cohort.updates_per_day * floor_update_ms),
        "naive_organisms": plan.naive_organisms,
        "naive_days": plan.naive_days,
        "naive_s_per_organism_day": naive_per,
        "naive_s": naive,
        "speedup_over_naive": naive / wall,
        "looped_s_per_organism_day": looped_per,
        "speedup_over_looped": looped_per * plan.organisms * plan.days / wall,
        "peak_rss_mb": peak,
        "bytes_per_synapse": bytes_per_synapse,
        "bytes_per_synapse_detail": detail,
    }


def run_large(plan: Plan) -> dict:
    # Growth points first (smaller models: their memory is freed before the large one).
    growth_n, growth_s = [], []
    for n in plan.growth:
        model = build_model(n, 2)
        time_days(model, 1)  # warm-up: first touch of buffers, scaled banks
        growth_n.append(n)
        growth_s.append(time_days(model, 1)[0])
        del model
    model, build_s, day_s, cpu, peak = timed_workload(plan.large_organisms, plan.large_days)
    cohort = model.cohort
    bytes_per_synapse, _ = _synapse_bytes(model)
    wall = float(sum(day_s))
    growth_n.append(plan.large_organisms)
    growth_s.append(float(np.mean(day_s[1:])) if len(day_s) > 1 else day_s[0])
    del model
    floor_day, floor_day_cpu = floor_seconds(
        plan.large_organisms,
        cohort.neurons,
        2 * cohort.channels,
        cohort.batch_size,
        cohort.updates_per_day,
        1,
        cohort.weights.dtype,
    )
    fit = linear_fit(growth_n, growth_s)
    slots = cohort.neurons * 2 * cohort.channels
    return {
        "organisms": plan.large_organisms,
        "days": plan.large_days,
        "build_s": build_s,
        "wall_s": wall,
        "day_s": day_s,
        "organism_days_per_s": plan.large_organisms * plan.large_days / wall,
        "synapse_updates_per_s": plan.large_organisms
        * slots
        * plan.large_days
        * cohort.updates_per_day
        / wall,
        "cpu_s": cpu,
        "floor_s": floor_day * plan.large_days,
        "ratio_to_floor": wall / (floor_day * plan.large_days),
        "ratio_to_floor_cpu": cpu / (floor_day_cpu * plan.large_days),
        "peak_rss_mb": peak,
        "bytes_per_synapse": bytes_per_synapse,
        "growth": {
            "organisms": growth_n,
            "day_s": growth_s,
            "s_per_organism_day": fit["slope"],
            "intercept_s": fit["intercept"],
            "r2": fit["r2"],
        },
    }


# --- science checks: results must not hinge on the mini-batch or the float width ---------
MD_GROUPS = (
    {"name": "control", "organisms": 16},
    {
        "name": "md",
        "organisms": 16,
        "rearing": [{"from": 24, "to": 28, "condition": "lid_suture", "eye": "left"}],
    },
)


def md_shift(seed: int, batch_size: int = BATCH_SIZE, dtype=np.float32, organisms=16) -> dict:
    """Monocular deprivation P24-P28 vs littermate controls (scenarios/md_critical.toml):
    the shift of CBI and mean ODI at P28 (control minus deprived)."""
    groups = [dict(g, organisms=organisms) for g in MD_GROUPS]
    model = DevelopmentModel(
        groups=groups, days=28, batch_size=batch_size, rng=np.random.default_rng(seed)
    )
    if np.dtype(dtype) != model.cohort.weights.dtype:
        model.cohort.set_dtype(dtype)
    while model.running:
        model.step()
    m = model.group_metrics
    return {
        "cbi_shift": m["control"]["cbi"] - m["md"]["cbi"],
        "odi_shift": m["control"]["mean_odi"] - m["md"]["mean_odi"],
        "control_cbi": m["control"]["cbi"],
    }


def compare_variants(reference: list[dict], other: list[dict], paired: bool) -> dict:
    """Per metric: means, seed-to-seed SD and whether the difference is within the spread.

    Unpaired (different random streams): |difference of means| <= 3 standard errors of
    that difference. Paired (same seeds, same streams): |mean paired difference| <= 3
    standard errors of the paired differences, or below a tenth of the seed SD."""
    out = {}
    for key in reference[0]:
        a = np.array([r[key] for r in reference])
        b = np.array([r[key] for r in other])
        sd = float(np.sqrt((a.var(ddof=1) + b.var(ddof=1)) / 2))
        diff = float(b.mean() - a.mean())
        if paired:
            d = b - a
            se = float(d.std(ddof=1) / math.sqrt(len(d)))
            ok = abs(diff) <= 3 * se or abs(diff) <= 0.1 * sd
        else:
            se = float(math.sqrt(a.var(ddof=1) / len(a) + b.var(ddof=1) / len(b)))
            ok = abs(diff) <= 3 * se
        out[key] = {
            "reference_mean": float(a.mean()),
            "other_mean": float(b.mean()),
            "difference": diff,
            "seed_sd": sd,
            "se_difference": se,
            "within_spread": bool(ok),
        }
    return out


def run_checks(seeds: int, organisms: int = 16) -> dict:
    base = [md_shift(s, organisms=organisms) for s in range(seeds)]
    batch1 = [md_shift(s, batch_size=1, organisms=organisms) for s in range(seeds)]
    batch32 = [md_shift(s, batch_size=32, organisms=organisms) for s in range(seeds)]
    f64 = [md_shift(s, dtype=np.float64, organisms=organisms) for s in range(seeds)]
    return {
        "seeds": seeds,
        "organisms_per_group": organisms,
        "batch16_vs_1": compare_variants(base, batch1, paired=False),
        "batch16_vs_32": compare_variants(base, batch32, paired=False),
        "float32_vs_float64": compare_variants(base, f64, paired=True),
        "runs": {
            "batch16_float32": base,
            "batch1_float32": batch1,
            "batch32_float32": batch32,
            "batch16_float64": f64,
        },
    }


# --- the sheet workload ------------------------------------------------------------------
def sheet_settings():
    """The shipped ``sheet_cat`` scenario, whose genome and presentations a day (a sheet
    presentation is a whole retina) the sheet workload uses."""
    return load_scenario(scenario_path("sheet_cat"))


def build_sheet(organisms: int, days: int, size: int = SHEET_SIZE, seed: int = SEED):
    """Cat sheets, normal rearing, the shipped sheet settings (:func:`sheet_settings`)."""
    shipped = sheet_settings()
    genome = dict(shipped.groups[0].genome)
    return DevelopmentModel(
        groups=[{"name": "control", "organisms": organisms, "genome": genome}],
        species="cat",
        days=days,
        cortex="sheet",
        sheet_size=size,
        presentations_per_day=shipped.presentations_per_day,
        batch_size=BATCH_SIZE,
        rng=np.random.default_rng(seed),
    )


def sheet_floor_seconds(
    organisms: int, size: int, patch: int, batch: int, updates_per_day: int, days: int
) -> tuple[float, float]:
    """The bare sheet kernel: per mini-batch, every unit's afferent product with its own
    window (``u = P @ w`` per unit, P prepared once: no retina gathering), the lateral
    interaction by FFT on the torus (scipy's, as the sheet's), and the Hebbian update
    ``dw = y @ P; w += dw``, float32, in blocks of :data:`devsim.sheet.MEASURE_BLOCK`
    organisms; (wall, CPU) seconds."""
    rng = np.random.default_rng(0)
    units, slots = size * size, 2 * patch * patch
    block = min(organisms, MEASURE_BLOCK)
    windows = (rng.standard_normal((block, units, batch, slots)) * 0.01).astype(np.float32)
    w0 = (rng.random((organisms, units, slots, 1)) * 0.6).astype(np.float32)
    w = w0.copy()
    transfer = lateral_transfer(
        {k: np.full(block, 1.0) for k in ("lat_exc", "r_exc", "lat_inh")}
        | {"r_inh": np.full(block, 2.0)},
        size,
    )
    t, cpu = time.perf_counter(), time.process_time()
    for _ in range(days):
        np.copyto(w, w0)
        for _ in range(updates_per_day):
            for a in range(0, organisms, block):
                b = min(a + block, organisms)
                p = windows[: b - a]
                u = np.matmul(p, w[a:b])[..., 0]  # (o, units, batch)
                grid = u.transpose(0, 2, 1).reshape(b - a, batch, size, size)
                y = scipy.fft.irfft2(
                    scipy.fft.rfft2(grid) * transfer[: b - a, None], s=(size, size)
                )
                y = y.reshape(b - a, batch, units).transpose(0, 2, 1)[:, :, None, :]
                w[a:b] += np.matmul(y, p).transpose(0, 1, 3, 2)
    elapsed, cpu = time.perf_counter() - t, time.process_time() - cpu
    if not np.isfinite(w).all():  # pragma: no cover - guards the floor's own arithmetic
        raise RuntimeError("sheet floor kernel overflowed")
    return elapsed, cpu


def _organism_bytes(model: DevelopmentModel) -> int:
    """Bytes of the cohort's per-organism state arrays, per organism."""
    c = model.cohort
    arrays = (c.weights, c.mask, c.slot_prob, c.weak_days, c.theta, c.sensed, c.set_point)
    return int(sum(a.nbytes for a in arrays) // c.organisms)


def run_sheet(plan: Plan) -> dict:
    """The sheet workload: organisms-days/s for each litter size in ``plan``, the bare
    floor of the same shapes, growth with the sheet's side, memory per organism."""
    time_days(build_sheet(1, 2, size=plan.sheet_sizes[0]), 2)  # load the compiled loops
    runs = []
    for organisms in plan.sheet_organisms:
        reset_peak_rss()
        model = build_sheet(organisms, plan.sheet_days)
        cpu = time.process_time()
        day_s = time_days(model, plan.sheet_days)
        cpu = time.process_time() - cpu
        wall = float(sum(day_s))
        c = model.cohort
        floor, floor_cpu = sheet_floor_seconds(
            organisms, c.size, c.patch, c.batch_size, c.updates_per_day, plan.sheet_days
        )
        runs.append(
            {
                "organisms": organisms,
                "wall_s": wall,
                "organism_days_per_s": organisms * plan.sheet_days / wall,
                "floor_s": floor,
                "ratio_to_floor": wall / floor,
                "ratio_to_floor_cpu": cpu / floor_cpu,
                "bytes_per_organism": _organism_bytes(model),
                "peak_rss_mb": peak_rss_mb(),
            }
        )
        del model
    sizes = []
    for size in plan.sheet_sizes:
        model = build_sheet(1, plan.sheet_size_days + 1, size=size)
        time_days(model, 1)
        seconds = float(np.mean(time_days(model, plan.sheet_size_days)))
        sizes.append({"size": size, "s_per_organism_day": seconds})
    per = [r["wall_s"] / (r["organisms"] * plan.sheet_days) for r in runs]
    presentations = sheet_settings().presentations_per_day
    return {
        "days": plan.sheet_days,
        "size": SHEET_SIZE,
        "presentations_per_day": presentations,
        "runs": runs,
        "per_organism_day_s": per,
        "sizes": sizes,
        # What `--max-organism-days` and the time estimates count for one of these
        # organism-days, in seconds at the budget's standard rate (compare with ``per``).
        "budget_s_per_organism_day": development_cost(
            1, SHEET_SIZE**2, 1, presentations, **cortex_terms("sheet")
        ).organism_days
        / STANDARD_RATE,
    }


# --- the report --------------------------------------------------------------------------
def run_bench(quick: bool = False, checks: bool = False, seeds: int = BENCH_SEEDS) -> dict:
    plan = QUICK if quick else FULL
    result: dict = {"quick": quick, "load_average_start": load_average()}
    t = time.perf_counter()
    result.update(run_standard(plan))
    result["large"] = run_large(plan)
    result["sheet"] = run_sheet(plan)
    if checks:
        result["checks"] = run_checks(seeds)
    result["bench_s"] = time.perf_counter() - t
    result["machine"] = {
        "cpus": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        **blas_info(),
    }
    result["load_average_end"] = load_average()
    return result


def format_report(r: dict) -> str:
    """The human-readable report of :func:`run_bench`'s result."""
    large, g = r["large"], r["large"]["growth"]
    m = r["machine"]
    lines = [
        f"devsim bench{' --quick' if r['quick'] else ''}  "
        f"(load average {r['load_average_start']} at start, {r['load_average_end']} at end, "
        f"{m['cpus']} CPUs)",
        "",
        f"standard workload: {r['organisms']} organisms x {r['days']} days in one model, "
        f"{r['neurons']} neurons x {r['inputs']} inputs = {r['synapses_per_organism']} "
        f"synapse slots each, {r['presentations_per_day']} presentations/day in batches of "
        f"{r['batch_size']}, {r['dtype']}",
        f"  wall time           {r['wall_s']:9.3f} s   (CPU {r['cpu_s']:.3f} s; model build "
        f"{r['build_s']:.2f} s and loading the compiled loops {r['warm_up_s']:.2f} s, "
        "not included)",
        f"  organism-days/s     {r['organism_days_per_s']:9.1f}",
        f"  synapse updates/s   {r['synapse_updates_per_s']:9.3g}   "
        "(slots x mini-batch updates: organisms x neurons x inputs x days x "
        "presentations/batch)",
        f"  floor (bare numpy)  {r['floor_s']:9.3f} s   devsim / floor = "
        f"{r['ratio_to_floor']:.2f}x   (target <= 2x; by CPU time "
        f"{r['ratio_to_floor_cpu']:.2f}x)",
        "  where a day goes (ms, separate 10-day run): "
        + ", ".join(f"{k} {v:.2f}" for k, v in r["phases_ms_per_day"].items()),
        f"  the plasticity kernel alone (no stimuli, draws, pruning, measures) / floor = "
        f"{r['kernel_ratio_to_floor']:.2f}x",
        f"  naive (1 organism at a time, 1 presentation per update, "
        f"{r['naive_organisms']} organisms x {r['naive_days']} days timed): "
        f"{r['naive_s_per_organism_day'] * 1e3:.2f} ms per organism-day -> "
        f"{r['naive_s']:.1f} s for the workload; devsim is "
        f"{r['speedup_over_naive']:.1f}x faster   (target >= 20x)",
        f"    of which mini-batching: 1 organism at a time with batches of "
        f"{r['batch_size']} takes {r['looped_s_per_organism_day'] * 1e3:.2f} ms per "
        f"organism-day; vectorising across organisms gives "
        f"{r['speedup_over_looped']:.1f}x over that",
        f"  peak RSS            {r['peak_rss_mb']:9.1f} MiB (whole process)",
        f"  bytes per synapse   {r['bytes_per_synapse']:9.1f}   "
        + ", ".join(f"{k} {v}" for k, v in r["bytes_per_synapse_detail"].items()),
        "",
        f"large workload: {large['organisms']} organisms x {large['days']} days in one model",
        f"  wall time           {large['wall_s']:9.3f} s   (CPU {large['cpu_s']:.2f} s)   per day "
        + ", ".join(f"{d:.2f}" for d in large["day_s"])
        + f" s   (model build {large['build_s']:.1f} s)",
        f"  organism-days/s     {large['organism_days_per_s']:9.1f}   synapse updates/s "
        f"{large['synapse_updates_per_s']:.3g}",
        f"  floor (bare numpy)  {large['floor_s']:9.3f} s   devsim / floor = "
        f"{large['ratio_to_floor']:.2f}x   (by CPU time {large['ratio_to_floor_cpu']:.2f}x; "
        "1 day timed, scaled)",
        f"  peak RSS            {large['peak_rss_mb']:9.1f} MiB (whole process; 24 GiB "
        f"target for 10,000 organisms)   bytes per synapse {large['bytes_per_synapse']:.1f}",
        "  time of one day vs organisms: "
        + ", ".join(f"{n}: {s:.3f} s" for n, s in zip(g["organisms"], g["day_s"], strict=True)),
        f"  linear fit: {g['s_per_organism_day'] * 1e3:.4f} ms per organism-day "
        f"+ {g['intercept_s']:.3f} s, R^2 = {g['r2']:.4f}",
    ]
    sheet = r["sheet"]
    lines += [
        "",
        f"sheet workload: cat, {sheet['size']}x{sheet['size']} sheet, {sheet['days']} days, "
        f"{sheet['presentations_per_day']} presentations/day, maps measured daily",
    ]
    for run in sheet["runs"]:
        lines.append(
            f"  {run['organisms']:3d} organisms: {run['organism_days_per_s']:8.1f} "
            f"organism-days/s   floor {run['floor_s']:.2f} s, devsim / floor = "
            f"{run['ratio_to_floor']:.2f}x (CPU {run['ratio_to_floor_cpu']:.2f}x; target "
            f"<= 2.5x)   {run['bytes_per_organism'] / 2**20:.2f} MiB state per organism, "
            f"peak RSS {run['peak_rss_mb']:.0f} MiB"
        )
    lines.append(
        "  seconds per organism-day by litter: "
        + ", ".join(
            f"{run['organisms']}: {s * 1e3:.1f} ms"
            for run, s in zip(sheet["runs"], sheet["per_organism_day_s"], strict=True)
        )
        + "   by sheet side (1 organism): "
        + ", ".join(f"{z['size']}: {z['s_per_organism_day'] * 1e3:.1f} ms" for z in sheet["sizes"])
    )
    lines.append(
        f"  the budget (--max-organism-days, time estimates) counts "
        f"{sheet['budget_s_per_organism_day'] * 1e3:.1f} ms per organism-day of this sheet"
    )
    if "checks" in r:
        c = r["checks"]
        lines += [
            "",
            f"science checks: MD P24-P28 vs controls at P28, {c['organisms_per_group']} "
            f"organisms per group, seeds 0..{c['seeds'] - 1}",
        ]
        for name, label in (
            ("batch16_vs_1", "batch 16 vs 1 (one presentation per update)"),
            ("batch16_vs_32", "batch 16 vs 32 (same 640 presentations/day)"),
            ("float32_vs_float64", "float32 vs float64 (same seeds)"),
        ):
            lines.append(f"  {label}:")
            for key, v in c[name].items():
                lines.append(
                    f"    {key:12s} {v['reference_mean']:+.4f} vs {v['other_mean']:+.4f}  "
                    f"diff {v['difference']:+.4f}  seed SD {v['seed_sd']:.4f}  "
                    f"SE(diff) {v['se_difference']:.4f}  "
                    f"{'within spread' if v['within_spread'] else 'OUTSIDE spread'}"
                )
    blas = m.get("blas", {})
    lines += [
        "",
        f"numpy {m['numpy']}, BLAS: "
        + (
            ", ".join(f"{k}: {v}" for k, v in blas.items()) if isinstance(blas, dict) else str(blas)
        ),
        f"  SIMD: {m.get('simd')}",
        "  runtime: "
        + (
            "; ".join(
                ", ".join(
                    f"{k}={v}"
                    for k, v in pool.items()
                    if k in ("library", "architecture", "num_threads", "version")
                )
                for pool in m.get("threadpools") or []
            )
            or "unknown"
        ),
        f"  bench took {r['bench_s']:.1f} s",
    ]
    return "\n".join(lines)

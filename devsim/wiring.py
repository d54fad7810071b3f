"""Synaptic wiring: exuberant initial projections, pruning, sprouting, graph export.

Pure numerics plus networkx. Synapses exist where ``mask`` is True; ``weights`` hold
their strengths. Input channels ``0..c-1`` are the left (contralateral) eye, ``c..2c-1``
the right (ipsilateral) eye.
"""

from __future__ import annotations

import networkx as nx
import numpy as np

from devsim import fused

INITIAL_WEIGHT = 0.3  # mean strength of a new synapse (a.u.)
PRUNE_DAYS = 3  # a synapse must stay weak this many days in a row before it can go
WEAK_DAYS_MAX = 127  # the int8 count of weak days in a row stops here


def eye_share(rng: np.random.Generator, contra_bias: np.ndarray, neurons: int) -> np.ndarray:
    """Per-neuron contralateral share of afferents, (o, n), scattered around ``contra_bias``."""
    a = 3.75  # Beta concentration: a neuron's share varies, its mean is the gene
    mean = np.clip(contra_bias, 0.02, 0.98)[:, None]
    return rng.beta(a * mean, a * (1.0 - mean), size=(contra_bias.shape[0], neurons))


def slot_probability(share: np.ndarray, density: np.ndarray, channels: int) -> np.ndarray:
    """Connection probability of every (neuron, input) slot, (o, n, 2c), from the eye share."""
    d = density[:, None, None]
    left = np.clip(2.0 * d * share[:, :, None], 0.0, 1.0)
    right = np.clip(2.0 * d * (1.0 - share[:, :, None]), 0.0, 1.0)
    return np.concatenate(
        [
            np.broadcast_to(left, (*share.shape, channels)),
            np.broadcast_to(right, (*share.shape, channels)),
        ],
        axis=2,
    )


def initial_wiring(rng, density, contra_bias, neurons, channels):
    """Exuberant random projections from both eyes: (mask, weights, slot_probability)."""
    share = eye_share(rng, contra_bias, neurons)
    prob = slot_probability(share, density, channels).astype(np.float32)
    mask = rng.random(prob.shape, dtype=np.float32) < prob
    weights = (INITIAL_WEIGHT * 2.0 * rng.random(prob.shape, dtype=np.float32)) * mask
    return mask, weights, prob


def sprouting_activity(
    drive: np.ndarray, share: np.ndarray, floor: np.ndarray, full: np.ndarray
) -> np.ndarray:
    """The day's factor on sprouting from activity (activity-dependent synaptogenesis):
    ``share * clip((drive - floor) / (full - floor), 0, 1) + 1 - share``, with ``drive`` the
    day's PV drive in units of ``a_ref`` (as the circuit reads it) and ``share`` the part of
    sprouting that needs activity. Vision reaches ``full``, retinal waves before eye opening
    nearly (0.6-0.9 of it with the shipped genes), the spontaneous activity of darkness
    after it stays below ``floor``."""
    span = np.maximum(full - floor, 1e-6)  # a gene pair with full <= floor: a step at floor
    return share * np.clip((drive - floor) / span, 0.0, 1.0) + 1.0 - share


def prune_and_sprout(
    rng: np.random.Generator,
    weights: np.ndarray,
    mask: np.ndarray,
    weak_days: np.ndarray,
    prob: np.ndarray,
    gate: np.ndarray,
    brake: np.ndarray,
    prune_threshold: np.ndarray,
    sprout_rate: np.ndarray,
    floor_adult: np.ndarray,
    scratch: dict[str, np.ndarray] | None = None,
    litter_index: np.ndarray | None = None,
    activity: np.ndarray | None = None,
) -> None:
    """One day of structural plasticity, in place.

    Pruning: a synapse whose strength stays below ``prune_threshold`` x the mean strength of
    its neuron's synapses for ``PRUNE_DAYS`` days is removed with a probability set by the
    plastic part of the gate (the window removes weak synapses; adult cortex barely does).
    Sprouting: a free slot gains a synapse with probability ``sprout_rate * exp(-brake)``
    scaled by the slot's anatomical likelihood, so synaptogenesis is exuberant early and
    stops as the window's brake accumulates (Huttenlocher 1979: rise, then pruning).

    ``scratch`` (optional) keeps work buffers between calls. Float32 draws and strengths
    are compared with float64 thresholds through :func:`_float32_bound`, which gives the
    same answers as comparing in float64. ``litter_index`` (organisms,): the draws are made
    per litter position and shared by the organisms there, so littermates in different
    groups prune and sprout alike unless their synapses differ (default: one per organism).
    ``activity`` (organisms,), optional: the day's factor on the sprouting rate from
    activity (:func:`sprouting_activity`; default 1).
    """
    scratch = {} if scratch is None else scratch
    shape = weights.shape
    work = _buffer(scratch, "work", shape, np.float32)
    strength = np.abs(weights, out=work) if weights.dtype == np.float32 else np.abs(weights)
    count = np.maximum(_count(mask), 1)
    mean = strength.sum(axis=2, keepdims=True) / count
    weak_below = _float32_bound(prune_threshold[:, None, None] * mean, strength)
    plastic = np.clip(gate - floor_adult, 0.0, 1.0)[:, None, None]
    rate = sprout_rate * np.exp(-brake)
    if activity is not None:
        rate = rate * activity
    rate = rate[:, None, None]
    halves = _eye_halves(prob, scratch)
    if halves is not None and weights.flags.c_contiguous and mask.flags.c_contiguous:
        # Both draws first (the same stream: nothing draws in between), then one pass
        # over the slots decides weakness, pruning and sprouting (devsim.fused).
        prune_draw = _uniform(rng, work, litter_index, scratch)
        sprout_draw = _buffer(scratch, "sprout_draw", shape, np.float32)
        _uniform(rng, sprout_draw, litter_index, scratch)
        fused.prune_and_sprout_slots(
            weights,
            mask,
            weak_days,
            weak_below[..., 0],
            prune_draw,
            _float32_bound(plastic, prune_draw)[:, 0, 0],
            sprout_draw,
            _float32_bound(rate * halves, sprout_draw),
            PRUNE_DAYS,
            WEAK_DAYS_MAX,
            weights.dtype.type(INITIAL_WEIGHT),
        )
        return
    weak = _buffer(scratch, "weak", shape, np.bool_)
    hit = _buffer(scratch, "hit", shape, np.bool_)
    np.less(strength, weak_below, out=weak)
    weak &= mask
    # weak_days += 1 where weak, 0 elsewhere; int8, held at WEAK_DAYS_MAX (it wrapped to
    # -128 after 127 weak days, and the synapse could not be pruned for 130 more)
    np.minimum(weak_days, WEAK_DAYS_MAX - 1, out=weak_days)
    np.add(weak_days, 1, out=weak_days)
    np.multiply(weak_days, weak, out=weak_days)
    draw = _uniform(rng, work, litter_index, scratch)
    pruned = np.less(draw, _float32_bound(plastic, draw), out=weak)
    pruned &= np.greater_equal(weak_days, PRUNE_DAYS, out=hit)
    _set_where(weights, pruned, 0.0)
    np.greater(mask, pruned, out=mask)  # mask & ~pruned
    np.multiply(weak_days, np.logical_not(pruned, out=hit), out=weak_days)
    draw = _uniform(rng, work, litter_index, scratch)
    if halves is None:
        sprouted = np.less(draw, rate * prob, out=hit)
    else:  # one probability per (neuron, eye): compare against (o, n, 2) bounds
        c = shape[2] // 2
        bound = _float32_bound(rate * halves, draw)[..., None]
        np.less(draw.reshape(*shape[:2], 2, c), bound, out=hit.reshape(*shape[:2], 2, c))
        sprouted = hit
    sprouted &= ~(mask | pruned)
    mask |= sprouted
    _set_where(weights, sprouted, INITIAL_WEIGHT)


def _uniform(
    rng: np.random.Generator,
    out: np.ndarray,
    litter_index: np.ndarray | None,
    scratch: dict[str, np.ndarray],
) -> np.ndarray:
    """Uniform float32 draws into ``out`` (organisms, ...): one per organism, or, given
    ``litter_index``, one per litter position copied to the organisms there (the same
    stream when every organism has its own position, as in evolution)."""
    if litter_index is None or (
        len(litter_index) == out.shape[0] and (litter_index == np.arange(out.shape[0])).all()
    ):
        return rng.random(out.shape, dtype=np.float32, out=out)
    litter = int(litter_index.max()) + 1
    per_position = _buffer(scratch, "per_position", (litter, *out.shape[1:]), np.float32)
    rng.random(per_position.shape, dtype=np.float32, out=per_position)
    return np.take(per_position, litter_index, axis=0, out=out)


def _count(mask: np.ndarray) -> np.ndarray:
    """``mask.sum(axis=2, keepdims=True)`` (int64), summed in a narrow integer type."""
    n = mask.shape[2]
    narrow = np.uint8 if n < 2**8 else np.uint16 if n < 2**16 else None
    if narrow is None or mask.dtype != np.bool_:
        return mask.sum(axis=2, keepdims=True)
    return np.add.reduce(mask.view(np.uint8), axis=2, dtype=narrow, keepdims=True).astype(np.int64)


def _eye_halves(prob: np.ndarray, scratch: dict | None = None) -> np.ndarray | None:
    """(o, n, 2) slot probabilities when every neuron has one per eye (as
    :func:`slot_probability` makes them), else None. Slot probabilities are fixed for
    life, so the answer is kept in ``scratch`` (for this very array)."""
    key = (id(prob), prob.shape)
    if scratch is not None and scratch.get("halves_of") == key:
        return scratch["halves"]
    halves = None
    if prob.shape[2] % 2 == 0:
        c = prob.shape[2] // 2
        split = prob.reshape(*prob.shape[:2], 2, c)
        first = split[..., :1]
        if (split == first).all():
            halves = first[..., 0].copy()
    if scratch is not None:
        scratch["halves_of"], scratch["halves"] = key, halves
    return halves


def _buffer(scratch: dict, name: str, shape: tuple, dtype) -> np.ndarray:
    buf = scratch.get(name)
    if buf is None or buf.shape != shape or buf.dtype != dtype:
        buf = scratch[name] = np.empty(shape, dtype=dtype)
    return buf


def _float32_bound(bound: np.ndarray, values: np.ndarray) -> np.ndarray:
    """For float32 ``values`` and a float64 ``bound``: the smallest float32 >= bound, so that
    ``values < bound`` (in float64) equals ``values < result`` (in float32)."""
    if values.dtype != np.float32:
        return bound
    up = bound.astype(np.float32)
    np.nextafter(up, np.float32(np.inf), out=up, where=up < bound)
    return up


def _set_where(array: np.ndarray, where: np.ndarray, value: float) -> None:
    """``array[where] = value``, through the flat positions (few positions are set)."""
    if not where.any():
        return
    if array.flags.c_contiguous:
        array.reshape(-1)[np.flatnonzero(where)] = value
    else:
        array[where] = value


def synapse_graph(weights: np.ndarray, mask: np.ndarray, channels: int) -> nx.DiGraph:
    """One organism's synaptic graph as a ``networkx.DiGraph``.

    Nodes are ``("left", k)`` and ``("right", k)`` input channels and ``("cortex", j)``
    neurons (attribute ``kind``: ``"left"``, ``"right"`` or ``"cortex"``); each existing
    synapse is an edge input -> neuron with attribute ``weight``.

    >>> g = synapse_graph(np.ones((1, 2), np.float32), np.array([[True, False]]), 1)
    >>> sorted(g.edges(data="weight"))
    [(('left', 0), ('cortex', 0), 1.0)]
    """
    neurons, inputs = weights.shape
    graph = nx.DiGraph()
    for k in range(channels):
        graph.add_node(("left", k), kind="left")
        graph.add_node(("right", k), kind="right")
    for j in range(neurons):
        graph.add_node(("cortex", j), kind="cortex")
    js, ks = np.nonzero(mask)
    for j, k in zip(js.tolist(), ks.tolist(), strict=True):
        source = ("left", k) if k < channels else ("right", k - channels)
        graph.add_edge(source, ("cortex", j), weight=float(weights[j, k]))
    return graph

"""Synaptic wiring: exuberant initial projections, pruning, sprouting, graph export.

Pure numerics plus networkx. Synapses exist where ``mask`` is True; ``weights`` hold
their strengths. Input channels ``0..c-1`` are the left (contralateral) eye, ``c..2c-1``
the right (ipsilateral) eye.
"""

from __future__ import annotations

import networkx as nx
import numpy as np

INITIAL_WEIGHT = 0.3  # mean strength of a new synapse (a.u.)
PRUNE_DAYS = 3  # a synapse must stay weak this many days in a row before it can go


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
) -> None:
    """One day of structural plasticity, in place.

    Pruning: a synapse whose strength stays below ``prune_threshold`` x the mean strength of
    its neuron's synapses for ``PRUNE_DAYS`` days is removed with a probability set by the
    plastic part of the gate (the window removes weak synapses; adult cortex barely does).
    Sprouting: a free slot gains a synapse with probability ``sprout_rate * exp(-brake)``
    scaled by the slot's anatomical likelihood, so synaptogenesis is exuberant early and
    stops as the window's brake accumulates (Huttenlocher 1979: rise, then pruning).
    """
    strength = np.abs(weights)
    count = np.maximum(mask.sum(axis=2, keepdims=True), 1)
    mean = strength.sum(axis=2, keepdims=True) / count
    weak = mask & (strength < prune_threshold[:, None, None] * mean)
    np.add(weak_days, 1, out=weak_days, where=weak)
    weak_days[~weak] = 0
    plastic = np.clip(gate - floor_adult, 0.0, 1.0)[:, None, None]
    draw = rng.random(weights.shape, dtype=np.float32)
    pruned = (weak_days >= PRUNE_DAYS) & (draw < plastic)
    mask[pruned] = False
    weights[pruned] = 0.0
    weak_days[pruned] = 0
    sprout_p = (sprout_rate * np.exp(-brake))[:, None, None] * prob
    sprouted = ~mask & ~pruned & (rng.random(weights.shape, dtype=np.float32) < sprout_p)
    mask[sprouted] = True
    weights[sprouted] = INITIAL_WEIGHT


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

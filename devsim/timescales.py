"""Which memory layer carries each feature of a world: the timescale spectrum's analysis.

A world of several features (``[[features]]`` of an evolution scenario,
:class:`devsim.evolution_scenario.Feature`) gives each feature its own region of cortex with
its own copy of the regional genes, so after evolution every feature's region can be read
for the layer that stores it (docs/science.md, Evolution):

* **genome** -- the innate template: strength x match with the world at birth
  (``innate_effective``), and how far its orientation gene's mutation scale shrank
  relative to the neutral marker's (``sigma_ratio``; the marker mutates as the orientation
  gene does, so without selection the ratio drifts about 1);
* **window** -- learning inside the critical window: the learning rate ``eta`` and the
  plasticity spent before the window closes, ``eta x sum of the gate up to the close``;
* **adult** -- learning after it: ``eta x sum of the gate from the close to the end of
  life``, taken as ``eta x adult_gate x (days - window_close)``, with the gate at its
  last day's value from the close on. The gate still falls after the close, so this counts
  too little after it and too much in the window (docs/science.md, the timescale
  spectrum: in a quick run's founders 0.97 against 0.79 in the window).

:func:`layer_measures` reads them from a run's end state (a row of ``comparison.csv``:
means of the last generations, and each gene's ``_sigma_change``), :func:`run_layers` for
every feature at once; :func:`shares` turns
the three loads into the share of each layer per feature (each load divided by its
largest value over the features, then by their sum); :func:`predictions` checks the
spectrum's predictions (issue 19, :func:`claims`) against a summary over seeds, and
:func:`versus_drift` tests each against the drift baseline's seeds.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

LAYERS = ("genome", "window", "adult")
ALPHA = 0.05  # a prediction is beyond drift where its Holm-adjusted p is below this


def feature_timescale(feature, days: int) -> float:
    """How often a feature changes, in generations: never (inf) when constant or a habitat
    gradient, ``orientation_every`` when redrawn every G generations, 1 when drawn anew for
    each individual, and the share of a life before its change when it changes within a
    life (the fastest)."""
    if feature.orientation == "individual":
        timescale = 1.0
    elif feature.orientation == "generations":
        timescale = float(feature.orientation_every)
    else:
        timescale = math.inf
    chance = feature.world_change
    if not isinstance(chance, float) or chance > 0:  # a gradient, or a change in a life
        timescale = min(timescale, float(np.mean(feature.world_change_days)) / days)
    return timescale


def timescale_label(timescale: float) -> str:
    """``fixed``, ``every G gen.``, ``each individual`` or ``within a life``."""
    if math.isinf(timescale):
        return "fixed"
    if timescale < 1:
        return "within a life"
    if timescale == 1:
        return "each individual"
    return f"every {timescale:g} gen."


def layer_measures(end: Mapping[str, float], feature: str, days: int) -> dict[str, float]:
    """One feature's layer measures from a run's end state (see the module docstring)."""

    def value(key: str) -> float:
        return float(end.get(key, math.nan))

    eta = value(f"eta@{feature}_mean")
    close = value(f"window_close@{feature}_mean")
    adult_gate = value(f"adult_gate@{feature}_mean")
    plasticity = value(f"plasticity@{feature}_mean")
    adult = eta * adult_gate * max(days - close, 0.0) if np.isfinite(close) else 0.0
    marker = value("marker_sigma_change")
    return {
        "innate_strength": value(f"innate@{feature}_mean"),
        "template_match": value(f"template_match@{feature}_mean"),
        "innate_effective": value(f"innate_effective@{feature}_mean"),
        "sigma_ratio": value(f"innate_orientation@{feature}_sigma_change") / marker,
        "eta": eta,
        "window_close": close,
        "adult_gate": adult_gate,
        "floor_adult": value(f"floor_adult@{feature}_mean"),
        "window_learning": max(plasticity - adult, 0.0),
        "adult_learning": adult,
    }


def run_layers(end: Mapping[str, float], features: Iterable[str], days: int) -> dict[str, float]:
    """Every feature's layer measures of one run, keys ``<measure>@<feature>`` (a row of
    ``timescales.csv`` before the summary over seeds)."""
    return {
        f"{measure}@{f}": value
        for f in features
        for measure, value in layer_measures(end, f, days).items()
    }


def shares(loads: Mapping[str, Mapping[str, float]]) -> dict[str, dict[str, float]]:
    """Share of each layer per feature from ``loads[feature][layer]`` (genome: the
    world-specific template, below 0 counted as 0; window, adult: learning): each layer's
    load over its largest value among the features, then normalised over the layers."""
    peak = {
        layer: max((max(v[layer], 0.0) for v in loads.values()), default=0.0) for layer in LAYERS
    }
    out = {}
    for feature, load in loads.items():
        scaled = {
            layer: max(load[layer], 0.0) / peak[layer] if peak[layer] > 0 else 0.0
            for layer in LAYERS
        }
        total = sum(scaled.values())
        out[feature] = {layer: scaled[layer] / total if total > 0 else math.nan for layer in LAYERS}
    return out


def layer_loads(means: Mapping[str, float], features: Iterable[str]) -> dict[str, dict]:
    """``loads[feature][layer]`` from mean layer measures (keys ``<measure>@<feature>``)."""
    return {
        f: {
            "genome": means[f"innate_effective@{f}"],
            "window": means[f"window_learning@{f}"],
            "adult": means[f"adult_learning@{f}"],
        }
        for f in features
    }


def _kind(timescale: float) -> str:
    """A feature's kind by its timescale in generations: fixed (inf), every G generations
    (G > 1), each individual (1), within a life (< 1)."""
    if math.isinf(timescale):
        return "fixed"
    return "individual" if timescale == 1 else "life" if timescale < 1 else "generations"


@dataclass(frozen=True)
class Claim:
    """One prediction of the spectrum: a statistic of a run's layer measures (keys
    ``<measure>@<feature>``: one seed's, or their means over seeds), its target, and the
    side selection should push it to (``larger``), against which drift is tested."""

    text: str
    target: str
    statistic: Callable[[Mapping[str, float]], float]
    holds: Callable[[float], bool]
    larger: bool
    tested: bool = True  # False: drift meets it by construction, no test can tell


def _at(key: str) -> Callable[[Mapping[str, float]], float]:
    return lambda m: float(m.get(key, math.nan))


def _ratio(top: str, bottom: str) -> Callable[[Mapping[str, float]], float]:
    def ratio(m: Mapping[str, float]) -> float:
        a, b = float(m.get(top, math.nan)), float(m.get(bottom, math.nan))
        return a / b if b != 0 else math.nan

    return ratio


def claims(timescales: Mapping[str, float]) -> list[Claim]:
    """The spectrum's predictions (issue 19) for features identified by their timescales:
    fixed (inf), every G generations (G > 1), each individual (1) and within a life (< 1).
    The learning rate is compared with the fixed feature's, the adult gate of a feature
    that changes within a life with the individual feature's (the same feature without the
    change) or, without one, the fixed feature's. The individual feature's learning is
    checked twice: its learning rate ``eta`` and what it learns in the window (``eta``
    times the gate-days before the close: a high rate behind a gate that never opens
    learns little)."""
    by_kind: dict[str, list[str]] = {"fixed": [], "generations": [], "individual": [], "life": []}
    for f, t in timescales.items():
        by_kind[_kind(t)].append(f)
    out: list[Claim] = []

    def at_least(text: str, statistic, bound: float) -> None:
        out.append(Claim(text, f">= {bound:g}", statistic, lambda v: v >= bound, True))

    for f in by_kind["fixed"]:
        at_least(f"{f}: template strength", _at(f"innate_strength@{f}"), 0.5)
        at_least(f"{f}: template match", _at(f"template_match@{f}"), 0.9)
        out.append(
            Claim(
                f"{f}: orientation sigma / marker sigma",
                "<= 0.1",
                _at(f"sigma_ratio@{f}"),
                lambda v: v <= 0.1,
                False,
            )
        )
    for fixed in by_kind["fixed"][:1]:
        for f in by_kind["generations"]:  # a moving optimum keeps more of its sigma
            at_least(f"{f}: orientation sigma / {fixed}'s",
                     _ratio(f"sigma_ratio@{f}", f"sigma_ratio@{fixed}"), 1)  # fmt: skip
        for f in by_kind["individual"]:
            at_least(f"{f}: learning rate / {fixed}'s", _ratio(f"eta@{f}", f"eta@{fixed}"), 2)
            # the rate times the gate: what is learned in the window (the gate opens it)
            learned = _ratio(f"window_learning@{f}", f"window_learning@{fixed}")
            at_least(f"{f}: learning in the window / {fixed}'s", learned, 2)
            # a world drawn for each individual averages any template's match to ~0 with
            # or without selection: a prediction, but no test against drift can tell
            match = _at(f"template_match@{f}")
            out.append(
                Claim(
                    f"{f}: |template match|",
                    "<= 0.2",
                    lambda m, match=match: abs(match(m)),
                    lambda v: v <= 0.2,
                    False,
                    tested=False,
                )
            )
        # the control of a change within a life: the same feature without it (drawn for
        # each individual) if the world has one, else the fixed feature
        control = (by_kind["individual"] or [fixed])[0]
        for f in by_kind["life"]:
            ratio = _ratio(f"adult_gate@{f}", f"adult_gate@{control}")
            at_least(f"{f}: adult gate / {control}'s", ratio, 2)
    return out


def predictions(
    mean: Mapping[str, float], timescales: Mapping[str, float]
) -> list[dict[str, object]]:
    """The spectrum's predictions (:func:`claims`) checked on the mean over seeds of one
    scenario's layer measures: each claim, its value, target and whether it holds. A
    claim whose measures the run lacks (a gene that did not evolve, e.g. no ``marker``)
    is left out."""
    out = []
    for c in claims(timescales):
        value = c.statistic(mean)
        if math.isfinite(value):
            out.append({"claim": c.text, "value": value, "target": c.target,
                        "holds": bool(c.holds(value))})  # fmt: skip
    return out


def versus_drift(
    timescales: Mapping[str, float],
    selected: Sequence[Mapping[str, float]],
    drifted: Sequence[Mapping[str, float]],
) -> dict[str, float]:
    """For each tested claim (by its text), how likely drift alone gives seeds as far on
    the claim's side as selection's: a one-sided Mann-Whitney U test of the per-seed
    statistic, selection's seeds against the drift baseline's, Holm-adjusted over the
    scenario's tested claims. A claim is evidence of selection only where this is below
    :data:`ALPHA` (:func:`smallest_p`: how small it can be at all)."""
    from scipy.stats import mannwhitneyu

    tested = {}
    for c in claims(timescales):
        if not c.tested:
            continue
        a = np.array([c.statistic(m) for m in selected])
        b = np.array([c.statistic(m) for m in drifted])
        a, b = a[np.isfinite(a)], b[np.isfinite(b)]
        if a.size >= 2 and b.size >= 2:
            side = "greater" if c.larger else "less"
            tested[c.text] = float(mannwhitneyu(a, b, alternative=side).pvalue)
    return dict(zip(tested, holm(list(tested.values())), strict=True))


def holm(p: Sequence[float]) -> list[float]:
    """Holm's step-down adjustment of p-values (family-wise error over the claims)."""
    order = np.argsort(p)
    adjusted = np.empty(len(p))
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (len(p) - rank) * p[i]))
        adjusted[i] = running
    return [float(v) for v in adjusted]


def smallest_p(selected: int, drifted: int, timescales: Mapping[str, float]) -> float:
    """The smallest Holm-adjusted p :func:`versus_drift` can give with these numbers of
    seeds: the one-sided rank test's 1 / C(n1 + n2, n1), times the number of tested claims
    (5 seeds an arm, 8 claims: 0.032; 4 seeds: 0.11, so no claim can be beyond drift)."""
    tested = sum(c.tested for c in claims(timescales))
    if not (selected and drifted):
        return math.inf
    return min(1.0, tested / math.comb(selected + drifted, selected))  # Holm caps it at 1

"""Neutral null of the evolved mutation scales: what drift alone does to the σ of
``innate_orientation`` and of the neutral ``marker``, with the model's own operators at a
shipped evolution scenario's settings, and fitness without genetic content.

    .venv/bin/python benchmarks/neutral_sigma.py mutation_scales --runs 200

Each run: the scenario's population on its grid (``per_cell`` organisms a cell, parents
from the model's own Moore ``neighbourhood``, ``breeding_pools``, by ``tournament``-way
tournaments drawn with replacement; two distinct parents and free recombination where the
scenario recombines; the model's own ``choose_parents``), every evolving gene of the
scenario mutating with its own σ (the learning rates of log-normal self-adaptation depend
on how many genes mutate), for ``generations`` generations; fitness is a fresh uniform draw
for every organism, so nothing is selected. It prints, over the runs, the distribution of
the orientation gene's σ change, the marker's, and their ratio, and how often drift alone
gets as low as the ``--observed`` values (docs/science.md, Evolution).
"""

from __future__ import annotations

import argparse

import numpy as np

from devsim.evolution import build_evolution_model, choose_parents, mutate
from devsim.evolution_scenario import load_evolution_scenario
from devsim.shipped import resolve


def neutral_changes(
    name: str, runs: int, old_marker: bool = False
) -> tuple[np.ndarray, tuple[str, ...]]:
    """(runs, genes) σ at the last generation over σ after the founders' mutation; with
    ``old_marker`` the marker as it was until 7 December 2026 (−100 to 100, step 1,
    reflected)."""
    scenario = load_evolution_scenario(resolve(name, "evolution", "evolution"))
    # the model's own gene table (columns, bounds, periods, starting σ) and neighbourhoods
    # (its Mesa grid's); building it does not develop the founders
    model = build_evolution_model(scenario)
    low, high, periodic = model.low, model.high, model.periodic
    sigma0, floor, ceiling = model.sigma0, model.sigma_floor, model.sigma_ceiling
    if old_marker:
        m = model.gene_names.index("marker")
        low, high, periodic = low.copy(), high.copy(), periodic.copy()
        sigma0, floor, ceiling = sigma0.copy(), floor.copy(), ceiling.copy()
        low[m], high[m], periodic[m] = -100.0, 100.0, False
        sigma0[m] = scenario.mutation_scale * 1.0
        floor[m], ceiling[m] = 1e-3 * sigma0[m], 100.0
    per, k = scenario.per_cell, scenario.tournament
    pools = model.breeding_pools([c.coordinate for c in model.cells for _ in range(per)])
    n = len(model.cells) * per
    out = []
    for seed in range(runs):
        rng = np.random.default_rng(seed)
        values = np.tile(np.where(np.isfinite(low), (low + high) / 2, 0.0), (n, 1))
        sigmas = np.tile(sigma0, (n, 1))
        bounds = {"sigma_floor": floor, "sigma_ceiling": ceiling}
        values, sigmas = mutate(values, sigmas, rng, low, high, periodic, **bounds)
        first = sigmas.mean(axis=0)
        for _ in range(scenario.generations):
            fitness = rng.random(n)  # no genetic content: drift
            a, b = choose_parents(rng, fitness, pools, k, per, scenario.recombination)
            take = rng.random(values.shape) < (0.5 if scenario.recombination else 0.0)
            values = np.where(take, values[b], values[a])
            sigmas = np.where(take, sigmas[b], sigmas[a])
            values, sigmas = mutate(values, sigmas, rng, low, high, periodic, **bounds)
        with np.errstate(divide="ignore", invalid="ignore"):
            out.append(sigmas.mean(axis=0) / first)
    return np.array(out), model.gene_names


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("scenario", nargs="?", default="mutation_scales")
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--old-marker", action="store_true", help="the marker before 7 Dec 2026")
    # the largest σ change and σ ratio the orientation gene reached under selection in
    # mutation_scales' three seeds (README, Evolution): how often drift gets as low
    parser.add_argument("--observed", type=float, default=0.054, help="σ change to reach")
    parser.add_argument("--observed-ratio", type=float, default=0.064, help="σ ratio to reach")
    args = parser.parse_args()
    changes, names = neutral_changes(args.scenario, args.runs, args.old_marker)
    marker = changes[:, names.index("marker")]
    old = " (the old marker)" if args.old_marker else ""
    print(f"{args.scenario}{old}: {args.runs} neutral runs, {len(names)} gene columns")
    for j, name in enumerate(names):
        if not name.startswith(("innate_orientation", "marker", "innate_offset")):
            continue
        c = changes[:, j]
        line = (f"  {name:<28} σ change median {np.median(c):.3f}, 5–95 % "
                f"[{np.quantile(c, 0.05):.3f}, {np.quantile(c, 0.95):.2f}]")  # fmt: skip
        if name.startswith("innate_orientation"):
            r = c / marker
            ratio = args.observed_ratio
            line += (f"; ≤ {args.observed} in {np.mean(c <= args.observed):.1%}; / marker: "
                     f"median {np.median(r):.2f}, < 1 in {np.mean(r < 1):.0%}, "
                     f"≤ {ratio} in {np.mean(r <= ratio):.1%}")  # fmt: skip
        print(line)


if __name__ == "__main__":
    main()

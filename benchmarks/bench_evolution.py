"""Evolution benchmark: time per generation of every evolution scenario, and whether cheaper
lifetimes (fewer stimulus presentations a day) would change developmental outcomes.

    .venv/bin/python benchmarks/bench_evolution.py [--generations 2] [--seeds 3] [--skip-timing]

Prints, per scenario, seconds per generation and the extrapolated full run; then, for
160 presentations a day (mini-batches of 4: the same 40 updates a day) and the validated
640 / 16, the mean (sd over seeds) of
* evolution-world outcomes of a default (mouse) cohort: vision quality over life, activity,
  plasticity, and the weaker vs stronger eye's discriminability after a 5-day lid suture
  at P24 (an amblyopia-like deficit);
* the repo's monocular-deprivation result (md_critical: CBI of control and MD at P28).

Finding (see the evolution report): 160 a day is *not* equivalent -- the MD shift falls
from ~0.22 to ~0.09 (it scales with presentations per day, not with the batch size), so
the shipped evolution scenarios use 640 / 16.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from devsim.budget import evolution_cost
from devsim.evolution import EvolutionModel, build_evolution_model
from devsim.evolution_scenario import load_evolution_scenario
from devsim.shipped import scenario_names, scenario_path

SCENARIOS = [scenario_path(name, "evolution") for name in scenario_names("evolution")]
SETTINGS = {"160/4 (evolution)": (160, 4), "640/16 (validated)": (640, 16)}


def time_scenarios(generations: int) -> None:
    """Seconds per generation (one island), the full run, and what the budget estimates
    (devsim.budget.evolution_cost: its constants are calibrated on these numbers)."""
    print(
        f"{'scenario':<32} {'organisms':>9} {'s/generation':>12} {'budget':>7} "
        f"{'measured/budget':>15} {'full run':>10}"
    )
    for path in SCENARIOS:
        scenario = load_evolution_scenario(path)
        islands = scenario.islands.count
        one = scenario.model_copy(
            update={"islands": scenario.islands.model_copy(update={"count": 1})}
        )
        start = time.perf_counter()
        model = build_evolution_model(one)  # the founders live generation 0
        for _ in range(generations):
            model.step()
        per = (time.perf_counter() - start) / (generations + 1)
        budget = evolution_cost(one).hours() * 3600 / (scenario.generations + 1)
        print(
            f"{path.stem:<32} {len(model.agents):>9} {per:>12.2f} {budget:>7.2f} "
            f"{per / budget:>15.2f} {per * (scenario.generations + 1) * islands / 60:>6.1f} min"
        )


def development_outcomes(presentations: int, batch: int, seed: int) -> dict[str, float]:
    """One generation of identical default genomes (no mutation) in individual worlds."""
    common = dict(
        grid=(6, 4),
        per_cell=2,
        mutation=False,
        presentations_per_day=presentations,
        batch_size=batch,
    )
    free = EvolutionModel(**common, environment={"orientation": "individual"}, rng=seed)
    md = EvolutionModel(
        **common,
        environment={
            "orientation": "individual",
            "deprivation": 1.0,
            "deprivation_days": (24, 24),
            "deprivation_length": 5,
        },
        rng=seed,
    )
    traits = [a.traits for a in free.organisms()]
    deprived, opened = [], []
    for a in md.organisms():
        # the eye is drawn at random; d_left / d_right tell which one suffered
        lo, hi = sorted((a.traits["d_left"], a.traits["d_right"]))
        deprived.append(lo)
        opened.append(hi)
    return {
        "quality": float(np.mean([t["quality"] for t in traits])),
        "activity": float(np.mean([t["activity"] for t in traits])),
        "plasticity": float(np.mean([t["plasticity"] for t in traits])),
        "weaker eye after MD": float(np.mean(deprived)),
        "stronger eye after MD": float(np.mean(opened)),
    }


def od_outcomes(presentations: int, batch: int, seed: int) -> dict[str, float]:
    from devsim.experiment import run_scenario
    from devsim.scenario import load_scenario

    scenario = load_scenario(scenario_path("md_critical")).with_changes(
        seed=seed, presentations_per_day=presentations, batch_size=batch
    )
    summary, _ = run_scenario(scenario)
    groups = summary["groups"]
    return {
        "CBI control": groups["control"]["final"]["cbi"],
        "CBI MD P24-28": groups["md_p24"]["final"]["cbi"],
    }


def compare_settings(seeds: int) -> None:
    rows: dict[str, dict[str, list[float]]] = {}
    for label, (presentations, batch) in SETTINGS.items():
        start = time.perf_counter()
        for seed in range(seeds):
            out = development_outcomes(presentations, batch, seed)
            out.update(od_outcomes(presentations, batch, seed))
            for k, v in out.items():
                rows.setdefault(k, {}).setdefault(label, []).append(v)
        print(f"  {label}: {time.perf_counter() - start:.0f} s for {seeds} seeds")
    labels = list(SETTINGS)
    print(f"{'outcome (mean (sd) over seeds)':<28} " + " ".join(f"{x:>20}" for x in labels))
    for key, by in rows.items():
        cells = [f"{np.mean(by[x]):.3f} ({np.std(by[x], ddof=1):.3f})" for x in labels]
        print(f"{key:<28} " + " ".join(f"{c:>20}" for c in cells))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--generations", type=int, default=2)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--skip-timing", action="store_true")
    args = parser.parse_args()
    if not args.skip_timing:
        time_scenarios(args.generations)
    compare_settings(args.seeds)


if __name__ == "__main__":
    main()

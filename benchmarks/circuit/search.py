"""Random search of the circuit genes against the quick validation table.

    python benchmarks/circuit/search.py N OUT.jsonl

Each candidate runs ``devsim validate --quick`` rows 1-19 with the mouse defaults replaced
(in a fresh process); the score counts failing measures, old rows (1-13) x 10.
"""

import dataclasses
import json
import multiprocessing
import sys

import numpy as np

SPACE = {
    "s_brake": (4.0, 8.0),
    "r_close": (0.08, 0.25),
    "r_lynx": (0.08, 0.25),
    "pnn_loss": (0.1, 0.8),
    "ltp_brake": (0.5, 1.0),
    "r_scale": (0.0, 0.3),
    "w_pv": (0.0, 0.3),
    "a_vis": (0.6, 0.95),
    "r_mat": (0.045, 0.07),
}


def evaluate(genes):
    from devsim import genome

    genome.GENES = tuple(
        dataclasses.replace(g, default=genes.get(g.name, g.default)) for g in genome.GENES
    )
    from devsim.validation import Settings, validate

    rows, _ = validate(Settings.quick(), rows=tuple(range(1, 20)))
    fails = []
    score = 0
    for r in rows:
        for m in r.measures:
            if not m.passed:
                fails.append(f"{r.number}:{m.name[:40]}={m.mean:.3f}")
                score += 10 if r.number <= 13 else 1
    return {"genes": genes, "score": score, "fails": fails}


if __name__ == "__main__":
    n, out = int(sys.argv[1]), sys.argv[2]
    rng = np.random.default_rng(int(sys.argv[3]) if len(sys.argv) > 3 else 0)
    cands = [
        {k: round(float(rng.uniform(lo, hi)), 4) for k, (lo, hi) in SPACE.items()} for _ in range(n)
    ]
    with multiprocessing.get_context("spawn").Pool(2, maxtasksperchild=1) as pool:
        for res in pool.imap_unordered(evaluate, cands):
            with open(out, "a") as f:
                f.write(json.dumps(res) + "\n")
            print(res["score"], res["fails"], flush=True)

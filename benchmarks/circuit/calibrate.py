"""Calibration harness: many groups in one model, the issue-14 measures."""

import json
import sys
import time

import numpy as np

from devsim.model import DevelopmentModel

genes = json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}
seeds = [int(s) for s in (sys.argv[2].split(",") if len(sys.argv) > 2 else ["0"])]
N = int(sys.argv[3]) if len(sys.argv) > 3 else 10
MD = lambda a, b: {"from": a, "to": b, "condition": "lid_suture", "eye": "left"}
D = lambda a, b: {"from": a, "to": b, "condition": "dark"}
T = lambda a, b, d: {"from": a, "to": b, "drug": d}
G = [
    ("control", {}),
    ("md1", {"rearing": [MD(24, 25)]}),
    ("md4", {"rearing": [MD(24, 28)]}),
    ("md7", {"rearing": [MD(24, 31)]}),
    ("dark_ctl", {"rearing": [D(0, 46)]}),
    ("dark_md", {"rearing": [D(0, 46), MD(46, 50)]}),
    ("dark_md50", {"rearing": [D(0, 46), MD(50, 54)]}),
    ("light_md50", {"rearing": [MD(50, 54)]}),
    ("ad4", {"rearing": [MD(70, 74)]}),
    ("ad7", {"rearing": [MD(70, 77)]}),
    ("addark_ctl", {"rearing": [D(60, 70)]}),
    ("addark_md", {"rearing": [D(60, 70), MD(70, 74)]}),
    ("chabc_ctl", {"treatments": [T(64, 74, "chondroitinase")]}),
    ("chabc_md", {"treatments": [T(64, 74, "chondroitinase")], "rearing": [MD(70, 74)]}),
    ("fluox_ctl", {"treatments": [T(56, 74, "fluoxetine")]}),
    ("fluox_md", {"treatments": [T(56, 74, "fluoxetine")], "rearing": [MD(70, 74)]}),
    ("lynx_ctl", {"species": "lynx1_ko"}),
    ("lynx_md", {"species": "lynx1_ko", "rearing": [MD(70, 74)]}),
]
out = {}
t0 = time.time()
for seed in seeds:
    groups = [{"name": n, "organisms": N, "genome": genes, **g} for n, g in G]
    for g in groups:
        if g.get("species") == "lynx1_ko":
            g["genome"] = {k: v for k, v in genes.items() if k != "r_lynx"}
    m = DevelopmentModel(days=77, seed=seed, groups=groups)
    gates, drive = [], {}
    for d in range(77):
        m.step()
        gates.append(m.cohort.gate[m.group_of == 0].mean())
        if d + 1 in (20, 30, 50, 76):
            drive[d + 1] = float(m.cohort.circuit.drive[m.group_of == 0].mean())
    s = m.results().daily_series()
    cbi = lambda g, a: s[g]["cbi"][a]
    R = lambda g, e, a: s[g][f"response_{e}"][a]
    shift = lambda g, a, ref="control": cbi(ref, a) - cbi(g, a)
    opened = m.cohort.circuit.opened_day[m.group_of == 0]
    r = {
        "s1": shift("md1", 25),
        "s4": shift("md4", 28),
        "s7": shift("md7", 31),
        "rec_left": shift("md4", 40) / max(shift("md4", 28), 1e-9),
        "dark_md46": shift("dark_md", 50, "dark_ctl"),
        "dark_md50": shift("dark_md50", 54, "dark_ctl"),
        "light_md50": shift("light_md50", 54),
        "ad4": shift("ad4", 74),
        "ad7": shift("ad7", 77),
        "ad7_open": R("ad7", "right", 77) / R("control", "right", 77) - 1,
        "ad7_dep": R("ad7", "left", 77) / R("control", "left", 77) - 1,
        "cp7_dep": R("md7", "left", 31) / R("control", "left", 31) - 1,
        "cp_open3": R("md7", "right", 27) / R("control", "right", 27) - 1,
        "cp_dep3": R("md7", "left", 27) / R("control", "left", 27) - 1,
        "cp_open7": R("md7", "right", 31) / R("control", "right", 31) - 1,
        "addark": shift("addark_md", 74, "addark_ctl"),
        "chabc": shift("chabc_md", 74, "chabc_ctl"),
        "fluox": shift("fluox_md", 74, "fluox_ctl"),
        "lynx": shift("lynx_md", 74, "lynx_ctl"),
        "cbi": cbi("control", 77),
        "binoc": s["control"]["binocular_fraction"][77],
        "open_mean": float(np.nanmean(opened)),
        "open_sd": float(np.nanstd(opened)),
        **{f"v{a}": v for a, v in drive.items()},
    }
    out[seed] = r
print("gate P16..P76 every 4:", " ".join(f"{g:.2f}" for g in gates[15::4]))
keys = list(out[seeds[0]])
for k in keys:
    vals = [out[sd][k] for sd in seeds]
    print(f"{k:12s} {np.mean(vals):7.3f}  " + " ".join(f"{v:.3f}" for v in vals))
print(f"{time.time() - t0:.0f}s")

"""A class of thirty on one laptop (on demand: ``pytest -m load``, about three minutes).

Thirty Chromium contexts on this machine press Play on the default page for 35 s: every
session must advance at least one simulated day per second and the server must grow by at
most 40 MiB per session; then Chromium is killed and the sessions must be culled, their
models freed (the server runs with a 10 s session timeout here, 15 min in ``devsim app``).
The numbers are printed and written to test-output/classroom.json.
``benchmarks/bench_classroom.py`` measures the same (and the click-to-visible latency, and
the server alone).
"""

from __future__ import annotations

import json
import sys

import pytest
from browser_support import ROOT, solara_server

pytestmark = [pytest.mark.browser, pytest.mark.load]

sys.path.insert(0, str(ROOT / "benchmarks"))


def test_thirty_sessions_play_and_are_culled(tmp_path):
    from bench_classroom import classroom

    procs: list = []
    with solara_server(tmp_path, env={"SOLARA_KERNEL_CULL_TIMEOUT": "10s"}, proc_out=procs) as url:
        result = classroom(url, procs[0].pid, sessions=30, seconds=35, cull_wait=120)
    out = ROOT / "test-output" / "classroom.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(result, indent=1))
    print(json.dumps(result, indent=1))
    assert result["days_per_second"]["min"] >= 1.0, result
    assert result["mib_per_session"] <= 40, result
    assert result["cull"]["sessions_left"] <= 1, result  # the /status page's own session
    assert result["cull"]["models_left"] == 0, result  # every session's model is freed
    # and their memory given back to the system, but for what the allocator keeps of its
    # heap (about 80 MiB after thirty sessions on this machine)
    mib = result["server_mib"]
    assert mib["after_cull"] < mib["peak"], mib
    assert mib["after_cull"] - mib["baseline"] <= 4 * result["sessions"], mib

"""The shipped scenarios give the same bytes as the recorded runs.

``tests/golden/summaries.json`` holds the SHA-256 of ``summary.json`` (the text
``devsim run`` writes) of every shipped development scenario at its own seed, recorded
before the hardening and run-contract changes. A refactor must change no result; a change
of the model that is meant to change results re-records them deliberately:

    DEVSIM_RECORD_GOLDEN=1 pytest tests/test_golden.py
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest

from devsim.experiment import run_scenario, summary_json
from devsim.scenario import load_scenario

ROOT = Path(__file__).resolve().parents[1]
GOLDEN = Path(__file__).parent / "golden" / "summaries.json"
SHIPPED = sorted(
    p.stem for p in (ROOT / "scenarios").glob("*.toml") if not p.stem.endswith("_sweep")
)


def digest(name: str) -> str:
    summary, _ = run_scenario(load_scenario(ROOT / "scenarios" / f"{name}.toml"))
    return hashlib.sha256(summary_json(summary).encode()).hexdigest()


def test_every_shipped_scenario_is_recorded():
    assert sorted(json.loads(GOLDEN.read_text())) == SHIPPED


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_scenario_gives_the_recorded_bytes(name):
    assert digest(name) == json.loads(GOLDEN.read_text())[name]


if os.environ.get("DEVSIM_RECORD_GOLDEN"):  # pragma: no cover - deliberate re-recording

    def test_record():
        GOLDEN.write_text(json.dumps({n: digest(n) for n in SHIPPED}, indent=1) + "\n")

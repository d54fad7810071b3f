"""The shipped scenarios give the same bytes as the recorded runs.

``tests/golden/summaries.json`` holds the SHA-256 of ``summary.json`` (the text
``devsim run`` writes) of every shipped development scenario at its own seed (a sheet
scenario on an 8 x 8 sheet);
``tests/golden/evolution.json`` the SHA-256 (first 16 hex digits) of the generation table
of every shipped evolution scenario's ``[quick]`` version over 3 generations. Both were
recorded with the code before the hardening and run-contract changes: a refactor must
change no result. A change of the model that is meant to change results re-records them
deliberately:

    DEVSIM_RECORD_GOLDEN=1 pytest tests/test_golden.py
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest

from devsim.evolution import build_evolution_model
from devsim.evolution_scenario import load_evolution_scenario
from devsim.experiment import run_scenario, summary_json
from devsim.scenario import load_scenario
from devsim.shipped import scenario_names, scenario_path

GOLDEN = Path(__file__).parent / "golden" / "summaries.json"
EVOLUTION = Path(__file__).parent / "golden" / "evolution.json"
SHIPPED = scenario_names("scenario")  # every shipped scenario except the sweeps
EVOLVED = scenario_names("evolution")
GENERATIONS = 3


SHEET_SIZE = 8  # sheet scenarios are pinned on the smallest sheet (the same code, minutes less)


def digest(name: str) -> str:
    scenario = load_scenario(scenario_path(name))
    if scenario.cortex == "sheet":
        scenario = scenario.with_changes(sheet_size=SHEET_SIZE)
    summary, _ = run_scenario(scenario)
    return hashlib.sha256(summary_json(summary).encode()).hexdigest()


def evolution_digest(name: str) -> str:
    scenario = load_evolution_scenario(scenario_path(name, "evolution")).quick_version()
    model = build_evolution_model(scenario)
    for _ in range(GENERATIONS):
        model.step()
    return hashlib.sha256(model.history().to_csv(index=False).encode()).hexdigest()[:16]


def test_every_shipped_scenario_is_recorded():
    assert sorted(json.loads(GOLDEN.read_text())) == SHIPPED
    assert sorted(json.loads(EVOLUTION.read_text())) == EVOLVED


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_scenario_gives_the_recorded_bytes(name):
    assert digest(name) == json.loads(GOLDEN.read_text())[name]


@pytest.mark.parametrize("name", EVOLVED)
def test_shipped_evolution_gives_the_recorded_generations(name):
    assert evolution_digest(name) == json.loads(EVOLUTION.read_text())[name]


if os.environ.get("DEVSIM_RECORD_GOLDEN"):  # pragma: no cover - deliberate re-recording

    def test_record():
        GOLDEN.write_text(json.dumps({n: digest(n) for n in SHIPPED}, indent=1) + "\n")
        table = {n: evolution_digest(n) for n in EVOLVED}
        EVOLUTION.write_text(json.dumps(table, indent=1) + "\n")

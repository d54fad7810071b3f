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

The bytes are the same run after run on one machine, but not across processors: OpenBLAS
picks its matrix kernels by CPU (with or without FMA, its own blocking), numpy and numba
their vector code, and development amplifies a last-bit difference into the third decimal
of an ODI by the end of a run. So the digests are computed in one child process pinned to
the kernels every x86-64 processor has (OpenBLAS's SSE3 "Prescott" kernels, numpy's
baseline, numba's generic CPU) and recorded the same way.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from devsim.evolution import build_evolution_model
from devsim.evolution_scenario import load_evolution_scenario
from devsim.experiment import run_scenario, summary_json
from devsim.islands import run_islands
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
    if scenario.islands.count > 1:  # every island, migration after each epoch
        quick = scenario.with_changes(
            generations=GENERATIONS, islands={**scenario.islands.model_dump(), "migration_every": 1}
        )
        table, _ = run_islands(quick, scenario.seed)
    else:
        model = build_evolution_model(scenario)
        for _ in range(GENERATIONS):
            model.step()
        table = model.history()
    return hashlib.sha256(table.to_csv(index=False).encode()).hexdigest()[:16]


def test_every_shipped_scenario_is_recorded():
    assert sorted(json.loads(GOLDEN.read_text())) == SHIPPED
    assert sorted(json.loads(EVOLUTION.read_text())) == EVOLVED


# Set before numpy, OpenBLAS and numba load, hence a child process.
PORTABLE_KERNELS = {
    "OPENBLAS_CORETYPE": "Prescott",
    "NPY_DISABLE_CPU_FEATURES": "X86_V3,X86_V4,AVX512_ICL,AVX512_SPR",
    "NUMBA_CPU_NAME": "generic",
}


JOBS = [("scenario", n) for n in SHIPPED] + [("evolution", n) for n in EVOLVED]
SHARDS = 2  # children side by side: the pinned kernels are slower


def compute(kind: str, name: str) -> str:
    return digest(name) if kind == "scenario" else evolution_digest(name)


@pytest.fixture(scope="module")
def digests() -> dict[str, dict[str, str]]:
    children = [
        subprocess.Popen(
            [sys.executable, __file__, str(shard)],
            env={**os.environ, **PORTABLE_KERNELS},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for shard in range(SHARDS)
    ]
    found: dict[str, dict[str, str]] = {"scenario": {}, "evolution": {}}
    for child in children:
        out, err = child.communicate()
        assert child.returncode == 0, err[-4000:]
        for kind, name, value in json.loads(out):
            found[kind][name] = value
    return found


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_scenario_gives_the_recorded_bytes(name, digests):
    assert digests["scenario"][name] == json.loads(GOLDEN.read_text())[name]


@pytest.mark.parametrize("name", EVOLVED)
def test_shipped_evolution_gives_the_recorded_generations(name, digests):
    assert digests["evolution"][name] == json.loads(EVOLUTION.read_text())[name]


if os.environ.get("DEVSIM_RECORD_GOLDEN"):  # pragma: no cover - deliberate re-recording

    def test_record(digests):
        # sorted: the digests arrive in the shards' order, the files stay diffable
        GOLDEN.write_text(json.dumps(digests["scenario"], indent=1, sort_keys=True) + "\n")
        EVOLUTION.write_text(json.dumps(digests["evolution"], indent=1, sort_keys=True) + "\n")


if __name__ == "__main__":  # a child process of the `digests` fixture
    mine = JOBS[int(sys.argv[1]) :: SHARDS]
    print(json.dumps([(kind, name, compute(kind, name)) for kind, name in mine]))

"""`devsim validate --quick`: every row of docs/science.md computed by the model.

The quick table runs two seeds with 12 organisms per group (mouse only); the full table (5 seeds,
cat included) is the one quoted in the README.
"""

from __future__ import annotations

import json

import pytest

from devsim.cli import main
from devsim.validation import ROWS, Settings, validate


@pytest.fixture(scope="module")
def quick_table(quick_runs):
    rows, _ = validate(Settings.quick(), runs=quick_runs)
    return {row.number: row for row in rows}


@pytest.mark.parametrize("number", [r[0] for r in ROWS])
def test_row_passes(quick_table, number):
    row = quick_table[number]
    failing = [
        f"{m.name}: {m.mean:.3f} (target {m.target()})" for m in row.measures if not m.passed
    ]
    assert row.passed, f"row {number} ({row.experiment}) fails: {failing}"


def test_cli_writes_json_figures_and_exit_code(tmp_path, capsys):
    out = tmp_path / "val"
    code = main(["validate", "--quick", "--rows", "1,9", "--out", str(out)])
    assert code == 0
    data = json.loads((out / "validation.json").read_text())
    assert [r["row"] for r in data["rows"]] == [1, 9]
    assert all(m["passed"] for r in data["rows"] for m in r["measures"])
    assert (out / "figures" / "normal_od_histograms.png").exists()
    assert (out / "figures" / "lid_vs_ttx_od_histograms.png").exists()
    printed = capsys.readouterr().out
    assert "Rittenhouse" in printed
    assert "2 of 2 rows pass" in printed


def test_bad_rows_argument_is_one_line_exit_2(tmp_path, capsys):
    assert main(["validate", "--quick", "--rows", "1,99", "--out", str(tmp_path / "v")]) == 2
    err = capsys.readouterr().err.strip()
    assert err == "devsim: error: --rows: unknown row(s) [99]; allowed 1..13"
    assert not (tmp_path / "v").exists()

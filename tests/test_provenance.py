"""What made a result: the code digest follows the model's code (not the drawing or the
CLI), results record it, and a batch reruns what other code made."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
from test_batch import write_sweep  # the batch tests' tiny sweep

from devsim.batch import load_sweep, run_sweep
from devsim.provenance import PACKAGE, _library_versions, code_digest, digest_of, provenance

LIBRARIES = {"numpy": "2.0", "numba": "0.60"}


def copy_package(to):
    shutil.copytree(PACKAGE, to, ignore=shutil.ignore_patterns("__pycache__", "data"))
    return to


def test_the_digest_follows_the_code_that_computes_results(tmp_path):
    a = copy_package(tmp_path / "a" / "devsim")
    b = copy_package(tmp_path / "b" / "devsim")
    first = digest_of(a, LIBRARIES)
    assert first.startswith("sha256:")
    assert len(first) == len("sha256:") + 16
    assert digest_of(b, LIBRARIES) == first  # where the code lies does not matter
    # what only draws or speaks leaves the numbers as they were
    (b / "cli" / "run.py").write_text((b / "cli" / "run.py").read_text() + "\n# a comment\n")
    (b / "plots" / "development.py").write_text("# redrawn\n")
    assert digest_of(b, LIBRARIES) == first
    # clutter is not code: an editor's lock (a dangling link), a copy's hidden twin, a
    # notebook's checkpoint; nor are the line endings of a checkout
    (b / ".#plasticity.py").symlink_to("nowhere@123:456")
    (b / "._model.py").write_text("junk")
    (b / ".ipynb_checkpoints").mkdir()
    (b / ".ipynb_checkpoints" / "senses-checkpoint.py").write_text("x = 1\n")
    wiring = b / "wiring.py"
    wiring.write_bytes(wiring.read_bytes().replace(b"\n", b"\r\n"))
    assert digest_of(b, LIBRARIES) == first
    # the model's code, or the numeric libraries, are another model
    assert digest_of(a, {**LIBRARIES, "numpy": "2.1"}) != first
    plasticity = b / "plasticity.py"
    plasticity.write_text(plasticity.read_text().replace("0.", "0.0", 1))
    assert digest_of(b, LIBRARIES) != first
    assert provenance()["code"] == code_digest() == digest_of(PACKAGE, _library_versions())


def test_a_batch_records_its_code_and_reruns_what_other_code_made(tmp_path, capsys):
    path = write_sweep(tmp_path)
    out = tmp_path / "out"
    table = run_sweep(path, out, workers=1, progress=False)
    assert table.attrs["devsim"]["code"] == code_digest()
    assert pd.read_parquet(out / "results.parquet").attrs["devsim"]["code"] == code_digest()
    assert json.loads((out / "manifest.json").read_text())["code"] == code_digest()
    runs = load_sweep(path).runs
    folders = [out / "runs" / run.run_id for run in runs]
    for folder in folders:
        assert json.loads((folder / "run.json").read_text())["code"] == code_digest()

    # one run as an older devsim made it (no code recorded), one by other code
    stamps = {f: (f / "summary.json").stat().st_mtime_ns for f in folders}
    old = json.loads((folders[0] / "run.json").read_text())
    del old["code"]
    (folders[0] / "run.json").write_text(json.dumps(old))
    other = json.loads((folders[1] / "run.json").read_text())
    (folders[1] / "run.json").write_text(json.dumps({**other, "code": "sha256:0123456789abcdef"}))
    capsys.readouterr()
    again = run_sweep(path, out, workers=1)  # its log on stderr
    assert again.attrs["batch"] == {"total": 4, "reused": 2, "ran": 2, "failed": 0}
    assert "2 already finished, 2 to run (2 of them made by other or unrecorded devsim code" in (
        capsys.readouterr().err
    )
    for k, folder in enumerate(folders):
        changed = (folder / "summary.json").stat().st_mtime_ns != stamps[folder]
        assert changed == (k < 2)
        assert json.loads((folder / "run.json").read_text())["code"] == code_digest()
    pd.testing.assert_frame_equal(
        again.drop(columns=[c for c in again if c.startswith("timing_")]),
        table.drop(columns=[c for c in table if c.startswith("timing_")]),
    )


def test_baldwin_records_its_settings(tmp_path):
    from devsim.cli import main

    out = tmp_path / "b"
    argv = ["baldwin", "--generations", "3", "--runs", "2", "--population", "50", "--out"]
    assert main([*argv, str(out)]) == 0
    settings = json.loads((out / "baldwin.json").read_text())
    assert (settings["generations"], settings["runs"], settings["population"]) == (3, 2, 50)
    assert settings["learning"] is True
    assert settings["code"] == code_digest()


def test_version_prints_devsim_s_version_and_the_code_its_results_record(capsys):
    """`devsim --version` was refused: 'the following arguments are required: COMMAND'."""
    from devsim import __version__
    from devsim.cli import main

    with pytest.raises(SystemExit) as exit_:
        main(["--version"])
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    assert out == f"devsim {__version__} (code {code_digest()})\n"


def test_the_citation_file_names_this_version():
    """CITATION.cff is what GitHub's "Cite this repository" and Zenodo read: it must parse
    and name the version the package says it is."""
    import yaml

    import devsim

    path = Path(__file__).resolve().parents[1] / "CITATION.cff"
    citation = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert citation["cff-version"] == "1.2.0"
    assert str(citation["version"]) == devsim.__version__
    assert all(citation[key] for key in ("title", "authors", "message"))

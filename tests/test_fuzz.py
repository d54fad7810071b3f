"""Fuzzing the inputs (hypothesis): random scenario, sweep and evolution files, valid and
broken, and random genomes across every gene's bounds.

Properties: a command either succeeds with finite results, or stops with exit code 2 and
one line naming the file; never a traceback, never partial output, never a NaN. Budget:
the ``ci`` profile (the default, fixed seed) runs a few hundred cases in about a minute;
``DEVSIM_FUZZ=long pytest tests/test_fuzz.py`` runs many more with fresh randomness.
"""

from __future__ import annotations

import contextlib
import io
import json
import math
import os
from pathlib import Path

import pytest
import tomli_w
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from devsim.cli import main
from devsim.errors import DevsimRunError
from devsim.experiment import run_scenario, summary_json
from devsim.genome import EVOLUTION_ONLY_GENES, GENES, SHEET_GENES, SPECIES
from devsim.scenario import DRUGS, parse_scenario
from devsim.senses import CONDITIONS, EYE_CONDITIONS

settings.register_profile(
    "ci",
    derandomize=True,  # the same cases on every run: CI results do not depend on luck
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    database=None,
)
settings.register_profile(
    "long",
    max_examples=2000,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
settings.load_profile("long" if os.environ.get("DEVSIM_FUZZ") == "long" else "ci")

# The genes a point-cortex development scenario takes (the sheet's are refused there).
DEV_GENES = [g for g in GENES if g.name not in EVOLUTION_ONLY_GENES | SHEET_GENES]
NAMES = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1, max_size=12)


def cli(argv: list[str]) -> tuple[int, str, str]:
    """Run ``devsim ARGV`` in this process; (exit code, stdout, stderr). A traceback fails
    the test by propagating."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(argv)
        except SystemExit as exc:  # argparse
            code = exc.code
    return int(code), out.getvalue(), err.getvalue()


def finite(value) -> bool:
    """No NaN, no infinity and no null anywhere in a JSON document."""
    if isinstance(value, dict):
        return all(finite(v) for v in value.values())
    if isinstance(value, list):
        return all(finite(v) for v in value)
    if isinstance(value, float):
        return math.isfinite(value)
    return value is not None


UNDEFINED_WITHOUT_CELLS = ("mean_odi", "cbi", "binocular_fraction")
UNDEFINED_WITHOUT_WINDOW = ("window_opened", "window_opened_sd")  # no window opened yet


def sound(group: dict) -> bool:
    """A group's final and daily measures are finite; the OD measures may be null only on
    a day with no responsive cell, the opening day only when no window has opened and its
    sd when fewer than two have (then they are undefined, and summary.json says so)."""
    final, daily = group["final"], group["daily"]
    for name, value in final.items():
        blank = name in UNDEFINED_WITHOUT_CELLS and final["responsive_fraction"] == 0
        blank |= name in UNDEFINED_WITHOUT_WINDOW and final["window_opened_share"] == 0
        # a spread needs two animals whose window has opened
        opened = round(final["window_opened_share"] * group["organisms"])
        blank |= name == "window_opened_sd" and opened < 2
        # a spread between animals needs two with a CBI of their own
        each = group["per_organism"]["cbi"]
        blank |= name == "cbi_sd" and sum(v is not None for v in each) < 2
        if not (finite(value) or (blank and value is None)):
            return False
    for values in group["per_organism"].values():
        if not all(finite(v) or v is None for v in values):
            return False
    for name, values in daily.items():
        for k, value in enumerate(values):
            blank = name in UNDEFINED_WITHOUT_CELLS and daily["responsive_fraction"][k] == 0
            if not (finite(value) or (blank and value is None)):
                return False
    return True


def assert_outcome(code: int, stderr: str, source: Path, out: Path) -> None:
    """Exit 0 with whole, finite results; or exit 2 with one line naming the file (or the
    option) and nothing written."""
    leftovers = [p.name for p in out.parent.iterdir() if ".staging-" in p.name]
    assert not leftovers, leftovers
    if code == 0:
        summary = json.loads((out / "summary.json").read_text())
        assert all(sound(g) for g in summary["groups"].values()), "NaN or null in summary"
        assert (out / "timeline.parquet").is_file()
        return
    assert_refused(code, stderr, source, out)


def assert_refused(code: int, stderr: str, source: Path, out: Path) -> None:
    """Exit 2, one line naming the file (or the option), nothing written."""
    assert code == 2, (code, stderr)
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("devsim: error: ")
    assert str(source) in lines[0] or "--" in lines[0], lines[0]
    assert not out.exists(), "partial output after an error"


# --------------------------------------------------------------------------------------
# Strategies
# --------------------------------------------------------------------------------------
@st.composite
def intervals(draw, days: int, count: int) -> list[tuple[int, int]]:
    """Up to ``count`` non-overlapping [from, to) intervals inside 0..days."""
    cuts = sorted(draw(st.sets(st.integers(0, days), max_size=2 * count)))
    pairs = list(zip(cuts[::2], cuts[1::2], strict=False))
    return [(a, b) for a, b in pairs if b > a]


@st.composite
def genomes(draw, max_genes: int = 3) -> dict[str, float]:
    chosen = draw(st.lists(st.sampled_from(DEV_GENES), max_size=max_genes, unique_by=id))
    return {g.name: draw(st.floats(g.low, g.high, allow_nan=False)) for g in chosen}


@st.composite
def groups(draw, days: int, name: str) -> dict:
    group: dict = {"name": name, "organisms": draw(st.integers(1, 2))}
    if draw(st.booleans()):
        group["genome"] = draw(genomes())
    rearing = []
    for start, end in draw(intervals(days, 2)):
        condition = draw(st.sampled_from(CONDITIONS))
        item = {"from": start, "to": end, "condition": condition}
        if condition in EYE_CONDITIONS:
            item["eye"] = draw(st.sampled_from(["left", "right"]))
        rearing.append(item)
    if rearing:
        group["rearing"] = rearing
    treatments = [
        {"from": a, "to": b, "drug": draw(st.sampled_from(sorted(DRUGS)))}
        for a, b in draw(intervals(days, 1))
    ]
    if treatments:
        group["treatments"] = treatments
    return group


@st.composite
def scenarios(draw) -> dict:
    """A valid scenario small enough to run in a fraction of a second."""
    days = draw(st.integers(1, 16))
    batch = draw(st.sampled_from([1, 4, 16]))
    names = draw(
        st.lists(
            NAMES.filter(lambda s: s.isprintable() and s.strip()),
            min_size=1,
            max_size=3,
            unique=True,
        )
    )
    return {
        "name": draw(NAMES.filter(lambda s: s.isprintable() and s.strip())),
        "species": draw(st.sampled_from(sorted(SPECIES))),
        "seed": draw(st.integers(0, 2**32)),
        "days": days,
        "neurons": draw(st.integers(1, 6)),
        "batch_size": batch,
        "presentations_per_day": batch * draw(st.integers(1, 4)),
        "groups": [draw(groups(days, n)) for n in names],
    }


BAD_VALUES = st.one_of(
    st.text(max_size=8),
    st.booleans(),
    st.floats(allow_nan=False),  # TOML has nan/inf too, as floats
    st.sampled_from([float("inf"), float("-inf")]),
    st.integers(-(2**63), 2**63 - 1),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
    st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=150, max_size=300),
    st.sampled_from(["\x00name", "a\x1b[31mred", "bell\x07", "$x^2$", "md.genome", ""]),
)
TOP_KEYS = [
    "name",
    "species",
    "seed",
    "days",
    "neurons",
    "presentations_per_day",
    "batch_size",
    "groups",
    "description",
    "unknown_key",
]
GROUP_KEYS = ["name", "organisms", "species", "genome", "rearing", "treatments", "oops"]


@st.composite
def broken(draw, data: dict) -> dict:
    """``data`` with one thing changed for the worse (it may, rarely, still be valid)."""
    data = json.loads(json.dumps(data))  # deep copy
    where = draw(st.sampled_from(["top", "group", "item", "gene", "drop", "nest"]))
    group = draw(st.sampled_from(data["groups"]))
    if where == "top":
        data[draw(st.sampled_from(TOP_KEYS))] = draw(BAD_VALUES)
    elif where == "group":
        group[draw(st.sampled_from(GROUP_KEYS))] = draw(BAD_VALUES)
    elif where == "item":
        items = group.setdefault("rearing", [{"from": 0, "to": 1, "condition": "dark"}])
        items[0][draw(st.sampled_from(["from", "to", "condition", "eye", "x"]))] = draw(BAD_VALUES)
    elif where == "gene":
        gene = draw(st.sampled_from([*GENES, None]))
        name = gene.name if gene else draw(st.text(min_size=1, max_size=6))
        value = draw(st.one_of(BAD_VALUES, st.floats(-1e6, 1e6)))
        group.setdefault("genome", {})[name] = value
    elif where == "drop":
        key = draw(st.sampled_from(["name", "days", "groups"]))
        data.pop(key, None)
    else:
        depth = draw(st.integers(5, 40))
        value: object = 1
        for _ in range(depth):
            value = [value]
        data[draw(st.sampled_from(TOP_KEYS))] = value
    return data


def write_toml(path: Path, data: dict) -> None:
    """TOML text of ``data``; ``None`` values (no TOML equivalent) are dropped."""
    clean = json.loads(json.dumps(data, allow_nan=True), parse_constant=float)
    path.write_text(tomli_w.dumps(_drop_none(clean)), encoding="utf-8")


def _drop_none(value):
    if isinstance(value, dict):
        return {k: _drop_none(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_drop_none(v) for v in value if v is not None]
    return value


# --------------------------------------------------------------------------------------
# Properties
# --------------------------------------------------------------------------------------
@settings(max_examples=25)
@given(data=scenarios())
def test_valid_scenarios_run_to_finite_results(tmp_path_factory, data):
    folder = tmp_path_factory.mktemp("valid")
    source, out = folder / "scenario.toml", folder / "out"
    write_toml(source, data)
    code, _, stderr = cli(["run", str(source), "--out", str(out)])
    assert code == 0, stderr
    assert_outcome(code, stderr, source, out)


@settings(max_examples=200)
@given(data=scenarios().flatmap(broken))
def test_broken_scenarios_give_one_line(tmp_path_factory, data):
    folder = tmp_path_factory.mktemp("broken")
    source, out = folder / "scenario.toml", folder / "out"
    write_toml(source, data)
    code, _, stderr = cli(["run", str(source), "--out", str(out)])
    assert_outcome(code, stderr, source, out)


@settings(max_examples=40)
@given(text=st.one_of(st.binary(max_size=200), st.text(max_size=200).map(str.encode)))
def test_garbage_files_give_one_line(tmp_path_factory, text):
    folder = tmp_path_factory.mktemp("garbage")
    source, out = folder / "scenario.toml", folder / "out"
    source.write_bytes(text)
    code, _, stderr = cli(["run", str(source), "--out", str(out)])
    assert code == 2
    assert_outcome(code, stderr, source, out)


@settings(max_examples=40)
@given(genome=genomes(max_genes=len(DEV_GENES)), species=st.sampled_from(sorted(SPECIES)))
def test_any_genome_in_bounds_runs_finite_or_says_why(genome, species):
    """Across all gene bounds: finite measures, or a run error that names the organism and
    the day (never a NaN summary)."""
    scenario = parse_scenario(
        {
            "name": "genome fuzz",
            "species": species,
            "days": 30,
            "neurons": 4,
            "presentations_per_day": 64,
            "groups": [{"name": "g", "organisms": 2, "genome": genome}],
        }
    )
    try:
        summary, _ = run_scenario(scenario)
    except DevsimRunError as exc:
        message = str(exc)
        assert "day" in message  # noqa: PT017 - the message is the property under test
        assert "organism" in message  # noqa: PT017
        return
    assert sound(json.loads(summary_json(summary))["groups"]["g"])


@pytest.mark.parametrize(
    "argv",
    [
        ["run", "{scenario}", "--out", ""],
        ["run", "{scenario}", "--out", "/"],
        ["run", "{scenario}", "--out", "{scenario}/sub"],
        ["run", "{scenario}", "--out", "{tmp}/" + "x" * 300],
        ["run", "{scenario}", "--out", "{tmp}/o", "--seed", "-1"],
        ["run", "{scenario}", "--out", "{tmp}/o", "--seed", "x"],
        ["run", "{scenario}", "--out", "{tmp}/o", "--seed", str(2**64)],
        ["run", "{scenario}", "--out", "{tmp}/o", "--max-memory", "lots"],
        ["run", "{scenario}", "--out", "{tmp}/o", "--max-memory", "1K"],
        ["run", "{scenario}", "--out", "{tmp}/o", "--max-organism-days", "1"],
        ["run", "{tmp}/missing.toml", "--out", "{tmp}/o"],
        ["run", "{tmp}", "--out", "{tmp}/o"],
        ["run", "/dev/zero", "--out", "{tmp}/o"],
        ["run", "{tmp}/" + "y" * 5000, "--out", "{tmp}/o"],
        ["validate", "--rows", "99", "--out", "{tmp}/o"],
        ["validate", "--rows", "1", "--readme", "{tmp}/missing.md", "--out", "{tmp}/o"],
        ["lesson", "../README", "--out", "{tmp}/o"],
        ["lesson", "z" * 400, "--out", "{tmp}/o"],
        ["batch", "{scenario}", "--out", "{tmp}/o", "--workers", "1000"],
        ["evolve", "{scenario}", "--out", "{tmp}/o", "--generations", "1000000000"],
        ["profile", "--organisms", "100000", "--out", "{tmp}/o"],
        ["nosuchcommand"],
    ],
)
def test_bad_arguments_give_one_line(tmp_path, argv):
    scenario = tmp_path / "tiny.toml"
    write_toml(scenario, {"name": "tiny", "days": 2, "groups": [{"name": "c", "organisms": 1}]})
    argv = [a.format(scenario=scenario, tmp=tmp_path) for a in argv]
    code, stdout, stderr = cli(argv)
    assert code == 2, (code, stderr)
    assert len(stderr.strip().splitlines()) == 1, stderr
    assert "error" in stderr
    assert not (tmp_path / "o").exists()
    assert not [p for p in tmp_path.iterdir() if ".staging-" in p.name]


# --------------------------------------------------------------------------------------
# Sweep files (devsim batch) and evolution files (devsim evolve)
# --------------------------------------------------------------------------------------
BASE = {
    "name": "base",
    "days": 3,
    "neurons": 2,
    "presentations_per_day": 16,
    "groups": [
        {"name": "control", "organisms": 1},
        {"name": "md", "organisms": 1, "rearing": [{"from": 1, "to": 2, "condition": "dark"}]},
    ],
}
SWEEPABLE = {
    "genome.eta": st.floats(0.01, 1.0),
    "organisms": st.integers(1, 2),
    "days": st.integers(2, 4),
    "groups.md.rearing.0.from": st.integers(0, 1),
    "groups.md.rearing.0.condition": st.sampled_from(["dark", "binocular_suture"]),
    "species": st.sampled_from(sorted(SPECIES)),
}


@st.composite
def sweeps(draw) -> dict:
    """A valid sweep of at most 2 x 2 tiny runs."""
    keys = draw(st.lists(st.sampled_from(sorted(SWEEPABLE)), min_size=1, max_size=2, unique=True))
    grid = {k: draw(st.lists(SWEEPABLE[k], min_size=1, max_size=2, unique=True)) for k in keys}
    return {
        "sweep": {"base": "base.toml", "seeds": 1, "seed": draw(st.integers(0, 99)), "grid": grid}
    }


@st.composite
def broken_sweep(draw, data: dict) -> dict:
    data = json.loads(json.dumps(data))
    sweep = data["sweep"]
    where = draw(st.sampled_from(["top", "grid", "key", "drop"]))
    if where == "top":
        sweep[draw(st.sampled_from(["base", "seeds", "seed", "name", "extra", "set", "zip"]))] = (
            draw(BAD_VALUES)
        )
    elif where == "grid":
        key = draw(st.sampled_from(sorted(sweep["grid"])))
        sweep["grid"][key] = draw(st.one_of(BAD_VALUES, st.lists(BAD_VALUES, max_size=3)))
    elif where == "key":
        sweep["grid"][draw(st.text(max_size=20))] = [1]
    else:
        sweep.pop(draw(st.sampled_from(["base", "grid"])), None)
    return data


def assert_batch_outcome(code: int, stderr: str, source: Path, out: Path) -> None:
    if code == 0:
        for summary in out.glob("runs/*/summary.json"):
            groups = json.loads(summary.read_text())["groups"]
            assert all(sound(g) for g in groups.values())
        assert (out / "results.parquet").is_file()
        return
    assert_refused(code, stderr, source, out)


@settings(max_examples=8)
@given(data=sweeps())
def test_valid_sweeps_run_to_finite_results(tmp_path_factory, data):
    folder = tmp_path_factory.mktemp("sweep")
    write_toml(folder / "base.toml", BASE)
    source, out = folder / "sweep.toml", folder / "out"
    write_toml(source, data)
    code, _, stderr = cli(["batch", str(source), "--out", str(out), "--workers", "1"])
    assert code == 0, stderr
    assert_batch_outcome(code, stderr, source, out)


@settings(max_examples=60)
@given(data=sweeps().flatmap(broken_sweep))
def test_broken_sweeps_give_one_line(tmp_path_factory, data):
    folder = tmp_path_factory.mktemp("sweep")
    write_toml(folder / "base.toml", BASE)
    source, out = folder / "sweep.toml", folder / "out"
    write_toml(source, data)
    code, _, stderr = cli(["batch", str(source), "--out", str(out), "--workers", "1"])
    assert_batch_outcome(code, stderr, source, out)


EVOLUTION = {
    "name": "tiny evolution",
    "generations": 1,
    "days": 10,
    "assess_from": 9,
    "assess_every": 1,
    "grid": [2, 1],
    "per_cell": 1,
    "neurons": 2,
    "presentations_per_day": 16,
    "batch_size": 16,
}
EVOLUTION_FIELDS = {
    "seed": st.integers(0, 1000),
    "tournament": st.integers(1, 3),
    "recombination": st.booleans(),
    "mutation_scale": st.floats(0.1, 10.0),
    "noise": st.floats(0.01, 10.0),
    "c50": st.floats(0.01, 100.0),
    "innate_map": st.floats(0.0, 1.0),
    "species": st.sampled_from(sorted(SPECIES)),
}


@st.composite
def evolutions(draw) -> dict:
    keys = draw(st.lists(st.sampled_from(sorted(EVOLUTION_FIELDS)), max_size=3, unique=True))
    return {**EVOLUTION, **{k: draw(EVOLUTION_FIELDS[k]) for k in keys}}


@st.composite
def broken_evolution(draw, data: dict) -> dict:
    data = dict(data)
    key = draw(
        st.sampled_from(
            [
                *EVOLUTION,
                *EVOLUTION_FIELDS,
                "environment",
                "costs",
                "quick",
                "genome",
                "evolve",
                "bogus",
            ]
        )
    )
    data[key] = draw(BAD_VALUES)
    return data


def assert_evolve_outcome(code: int, stderr: str, source: Path, out: Path) -> None:
    if code == 0:
        assert (out / "generations.parquet").is_file()
        return
    assert_refused(code, stderr, source, out)


@settings(max_examples=6)
@given(data=evolutions())
def test_valid_evolutions_run(tmp_path_factory, data):
    folder = tmp_path_factory.mktemp("evolve")
    source, out = folder / "evo.toml", folder / "out"
    write_toml(source, data)
    code, _, stderr = cli(["evolve", str(source), "--out", str(out)])
    assert code == 0, stderr
    assert_evolve_outcome(code, stderr, source, out)


@settings(max_examples=60)
@given(data=evolutions().flatmap(broken_evolution))
def test_broken_evolutions_give_one_line(tmp_path_factory, data):
    folder = tmp_path_factory.mktemp("evolve")
    source, out = folder / "evo.toml", folder / "out"
    write_toml(source, data)
    code, _, stderr = cli(["evolve", str(source), "--out", str(out)])
    assert_evolve_outcome(code, stderr, source, out)

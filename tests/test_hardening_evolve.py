"""Issue 17, evolution: bad input to ``devsim evolve`` is one line (exit 2) naming the file
and the field, before any work; names cannot garble terminals or figures; runs of
different files never share a folder or a comparison row."""

from __future__ import annotations

import math
import tomllib
import typing

import numpy as np
import pandas as pd
import pytest
from pydantic import BaseModel

from devsim import cli
from devsim.errors import DevsimInputError
from devsim.evolution import EvolutionModel
from devsim.evolution_scenario import (
    EvolutionScenario,
    load_evolution_scenario,
    parse_evolution_scenario,
)
from devsim.scenario import NAME_MAX, SEED_MAX
from devsim.shipped import scenario_path

# One generation of four organisms that live 16 days: about a second a run.
TINY = """\
name = 'tiny'
seed = 3
generations = 1
days = 16
assess_from = 15
assess_every = 1
grid = [1, 2]
per_cell = 2
neurons = 2
presentations_per_day = 4
batch_size = 4
evolve = ["eta", "marker"]
"""


def with_line(line: str) -> str:
    """TINY with ``line`` added (a top-level key replaces TINY's own)."""
    key = line.split(" = ")[0]
    kept = [row for row in TINY.splitlines() if not row.startswith(f"{key} = ")]
    return "\n".join(kept) + "\n" + line + "\n"


def write(path, text=TINY):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def refused(capsys, argv, *needles):
    """Run the CLI, expect exit 2 with one stderr line holding every needle and no
    simulation output; return the line."""
    capsys.readouterr()
    assert cli.main(argv) == 2
    captured = capsys.readouterr()
    err = captured.err.strip()
    assert len(err.splitlines()) == 1, err
    assert err.startswith("devsim: error: ")
    for needle in needles:
        assert needle in err, (needle, err)
    assert "generation" not in captured.out  # refused before any simulation
    return err


def bad_file(tmp_path, text, name="bad.toml"):
    """Load ``text`` as a scenario file; the one-line error."""
    path = write(tmp_path / name, text)
    with pytest.raises(DevsimInputError) as info:
        load_evolution_scenario(path)
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(f"{path}: ")
    return message


# --- 1. files with one name: distinct folders and rows, or a clear refusal ------------------


def test_two_files_with_one_name_are_refused_naming_both(tmp_path, capsys):
    a = write(tmp_path / "a" / "same.toml")
    b = write(tmp_path / "b" / "same.toml", TINY.replace("seed = 3", "seed = 9"))
    out = tmp_path / "out"
    refused(capsys, ["evolve", str(a), str(b), "--out", str(out)], str(a), str(b), "same")
    assert not out.exists()
    # names that differ only in case would share a folder on macOS and Windows
    c = write(tmp_path / "c" / "SAME.toml")
    refused(capsys, ["evolve", str(a), str(c), "--out", str(out)], str(a), str(c))
    assert not out.exists()


def test_the_same_file_twice_is_refused(tmp_path, capsys):
    a = write(tmp_path / "a" / "s.toml")
    out = tmp_path / "out"
    refused(capsys, ["evolve", str(a), str(a), "--out", str(out)], "twice", "--seeds")
    other_spelling = tmp_path / "a" / "." / "s.toml"
    refused(capsys, ["evolve", str(a), str(other_spelling), "--out", str(out)], "twice")
    link = tmp_path / "link.toml"
    link.symlink_to(a)
    refused(capsys, ["evolve", str(a), str(link), "--out", str(out)], "twice")
    assert not out.exists()


def test_a_scenario_file_may_not_take_the_name_of_a_comparison_file(tmp_path, capsys):
    a = write(tmp_path / "comparison.csv.toml")
    out = tmp_path / "out"
    refused(capsys, ["evolve", str(a), "--seeds", "2", "--out", str(out)], "comparison.csv")
    assert not out.exists()


def test_files_with_different_names_get_their_own_folders_and_rows(tmp_path, capsys):
    """Files and scenario names with maths markup, a leading underscore: distinct folders,
    rows and legend entries, and figures whose titles are plain text (matplotlib hides
    labels starting with '_' and parses $...$ unless told not to)."""
    name = r"tiny $\frac{1}{$ run"  # mathtext would fail to parse it
    maths = write(tmp_path / "a" / "$x^{$.toml", TINY.replace("'tiny'", f"'{name}'"))
    under = write(tmp_path / "b" / "_under.toml", TINY.replace("seed = 3", "seed = 5"))
    out = tmp_path / "out"
    assert cli.main(["evolve", str(maths), str(under), "--out", str(out)]) == 0
    assert (out / "$x^{$" / "seed3" / "summary.json").exists()
    assert (out / "_under" / "seed5" / "summary.json").exists()
    comparison = pd.read_csv(out / "comparison.csv")
    assert comparison["scenario"].tolist() == ["$x^{$", "_under"]
    assert comparison["seed"].tolist() == [3, 5]
    assert (out / "comparison.png").stat().st_size > 0
    for figure in ("traits", "genes", "mutation_scales", "habitat_map"):
        assert (out / "$x^{$" / "seed3" / "figures" / f"{figure}.png").stat().st_size > 0
    assert f"[{name} seed 3]" in capsys.readouterr().err


# --- 2. floats: finite and in range ---------------------------------------------------------


def test_c50_and_contrast_that_overflowed_are_one_line_errors(tmp_path, capsys):
    out = tmp_path / "out"
    for text, field in (
        (TINY + "c50 = 1e308\n", "c50"),
        (TINY + "c50 = inf\n", "c50"),
        (TINY + "noise = 1e-320\n", "noise"),
        (TINY + "[environment]\nworld_change_contrast = [1, inf]\n", "world_change_contrast"),
        (TINY + "[environment]\nworld_change_contrast = [1, 1e300]\n", "world_change_contrast"),
        (TINY + "[environment]\ndeprivation = nan\n", "environment.deprivation"),
        (TINY + "[environment]\ndeprivation = {left = 0.0, right = nan}\n", "right"),
    ):
        path = write(tmp_path / "bad.toml", text)
        refused(capsys, ["evolve", str(path), "--out", str(out)], str(path), field)
        assert not out.exists()


def _float_fields(model: type[BaseModel], prefix: tuple = ()) -> list[tuple]:
    """Every float field of the scenario schema as a key path (a tuple field: its item 0)."""
    found = []
    for name, info in model.model_fields.items():
        kind = info.annotation
        args = typing.get_args(kind)
        if isinstance(kind, type) and issubclass(kind, BaseModel):
            found += _float_fields(kind, (*prefix, name))
        elif typing.get_origin(kind) is dict:
            continue  # genes: checked by test_no_coercion_of_strings_booleans_or_floats
        elif kind is float or float in args:
            found.append((*prefix, name))
        elif typing.get_origin(kind) is tuple and typing.get_args(args[0])[:1] == (float,):
            found.append((*prefix, name, 0))
    return found


def _with(data: dict, path: tuple, value) -> dict:
    data = {**data}
    key = path[0]
    if len(path) == 1:
        data[key] = value
    elif isinstance(path[1], int):
        data[key] = [value, 1.0]
    else:
        data[key] = _with(data.get(key, {}), path[1:], value)
    return data


def test_every_float_field_refuses_inf_and_nan():
    fields = _float_fields(EvolutionScenario)
    names = {".".join(str(p) for p in f) for f in fields}
    assert {"c50", "noise", "environment.world_change_contrast.0", "costs.plasticity"} <= names
    assert {"environment.deprivation", "environment.world_change"} <= names
    for field in fields:
        for value in (math.inf, -math.inf, math.nan, 1e308):
            data = _with({"name": "x"}, field, value)
            with pytest.raises(DevsimInputError) as info:
                parse_evolution_scenario(data, "f.toml")
            message = str(info.value)
            assert message.startswith("f.toml: "), message
            assert str(field[-1] if not isinstance(field[-1], int) else field[-2]) in message


# --- 3. command-line overrides are validated --------------------------------------------------


def test_generations_override_cannot_bypass_the_cap(tmp_path, capsys):
    path = write(tmp_path / "s.toml")
    out = tmp_path / "out"
    for value in ("1000000000", "100001", "0", "-3"):
        refused(
            capsys,
            ["evolve", str(path), "--out", str(out), "--generations", value],
            "--generations",
            str(path),
            "generations",
        )
    refused(
        capsys,
        ["evolve", str(path), "--quick", "--out", str(out), "--generations", "1000000000"],
        "100000",
    )
    assert not out.exists()


def test_seed_overrides_stay_valid_seeds(tmp_path, capsys):

    path = write(tmp_path / "s.toml")
    out = tmp_path / "out"
    base = ["evolve", str(path), "--out", str(out)]
    refused(capsys, [*base, "--seed", "-1"], "--seed")
    refused(capsys, [*base, "--seed", str(SEED_MAX + 1)], "--seed", str(SEED_MAX))
    refused(capsys, [*base, "--seed", str(SEED_MAX), "--seeds", "2"], "--seeds", str(SEED_MAX))
    refused(capsys, [*base, "--seeds", "0"], "--seeds")
    refused(capsys, [*base, "--seeds", "1000000000"], "--seeds")
    top = write(tmp_path / "top.toml", TINY.replace("seed = 3", f"seed = {SEED_MAX}"))
    refused(capsys, ["evolve", str(top), "--out", str(out), "--seeds", "2"], str(top), "seed")
    refused(capsys, [*base, "--workers", "0"], "--workers")
    refused(capsys, [*base, "--workers", "100000"], "--workers", "cores")
    assert not out.exists()


def test_copies_of_a_scenario_are_validated():
    scenario = parse_evolution_scenario({"name": "x", "quick": {"generations": 2}}, "f.toml")
    assert scenario.source == "f.toml"
    assert scenario.quick_version().generations == 2
    assert scenario.with_changes(seed=7).seed == 7
    with pytest.raises(DevsimInputError, match=r"^--generations 9: generations: must be less"):
        scenario.with_changes(source="--generations 9", generations=10**9)
    with pytest.raises(DevsimInputError, match=r"^f\.toml: seed: "):
        scenario.with_changes(seed=-1)


def test_a_quick_run_titles_its_figures_with_its_own_scale():
    full = load_evolution_scenario(scenario_path("islands_timescales", "evolution"))
    assert full.title == full.name == "Timescale spectrum on 16 islands"
    quick = full.quick_version()
    assert quick.name == full.name  # the name is the file's; the figures say the scale run
    assert quick.title == (
        "Timescale spectrum on 16 islands [quick run: 2 islands of 12 organisms, 2 generations]"
    )
    # --seeds and --drift change a quick scenario: it stays quick
    assert quick.with_changes(seed=3).title == quick.title
    assert quick.with_changes(selection=False).title == quick.title
    assert full.with_changes(seed=3).title == full.name


# --- 4. strict types --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "field"),
    [
        ('seed = "7"', "seed"),
        ("seed = true", "seed"),
        ("seed = 2.0", "seed"),
        ("generations = 10.0", "generations"),
        ('recombination = "yes"', "recombination"),
        ("recombination = 1", "recombination"),
        ("mutation_scale = true", "mutation_scale"),
        ('c50 = "4"', "c50"),
        ("per_cell = 2.5", "per_cell"),
        ("grid = [2, 2.0]", "grid[1]"),
        ('grid = ["2", 2]', "grid[0]"),
        ("grid = [true, 2]", "grid[0]"),
        ("evolve = [1]", "evolve[0]"),
        ("genome = { eta = true }", "genome"),
        ('genome = { eta = "0.1" }', "genome"),
        ("genome = { eta = nan }", "genome"),
        ("[environment]\nworld_change_days = [1.0, 2]", "environment.world_change_days[0]"),
        ('[environment]\nworld_change_contrast = ["1", 2]', "environment.world_change_contrast[0]"),
        (
            "[environment]\nworld_change_contrast = [true, 2]",
            "environment.world_change_contrast[0]",
        ),
        ("[environment]\nanisotropy = false", "environment.anisotropy"),
        ("[environment]\norientation_every = 2.0", "environment.orientation_every"),
        ("[environment]\ndeprivation = true", "environment.deprivation"),
        ('[environment]\ndeprivation = "0.5"', "environment.deprivation"),
        ("[environment]\ndeprivation = {left = 0.1, right = true}", "environment.deprivation"),
        ("[costs]\nplasticity = true", "costs.plasticity"),
        ("[quick]\ngenerations = 2.0", "quick.generations"),
    ],
)
def test_no_coercion_of_strings_booleans_or_floats(tmp_path, line, field):
    message = bad_file(tmp_path, with_line(line))
    assert f": {field}" in message


def test_strict_types_through_the_cli(tmp_path, capsys):
    path = write(tmp_path / "s.toml", TINY.replace("seed = 3", 'seed = "7"'))
    refused(capsys, ["evolve", str(path), "--out", str(tmp_path / "o")], str(path), "seed")


def test_the_model_still_takes_numpy_numbers():
    model = EvolutionModel(
        days=np.int64(16),
        assess_from=15,
        assess_every=1,
        grid=np.array([1, 2]),
        per_cell=2,
        neurons=2,
        presentations_per_day=4,
        batch_size=4,
        c50=np.float32(4.0),
        rng=0,
    )
    assert model.config.days == 16
    assert model.config.grid == (1, 2)


# --- 5. [quick] ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "field"),
    [
        ("neurons = 100000", "quick.neurons"),
        ("grid = [0, 1]", "quick.grid[0]"),
        ("grid = [1, 1000]", "quick.grid[1]"),
        ("generations = 1000000", "quick.generations"),
        ("per_cell = 1000", "quick.per_cell"),
        ("batch_size = 100000", "quick.batch_size"),
        ("presentations_per_day = 6\nbatch_size = 4", "quick: presentations_per_day"),
        ("colour = 1", "quick.colour"),
    ],
)
def test_quick_values_out_of_range_name_the_file_and_field(tmp_path, capsys, line, field):
    path = write(tmp_path / "q.toml", TINY + "[quick]\n" + line + "\n")
    refused(
        capsys, ["evolve", str(path), "--quick", "--out", str(tmp_path / "o")], str(path), field
    )


# --- 6. names -----------------------------------------------------------------------------------


@pytest.mark.parametrize("char", ["\\u0000", "\\u001b", "\\u0007", "\\r", "\\u202e"])
def test_names_with_control_characters_are_refused(tmp_path, char):
    message = bad_file(tmp_path, TINY.replace("name = 'tiny'", f'name = "a{char}b"'))
    assert ": name: " in message
    assert all(c.isprintable() for c in message)


def test_names_are_not_blank_or_too_long(tmp_path):
    assert ": name: " in bad_file(tmp_path, TINY.replace("'tiny'", "'   '"))
    long = "n" * (NAME_MAX + 1)
    assert str(NAME_MAX) in bad_file(tmp_path, TINY.replace("'tiny'", f"'{long}'"))
    ok = write(tmp_path / "ok.toml", TINY.replace("'tiny'", f"'{long[:NAME_MAX]}'"))
    assert len(load_evolution_scenario(ok).name) == NAME_MAX


# --- 7. --out before any work ---------------------------------------------------------------


def test_out_is_checked_before_the_simulation(tmp_path, capsys):
    path = write(tmp_path / "s.toml")
    a_file = write(tmp_path / "file.txt", "x")
    refused(capsys, ["evolve", str(path), "--out", str(a_file)], "--out")
    refused(capsys, ["evolve", str(path), "--out", str(a_file / "below")], "--out")
    refused(capsys, ["evolve", str(path), "--out", ""], "--out")
    refused(capsys, ["evolve", str(path), "--out", str(tmp_path / ("n" * 300))], "too long")
    assert a_file.read_text() == "x"


def test_things_in_the_way_of_results_are_found_before_the_simulation(tmp_path, capsys):
    path = write(tmp_path / "s.toml")
    out = tmp_path / "out"
    (out / "generations.parquet").mkdir(parents=True)
    refused(capsys, ["evolve", str(path), "--out", str(out)], "generations.parquet")
    many = tmp_path / "many"
    (many / "comparison.csv").mkdir(parents=True)
    refused(capsys, ["evolve", str(path), "--seeds", "2", "--out", str(many)], "comparison.csv")
    blocked = tmp_path / "blocked"
    write(blocked / "s" / "seed4", "a file where a run's folder goes")
    refused(capsys, ["evolve", str(path), "--seeds", "2", "--out", str(blocked)], "seed4")
    assert not (blocked / "s" / "seed3").exists()  # nothing ran, nothing half-written


# --- 8. anything else that tracebacked --------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ("environment = [1]", "environment"),
        ("[[environment]]\nanisotropy = 1", "environment"),
        ("environment = 3", "environment"),
        ("[environment]\ndeprivation = {left = 0.1}", "environment.deprivation"),
        ("[environment]\ndeprivation = {left = 0.1, right = 0.2, up = 1}", "deprivation"),
        ("[environment]\ndeprivation = [0.1, 0.2]", "environment.deprivation"),
        ("[environment]\ndeprivation = {left = {a = 1}, right = 0.2}", "environment.deprivation"),
        ("[environment]\nworld_change = {left = -1, right = 0.2}", "environment.world_change"),
        ("[environment]\nworld_change_days = [1]", "world_change_days"),
        ("[environment]\nworld_change_days = [1, 2, 3]", "world_change_days"),
        ("[environment]\nworld_change_days = [1, 100000000000]", "world_change_days[1]"),
        ("[environment]\ndeprivation_days = [[1], 2]", "deprivation_days[0]"),
        ("[environment]\norientation_every = 1000000000000", "orientation_every"),
        ("grid = [[1, 2], 3]", "grid[0]"),
        ("grid = 5", "grid"),
        ("genome = 3", "genome"),
        ("genome = { wings = 1 }", "genome"),
        ("name2 = { a = 1 }", "allowed keys"),
        ("[costs]\nbogus = 1", "costs.bogus"),
        ("evolve = 'eta'", "evolve"),
        ("description = 1", "description"),
        ("species = 1", "species"),
        ("seed = 1979-05-27", "seed"),
    ],
)
def test_nested_and_wrongly_typed_tables(tmp_path, capsys, text, field):
    path = write(tmp_path / "bad.toml", with_line(text))
    refused(capsys, ["evolve", str(path), "--out", str(tmp_path / "o")], str(path), field)


def test_unreadable_scenario_files(tmp_path, capsys):
    out = str(tmp_path / "o")
    refused(capsys, ["evolve", str(tmp_path / "missing.toml"), "--out", out], "missing.toml")
    refused(capsys, ["evolve", str(tmp_path), "--out", out], str(tmp_path))
    binary = tmp_path / "binary.toml"
    binary.write_bytes(b"name = '\xff'\n")
    refused(capsys, ["evolve", str(binary), "--out", out], "binary.toml")
    refused(capsys, ["evolve", str(write(tmp_path / "m.toml", "name = ")), "--out", out], "m.toml")
    refused(capsys, ["evolve", str(tmp_path / ("n" * 300 + ".toml")), "--out", out], "nnn")
    refused(capsys, ["evolve", "a\x00b.toml", "--out", out], "scenario file")
    deep = write(tmp_path / "deep.toml", "x = " + "[" * 5000 + "]" * 5000 + "\n")
    refused(capsys, ["evolve", str(deep), "--out", out], "deep.toml")


@pytest.mark.parametrize(
    ("table", "field", "allowed"),
    [
        # three days of deprivation starting on days 0-2 all end before the eyes open (P14)
        ("deprivation = 1.0\ndeprivation_days = [0, 2]\ndeprivation_length = 3\n",
         "environment.deprivation_days", "allowed days 12..15"),
        ("world_change = 1.0\nworld_change_days = [5, 15]\n",
         "environment.world_change_days", "allowed days 14..15"),
    ],
)  # fmt: skip
def test_an_event_before_the_eyes_open_is_refused_not_reported(tmp_path, table, field, allowed):
    """A deprivation that ends before eye opening deprives nothing, a change of world
    before it is no change the animal sees: refused, where they were run and counted in
    deprived_fraction / world_changed_fraction."""
    message = bad_file(tmp_path, TINY + "[environment]\n" + table)
    assert field in message
    assert "before the eyes open (day 14)" in message
    assert allowed in message
    # from the first day that reaches the sighted life, the same event is accepted
    start = allowed.split()[-1].split("..")[0]
    key = field.rpartition(".")[2]
    fixed = table.replace(table.split(f"{key} = ")[1].split("\n")[0], f"[{start}, 15]")
    load_evolution_scenario(write(tmp_path / "ok.toml", TINY + "[environment]\n" + fixed))


def test_the_budget_counts_every_generation_lived_the_founders_included(monkeypatch):
    """evolution_cost counts what a run lives: the founders' generation 0 and each bred one
    (it left out one generation)."""
    from devsim.budget import (
        EVOLUTION_FIXED_UNITS,
        EVOLUTION_OVERHEAD,
        NEURONS,
        development_cost,
        evolution_cost,
    )

    scenario = parse_evolution_scenario(tomllib.loads(TINY), source="tiny.toml")
    lived = []
    live = EvolutionModel.live
    monkeypatch.setattr(EvolutionModel, "live", lambda self: (lived.append(1), live(self)))
    model = EvolutionModel(**scenario.model_kwargs(), rng=3)
    for _ in range(scenario.generations):
        model.step()
    one_life = development_cost(4, 2, 16, 4).organism_days  # TINY: 4 organisms, 16 days
    # ... of 2 neurons, whose presentations cost as if they had EVOLUTION_FIXED_UNITS more
    one_life *= (2 + EVOLUTION_FIXED_UNITS) / 2 * NEURONS / (NEURONS + EVOLUTION_FIXED_UNITS)
    one_life *= EVOLUTION_OVERHEAD
    assert evolution_cost(scenario).organism_days == pytest.approx(len(lived) * one_life)
    assert len(lived) == scenario.generations + 1


def test_a_reader_that_leaves_early_costs_no_run(tmp_path):
    """`devsim evolve ... | head -1`: the progress lines after the reader has gone are
    dropped, the runs finish and write their results (a failed print had failed them)."""
    import subprocess
    import sys

    source = write(tmp_path / "tiny.toml", with_line("generations = 3"))
    out = tmp_path / "o"
    code = "import sys; from devsim.cli import main; sys.exit(main(sys.argv[1:]))"
    argv = [sys.executable, "-c", code, "evolve", str(source), "--seeds", "2", "--out", str(out)]
    with subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE) as proc:
        assert proc.stdout.readline()  # the first progress line, then the reader leaves
        proc.stdout.close()
        err = proc.stderr.read().decode()
        assert proc.wait(timeout=120) == 0, err
    assert "Error" not in err
    assert (out / "comparison_summary.csv").is_file()
    assert not list(out.rglob("error.txt"))


def test_a_choice_outside_its_list_says_what_it_got_once(tmp_path):
    message = bad_file(tmp_path, TINY.replace("seed = 3", 'seed = 3\nspecies = "human"'))
    assert message.endswith(": species: must be 'mouse', 'cat', 'gad65_ko' or 'lynx1_ko', "
                            "got 'human'"), message  # fmt: skip


@pytest.mark.parametrize(
    ("data", "said"),
    [
        ({"generations": 0}, "generations: must be greater than or equal to 1, got 0"),
        ({"quick": {"generations": -1}}, "quick.generations: must be greater than or equal to 1"),
    ],
)
def test_an_evolution_value_out_of_range_names_the_whole_range(data, said):
    """As a scenario's: pydantic's message names only the bound that was crossed."""
    with pytest.raises(DevsimInputError) as info:
        parse_evolution_scenario({"name": "x"} | data, "f.toml")
    assert str(info.value).startswith(f"f.toml: {said}")
    assert str(info.value).endswith("; allowed: 1 to 100000")

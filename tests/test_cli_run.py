"""`devsim run`: outputs, determinism, and one clear line for every kind of bad input."""

from __future__ import annotations

import io
import json
import sys
import textwrap

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from devsim.cli import main
from devsim.errors import DevsimInputError
from devsim.provenance import code_digest
from devsim.scenario import parse_scenario

SMALL = """
name = "small"
seed = 3
days = 20
presentations_per_day = 160

[[groups]]
name = "control"
organisms = 3

[[groups]]
name = "md"
organisms = 3
rearing = [{ from = 14, to = 20, condition = "lid_suture", eye = "left" }]
"""


def write(tmp_path, text, name="scenario.toml"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


def test_run_writes_summary_timeline_and_figures(tmp_path, capsys):
    scenario = write(tmp_path, SMALL)
    out = tmp_path / "out"
    assert main(["run", str(scenario), "--out", str(out)]) == 0
    summary = json.loads((out / "summary.json").read_text())
    for group in ("control", "md"):
        final = summary["groups"][group]["final"]
        assert len(final["od_histogram"]) == 7
        for key in (
            "mean_odi",
            "cbi",
            "binocular_fraction",
            "responsive_fraction",
            "response_left",
            "response_right",
            "acuity_left",
            "acuity_right",
            "synapses",
        ):
            assert key in final
        assert len(summary["groups"][group]["daily"]["day"]) == 21
    # the folder says what ran, without the TOML file it came from
    recorded = json.loads((out / "scenario.json").read_text())["scenario"]
    assert recorded["groups"][1]["rearing"][0] == {
        "from": 14, "to": 20, "condition": "lid_suture", "eye": "left"
    }  # fmt: skip
    assert recorded["presentations_per_day"] == 160
    table = pd.read_parquet(out / "timeline.parquet")
    assert set(table["group"]) == {"control", "md"}
    assert len(table) == 2 * 21
    # both name the code that made them
    made = json.loads((out / "scenario.json").read_text())
    assert made["code"] == table.attrs["devsim"]["code"] == code_digest()
    assert (out / "figures" / "od_histograms.png").stat().st_size > 1000
    assert (out / "figures" / "timeline.png").stat().st_size > 1000
    assert "control" in capsys.readouterr().out
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".out.staging")]


SILENT = """
name = "silent"
days = 3
neurons = 4
presentations_per_day = 16

[[groups]]
name = "control"
organisms = 2
genome = { w_max = 0.01, density = 0.02, sprout_rate = 0.0 }
"""


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize("quiet", [False, True])
def test_run_shows_a_bar_of_days_on_a_terminal_unless_quiet(tmp_path, monkeypatch, quiet):
    scenario = write(tmp_path, SMALL)
    terminal = _Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    quiet_flag = ["--quiet"] if quiet else []
    assert main(["run", str(scenario), "--out", str(tmp_path / "out"), *quiet_flag]) == 0
    if quiet:
        assert terminal.getvalue() == ""
    else:
        assert "devsim run: 100%" in terminal.getvalue()
        assert "20/20" in terminal.getvalue()


def test_measures_of_a_cortex_that_does_not_respond_are_missing_not_nan(tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["run", str(write(tmp_path, SILENT)), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "nan" not in printed.lower()
    final = json.loads((out / "summary.json").read_text())["groups"]["control"]["final"]
    assert final["responsive_fraction"] == 0
    assert final["cbi"] is None  # no responsive cell, no OD: null
    assert final["mean_odi"] is None
    assert "n/a" in printed
    cbi = pq.read_table(out / "timeline.parquet").column("cbi")
    assert cbi[-1].as_py() is None  # stored as a null (read back by pandas as NaN)


def test_same_seed_same_bytes_different_seed_differs(tmp_path):
    scenario = write(tmp_path, SMALL)
    outs = [tmp_path / name for name in ("a", "b", "c")]
    assert main(["run", str(scenario), "--out", str(outs[0])]) == 0
    assert main(["run", str(scenario), "--out", str(outs[1])]) == 0
    assert main(["run", str(scenario), "--out", str(outs[2]), "--seed", "4"]) == 0
    a, b, c = ((o / "summary.json").read_bytes() for o in outs)
    assert a == b
    assert a != c


BAD = {
    "unknown top-level key": ("speed = 3\n" + SMALL, "speed: unknown key"),
    "unknown group key": (
        SMALL.replace('name = "md"', 'name = "md"\ncolour = "red"'),
        "groups[1].colour: unknown key",
    ),
    "unknown condition": (  # what was given, and in which group (not only its index)
        SMALL.replace("lid_suture", "blindfold"),
        "groups[1].rearing[0].condition: must be 'normal', 'lid_suture', 'inactivate', "
        "'binocular_suture', 'binocular_inactivation', 'dark' or 'strabismus', got 'blindfold' "
        "(group 'md')",
    ),
    "days below the bound": (  # the bound as the author's words, and what was given
        SMALL.replace("days = 20", "days = 0"),
        "days: must be greater than or equal to 1, got 0",
    ),
    "to before from": (
        SMALL.replace("from = 14, to = 20", "from = 18, to = 15"),
        "'to' (15) must be after 'from' (18)",
    ),
    "day outside life": (
        SMALL.replace("from = 14, to = 20", "from = 14, to = 30"),
        "outside the simulated life",
    ),
    "bad eye": (SMALL.replace('eye = "left"', 'eye = "middle"'), "groups[1].rearing[0].eye"),
    "negative organisms": (
        SMALL.replace("organisms = 3", "organisms = -2", 1),
        "groups[0].organisms",
    ),
    "gene out of bounds": (
        SMALL.replace(
            "organisms = 3\n\n[[groups]]", "organisms = 3\ngenome = { eta = -1 }\n\n[[groups]]"
        ),
        "gene 'eta' = -1.0 is out of bounds",
    ),
    "unknown gene": (
        SMALL.replace(
            "organisms = 3\n\n[[groups]]", "organisms = 3\ngenome = { wisdom = 1 }\n\n[[groups]]"
        ),
        "unknown gene 'wisdom'",
    ),
    "misspelt gene": (  # the near names first: the list of every gene was cut there
        SMALL.replace(
            "organisms = 3\n\n[[groups]]", "organisms = 3\ngenome = { g_inhh = 1 }\n\n[[groups]]"
        ),
        "unknown gene 'g_inhh' (did you mean 'g_inh' or 'r_inh' or 'lat_inh'?); allowed genes: "
        "eta, tau_theta,",
    ),
    "day of part batches": (
        SMALL.replace("presentations_per_day = 160", "presentations_per_day = 100"),
        "presentations_per_day (100) must be a multiple of batch_size (16)",
    ),
    "malformed toml": ("name = [unclosed\n", "malformed TOML"),
    "missing eye": (SMALL.replace(', eye = "left"', ""), "needs eye"),
    # the model's own field names are not keys: `start` ran as `from`
    "field name for a key": (
        SMALL.replace("from = 14, to = 20", "start = 14, to = 20"),
        "groups[1].rearing[0].start: unknown key; allowed keys: from, to, condition, eye",
    ),
    "group-level check names the group": (
        SMALL.replace("from = 14, to = 20", "from = 14, to = 40"),
        "groups[1].rearing[0]: 'to' = 40 is outside the simulated life; allowed 0..days (20) "
        "(group 'md')",
    ),
    "misnamed key": (  # named, not only the key it leaves missing
        SMALL.replace("from = 14, to = 20", "from = 14, until = 20"),
        "groups[1].rearing[0].until: unknown key",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_scenarios_give_one_line_exit_2_and_no_output(tmp_path, capsys, case):
    text, expected = BAD[case]
    scenario = write(tmp_path, text)
    out = tmp_path / "out"
    assert main(["run", str(scenario), "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    assert str(scenario) in err
    assert expected in err, err
    assert "…" not in err, err  # nothing cut
    assert not out.exists()


def test_missing_file(tmp_path, capsys):
    assert main(["run", str(tmp_path / "nope.toml"), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "nope.toml: no such scenario file" in err
    assert not (tmp_path / "o").exists()


def test_one_table_where_a_list_of_tables_belongs_says_double_brackets(tmp_path, capsys):
    """[groups] (one table) once read "Input should be a valid tuple, got a table"."""
    path = write(tmp_path, 'name = "x"\ndays = 5\n[[groups]]\nname = "a"\n[groups.rearing]\n'
                 'from = 1\nto = 2\ncondition = "dark"\n')  # fmt: skip
    assert main(["run", str(path), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "groups[0].rearing:" in err
    assert "written [[groups.rearing]], with double brackets" in err


def test_the_printed_od_classes_line_up_in_columns():
    """Each OD class's count is as wide as the widest of any group, so the classes of the
    printed table stand in columns."""
    from devsim.experiment import final_table
    from devsim.outputs import table_text

    summary = {
        "reference_group": "control",
        "groups": {
            "control": {"final": {"cbi": 0.64, "od_histogram": [37, 114, 165, 133, 51, 12, 0]}},
            "md": {"final": {"cbi": 0.41, "od_histogram": [3, 47, 65, 68, 135, 145, 1029]}},
        },
    }
    table = final_table(summary)
    lines = table_text(table).splitlines()
    assert lines[1].endswith("  37  114  165  133   51   12    0")
    assert lines[2].endswith("   3   47   65   68  135  145 1029")
    assert table["shift"].round(3).tolist() == [0, 0.23]  # the reference's CBI minus each's


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ('name = "x"\n[[groups]]\nname = "a"\n', "days: required field is missing (a whole "
         "number from 1 to 3650)"),
        ('name = "x"\ndays = 5\n', "groups: required field is missing (one or more [[groups]] "
         "tables)"),
        ('days = 5\n[[groups]]\nname = "a"\n', "name: required field is missing (text in quotes)"),
        ('name = "x"\ndays = 5\n[[groups]]\nname = "a"\nrearing = [{ from = 1, to = 3 }]\n',
         "groups[0].rearing[0].condition: required field is missing (one of: normal, lid_suture,"),
    ],
)  # fmt: skip
def test_a_missing_field_says_what_it_takes(tmp_path, capsys, text, says):
    path = write(tmp_path, text)
    assert main(["run", str(path), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"devsim: error: {path}: {says}")
    assert "\n" not in err
    assert not (tmp_path / "o").exists()


def test_a_closed_standard_error_is_no_crash(tmp_path):
    """`devsim scenarios 2>&-` exited 120: the wrapper around a stream Python had set to
    None failed as the command ended."""
    import os
    import subprocess

    code = "import sys; from devsim.cli import main; sys.exit(main(sys.argv[1:]))"
    done = subprocess.run(
        [sys.executable, "-c", code, "scenarios"],
        stdout=subprocess.PIPE,
        preexec_fn=lambda: os.close(2),  # noqa: PLW1509  (the child alone, before exec)
        timeout=120,
    )
    assert done.returncode == 0
    assert b"md_critical" in done.stdout


def test_summary_holds_each_animals_cbi_and_their_spread(tmp_path, capsys):
    """A run gave only pooled measures: no per-animal CBI, no spread between animals, and
    the printed table no shift (Gordon & Stryker's n is mice, not cells)."""
    out = tmp_path / "out"
    assert main(["run", str(write(tmp_path, SMALL)), "--out", str(out)]) == 0
    summary = json.loads((out / "summary.json").read_text())
    for group in summary["groups"].values():
        cbis = group["per_organism"]["cbi"]
        assert len(cbis) == len(group["per_organism"]["window_opened"]) == 3
        assert group["final"]["cbi_sd"] == pytest.approx(np.std(cbis, ddof=1), abs=2e-6)
        assert min(cbis) <= group["final"]["cbi"] <= max(cbis)  # pooled lies among them
    printed = capsys.readouterr().out
    header = next(line for line in printed.splitlines() if line.lstrip().startswith("group"))
    assert header.split()[:4] == ["group", "cbi", "cbi_sd", "shift"]
    assert "shift: control's CBI minus the group's" in printed


@pytest.mark.parametrize("name", ["Control", "CONTROL"])
def test_a_capitalised_control_is_still_the_reference(tmp_path, name):
    """``Control`` made the first group, a deprived one, the reference of every shift."""
    from devsim.batch import _reference
    from devsim.scenario import load_scenario

    text = f"""
    name = "deprived first"
    days = 20
    [[groups]]
    name = "md"
    rearing = [{{ from = 14, to = 20, condition = "lid_suture", eye = "left" }}]
    [[groups]]
    name = "{name}"
    """
    scenario = load_scenario(write(tmp_path, text))
    assert [g.name for g in scenario.groups] == ["md", name]
    assert scenario.reference == name
    assert _reference([{"name": g.name} for g in scenario.groups]) == name


def test_a_runs_scenario_json_runs_it_again_byte_for_byte(tmp_path, capsys):
    """A run's record was not an input (``malformed TOML``): to rerun a folder's run, the
    scenario had to be written back into TOML by hand."""
    first, again = tmp_path / "first", tmp_path / "again"
    assert main(["run", str(write(tmp_path, SMALL)), "--out", str(first), "--seed", "9"]) == 0
    assert main(["run", str(first / "scenario.json"), "--out", str(again)]) == 0
    for name in ("summary.json", "scenario.json"):
        assert (again / name).read_bytes() == (first / name).read_bytes(), name


def test_a_world_given_to_the_model_is_recorded_and_runs_again(tmp_path):
    """``DevelopmentModel(..., world=WorldParams(sigma_closed=0.3))`` saved with save_run
    gave a scenario.json without the world, and running it again gave other numbers."""
    from devsim import DevelopmentModel, save_run
    from devsim.scenario import load_scenario
    from devsim.senses import WorldParams

    scenario = load_scenario(write(tmp_path, SMALL))
    model = DevelopmentModel(scenario, world=WorldParams(sigma_closed=0.3))
    md = model.day_inputs(15, slice(3, 6))[1]  # the sutured eye's noise on day 15
    assert md[:, 0].tolist() == [0.3] * 3
    while model.running:
        model.step()
    first, again, standard = tmp_path / "first", tmp_path / "again", tmp_path / "standard"
    save_run(model, first)
    record = json.loads((first / "scenario.json").read_text())["scenario"]
    assert record["world"]["sigma_closed"] == 0.3
    assert main(["run", str(first / "scenario.json"), "--out", str(again)]) == 0
    assert (again / "summary.json").read_bytes() == (first / "summary.json").read_bytes()
    assert main(["run", str(write(tmp_path, SMALL)), "--out", str(standard)]) == 0
    assert (standard / "summary.json").read_bytes() != (first / "summary.json").read_bytes()
    assert "world" not in json.loads((standard / "scenario.json").read_text())["scenario"]


def test_a_scenario_sets_the_rearing_statistics_in_its_world_table(tmp_path, capsys):
    from devsim.model import DevelopmentModel
    from devsim.scenario import load_scenario
    from devsim.senses import WorldParams

    path = write(tmp_path, SMALL + "\n[world]\nsigma_closed = 0.5\nwave_gain = 0.2\n")
    scenario = load_scenario(path)
    model = DevelopmentModel(scenario)
    assert (model.world_params.sigma_closed, model.world_params.wave_gain) == (0.5, 0.2)
    with pytest.raises(ValueError, match="sigma_closed is 0.5 in the scenario's .world. table "
                       "and 1.5 in world=; give it once"):  # fmt: skip
        DevelopmentModel(scenario, world=WorldParams(sigma_closed=1.5))
    # the standard world, or only its apparatus (the acuity test) changed: the table holds
    both = DevelopmentModel(scenario, world=WorldParams(acuity_sfs=(0.05, 0.1), sigma_dark=0.2))
    assert both.experiment.world.sigma_closed == 0.5
    assert both.world_params.acuity_sfs == (0.05, 0.1)
    assert both.experiment.world.sigma_dark == 0.2  # changed by world=: recorded
    assert DevelopmentModel(scenario, world=WorldParams()).experiment == model.experiment
    assert main(["run", str(write(tmp_path, SMALL + "\n[world]\nsigma_lid = 1\n")),
                 "--out", str(tmp_path / "o")]) == 2  # fmt: skip
    err = capsys.readouterr().err.strip()
    assert err.endswith("world.sigma_lid: unknown key; allowed keys: sigma_open, sigma_closed, "
                        "sigma_dark, wave_gain"), err  # fmt: skip


def test_a_world_no_scenario_can_record_is_not_saved_as_if_it_could(tmp_path):
    from devsim import DevelopmentModel, save_run
    from devsim.errors import DevsimInputError
    from devsim.senses import WorldParams

    model = DevelopmentModel(days=2, groups=[{"name": "c", "organisms": 1}],
                             world=WorldParams(acuity_sfs=(0.05, 0.1)))  # fmt: skip
    while model.running:
        model.step()
    with pytest.raises(DevsimInputError, match="sets acuity_sfs, which a scenario cannot"):
        save_run(model, tmp_path / "o")
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ('{"name": "x"}', "not a run's scenario.json (no 'scenario' table)"),
        ('{"scenario": ', "malformed JSON"),
        ('{"scenario": {"name": "x", "seed": null, "days": 3, "groups": [{"name": "c"}]}}',
         "seed: null: the run was drawn from a generator, not a seed"),
    ],
)  # fmt: skip
def test_a_json_file_that_is_no_runs_record_is_one_line(tmp_path, capsys, text, says):
    path = write(tmp_path, text, "scenario.json")
    assert main(["run", str(path), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert str(path) in err
    assert says in err
    assert not (tmp_path / "out").exists()


def test_json_in_a_toml_file_says_what_devsim_reads(tmp_path, capsys):
    path = write(tmp_path, '{"name": "x", "days": 3}')
    assert main(["run", str(path), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "devsim reads TOML; devsim run also reads a run's scenario.json" in err


def test_a_shift_read_after_the_deprivation_ended_is_also_given_at_its_end(tmp_path, capsys):
    """The table reads every group on the last day: days of vision after an MD undo part
    of it (a batch gave shift_cbi_md_end; a run said nothing)."""
    text = SMALL.replace("from = 14, to = 20", "from = 12, to = 17")
    out = tmp_path / "out"
    assert main(["run", str(write(tmp_path, text)), "--out", str(out)]) == 0
    daily = json.loads((out / "summary.json").read_text())["groups"]
    then = daily["control"]["daily"]["cbi"][17] - daily["md"]["daily"]["cbi"][17]
    printed = capsys.readouterr().out
    assert (
        f"note: md's deprivation ended on day 17; its shift from control then was {then:.3f}, "
        "3 days before the table's"
    ) in printed


def test_a_record_of_other_kinds_or_shapes_is_one_line(tmp_path, capsys):
    """An evolution run's record, a JSON object with a key twice (JSON keeps the last one
    silently) or one nested past the parser's depth (a traceback) are each one line."""
    deep = '{"scenario": ' + "[" * 100_000 + "]" * 100_000 + "}"
    cases = {
        "evolution.json": ('{"scenario": {"name": "e", "generations": 3, "grid": [3, 3]}}',
                           "the record of a devsim evolve run"),
        "twice.json": ('{"scenario": {"name": "a", "name": "b", "days": 3, "groups": []}}',
                       "malformed JSON: the key 'name' is given twice"),
        "deep.json": (deep, "malformed JSON: nested too deeply"),
    }  # fmt: skip
    for name, (text, says) in cases.items():
        path = write(tmp_path, text, name)
        assert main(["run", str(path), "--out", str(tmp_path / "out")]) == 2, name
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1, err
        assert says in err, err
        assert not (tmp_path / "out").exists()


def test_an_unseeded_record_runs_with_seed_and_a_record_of_other_code_is_noted(tmp_path, capsys):
    record = {
        "code": "0.0.0+someone-else",
        "scenario": {"name": "x", "seed": None, "days": 3, "groups": [{"name": "c"}]},
    }
    path = write(tmp_path, json.dumps(record), "scenario.json")
    assert main(["run", str(path), "--out", str(tmp_path / "o"), "--seed", "4"]) == 0
    assert json.loads((tmp_path / "o" / "summary.json").read_text())["seed"] == 4
    printed = capsys.readouterr().out
    assert "was run by other devsim code (0.0.0+someone-else)" in printed
    assert main(["run", str(path), "--out", str(tmp_path / "p")]) == 2
    assert "pass --seed N" in capsys.readouterr().err


def test_the_reference_group_gets_no_note_of_its_own_deprivation(tmp_path, capsys):
    text = """
    name = "deprived reference"
    days = 8
    presentations_per_day = 64
    [[groups]]
    name = "md"
    organisms = 2
    rearing = [{ from = 3, to = 5, condition = "lid_suture", eye = "left" }]
    [[groups]]
    name = "other"
    organisms = 2
    """
    assert main(["run", str(write(tmp_path, text)), "--out", str(tmp_path / "o")]) == 0
    assert "note: md's deprivation" not in capsys.readouterr().out  # its shift from itself


TREATED = """
name = "treated controls"
seed = 3
days = 12
presentations_per_day = 64
[[groups]]
name = "control"
organisms = 3
[[groups]]
name = "drug_control"
organisms = 3
treatments = [{ from = 2, to = 12, drug = "fluoxetine" }]
[[groups]]
name = "drug_md"
organisms = 3
control = "drug_control"
treatments = [{ from = 2, to = 12, drug = "fluoxetine" }]
rearing = [{ from = 6, to = 10, condition = "lid_suture", eye = "left" }]
"""


def test_a_treated_group_is_measured_against_its_own_control(tmp_path, capsys):
    """Every shift was against one reference: a treated group's shift mixed the drug's
    effect into the deprivation's (adult_plasticity's chondroitinase_md vs control)."""
    out = tmp_path / "out"
    assert main(["run", str(write(tmp_path, TREATED)), "--out", str(out)]) == 0
    final = {
        name: group["final"]["cbi"]
        for name, group in json.loads((out / "summary.json").read_text())["groups"].items()
    }
    printed = capsys.readouterr().out
    row = next(line for line in printed.splitlines() if line.lstrip().startswith("drug_md"))
    assert float(row.split()[3]) == pytest.approx(
        final["drug_control"] - final["drug_md"], abs=6e-4
    )
    assert "shift: control (or the group's own control: drug_control)'s CBI" in printed
    assert "drug_md's deprivation ended on day 10; its shift from drug_control" in printed


@pytest.mark.parametrize("control", ["drug_md", "nobody"])
def test_a_control_must_be_another_group(tmp_path, capsys, control):
    text = TREATED.replace('control = "drug_control"', f'control = "{control}"')
    assert main(["run", str(write(tmp_path, text)), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip()
    assert (
        f"groups[2].control: '{control}' is not another group of the scenario; allowed: "
        "control, drug_control (group 'drug_md')" in err
    )


def test_a_control_named_in_a_scenario_of_one_group_says_what_to_do():
    """The only group's control said "allowed: " and nothing after it."""
    with pytest.raises(DevsimInputError, match="allowed: none: add the control group"):
        parse_scenario({"name": "x", "days": 3, "groups": [{"name": "x", "control": "c"}]})

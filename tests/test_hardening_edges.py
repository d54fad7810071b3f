"""Edge-of-range input found by an attack pass on every command: each ends in one line and
exit 2 before any work, or in a documented missing value, never a traceback or a NaN."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys

import pytest
from cli_support import TINY, one_line, run_cli, write

import devsim.batch as batch
from devsim.budget import (
    BASE_BYTES,
    MAP_DAY_WORK,
    MAP_HISTORY_BYTES,
    SHEET_WORK,
    scenario_cost,
)
from devsim.cli import main
from devsim.provenance import code_digest
from devsim.scenario import parse_scenario

DEVSIM = [sys.executable, "-c", "import sys; from devsim.cli import main; sys.exit(main())"]

EVOLUTION = """\
name = "e"
generations = 2
days = 5
assess_from = 4
assess_every = 1
grid = [2, 1]
per_cell = 1
neurons = 2
presentations_per_day = 16
batch_size = 16
"""


def refused(capsys, argv: list, *words: str) -> str:
    """Exit 2 with one line holding ``words``."""
    code, err = run_cli(capsys, *argv)
    assert code == 2, err
    line = one_line(err)
    for word in words:
        assert word in line
    return line


@pytest.mark.parametrize(
    ("text", "words"),
    [
        (TINY.replace("days = 3", "days = " + "9" * 4301), "more than 4,300 digits"),
        (TINY + "genome = { eta = " + "9" * 400 + " }\n", "too large for a float"),
    ],
)
def test_numbers_beyond_any_float_are_one_line(tmp_path, capsys, text, words):
    source = write(tmp_path / "s.toml", text)
    refused(capsys, ["run", source, "--out", tmp_path / "o"], words)
    assert not (tmp_path / "o").exists()


def test_a_sweep_link_with_a_huge_offset_is_one_line(tmp_path, capsys):
    write(tmp_path / "base.toml", TINY.replace("days = 3", "days = 6"))
    sweep = write(
        tmp_path / "sweep.toml",
        '[sweep]\nbase = "base.toml"\nseeds = 1\n[sweep.grid]\n"days" = [5, 6]\n'
        '[sweep.link]\n"groups.control.organisms" = "days + ' + "9" * 5000 + '"\n',
    )
    refused(capsys, ["batch", sweep, "--out", tmp_path / "o", "--workers", "1"], "link")


def test_an_over_long_base_name_is_one_line(tmp_path, capsys):
    sweep = write(
        tmp_path / "sweep.toml",
        f'[sweep]\nbase = "{"x" * 300}.toml"\nseeds = 1\n[sweep.grid]\n"days" = [2]\n',
    )
    refused(capsys, ["batch", sweep, "--out", tmp_path / "o", "--workers", "1"], "sweep.base")


def test_a_byte_order_mark_is_not_part_of_the_file(tmp_path, capsys):
    source = write(tmp_path / "s.toml", TINY, encoding="utf-8-sig")  # as Notepad saves it
    assert source.read_bytes().startswith(b"\xef\xbb\xbf")
    assert main(["run", str(source), "--out", str(tmp_path / "o")]) == 0


@pytest.mark.parametrize("size", ["1e300G", "1e400", "inf"])
def test_a_memory_limit_beyond_any_number_is_one_line(tmp_path, capsys, size):
    source = write(tmp_path / "s.toml", TINY)
    refused(capsys, ["run", source, "--max-memory", size, "--out", tmp_path / "o"], "finite")


def test_out_through_broken_symbolic_links_is_refused_before_the_work(tmp_path, capsys):
    source = write(tmp_path / "s.toml", TINY)
    (tmp_path / "dangling").symlink_to(tmp_path / "nowhere" / "x")
    (tmp_path / "a").symlink_to(tmp_path / "b")
    (tmp_path / "b").symlink_to(tmp_path / "a")
    for out in ("dangling", "a", "a/sub"):
        refused(capsys, ["run", source, "--out", tmp_path / out], "--out")
    refused(capsys, ["scenarios", "copy", "normal", tmp_path / "dangling"], "symbolic link")
    assert not (tmp_path / "nowhere").exists()


def test_an_out_name_leaves_room_for_its_staging_folder(tmp_path, capsys):
    source = write(tmp_path / "s.toml", TINY)
    refused(capsys, ["run", source, "--out", tmp_path / ("n" * 240)], "name too long")
    assert main(["run", str(source), "--out", str(tmp_path / ("n" * 223))]) == 0


def test_evolve_never_writes_outside_out(tmp_path, capsys, monkeypatch):
    work = tmp_path / "work"
    for name in ("...toml", "b.toml"):
        write(work / name, EVOLUTION)
    monkeypatch.chdir(work)
    refused(capsys, ["evolve", "...toml", "b.toml", "--out", "res"], "dot")
    assert sorted(p.name for p in work.iterdir()) == ["...toml", "b.toml"]


def test_missing_evolution_measures_print_as_n_a(tmp_path, capsys):
    source = write(tmp_path / "e.toml", EVOLUTION)
    assert main(["evolve", str(source), "--out", str(tmp_path / "o")]) == 0
    printed = capsys.readouterr().out
    assert "nan" not in printed.lower()
    assert "window_open_mean" in printed  # no window opened in 5 days: n/a
    assert "n/a" in printed
    summary = json.loads((tmp_path / "o" / "summary.json").read_text())
    assert "NaN" not in json.dumps(summary)


def test_a_sheet_is_costed_by_its_units(tmp_path):
    point = parse_scenario(
        {"name": "p", "days": 1, "groups": [{"name": "c", "organisms": 40}]}, source="p"
    )
    sheet = parse_scenario(
        {
            "name": "s",
            "species": "cat",
            "days": 1,
            "cortex": "sheet",
            "groups": [{"name": "c", "organisms": 40}],
        },
        source="s",
    )
    units = 32 * 32 / 32  # a 32 x 32 sheet against 32 point neurons
    maps = 40 * 1 * 32 * 32 * MAP_DAY_WORK  # the day's maps of 40 kittens
    assert scenario_cost(sheet).organism_days == pytest.approx(
        units * SHEET_WORK * scenario_cost(point).organism_days + maps
    )
    history = MAP_HISTORY_BYTES * 40 * 32 * 32 * 2  # the maps of days 0 and 1
    synapses = [scenario_cost(sheet).memory - BASE_BYTES - history]
    synapses.append(scenario_cost(point).memory - BASE_BYTES)
    assert synapses[0] == pytest.approx(units * synapses[1])


def test_a_sheet_day_costs_its_maps_whatever_the_presentations():
    """A sheet's maps are measured every day: at 16 presentations a day the estimate said
    a quarter of the time a 32 x 32 run took (the presentations alone)."""

    def work(presentations: int) -> float:
        settings = {"name": "s", "species": "cat", "days": 20, "cortex": "sheet",
                    "presentations_per_day": presentations}  # fmt: skip
        scenario = parse_scenario(
            {**settings, "groups": [{"name": "c", "organisms": 2}]}, source="s"
        )
        return scenario_cost(scenario).organism_days

    assert work(16) > 4 * (16 / 256) * work(256)  # the daily maps, not 1/16 of the work
    assert work(16) - (16 / 256) * work(256) == pytest.approx(
        (1 - 16 / 256) * 2 * 20 * 32 * 32 * MAP_DAY_WORK
    )


def test_a_sheet_is_costed_by_its_days_of_maps():
    """A sheet keeps every day's maps, so its memory grows with its days (the audit's 24
    kittens for 2,000 days were estimated as for 10); the point cortex's does not."""

    def memory(days: int, cortex: str) -> float:
        settings = {"name": "s", "species": "cat", "days": days, "cortex": cortex}
        scenario = parse_scenario(
            {**settings, "groups": [{"name": "c", "organisms": 24}]}, source="s"
        )
        return scenario_cost(scenario).memory

    grown = memory(2000, "sheet") - memory(10, "sheet")
    assert grown == pytest.approx(MAP_HISTORY_BYTES * 24 * 32 * 32 * 1990)
    assert grown > 500 * 2**20
    assert memory(2000, "point") == memory(10, "point")


def test_a_sweep_costs_its_sheet_runs_as_devsim_run_does(tmp_path):
    """One cost per scenario: a sweep's organism-days are its runs' as `devsim run` counts
    them, the sheet's work per unit included."""
    (tmp_path / "base.toml").write_text(
        'name = "s"\nspecies = "cat"\ndays = 3\ncortex = "sheet"\nsheet_size = 16\n'
        '[[groups]]\nname = "c"\norganisms = 2\n'
    )
    (tmp_path / "sweep.toml").write_text(
        '[sweep]\nbase = "base.toml"\nseeds = 2\n[sweep.grid]\ndays = [3, 5]\n'
    )
    sweep = batch.load_sweep(tmp_path / "sweep.toml")
    one_each = [scenario_cost(parse_scenario(r.scenario)).organism_days for r in sweep.runs]
    assert batch.check_cost(sweep).organism_days == pytest.approx(sum(one_each))
    # and its largest run's memory as `devsim run` counts it, the daily maps included
    memory = [scenario_cost(parse_scenario(r.scenario)).memory for r in sweep.runs]
    assert batch.check_cost(sweep).memory == pytest.approx(max(memory))
    presentations = 2 * 2 * (3 + 5) * 16 * 16 * SHEET_WORK / 32
    assert sum(one_each) == pytest.approx(presentations + 2 * 2 * (3 + 5) * 16 * 16 * MAP_DAY_WORK)


def test_a_sheet_where_no_unit_responds_gives_nulls_and_no_warning(tmp_path):
    genome = (  # genes at corners of their bounds (found by the attack pass): nothing responds
        "eta = 0.0, tau_theta = 5.0, tau_theta_down = 0.01, y0 = 0.05, gamma = 1.0, "
        "w_max = 0.01, rule_A = -2.0, rule_B = -2.0, rule_C = 1.0, rule_D = -1.0, "
        "rule_E = -1.0, r_mat = 1.0, a_vis = 0.0, a_ref = 50.0, mat_noise = 1.0, g_inh = 3.0, "
        "w_pv = 4.0, theta_open = 0.0, open_width = 0.005, r_close = 0.0, pnn_loss = 0.0, "
        "r_lynx = 2.0, s_brake = 0.0, floor_adult = 0.0, ltp_brake = 0.0, r_scale = 5.0, "
        "tau_set = 0.5, density = 1.0, prune_threshold = 1.0, sprout_rate = 0.0, "
        "contra_bias = 0.0, aff_spread = 20.0, aff_corr = 0.0, lat_exc = 0.0, r_exc = 0.1, "
        "lat_inh = 10.0, r_inh = 20.0"
    )
    silent = (
        'name = "s"\nspecies = "cat"\ndays = 4\ncortex = "sheet"\nsheet_size = 8\n'
        'presentations_per_day = 16\n[[groups]]\nname = "c"\norganisms = 1\n'
        f"genome = {{ {genome} }}\n"
    )
    source = write(tmp_path / "s.toml", silent)
    # a child process: numpy's RuntimeWarnings would reach its stderr
    proc = subprocess.run(
        [*DEVSIM, "run", str(source), "--out", str(tmp_path / "o"), "--quiet"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""  # (--quiet: a slow machine's progress line is no warning)
    final = json.loads((tmp_path / "o" / "summary.json").read_text())["groups"]["c"]["final"]
    assert final["responsive_fraction"] == 0
    assert final["cbi"] is None
    assert final["od_wavelength"] is None


def test_a_terminal_without_unicode_gets_escapes_not_an_error(tmp_path):
    source = write(tmp_path / "s.toml", TINY.replace('name = "control"', 'name = "🐭 mäuse 鼠"'))
    proc = subprocess.run(
        [*DEVSIM, "run", str(source), "--out", str(tmp_path / "o")],
        capture_output=True,
        env={**os.environ, "PYTHONIOENCODING": "cp1252"},
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert b"\\U0001f42d" in proc.stdout


@pytest.mark.parametrize("values", ["[1, 1.0]", "[0.0, -0.0]"])
def test_sweep_values_giving_the_same_scenario_are_duplicates(tmp_path, capsys, values):
    write(tmp_path / "base.toml", TINY)
    sweep = write(
        tmp_path / "sweep.toml",
        f'[sweep]\nbase = "base.toml"\nseeds = 1\n[sweep.grid]\n"genome.eta" = {values}\n',
    )
    refused(capsys, ["batch", sweep, "--out", tmp_path / "o", "--workers", "1"], "duplicate")
    points = write(
        tmp_path / "points.toml",
        '[sweep]\nbase = "base.toml"\nseeds = 1\n[[sweep.points]]\n"genome.eta" = 1\n'
        '[[sweep.points]]\n"genome.eta" = 1.0\n',
    )
    refused(capsys, ["batch", points, "--out", tmp_path / "o", "--workers", "1"], "the same")


@pytest.mark.parametrize(
    ("line", "field"),
    [
        ("order = true", "order"),
        ('order = "5"', "order"),
        ("order = 5.0", "order"),
        ('rows = ["2", true]', "rows"),
        ('baldwin = "yes"', "baldwin"),
        ('title = " "', "title"),
    ],
)
def test_lesson_headers_are_strict_as_scenarios_are(tmp_path, capsys, line, field):
    header = {"title": '"A lesson"', "summary": '"What it shows."'}
    key = line.split(" = ")[0]
    header[key] = line.split(" = ", 1)[1]
    text = "+++\n" + "".join(f"{k} = {v}\n" for k, v in header.items()) + "+++\n## Step\n\nText.\n"
    lesson = write(tmp_path / "mine.md", text)
    refused(capsys, ["lesson", "--file", lesson, "--out", tmp_path / "o"], field)
    assert not (tmp_path / "o").exists()


def test_figures_draw_without_warnings_for_long_names_and_nothing_evolving(tmp_path):
    # the suite turns warnings into errors: a figure that warned would fail here
    long = TINY.replace('name = "control"', f'name = "{"g" * 150}"')
    assert main(["run", str(write(tmp_path / "s.toml", long)), "--out", str(tmp_path / "o")]) == 0
    fixed = write(tmp_path / "e.toml", EVOLUTION + "evolve = []\n")
    assert main(["evolve", str(fixed), "--out", str(tmp_path / "e")]) == 0


def test_a_measure_that_could_not_be_computed_is_n_a_in_figures_too(tmp_path, monkeypatch):
    """No responsive cell: the terminal prints n/a, summary.json null, and the histogram's
    panel title n/a (it said "CBI nan")."""
    from matplotlib.figure import Figure

    from devsim.plots.development import od_histograms

    drawn = []
    monkeypatch.setattr(Figure, "savefig", lambda fig, *args, **kwargs: drawn.append(fig))
    summary = {
        "reference_group": "control",
        "groups": {
            "control": {"final": {"od_histogram": [1, 2, 3, 4, 3, 2, 1], "cbi": 0.5}},
            "silent": {"final": {"od_histogram": [0] * 7, "cbi": float("nan")}},
        },
    }
    od_histograms(summary, tmp_path / "h.png")
    titles = [ax.get_title() for ax in drawn[0].axes if ax.get_visible()]
    assert titles == ["control\nCBI 0.50", "silent\nCBI n/a"]


def test_profile_sd_is_the_sample_sd_of_its_seeds(tmp_path, capsys):
    """profile.csv's shift_sd is the sd over seeds that batch and validate give (ddof 1)."""
    import pandas as pd

    out = tmp_path / "p"
    argv = ["profile", "--seeds", "2", "--organisms", "2", "--starts", "20,24", "--out", out]
    assert main([str(a) for a in argv]) == 0
    table = pd.read_csv(out / "profile.csv")
    seeds = table[["shift_seed0", "shift_seed1"]].to_numpy()
    assert table["shift_sd"].to_numpy() == pytest.approx(seeds.std(axis=1, ddof=1))
    profile = json.loads((out / "profile.json").read_text(), parse_constant=pytest.fail)  # no NaN
    # it says what it ran with and what ran it
    assert (profile["seeds"], profile["organisms"], profile["starts"]) == ([0, 1], 2, [20, 24])
    assert profile["rearings"] == ["light", "dark"]
    assert profile["code"] == code_digest()


def test_a_value_that_could_not_be_computed_is_null_and_n_a_not_nan():
    """validation.json has no NaN (invalid JSON), the table says n/a, the measure fails; a
    profile's peak leaves such a start out."""
    import numpy as np

    from devsim.profile import Profile
    from devsim.validation import Measure, Row, Settings, as_json, as_markdown

    m = Measure("q", [float("nan"), 0.1], 0.0, 1.0)
    assert m.measured() == "n/a"
    assert Measure("one seed", [0.2]).measured() == "0.200 (1 seed)"  # not "± 0.000"
    assert not m.passed
    row = Row(1, "x", "s", lambda runs: [m], measures=[m])
    text = json.dumps(as_json([row], Settings(seeds=(0, 1))), allow_nan=False)
    assert json.loads(text)["rows"][0]["measures"][0]["values"] == [None, 0.1]
    assert "| n/a |" in as_markdown([row], Settings(seeds=(0, 1)))
    shifts = {"light": np.array([[0.1, np.nan, 0.05], [0.1, 0.3, 0.05]])}
    assert Profile("mouse", (20, 24, 28), shifts).peak_start("light") == 20
    assert Profile("mouse", (20,), {"light": np.array([[np.nan]])}).peak_start() is None


def test_a_profiles_shift_is_the_runs_cbi_shift_and_nan_where_a_cbi_is_undefined():
    """profile_shifts reads the OD shift as every run does (experiment.cbi_shift, at the
    end of MD): control minus MD CBI, NaN for a CBI that is null (a summary read back from
    summary.json), not a TypeError."""
    from devsim.profile import MD_DAYS, profile_shifts

    def group(cbi):
        return {"daily": {"day": list(range(30)), "cbi": cbi}}

    end = 20 + MD_DAYS
    control = [0.6] * 30
    md = [0.6] * 30
    md[end] = 0.25
    summary = {"reference_group": "control", "groups": {"control": group(control)}}
    summary["groups"]["md_p20"] = group(md)
    assert profile_shifts(summary, (20,)).tolist() == [0.6 - 0.25]
    md[end] = None
    assert math.isnan(profile_shifts(summary, (20,))[0])


def test_a_gene_error_lists_the_genes_of_its_context_and_says_gene_once(tmp_path):
    """A development scenario or sweep lists the genes it takes (not the evolution-only
    ones it refuses), an evolution scenario those of the point cortex; "gene: gene" is gone."""
    from devsim.errors import DevsimInputError
    from devsim.evolution_scenario import parse_evolution_scenario
    from devsim.genome import EVOLUTION_ONLY_GENES, SHEET_GENES

    def message(data, parse=parse_scenario):
        with pytest.raises(DevsimInputError) as info:
            parse(data, source="s.toml")
        return str(info.value)

    group = {"name": "c", "organisms": 1}
    unknown = message({"name": "s", "days": 20, "groups": [{**group, "genome": {"foo": 1.0}}]})
    assert "unknown gene 'foo'" in unknown
    assert not any(g in unknown for g in EVOLUTION_ONLY_GENES)
    typed = message({"name": "s", "days": 20, "groups": [{**group, "genome": {"eta": True}}]})
    assert "genome: gene 'eta' must be a number" in typed
    assert "gene: gene" not in typed
    evolved = message({"name": "e", "days": 20, "genome": {"foo": 1.0}}, parse_evolution_scenario)
    assert "unknown gene 'foo'" in evolved
    assert not any(f" {g}," in evolved or evolved.endswith(g) for g in SHEET_GENES)
    (tmp_path / "base.toml").write_text(
        'name = "b"\ndays = 20\n[[groups]]\nname = "c"\norganisms = 1\n'
    )
    (tmp_path / "sweep.toml").write_text(
        '[sweep]\nbase = "base.toml"\nseeds = 1\n[sweep.grid]\n"genome.marker" = [1.0, 2.0]\n'
    )
    with pytest.raises(DevsimInputError, match="gene 'marker' acts only in evolution"):
        batch.load_sweep(tmp_path / "sweep.toml")


def test_a_check_of_the_whole_scenario_names_its_fields_without_a_top_level_tag():
    from devsim.errors import DevsimInputError

    group = {"name": "c", "organisms": 1}
    with pytest.raises(DevsimInputError) as info:
        parse_scenario({"name": "s", "days": 20, "groups": [group, group]}, source="s.toml")
    assert str(info.value) == (
        "s.toml: groups[1].name: 'c' is groups[0]'s name too; allowed: a name no other group has"
    )
    with pytest.raises(DevsimInputError) as info:
        parse_scenario({"name": "s", "days": 20, "groups": []}, source="s.toml")
    assert str(info.value) == "s.toml: groups: needs at least 1, got 0"


@pytest.mark.parametrize(
    ("change", "said"),
    [
        ({"world": {"sigma_closed": 11}}, "world.sigma_closed: must be less than or equal to 10"),
        ({"world": {"sigma_closed": float("nan")}}, "world.sigma_closed: must be a finite number"),
        ({"days": 0}, "days: must be greater than or equal to 1, got 0; allowed: 1 to 3650"),
    ],
)
def test_a_value_out_of_range_names_the_whole_range(change, said):
    """Pydantic names the bound that was crossed; the reader also needs the other one."""
    from devsim.errors import DevsimInputError

    data = {"name": "s", "days": 20, "groups": [{"name": "c"}]} | change
    with pytest.raises(DevsimInputError) as info:
        parse_scenario(data, source="s.toml")
    text = str(info.value)
    assert text.startswith(f"s.toml: {said}")
    bounds = "1 to 3650" if "days" in change else "0 to 10"
    assert text.endswith(f"; allowed: {bounds}")

"""devsim from Python, as a notebook uses it: the same clear errors as a file gets, numpy's
numbers taken as numbers, a run kept as ``devsim run`` keeps it, and a notebook's
matplotlib left as it was."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import devsim
from devsim.errors import DevsimInputError
from devsim.model import DevelopmentModel
from devsim.results import summary_json

ROOT = Path(__file__).resolve().parents[1]
TINY = {"days": 4, "neurons": 4, "presentations_per_day": 32, "batch_size": 16}


def _lived(model: DevelopmentModel) -> DevelopmentModel:
    while model.running:
        model.step()
    return model


@pytest.mark.parametrize(
    ("settings", "says"),
    [
        ({"groups": [{"name": "c", "organisms": -1}]}, "groups[0].organisms"),
        ({"groups": [{"name": "c", "genome": {"etaa": 0.2}}]}, "etaa"),
        ({"groups": [{"name": "c", "genome": {"eta": math.nan}}]}, "groups[0].genome"),
        ({"days": "3"}, "days: must be a whole number"),
        ({"species": "mose"}, "species"),
    ],
)
def test_keyword_settings_are_checked_as_a_file_is(settings, says):
    """The notebook's keywords raised pydantic's multi-line errors; now one line, as a
    scenario file's, and the documented exception."""
    with pytest.raises(DevsimInputError) as caught:
        DevelopmentModel(**TINY | settings)
    message = str(caught.value)
    assert message.startswith("settings: ")
    assert says in message
    assert "\n" not in message
    assert "pydantic" not in message


@pytest.mark.parametrize(
    ("fields", "says"),
    [
        ({"name": "x", "days": 0, "groups": [{"name": "c"}]}, "days: "),
        ({"name": "x", "days": 5}, "groups: required field is missing"),
        ({"name": "x", "days": 5, "groups": [{"name": "c", "organisms": "many"}]},
         "groups[0].organisms"),
    ],
)  # fmt: skip
def test_a_scenario_built_directly_is_checked_as_a_file_is(fields, says):
    """devsim exports Scenario: built from keywords it raised pydantic's multi-line error."""
    with pytest.raises(DevsimInputError) as caught:
        devsim.Scenario(**fields)
    message = str(caught.value)
    assert message.startswith("Scenario(...): ")
    assert says in message
    assert "\n" not in message
    ok = devsim.Scenario(name="x", days=5, groups=[{"name": "c"}])
    assert ok == devsim.parse_scenario({"name": "x", "days": 5, "groups": [{"name": "c"}]})


@pytest.mark.parametrize(
    ("field", "value", "says"),
    [
        ("patch", 0, "world.patch: 0; allowed: a whole number >= 1"),
        ("image_size", 4, "world.image_size: 4; allowed: larger than the patch"),
        ("n_test", 0, "world.n_test: 0"),  # a NaN CBI
        ("acuity_sfs", (), "world.acuity_sfs"),
        ("acuity_reps", 0, "world.acuity_reps: 0; allowed: a whole number >= 2"),  # acuity 0
        ("cortical_noise", math.nan, "world.cortical_noise: nan"),  # acuity 0, silently
        ("sigma_closed", -1.0, "world.sigma_closed: -1.0; allowed: a finite number >= 0"),
        ("max_neurons", 2, "world.max_neurons: 2; allowed: at least the cortex's 4 units"),
    ],
)
def test_a_world_of_bad_apparatus_is_one_line(field, value, says):
    """A WorldParams passed to the model failed deep inside numpy, or ran to a NaN CBI or
    an acuity of 0."""
    from devsim.senses import WorldParams

    with pytest.raises(DevsimInputError) as caught:
        DevelopmentModel(**TINY, groups=[{"name": "c"}], world=WorldParams(**{field: value}))
    assert str(caught.value).startswith(says)


def test_a_scenario_changed_without_validation_is_checked_before_it_runs():
    """pydantic's model_copy skips validation: a suture past the end of life ran silently
    as a control."""
    scenario = devsim.load_scenario("md_critical")
    with pytest.raises(DevsimInputError, match="outside the simulated life"):
        DevelopmentModel(scenario.model_copy(update={"days": 5}))
    with pytest.raises(TypeError, match="expected a devsim Scenario"):
        DevelopmentModel({"days": 5})
    with pytest.raises(TypeError, match=r"rng=\.\.\."):
        DevelopmentModel(scenario, seed=5)


def test_numpy_numbers_are_numbers():
    """``for seed in np.arange(3)`` gave numpy integers, refused as "not a whole number"."""
    groups = [{"name": "control", "organisms": 1}]
    plain = _lived(DevelopmentModel(**TINY, groups=groups, seed=3))
    scenario = plain.experiment.with_changes(seed=np.int64(3), days=np.int64(4))
    assert scenario == plain.experiment
    numpy = _lived(DevelopmentModel(**TINY, groups=[{"name": "control", "organisms": np.int8(1)}],
                                    seed=np.uint32(3)))  # fmt: skip
    assert summary_json(numpy.results().summary()) == summary_json(plain.results().summary())


def test_a_shipped_scenario_loads_by_its_name_as_devsim_run_takes_it():
    assert devsim.load_scenario("md_critical") == devsim.load_scenario(
        devsim.scenario_path("md_critical")
    )
    with pytest.raises(DevsimInputError, match="shipped: .*md_critical"):
        devsim.load_scenario("md_critcal")


def test_a_model_too_big_for_the_machine_is_refused_before_anything_is_allocated(monkeypatch):
    import devsim.model

    monkeypatch.setattr(devsim.model, "physical_memory", lambda: 2**30)  # a 1 GiB machine
    groups = [{"name": f"g{i}", "organisms": 6000} for i in range(2)]  # ~1.3 GiB
    with pytest.raises(DevsimInputError, match=r"scenario: would need about 1\.3 GiB .* 1\.0"):
        DevelopmentModel(days=10, groups=groups)


def test_a_memory_limit_above_the_machines_memory_is_refused_at_its_flag(tmp_path, capsys):
    from devsim.budget import physical_memory
    from devsim.cli import main

    above = str(2 * physical_memory())
    code = main(["run", "md_critical", "--max-memory", above, "--out", str(tmp_path / "o")])
    assert code == 2
    assert capsys.readouterr().err.startswith("devsim: error: --max-memory: ")
    assert not (tmp_path / "o").exists()


def test_errors_are_named_where_they_are():
    scenario = devsim.load_scenario("md_critical")
    with pytest.raises(DevsimInputError, match="^scenario: groups"):  # not the seed's fault
        DevelopmentModel(scenario.model_copy(update={"days": 5}), rng=3)
    with pytest.raises(DevsimInputError, match="^rng: seed"):
        DevelopmentModel(scenario, rng=-1)
    with pytest.raises(DevsimInputError, match="neither a file path"):
        devsim.load_scenario("x" * 300)  # the TOML text given for its path, say
    deep: list = []
    deep.append(deep)  # a cycle
    with pytest.raises(DevsimInputError, match="^settings: values nested more than"):
        DevelopmentModel(days=3, groups=[{"name": "c", "genome": {"eta": deep}}])


def test_save_run_writes_what_devsim_run_writes(tmp_path):
    from devsim.cli.run import RUN_FILES

    model = _lived(DevelopmentModel(**TINY, groups=[{"name": "control", "organisms": 1}]))
    folder = devsim.save_run(model, str(tmp_path / "run"))  # a str, as a notebook gives it
    written = {str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()}
    assert written == set(RUN_FILES)
    summary = (folder / "summary.json").read_text(encoding="utf-8")
    assert summary == summary_json(model.results().summary())
    assert json.loads((folder / "scenario.json").read_text())["scenario"]["days"] == 4
    with pytest.raises(DevsimInputError, match="^out: .*summary.json"):
        devsim.save_run(model, folder / "summary.json")


def test_a_run_no_seed_reproduces_is_saved_without_one(tmp_path):
    """Drawn from the caller's generator: scenario.json said the scenario's seed, which
    gives other bytes."""
    model = DevelopmentModel(
        DevelopmentModel(**TINY, seed=11).experiment, rng=np.random.default_rng(5)
    )
    folder = devsim.save_run(_lived(model), tmp_path / "run")
    assert json.loads((folder / "summary.json").read_text())["seed"] is None
    assert json.loads((folder / "scenario.json").read_text())["scenario"]["seed"] is None


NOTEBOOK = """
import warnings, matplotlib
matplotlib.use("module://matplotlib_inline.backend_inline")
import devsim
heavy = sorted(m for m in ("mesa", "pandas", "solara", "devsim.model") if m in sys.modules)
from devsim.model import DevelopmentModel
filters = list(warnings.filters)  # (after numba's and pandas' own, which they add)
from devsim.plots.development import od_histograms, timeline
import devsim.plots.maps
model = DevelopmentModel(days=2, neurons=4, presentations_per_day=16, batch_size=16,
                         groups=[{"name": "$x^2$ mice", "organisms": 1}])
while model.running:
    model.step()
summary = model.results().summary()
fig = od_histograms(summary)
timeline(summary, model.experiment)
title = fig.axes[0].get_title()
print(json.dumps({
    "heavy": heavy,
    "backend": matplotlib.get_backend(),
    "parse_math": matplotlib.rcParams["text.parse_math"],
    "filters_kept": list(warnings.filters) == filters,
    "figure": type(fig).__name__,
    "title": title,
    "title_is_text": not fig.axes[0].title.get_parse_math(),
}))
"""


def test_a_notebooks_matplotlib_is_left_as_it_was():
    """Importing the sheet's figures switched a notebook to Agg (its inline figures
    vanished) and importing any figure turned mathtext off for the user's own labels."""
    code = "import json, sys\n" + NOTEBOOK
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=ROOT)  # fmt: skip
    seen = json.loads(out.stdout.splitlines()[-1])
    assert seen["heavy"] == []  # `import devsim` is light
    assert seen["backend"] == "module://matplotlib_inline.backend_inline"
    assert seen["parse_math"] is True
    assert seen["filters_kept"]
    assert seen["figure"] == "Figure"  # returned, for a notebook to show
    assert seen["title"].startswith("$x^2$ mice")
    assert seen["title_is_text"]  # devsim's own figures still print a "$" as a dollar


def test_python_m_devsim_is_the_command():
    out = subprocess.run([sys.executable, "-m", "devsim", "--help"], capture_output=True,
                         text=True, cwd=ROOT)  # fmt: skip
    assert out.returncode == 0
    assert out.stdout.startswith("usage: devsim ")
    assert devsim.DevelopmentModel is DevelopmentModel
    for name in devsim.__all__:  # each export is where it says it is
        assert getattr(devsim, name) is not None
    with pytest.raises(AttributeError):
        devsim.no_such_name  # noqa: B018


def test_a_sweep_from_python_is_held_to_the_machines_cores(tmp_path):
    """`devsim batch` refused more local workers than cores; run_sweep started them."""
    from devsim.batch import run_sweep
    from devsim.budget import cores

    sweep = {"sweep": {"base": str(devsim.scenario_path("md_critical")), "seeds": [1]}}
    with pytest.raises(DevsimInputError, match=f"more than this machine's {cores()} cores"):
        run_sweep(sweep, tmp_path / "out", workers=cores() + 1, progress=False)
    assert not (tmp_path / "out").exists()


def test_every_figure_function_returns_its_figure():
    """Only the development figures returned theirs: the evolution, map, validation and
    Baldwin ones returned None, so a notebook could not show or adjust what they drew."""
    import ast
    import pkgutil

    import devsim.plots

    found = []
    for info in pkgutil.iter_modules(devsim.plots.__path__):
        path = Path(devsim.plots.__path__[0]) / f"{info.name}.py"
        for node in ast.parse(path.read_text()).body:
            decorated = any(
                getattr(d, "id", None) == "figure" for d in getattr(node, "decorator_list", ())
            )
            # (those that draw several figures return their PNG bytes or paths)
            several = ("render_figures", "map_figures")
            if isinstance(node, ast.FunctionDef) and decorated and node.name not in several:
                found.append(node.name)
                assert ast.unparse(node.returns) == "Figure", f"{info.name}.{node.name}"
    assert len(found) >= 13


def test_a_validation_figure_is_returned_and_saved(tmp_path):
    from matplotlib.figure import Figure

    from devsim.plots.validation import profile_figure
    from devsim.profile import Profile

    profile = Profile("mouse", (15, 24, 50), {"light": np.array([[0.01, 0.2, 0.03]])})
    drawn = profile_figure(profile, tmp_path / "p.png")
    assert isinstance(drawn, Figure)
    assert (tmp_path / "p.png").stat().st_size > 0


def test_an_unfinished_model_is_not_saved_as_if_its_scenario_made_it(tmp_path):
    """save_run after 2 of 4 days wrote a summary.json of 2 days and a scenario.json of 4:
    running it again gave other bytes."""
    model = DevelopmentModel(**TINY, groups=[{"name": "control", "organisms": 1}])
    model.step()
    model.step()
    with pytest.raises(DevsimInputError, match="lived 2 of its 4 days; step it to the end"):
        devsim.save_run(model, tmp_path / "run")
    assert not (tmp_path / "run").exists()
    with pytest.raises(TypeError, match="expected a DevelopmentModel, got str"):
        devsim.save_run("model", tmp_path / "run")


def test_a_notebooks_mistakes_name_the_argument():
    groups = [{"name": "control", "organisms": 1}]
    with pytest.raises(TypeError, match=r"rng: a seed is a whole number .* got 3.0"):
        DevelopmentModel(**TINY, groups=groups, rng=3.0)
    model = DevelopmentModel(**TINY, groups=groups)
    with pytest.raises(ValueError, match="no group 'md'; allowed: control"):
        model.organisms("md")
    with pytest.raises(ValueError, match="no group 'md'; allowed: control"):
        model.experiment.control_of("md")
    # the scenario format's [world] table, given where the model takes its world
    tabled = DevelopmentModel(**TINY, groups=groups, world={"sigma_dark": 0.5})
    assert tabled.experiment.world.sigma_dark == tabled.world_params.sigma_dark == 0.5
    with pytest.raises(DevsimInputError, match="world.sigma_drk: unknown key"):
        DevelopmentModel(**TINY, groups=groups, world={"sigma_drk": 0.5})


def test_the_map_figures_draw_without_a_file_for_a_notebook():
    from devsim.plots.maps import map_development, od_maps, orientation_maps

    model = DevelopmentModel(days=2, cortex="sheet", sheet_size=8, presentations_per_day=16,
                             groups=[{"name": "control", "organisms": 1}])  # fmt: skip
    model = _lived(model)
    record = model.map_record()
    for draw in (od_maps, orientation_maps, map_development):
        assert draw(record).axes  # returned, nothing written

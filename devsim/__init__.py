"""devsim: an agent-based critical-period developmental simulator.

Organisms carry genomes that encode *how to learn* (plasticity rules and the timing of
critical windows), not weights; experience during development sets the weights.

Where to start from Python (the run contract: scenario -> model -> results)::

    import devsim
    scenario = devsim.load_scenario("md_critical")  # a shipped name, or a TOML file's path
    model = devsim.DevelopmentModel(scenario.with_changes(seed=3))
    while model.running:
        model.step()
    results = model.results()  # .summary() as summary.json holds it, .tidy() a DataFrame
    devsim.save_run(model, "out/md")  # the folder devsim run writes

``__version__`` names the release; the code digest in every result
(:func:`devsim.provenance.code_digest`) names the exact code that made it.
"""

import importlib

__version__ = "0.1.0"

# The Python API's entry points, imported on first use: `import devsim` stays light.
_EXPORTS = {
    "DevelopmentModel": "devsim.model",
    "Scenario": "devsim.scenario",
    "load_scenario": "devsim.scenario",
    "parse_scenario": "devsim.scenario",
    "scenario_path": "devsim.shipped",
    "scenario_names": "devsim.shipped",
    "Results": "devsim.results",
    "save_run": "devsim.cli.run",
    "DevsimInputError": "devsim.errors",
    "DevsimRunError": "devsim.errors",
}
__all__ = ["__version__", *_EXPORTS]


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'devsim' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *_EXPORTS})

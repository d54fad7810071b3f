"""Shared fixtures: shipped scenarios, shrunk where a test needs speed."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from devsim.experiment import run_scenario
from devsim.scenario import parse_scenario
from devsim.shipped import scenario_path

ROOT = Path(__file__).resolve().parents[1]


def scenario_dict(name: str) -> dict:
    return tomllib.loads(scenario_path(name).read_text())


def shipped(name: str, organisms: int | None = None, **changes):
    """A shipped scenario, optionally with fewer organisms per group or other changes."""
    data = scenario_dict(name)
    data.update(changes)
    if organisms is not None:
        for group in data["groups"]:
            group["organisms"] = organisms
    return parse_scenario(data, source=name)


@pytest.fixture(scope="session")
def deprivation_runs():
    """The MD experiments of the core issue, each run once for the whole session."""
    runs = {}
    for name in ("normal", "md_critical", "md_adult", "md_long"):
        runs[name] = run_scenario(shipped(name, organisms=12))[0]
    return runs


@pytest.fixture(scope="session")
def quick_runs():
    """Simulations at the quick validation settings, shared by validation and lesson tests."""
    from devsim.validation import Runs, Settings

    return Runs(Settings.quick())


@pytest.hookimpl(optionalhook=True)  # an xdist hook: harmless where xdist is absent
def pytest_xdist_auto_num_workers(config):
    """``-n auto`` (pyproject) spreads the suite over every core; the classroom load test
    (``pytest -m load``) measures throughput, so it runs alone, in this process."""
    marks = config.option.markexpr or ""
    if "load" in marks.replace("not load", ""):
        return 0
    return None  # xdist's own count: every core

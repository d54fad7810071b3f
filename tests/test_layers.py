"""The layering holds: imports point down, and files are read only at the top.

numerics (arrays, no Mesa) -> the scenario schema -> models (Mesa) -> runners (run
contracts, batches, validation) -> faces (command line, browser, figures, handouts).
A module imports only its own layer or those below; numerics and the schema import no Mesa;
nothing below the faces draws; only the scenario module parses TOML, and no model opens a
file. Checked on the source (AST), so a new module must be given a layer here.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "devsim"
LAYERS = {
    "numerics": {
        "defaults",
        "errors",
        "genome",
        "senses",
        "plasticity",
        "fused",
        "wiring",
        "measures",
        "environment",
        "outputs",
        "budget",
        "cohort",
        "results",
        "sheet",
        "maps",
    },
    "schema": {"scenario", "evolution_scenario", "data", "shipped"},
    "models": {"organism", "model", "evolution", "baldwin"},
    "runners": {
        "experiment",
        "profile",
        "validation",
        "batch",
        "runner",
        "warm",
        "islands",
        "evolution_runs",
        "timescales",
        "lessons",
        "bench",
        "provenance",  # reads the package's own source to name the code
    },
    "faces": {"cli", "viz", "plots", "handout", "app", "__main__"},
}
ORDER = list(LAYERS)
DRAWING = ("matplotlib", "solara", "reacton", "ipywidgets", "altair", "plotly")


def layer_of(module: str) -> str:
    """The layer of ``devsim.X...`` by its first component."""
    first = module.split(".")[1] if "." in module else ""
    for name, members in LAYERS.items():
        if first in members:
            return name
    raise AssertionError(f"devsim.{first}: not assigned to a layer in tests/test_layers.py")


def modules() -> list[tuple[str, Path]]:
    out = []
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(p for p in parts if p != "__init__")
        if name != "devsim":
            out.append((name, path))
    return out


def imports(path: Path) -> set[str]:
    """Every module ``path`` imports, at any depth of its code (lazy imports included),
    except under ``if TYPE_CHECKING:``."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skip = {
        id(n)
        for node in ast.walk(tree)
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)
        for n in ast.walk(node)
    }
    found = set()
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            base = node.module
            found.add(base)
            if base == "devsim":  # from devsim import fused: a module, not a name
                found.update(
                    f"devsim.{a.name}"
                    for a in node.names
                    if (PACKAGE / f"{a.name}.py").exists() or (PACKAGE / a.name).is_dir()
                )
    return found


READERS = {"read_toml", "load_scenario", "read_text", "read_bytes", "read_text_file"}


def file_reads(path: Path) -> set[str]:
    """The file-reading calls in ``path``: builtin ``open`` and the readers above."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, ast.Name) and func.id in READERS | {"open"}:
                found.add(func.id)
            elif isinstance(func, ast.Attribute) and func.attr in READERS:
                found.add(func.attr)
    return found


MODULES = modules()


@pytest.mark.parametrize(("name", "path"), MODULES, ids=[m for m, _ in MODULES])
def test_imports_point_down(name, path):
    mine = ORDER.index(layer_of(name))
    for target in imports(path):
        if target.startswith("devsim.") and target != "devsim":
            theirs = ORDER.index(layer_of(target))
            assert theirs <= mine, f"{name} ({ORDER[mine]}) imports {target} ({ORDER[theirs]})"


@pytest.mark.parametrize(("name", "path"), MODULES, ids=[m for m, _ in MODULES])
def test_lower_layers_neither_draw_nor_read_files(name, path):
    layer = layer_of(name)
    found = imports(path)
    if layer in ("numerics", "schema"):
        assert not {m for m in found if m.split(".")[0] == "mesa"}, f"{name} imports Mesa"
    if layer != "faces":
        drawing = {m for m in found if m.split(".")[0] in DRAWING}
        assert not drawing, f"{name} ({layer}) draws: {sorted(drawing)}"
    if name != "devsim.scenario":
        assert "tomllib" not in found, f"{name} parses TOML; only devsim.scenario does"
    if layer in ("numerics", "models"):
        readers = file_reads(path)
        assert not readers, f"{name} ({layer}) reads files: {sorted(readers)}"


def test_every_module_has_a_layer():
    for name, _ in MODULES:
        layer_of(name)

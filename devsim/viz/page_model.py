"""The browser page's model: flat keyword parameters (one per sidebar input) -> groups.

:class:`PageModel` is a :class:`~devsim.model.DevelopmentModel` whose constructor takes
the page's inputs as flat keyword arguments, so the page (and a shared link's query) can
rebuild it on Reset straight from its fields, described once in ``model_params``. An
invalid combination (a suture that ends before it starts, a day outside the simulated
life, a seed that is not a whole number) never raises: the page falls back to the default
protocol and keeps the one-line :class:`~devsim.errors.DevsimInputError` message in
``input_error`` for the page to show.
"""

from __future__ import annotations

import functools
import inspect
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from devsim.cohort import BATCH_SIZE, NEURONS, PRESENTATIONS_PER_DAY
from devsim.errors import DevsimInputError
from devsim.genome import GENE_BY_NAME, SPECIES, Genome
from devsim.model import DevelopmentModel
from devsim.outputs import printable
from devsim.scenario import Scenario, group_label, parse_scenario, read_toml
from devsim.senses import CONDITION_TEXTS, CONDITIONS, EYE_CONDITIONS
from devsim.shipped import scenario_dir
from devsim.validation import ROWS

CUSTOM = "custom"

# The genes on the page: (name, label, teaching range). The range is clipped to the gene's
# bounds; a slider left at the mouse default keeps every species' own value.
PAGE_GENES: tuple[tuple[str, str, float, float, float], ...] = (
    # what the gene does first (a student reads that), its name in scenario files after;
    # short, or the slider has no room (the tooltip says more)
    ("r_mat", "Window timing (r_mat)", 0.0, 0.2, 0.001),  # the cat's 0.025 on the grid
    ("g_inh", "Inhibition (g_inh)", 0.0, 3.0, 0.05),
    ("eta", "Learning rate (eta)", 0.0, 0.5, 0.01),
    ("tau_theta", "Threshold speed, days (tau_theta)", 0.01, 1.0, 0.01),
)


GENE_FIELDS = tuple(name for name, *_ in PAGE_GENES)  # the page genes' names, in order


def load_presets(directory: Path | None = None) -> dict[str, Scenario]:
    """Every scenario in ``directory`` (default: the shipped ones) by file stem.

    Files that are not single scenarios (e.g. ``[sweep]`` definitions) or do not validate
    are left out, and so is a sweep's base that is no experiment of the validation table
    (``cp_profile_base``, which only a sweep runs, unlike ``md_critical``); no folder gives
    no presets.
    """
    directory = scenario_dir() if directory is None else directory
    files = {}  # each file read once: a sweep names its base, a scenario is a preset
    for path in sorted(directory.glob("*.toml")) if directory.is_dir() else []:
        try:
            files[path] = read_toml(path)
        except DevsimInputError:
            continue
    sweeps = [data["sweep"] for data in files.values() if isinstance(data.get("sweep"), dict)]
    bases = {Path(sweep["base"]).stem for sweep in sweeps if isinstance(sweep.get("base"), str)}
    only_bases = bases - {name for *_, scenarios in ROWS for name in scenarios}
    presets = {}
    for path, data in files.items():
        if "sweep" in data or path.stem in only_bases:
            continue
        try:
            presets[path.stem] = parse_scenario(data, source=str(path))
        except DevsimInputError:
            continue
    return presets


@functools.cache
def presets() -> dict[str, Scenario]:
    """The shipped presets, read on first use (never at import)."""
    return load_presets()


def preset_text(name: str) -> str:
    """A preset as the protocol menu reads it: its title, and its name as the CLI and links
    use it."""
    return f"{presets()[name].name} ({name})"


DAYS_RANGE = (10, 120)  # the page's "Simulated life" slider


def preset_settings(protocol: str) -> dict[str, Any]:
    """What choosing a preset sets with it: its own species (a cat preset runs as a cat) and
    its own life (read on the day it says), within the page's slider; {} for the custom
    protocol."""
    preset = presets().get(protocol)
    if preset is None:
        return {}
    low, high = DAYS_RANGE
    return {"species": preset.species, "days": min(max(preset.days, low), high)}


@dataclass(frozen=True)
class Protocol:
    """What the page simulates: a validated scenario and how to describe it."""

    scenario: Scenario
    title: str
    description: str


def _seed(value: Any) -> int:
    text = str(value).strip()
    try:
        seed = int(text)
    except ValueError:
        raise DevsimInputError(f"seed: must be a whole number >= 0, got {text!r}") from None
    if seed < 0:
        raise DevsimInputError(f"seed: must be a whole number >= 0, got {seed}")
    return seed


def at_default(name: str, value: float) -> bool:
    """A page gene at the mouse default: unless it is set (``explicit``), each species then
    keeps its own value."""
    return math.isclose(float(value), GENE_BY_NAME[name].default, rel_tol=1e-6, abs_tol=1e-9)


def explicit_genes(text: str) -> frozenset[str]:
    """The page genes set on purpose (``explicit``: names joined by commas): each runs its
    value even at the mouse default (a GAD65 knockout given the wild type's inhibition)."""
    names = frozenset(n.strip() for n in str(text).split(",") if n.strip())
    unknown = sorted(names - set(GENE_FIELDS))
    if unknown:
        raise DevsimInputError(
            f"explicit: {printable(unknown[0], 40)!r} is no gene of the page; allowed: "
            f"{', '.join(GENE_FIELDS)}, joined by commas"
        )
    return names


def species_own(name: str, value: float, explicit: frozenset[str] = frozenset()) -> bool:
    """Whether a page gene runs the species' own value: left at the mouse default, not set."""
    return name not in explicit and at_default(name, value)


def gene_in_use(
    name: str, value: float, species: str, explicit: frozenset[str] = frozenset()
) -> float:
    """The value a page gene runs at: the species' own while left at the mouse default."""
    own = species_own(name, value, explicit)
    return Genome.preset(species).values[name] if own else float(value)


def _gene_overrides(genes: dict[str, float], explicit: frozenset[str]) -> dict[str, float]:
    """Genes set (moved away from the mouse default, or set on purpose); the others keep
    each species' value."""
    return {
        name: float(value)
        for name, value in genes.items()
        if not species_own(name, value, explicit)
    }


def custom_group_name(condition: str, eye: str, start: int, end: int, drug: tuple | None) -> str:
    """A readable name for the manipulated group of the custom protocol."""
    name = condition.replace("_", " ") + (f" {eye}" if condition in EYE_CONDITIONS else "")
    name += f" P{start}-{end}"
    if drug is not None:
        name += f" + diazepam P{drug[0]}-{drug[1]}"
    return name


def build_protocol(
    *,
    species: str,
    protocol: str,
    days: int,
    organisms: int,
    seed: Any,
    condition: str,
    eye: str,
    rearing_from: int,
    rearing_to: int,
    diazepam: bool,
    diazepam_from: int,
    diazepam_to: int,
    genes: dict[str, float],
    neurons: int,
    presentations_per_day: int,
    batch_size: int,
    explicit: str = "",
) -> Protocol:
    """Validate the page's inputs as a scenario; raise DevsimInputError (one line) if invalid."""
    seed = _seed(seed)
    overrides = _gene_overrides(genes, explicit_genes(explicit))
    common = {
        "species": species,
        "seed": seed,
        "neurons": neurons,
        "presentations_per_day": presentations_per_day,
        "batch_size": batch_size,
    }
    if protocol == CUSTOM:
        drug = (int(diazepam_from), int(diazepam_to)) if diazepam else None
        manipulated = {
            "name": custom_group_name(condition, eye, rearing_from, rearing_to, drug),
            "rearing": [
                {
                    "from": int(rearing_from),
                    "to": int(rearing_to),
                    "condition": condition,
                    **({"eye": eye} if condition in EYE_CONDITIONS else {}),
                }
            ],
            "treatments": [{"from": drug[0], "to": drug[1], "drug": "diazepam"}] if drug else [],
        }
        groups = [{"name": "control"}, manipulated]
        life = int(days)
        title = f"Custom: control vs {manipulated['name']}"
        description = (
            "Littermates share their initial wiring and what they see; the manipulated group "
            "differs only in the rearing event you set."
        )
    elif protocol in presets():
        preset = presets()[protocol]
        groups = [g.model_dump(by_alias=True, exclude_none=True) for g in preset.groups]
        if preset.cortex == "sheet":  # the sheet's own size and presentations, no neurons
            del common["neurons"]
            common.update(
                cortex="sheet",
                sheet_size=preset.sheet_size,
                presentations_per_day=preset.presentations_per_day,
            )
        if preset.world is not None:  # what the preset's eyes deliver, as devsim run's
            common["world"] = preset.world.model_dump()
        life = max(int(days), preset.days)  # never cut a preset's own events short
        title = f"Preset {protocol}: {preset.name}"
        description = " ".join(preset.description.split())
    else:
        allowed = ", ".join([CUSTOM, *presets()])
        raise DevsimInputError(f"protocol: unknown protocol {protocol!r}; allowed: {allowed}")
    for group in groups:
        # A sheet's day costs ~60 point days: a sheet preset keeps its own litter size (2
        # kittens, ~240 ms a day) unless fewer are asked for; the page's 8 made Play stall.
        own = group.get("organisms") if common.get("cortex") == "sheet" else None
        group["organisms"] = int(organisms) if own is None else min(int(organisms), int(own))
        group["genome"] = {**group.get("genome", {}), **overrides}
    data = {"name": title, "description": description, "days": life, **common, "groups": groups}
    try:
        scenario = parse_scenario(data, source="protocol")
    except DevsimInputError as exc:
        raise DevsimInputError(_readable(str(exc), groups)) from None
    return Protocol(scenario=scenario, title=title, description=description)


def _readable(message: str, groups: list[dict]) -> str:
    """Name what is wrong instead of indexing it.

    ``groups[1].rearing[0]`` becomes ``group 'md_p24', rearing event 1``.
    """
    kinds = {"rearing": "rearing event", "treatments": "treatment"}

    def name(match: re.Match) -> str:
        text = f"group {groups[int(match[1])]['name']!r}"
        if match[2]:
            text += f", {kinds[match[2]]} {int(match[3]) + 1}"
        return text

    message = message.replace("<top level>: ", "")
    for group in groups:  # the page names the group where the file's path indexes it
        message = message.removesuffix(group_label(group["name"]))
    return re.sub(r"groups\[(\d+)\](?:\.(rearing|treatments)\[(\d+)\])?", name, message)


class PageModel(DevelopmentModel):
    """A DevelopmentModel built from the page's flat inputs (see ``model_params``).

    Never raises :class:`DevsimInputError`: on invalid input it builds the default
    protocol instead and keeps the message in ``input_error``.
    """

    def __init__(
        self,
        species: str = "mouse",
        protocol: str = CUSTOM,
        days: int = 60,
        organisms: int = 8,
        seed: int | str = 7,
        condition: str = "lid_suture",
        eye: str = "left",
        rearing_from: int = 24,
        rearing_to: int = 28,
        diazepam: bool = False,
        diazepam_from: int = 28,
        diazepam_to: int = 30,
        r_mat: float = GENE_BY_NAME["r_mat"].default,
        g_inh: float = GENE_BY_NAME["g_inh"].default,
        eta: float = GENE_BY_NAME["eta"].default,
        tau_theta: float = GENE_BY_NAME["tau_theta"].default,
        explicit: str = "",  # genes set on purpose, also at the mouse default
        neurons: int = NEURONS,  # as a scenario file: the page, lessons and CLI agree
        presentations_per_day: int = PRESENTATIONS_PER_DAY,
        batch_size: int = BATCH_SIZE,
        rng=None,
    ):
        inputs = {k: v for k, v in locals().items() if k not in ("self", "rng", "__class__")}
        genes = {name: inputs.pop(name) for name, *_ in PAGE_GENES}
        error = None
        try:
            protocol_ = build_protocol(**inputs, genes=genes)
        except DevsimInputError as exc:
            error = str(exc)
            protocol_ = build_protocol(**page_defaults(), genes=default_genes())
        scenario = protocol_.scenario
        super().__init__(scenario, rng=rng)  # None: the scenario's own seed
        self.inputs = {**inputs, **genes}  # as given, also when invalid
        self.input_error: str | None = error  # one line, for the page to show
        self.protocol = protocol_  # what actually runs (the default protocol on error)
        self.fell_back = error is not None  # the default protocol runs instead


def _defaults() -> dict[str, Any]:
    params = inspect.signature(PageModel.__init__).parameters
    return {name: p.default for name, p in params.items() if name not in ("self", "rng")}


def default_genes() -> dict[str, float]:
    return {name: GENE_BY_NAME[name].default for name, *_ in PAGE_GENES}


def page_defaults() -> dict[str, Any]:
    """PageModel's default inputs without the genes (those go in ``genes=``)."""
    return {k: v for k, v in _defaults().items() if k not in default_genes()}


def model_params() -> dict[str, Any]:
    """The page's fields, one per PageModel argument: kind, default, range and label (the
    settings panel draws them, a link's query is read by them)."""
    d = _defaults()
    out: dict[str, Any] = {
        "species": {
            "type": "Select",
            "value": d["species"],
            "values": list(SPECIES),
            "label": "Species",
        },
        "protocol": {
            "type": "Select",
            "value": d["protocol"],
            "values": [CUSTOM, *presets()],
            # the menu reads each preset's title, and its name as the CLI and links use it
            "texts": [
                "Custom: control vs one rearing event you set",
                *(preset_text(name) for name in presets()),
            ],
            "label": "Rearing protocol (custom or a preset)",
        },
        "days": {
            "type": "SliderInt",
            "value": d["days"],
            "min": DAYS_RANGE[0],
            "max": DAYS_RANGE[1],
            "step": 1,
            "label": "Simulated life (days)",
        },
        "organisms": {
            "type": "SliderInt",
            "value": d["organisms"],
            "min": 1,
            "max": 32,
            "step": 1,
            "label": "Organisms per group",
        },
        "seed": {"type": "InputText", "value": str(d["seed"]), "label": "Seed (whole number)"},
        "condition": {
            "type": "Select",
            "value": d["condition"],
            "values": list(CONDITIONS),
            "texts": [CONDITION_TEXTS[c] for c in CONDITIONS],
            "label": "Custom: rearing condition",
        },
        "eye": {
            "type": "Select",
            "value": d["eye"],
            "values": ["left", "right"],
            "label": "Custom: which eye (lid suture / inactivation)",
        },
        "rearing_from": {
            "type": "SliderInt",
            "value": d["rearing_from"],
            "min": 0,
            "max": DAYS_RANGE[1],
            "step": 1,
            "label": "Custom: from day",
        },
        "rearing_to": {
            "type": "SliderInt",
            "value": d["rearing_to"],
            "min": 0,
            "max": DAYS_RANGE[1],
            "step": 1,
            "label": "Custom: to day",
        },
        "diazepam": {"type": "Checkbox", "value": d["diazepam"], "label": "Custom: give diazepam"},
        "diazepam_from": {
            "type": "SliderInt",
            "value": d["diazepam_from"],
            "min": 0,
            "max": DAYS_RANGE[1],
            "step": 1,
            "label": "Diazepam from day",
        },
        "diazepam_to": {
            "type": "SliderInt",
            "value": d["diazepam_to"],
            "min": 0,
            "max": DAYS_RANGE[1],
            "step": 1,
            "label": "Diazepam to day",
        },
        # no field of its own: moving a gene's slider sets it (the link carries it)
        "explicit": {"type": "InputText", "value": d["explicit"], "label": "Genes set"},
    }
    for name, label, low, high, step in PAGE_GENES:
        gene = GENE_BY_NAME[name]
        out[name] = {
            "type": "SliderFloat",
            "value": gene.default,
            "min": max(low, gene.low),
            "max": min(high, gene.high),
            "step": step,
            "label": label,
        }
    return out

"""The development page (``/``): a litter grows up, one day per Step, drawn in the browser.

Everything a session has lives in module-level ``solara.reactive`` values, which Solara keeps
per browser session (virtual kernel), not per mounted component: leaving the Simulation tab
for the Lessons and coming back finds the same run at the same day. The server computes
(:mod:`devsim.viz.charts` turns the model into small datasets), the browser draws (one live
Vega view per panel, all in :file:`panels.vue`); a step sends numbers, never pictures.

Settings apply at once while the run is still at P0; once it has started they are marked
*pending* until Reset, so a running class demonstration is never thrown away by a slider.
The address bar always carries the running configuration (see :func:`query_of`), so a link
reproduces the same run. Play keeps the chosen pace in simulated days per second: when a
busy server draws fewer frames, each frame advances more days.
"""

from __future__ import annotations

import dataclasses
import io
import json
import math
import threading
import time
import weakref
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode

import solara
import solara.server.kernel_context

from devsim.errors import DevsimInputError
from devsim.genome import GENE_BY_NAME
from devsim.model import DevelopmentModel
from devsim.plasticity import WINDOW_OPEN_GATE
from devsim.provenance import provenance
from devsim.senses import EYE_CONDITIONS
from devsim.viz import charts
from devsim.viz.figures import display_name
from devsim.viz.page_model import (
    CUSTOM,
    GENE_FIELDS,
    PAGE_GENES,
    PageModel,
    build_protocol,
    default_genes,
    explicit_genes,
    gene_in_use,
    model_params,
    page_defaults,
    preset_settings,
    presets,
    species_own,
)

TITLE = "devsim: the critical period of ocular dominance"
CLOSED_GATE = 0.1  # after the window, a gate below this counts as closed
SPEEDS = (0.5, 1, 2, 4, 8, 16)  # simulated days per second
DEFAULT_SPEED = 2  # a pace a teacher can narrate
CATCH_UP = 8  # at most this many days per drawn frame when the server falls behind
FRAMES_PER_SECOND = 4  # faster speeds advance several days per drawn frame
PACE_WINDOW = 2.0  # s: the pace kept is measured over this long (and over >= 4 days)
BEHIND = 0.8  # a pace kept below this share of the chosen speed is said on the page
SETTLE = 0.3  # s: at P0 a setting applies this long after the last change
DOUBLE_CLICK = 0.4  # s: a second Play/Pause press this soon after the first is ignored
HERE = Path(__file__).parent

# --- what a session keeps (one value per browser session) --------------------------------------
draft = solara.reactive(None)  # dict: the settings as the panel shows them
session = solara.reactive(None)  # Run: the model being simulated
tick = solara.reactive(0)  # bumped after every step: what the panels re-render on
playing = solara.reactive(False)
speed = solara.reactive(DEFAULT_SPEED)
kept_pace = solara.reactive(None)  # days per second while the server falls behind, else None
previous = solara.reactive(None)  # the previous run's timeline rows (drawn faintly)
large_text = solara.reactive(False)  # projector mode
settings_open = solara.reactive(False)
on_screen = solara.reactive(None)  # the panels the browser shows (None: not said yet, all)
selected_organism = solara.reactive("")  # the animal in the synapse panels, by label


@dataclasses.dataclass(eq=False)
class Run:
    """A model and the settings it was built from; the lock serialises steps and reads."""

    model: PageModel
    inputs: dict[str, Any]
    lock: threading.RLock = dataclasses.field(default_factory=threading.RLock)
    # set by Pause before it waits for the lock: the play loop starts no further day
    paused: threading.Event = dataclasses.field(default_factory=threading.Event)
    toggled: float = -math.inf  # when Play/Pause was last pressed (time.monotonic)


# --- settings <-> inputs <-> link ----------------------------------------------------------------
def default_inputs() -> dict[str, Any]:
    """Every page input (PageModel's keyword arguments) at its default."""
    out = {**page_defaults(), **default_genes()}
    for hidden in ("neurons", "presentations_per_day", "batch_size"):
        out.pop(hidden)
    out["seed"] = str(out["seed"])
    return out


def _kind(name: str) -> str:
    spec = model_params()[name]
    return {"SliderInt": "int", "SliderFloat": "float", "Checkbox": "bool"}.get(spec["type"], "str")


def parse_inputs(pairs: dict[str, str]) -> tuple[dict[str, Any], str | None]:
    """Page inputs from a link's query (``species=cat&organisms=4...``).

    Returns the inputs (defaults for anything absent) and a one-line message naming every
    field that could not be read (each keeps its default), or None.
    """
    inputs = default_inputs()
    params = model_params()
    errors: list[str] = []
    for name, text in pairs.items():
        if name not in inputs:
            errors.append(f"unknown field {name!r} (allowed: {', '.join(inputs)})")
            continue
        kind = _kind(name)
        try:
            if kind == "int":
                value: Any = int(text)
            elif kind == "float":
                value = float(text)
                if not math.isfinite(value):
                    raise ValueError
            elif kind == "bool":
                if text.lower() not in ("true", "false", "1", "0"):
                    raise ValueError
                value = text.lower() in ("true", "1")
            else:
                value = text
                allowed = params[name].get("values")
                if allowed is not None and value not in allowed:
                    raise ValueError
                if name == "explicit":
                    explicit_genes(value)
        except DevsimInputError as exc:  # what the field may hold is its own message
            errors.append(f"field {str(exc)}")
            continue
        except ValueError:
            what = {"int": "a whole number", "float": "a number", "bool": "true or false"}
            allowed = params[name].get("values")
            wanted = what.get(kind) or ("one of " + ", ".join(map(str, allowed)))
            errors.append(f"field {name!r} must be {wanted}, got {text!r}")
            continue
        low, high = params[name].get("min"), params[name].get("max")
        if low is not None and not low <= value <= high:
            # the slider's range: a link may not ask a class server for more (organisms=200)
            errors.append(f"field {name!r} must be {low} .. {high}, got {text!r}")
            continue
        inputs[name] = value
    # a link naming a preset but not its species or life runs the preset's own
    follow = preset_settings(inputs["protocol"])
    inputs.update({k: v for k, v in follow.items() if k not in pairs})
    return inputs, ("link: " + "; ".join(errors)) if errors else None


def query_of(inputs: dict[str, Any]) -> str:
    """The link's query for these inputs: every field, so the link does not depend on
    today's defaults."""
    out = {}
    for name, value in inputs.items():
        out[name] = str(value).lower() if isinstance(value, bool) else str(value)
    return urlencode(out)


def check(inputs: dict[str, Any]) -> str | None:
    """None if these inputs make a valid protocol, else the one-line reason."""
    genes = {name: inputs[name] for name, *_ in PAGE_GENES}
    rest = {k: v for k, v in inputs.items() if k not in genes}
    try:
        build_protocol(**{**page_defaults(), **rest}, genes=genes)
    except DevsimInputError as exc:
        return str(exc)
    return None


def running_inputs(run: Run) -> dict[str, Any]:
    """The inputs that reproduce what runs (the address bar's and the shared link's): the
    defaults when a link's settings made no protocol and the default one runs instead."""
    return default_inputs() if run.model.fell_back else run.inputs


LIVE_MODELS: weakref.WeakSet = weakref.WeakSet()  # every page model not yet freed (/status)


def build(inputs: dict[str, Any]) -> Run:
    model = PageModel(**inputs)
    LIVE_MODELS.add(model)
    return Run(model, dict(inputs))


# --- what the header says ----------------------------------------------------------------
def window_status(model: DevelopmentModel) -> str:
    """The control group's critical window today: not yet open, opening, open, closing or
    closed. "Opening" once the gate has risen past :data:`CLOSED_GATE` (a kitten's gate of
    0.19 at P28 already lets 4 days of MD shift CBI by 0.15; "not yet open" said otherwise)."""
    gate = model.daily()[model.reference]["plasticity"]
    today = gate[-1]
    if today >= WINDOW_OPEN_GATE:
        state = "open"
    elif any(g >= WINDOW_OPEN_GATE for g in gate):
        state = "closing" if today >= CLOSED_GATE else "closed"
    elif today >= CLOSED_GATE and len(gate) > 1 and today > gate[-2]:
        state = "opening"
    else:
        state = "not yet open"
    return f"{state} (plasticity gate {today:.2f})"


def today_conditions(model: DevelopmentModel) -> str:
    """What each group lives through today (the day that the next Step simulates)."""
    if model.age >= model.days:
        return f"Finished: the simulated life ends at P{model.days}."
    parts = [
        f"{display_name(name)}: {labels[model.age].replace('_', ' ')}"
        for name, labels in model.condition_labels.items()
    ]
    return f"The next Step simulates P{model.age} → P{model.age + 1}: " + " · ".join(parts)


def _number(value, fmt: str) -> str:
    return "–" if value is None or value != value else format(value, fmt)


MEASURES = {  # column -> what it means (the table's tooltips and the notes under it)
    "ODI": "Mean ocular-dominance index: +1 = left eye only, −1 = right eye only.",
    "CBI": "Contralateral bias index: 1 when all cells prefer the left (contralateral) eye, "
    "0.5 when balanced; a normal mouse has about 0.7.",
    "resp. L": "Mean response to test images shown to the left eye alone (model units: "
    "compare groups and days, not with recorded spike rates).",
    "resp. R": "Mean response to test images shown to the right eye alone (model units).",
    "synapses": "Synapses per animal (pruned ones are gone).",
    "gate": "Today's plasticity gate, from 0 (closed) to 1 (fully open).",
}


def metrics_html(model: DevelopmentModel) -> str:
    """Today's group metrics as an HTML table whose headers explain themselves."""
    head = "".join(f'<th><abbr title="{tip}">{name}</abbr></th>' for name, tip in MEASURES.items())
    rows = []
    for name, m in model.group_metrics.items():
        cells = [
            _number(m["mean_odi"], "+.2f"),
            _number(m["cbi"], ".2f"),
            _number(m["response_left"], ".2f"),
            _number(m["response_right"], ".2f"),
            _number(m["synapses"], ".0f"),
            _number(m["plasticity"], ".2f"),
        ]
        rows.append(f"<tr><td>{display_name(name)}</td>" + "".join(f"<td>{c}</td>" for c in cells))
    return f"<table><tr><th>group</th>{head}</tr>{''.join(rows)}</table>"


METRICS_NOTES = "<p>" + " ".join(f"<i>{k}</i>: {v}" for k, v in MEASURES.items()) + "</p>"

INTRO = """
**A litter grows up, one day per Step.** Each animal's visual cortex gets synapses from
both eyes. Experience strengthens some and prunes others, but mostly while the
**critical window** is open. Press ▶ (or the space bar) to live their days. Keys: space =
play/pause, → = one step, r = reset.
"""
# What to try with a lid suture in a mouse (shown while that is what runs: the default
# protocol).
INTRO_DEFAULT = """
The default protocol closes the *left* eye from P24 to P28, at the peak of the mouse's
window: watch the histograms shift toward the right eye while it is closed (by P28 the CBI
has fallen by about 0.2). Once the eye reopens inside the window, most of the shift
recovers, as it does in mice (Kaneko et al. 2008). Then set the suture to P50–P54 in
Settings and press Reset: after the window has closed, the dip is tiny. The run before
stays on the timeline as a faint dashed line.
"""
# Any other suture in a mouse: say what runs, and what to compare it with.
INTRO_SUTURE = """
This run closes the *{eye}* eye from P{start} to P{end}: the histograms shift toward the
{other} eye as far as the critical window, the gold band of the timeline, lets them. At the
window's peak (the default: the left eye, P24–P28) the CBI falls by about 0.2 and most of
it recovers once the eye reopens; set the suture to P50–P54, after the window has closed,
and the dip is tiny. Press Reset after a change: the run before stays on the timeline as a
faint dashed line.
"""
# Another species: its window is elsewhere (a cat's opens weeks later).
INTRO_SPECIES = """
Each species has its own window, the gold band of the timeline: a suture does most while
it is open. A cat's opens weeks later than a mouse's, so the mouse's P24–P28 misses it: set
the suture days inside the band in Settings and press Reset.
"""
INTRO_SPECIES_SET = """
Each species has its own window, the gold band of the timeline: a suture does most while
it is open. This run closes the *{eye}* eye from P{start} to P{end}.
"""
# The mouse strains: what their missing gene does to the window, and how to show it.
INTRO_STRAIN = {
    "gad65_ko": """
A GAD65 knockout makes little GABA: its window never opens, and a suture barely moves its
histograms (Hensch et al. 1998). Tick diazepam in Settings for two days before the suture
(P20–P22 with the suture at P24–P28) and press Reset: the drug raises inhibition and the
window opens (Fagiolini & Hensch 2000).
""",
    "gad65_ko diazepam": """
A GAD65 knockout makes little GABA: without a drug its window never opens (Hensch et al.
1998). This run gives diazepam from P{drug_start} to P{drug_end}: once it has raised
inhibition the window opens, and a suture inside it shifts the histograms as in a
wild-type mouse (Fagiolini & Hensch 2000). Untick diazepam and press Reset to compare.
""",
    "lynx1_ko": """
A Lynx1 knockout lacks one of the brakes that close the window: its adults stay plastic
(Morishita et al. 2010). Set the suture to P60–P64 and the simulated life to 70 days, then
press Reset: a knockout's CBI falls by about 0.2, a wild-type mouse's hardly moves.
""",
}


def intro_text(inputs: dict[str, Any]) -> str:
    """The page's first words, for what runs: how to use it, and with a custom lid suture
    what it should show and what to try next."""
    if inputs["protocol"] != CUSTOM or inputs["condition"] != "lid_suture":
        return INTRO
    species, eye = inputs["species"], inputs["eye"]
    days = (int(inputs["rearing_from"]), int(inputs["rearing_to"]))
    told = {"eye": eye, "start": days[0], "end": days[1]}
    if species == "gad65_ko" and inputs["diazepam"]:
        drug = {"drug_start": int(inputs["diazepam_from"]), "drug_end": int(inputs["diazepam_to"])}
        return INTRO + INTRO_STRAIN["gad65_ko diazepam"].format(**drug)
    if species in INTRO_STRAIN:
        return INTRO + INTRO_STRAIN[species]
    if species != "mouse":
        return INTRO + (INTRO_SPECIES if days == (24, 28) else INTRO_SPECIES_SET.format(**told))
    if (eye, days) == ("left", (24, 28)):
        return INTRO + INTRO_DEFAULT
    other = "right" if eye == "left" else "left"
    return INTRO + INTRO_SUTURE.format(other=other, **told)


GATE_TIP = (
    "The plasticity gate multiplies how fast every synapse learns: 0 = closed, 1 = fully "
    "open. The window counts as open from 0.5 (the gold band of the timeline)."
)
TIPS = {  # settings -> what they do (tooltips)
    "species": "Mouse or cat, each with its own gene values (window timing, inhibition...), "
    "or a mouse strain: gad65_ko makes little GABA (weak inhibition, no window unless diazepam "
    "triggers it), lynx1_ko lacks the Lynx1 brake (adults stay plastic).",
    "protocol": "custom: control vs one rearing event you set below; or a shipped experiment.",
    "days": "How long the animals live, in days after birth (P0).",
    "organisms": "Animals per group; littermates share their initial wiring and what they see. "
    "A sheet preset keeps its own (fewer) animals: a sheet's day costs ~60 of a point cortex's.",
    "seed": "The random seed: the same seed and settings give the same run, to the byte.",
    "condition": "What the manipulated group's eyes get: lid suture, inactivation (TTX), "
    "binocular suture, dark, strabismus (the two eyes see unrelated images).",
    "eye": "Which eye is sutured or inactivated.",
    "rearing_from": "First day of the rearing event.",
    "rearing_to": "Day the rearing event ends.",
    "diazepam": "Give diazepam to the manipulated group: a drug that strengthens inhibition "
    "(GABA-A receptors), which can open the window.",
    "diazepam_from": "First day of diazepam.",
    "diazepam_to": "Day diazepam ends.",
    **{name: GENE_BY_NAME[name].doc for name, *_ in PAGE_GENES},
}
CUSTOM_ONLY = ("condition", "eye", "rearing_from", "rearing_to", "diazepam")
DAY_FIELDS = ("rearing_from", "rearing_to", "diazepam_from", "diazepam_to")

CSS = """
.devsim-page { color: #1a1a1a; background: #ffffff; color-scheme: light; }
.devsim-page .v-card { background: #ffffff !important; color: #1a1a1a !important; }
.devsim-page .v-card__text, .devsim-page .v-label, .devsim-page .v-select__selection,
.devsim-page input { color: #1a1a1a !important; }
/* top -12px: Solara pads the scrolling content 12px below its app bar; the bar covers it */
.devsim-bar { position: sticky; top: -12px; z-index: 5; background: #ffffff; padding: 6px 8px;
  display: flex; flex-wrap: wrap; gap: 8px; align-items: center;
  border-bottom: 1px solid #ddd; }
/* the charts' "..." menus scroll under the bar, not over it */
.devsim-page .vega-embed summary { z-index: 4 !important; }
.devsim-bar .v-btn { min-width: 88px !important; }
.devsim-speed { min-width: 180px; max-width: 260px; }
/* the age in the sticky bar, while the header's is scrolled away (page_tools.vue) */
.devsim-bar-age { display: none !important; font-size: 1.6em; font-weight: 700;
  align-self: center; margin-right: 4px; }
body.devsim-age-away .devsim-bar-age { display: inline-block !important; }
.devsim-behind { display: block; font-size: 0.85em; color: #7a4300; margin-top: -6px; }
.devsim-grid { display: grid; gap: 12px; padding: 8px 0;
  grid-template-columns: repeat(auto-fill, minmax(min(100%, 440px), 1fr)); }
.devsim-panel { border: 1px solid #e0e0e0; border-radius: 6px; padding: 8px; background: #fff;
  min-width: 0; }
.devsim-panel h3 { font-size: 1.0em; margin: 0 0 14px 0; color: #1a1a1a; }
/* what a panel's marks mean, under it (the gold band, the dashed line: it was only in the
   figure's aria-label) */
.devsim-caption { font-size: 0.8em; color: #555; margin: 2px 4px 0 4px; line-height: 1.3; }
/* a narrow screen scrolls the groups table sideways instead of cutting its last columns */
.devsim-metrics { overflow-x: auto; max-width: 100%; }
.devsim-metrics table { border-collapse: collapse; font-size: 0.95em; }
.devsim-metrics th, .devsim-metrics td { padding: 2px 8px; text-align: right; }
.devsim-metrics td:first-child, .devsim-metrics th:first-child { text-align: left; }
.devsim-metrics abbr { text-decoration: underline dotted; cursor: help; }
.devsim-pending { background: #fff4ce; color: #5c4400; padding: 4px 10px; border-radius: 4px; }
.devsim-invalid { background: #fde7e9; color: #8a1c1c; padding: 4px 10px; border-radius: 4px; }
.devsim-finished { background: #e7f1ff; color: #0b3d91; padding: 4px 10px; border-radius: 4px; }
.devsim-share { display: flex; gap: 6px; align-items: center; flex-wrap: wrap; }
.devsim-share input { flex: 1 1 260px; min-width: 0; font-size: 0.8em; padding: 3px 6px;
  border: 1px solid #bbb; border-radius: 4px; color: #1a1a1a; background: #fafafa; }
.devsim-share button { border: 1px solid #888; border-radius: 4px; padding: 2px 10px; }
/* a gene's label above its slider: beside it, "(cat's own)" squeezed tau_theta's to nothing */
.devsim-genes .v-input__slider .v-input__slot { flex-wrap: wrap; }
.devsim-genes .v-input__slider .v-input__slot > .v-label { flex: 1 0 100%; margin: 0; }
.devsim-large { font-size: 1.35em; }
.devsim-large .devsim-grid {
  grid-template-columns: repeat(auto-fill, minmax(min(100%, 640px), 1fr)); }
.devsim-large .v-btn { font-size: 1.1em !important; height: 44px !important; }
@media (max-width: 600px) {
  .devsim-bar .v-btn { min-width: 64px !important; padding: 0 8px !important; }
  .devsim-body { padding: 0 2px !important; }
  .devsim-panel { padding: 4px 2px; }
  .devsim-page .solara-content-main, .devsim-page .v-expansion-panel-content__wrap {
    padding: 0 4px !important; }
  .devsim-age { font-size: 1.8em !important; }
  /* the groups' table fits a phone's width: the gate column was off screen and a group's
     name wrapped into five lines */
  .devsim-metrics table { font-size: 0.8em; }
  .devsim-metrics th, .devsim-metrics td { padding: 2px 3px; }
  .devsim-metrics td:first-child { min-width: 6.5em; }
  /* a phone needs no projector text; the sticky bar stays two rows high */
  .devsim-large-switch { display: none !important; }
}
"""


# --- actions ------------------------------------------------------------------------------------
def advance(days: int = 1, run: Run | None = None, cancel: threading.Event | None = None) -> None:
    """Simulate ``days`` more days of ``run`` (default: the session's; never past the end of
    life). The play loop passes its own run and cancel event: a Reset or Pause meanwhile
    must not move the new run, nor the old one on."""
    if run is None:
        if _fresh() and check(draft.value) is None:  # settings changed a moment ago apply
            _apply_if_fresh(draft.value)
        run = session.value
    with run.lock:
        model = run.model
        for _ in range(days):
            if model.age >= model.days:
                break
            if cancel is not None and (
                cancel.is_set() or run.paused.is_set() or session.value is not run
            ):
                break
            model.step()
    tick.set(tick.value + 1)


def reset() -> None:
    """Start again: from the settings when they are valid, else from the running ones."""
    playing.set(False)
    old = session.value
    inputs = draft.value if check(draft.value) is None else old.inputs
    new = build(inputs)
    if old is not None and old.model.age > 0:
        names = [display_name(g.name) for g in new.model.groups]  # drawn under the new ones
        with old.lock:
            previous.set(charts.series_rows(old.model.daily(), "previous run", names))
    session.set(new)
    tick.set(tick.value + 1)


def _fresh() -> bool:
    """Nothing has run yet: settings may replace the run without losing anything."""
    return session.value.model.age == 0 and not playing.value


def _apply_if_fresh(inputs: dict[str, Any]) -> None:
    if draft.value == inputs and inputs != session.value.inputs and _fresh():
        session.set(build(inputs))
        tick.set(tick.value + 1)


def _explicit(inputs: dict[str, Any]) -> frozenset[str]:
    """The genes these inputs set on purpose (none where the field cannot be read)."""
    try:
        return explicit_genes(inputs.get("explicit", ""))
    except DevsimInputError:
        return frozenset()


def change(name: str, value: Any) -> None:
    """One setting changed: applied while nothing has run (SETTLE s after the last change,
    as a slider sends many), else marked pending until Reset."""
    new = {**draft.value, name: value}
    if name == "protocol":  # a preset brings its species and life (the user may change them)
        new.update(preset_settings(value))
    if name in GENE_FIELDS:  # a gene moved is set: it runs its value, the mouse's included
        chosen = _explicit(draft.value) | {name}
        new["explicit"] = ",".join(n for n in GENE_FIELDS if n in chosen)
    _propose(new)


def own_genes() -> None:
    """Every page gene back to each species' own value."""
    _propose({**draft.value, **default_genes(), "explicit": ""})


def _propose(new: dict[str, Any]) -> None:
    """Settings as the user left them: applied while nothing has run, else pending."""
    draft.set(new)
    if not _fresh() or check(new) is not None:
        return
    context = solara.server.kernel_context.get_current_context()

    def apply():
        with context:
            _apply_if_fresh(new)

    timer = threading.Timer(SETTLE, apply)
    timer.daemon = True
    timer.start()


def step_one() -> None:
    advance(1)


def toggle_play() -> None:
    run = session.value
    now = time.monotonic()
    if now - run.toggled < DOUBLE_CLICK:  # a double click is one press (it paused again)
        return
    run.toggled = now
    if playing.value:
        # Pause: the day under way ends, no other starts, and only then does the button
        # change, so the age it shows beside "Play" is the age the run stays at
        run.paused.set()
        with run.lock:
            playing.set(False)
        return
    run.paused.clear()
    if run.model.age >= run.model.days:
        playing.set(False)
        return
    playing.set(True)


def play_loop(cancel: threading.Event) -> None:
    """While playing: keep the pace of ``speed`` days per second; each frame advances the
    days that are due (at most CATCH_UP), then the panels redraw once. A busy server draws
    fewer frames, each with more days, so the simulated pace holds as long as it can; below
    that, ``kept_pace`` says what it keeps (the page shows it beside the speed)."""
    if not playing.value:
        return
    start, done, pace = time.monotonic(), 0, speed.value
    since, done_since = start, 0  # the window over which the pace kept is measured
    run = session.value  # this loop plays this run only
    try:
        while not cancel.is_set() and session.value is run:
            if run.model.age >= run.model.days:
                playing.set(False)
                return
            now = time.monotonic()
            if speed.value != pace:  # a new speed: a new pace from now
                start, done, pace = now, 0, speed.value
                since, done_since = now, 0
                kept_pace.set(None)
            due = 1 + int((now - start) * pace) - done
            if due > CATCH_UP:  # the server is too busy for this pace: forget the debt
                start, done = now - done / pace, done
                due = CATCH_UP
            if due > 0:
                advance(due, run, cancel)
                done += due
            # say it when the speed chosen is not kept, measured over at least 4 days (at
            # half a day per second, one slow day in a 2 s window read as falling behind)
            if (t := time.monotonic()) - since >= max(PACE_WINDOW, 4 / pace):
                kept = (done - done_since) / (t - since)
                kept_pace.set(kept if kept < BEHIND * pace else None)
                since, done_since = t, done
            # the next frame when the next day is due, but at most FRAMES_PER_SECOND
            wait = max(start + done / pace, now + 1 / FRAMES_PER_SECOND) - time.monotonic()
            if wait > 0:
                cancel.wait(wait)
    finally:
        kept_pace.set(None)


def on_key(action: str) -> None:
    if action == "play":
        toggle_play()
    elif action == "step":
        if not playing.value:
            advance(1)
    elif action == "reset":
        reset()


# --- components -------------------------------------------------------------------------------
@solara.component_vue(str(HERE / "panels.vue"))
def PanelsView(
    specs: str, payload: str, notes: str, large: bool, event_choose=None, event_visible=None
):
    """Every live panel in one widget (see panels.vue). ``specs`` and ``payload`` travel as
    JSON text: one property changes a day, and no nested dict is walked by each render."""


@solara.component_vue(str(HERE / "page_tools.vue"))
def PageTools(query: str, event_key=None):
    """Keyboard shortcuts and the shareable link (see page_tools.vue)."""


def _selected(model: DevelopmentModel):
    """The organism chosen in this session (default: first of the first manipulated group)."""
    by_label = {charts.animal_label(o): o for o in model.organisms()}
    organism = by_label.get(selected_organism.value) or charts.default_organism(model)
    return organism, list(by_label)


@solara.component
def Header(run: Run):
    model = run.model
    tick.value  # noqa: B018  (re-render after each step)
    with run.lock:  # one day's numbers: Play advances the model in another thread
        age = model.age
        status = window_status(model)
        conditions = today_conditions(model)
    colours = {"open": "#8a6d00", "opening": "#8a6d00", "closing": "#b8440f",
               "closed": "#4a5a60", "not": "#1f6fb2"}  # fmt: skip
    colour = colours[status.split()[0]]
    protocol = model.protocol
    with solara.Column(gap="4px", style={"padding": "6px 8px"}):
        if model.input_error:
            # say what runs instead: the default protocol, or the rest of the link's settings
            instead = (
                "the default protocol runs instead"
                if model.fell_back
                else "those fields keep their defaults, the rest apply"
            )
            solara.Error(
                f"Invalid settings: {model.input_error} ({instead})", classes=["devsim-error"]
            )
        with solara.Row(style={"align-items": "baseline", "flex-wrap": "wrap"}):
            solara.Text(
                f"Age: P{age}",
                classes=["devsim-age"],
                style={"font-size": "2.4em", "font-weight": "700", "line-height": "1.1"},
            )
            solara.Text(f"of P{model.days}", style={"font-size": "1.1em", "color": "#555"})
            with solara.Tooltip(GATE_TIP):  # the header's first word a student meets
                solara.Text(
                    f"Critical window ({display_name(model.reference)}): {status}",
                    classes=["devsim-window"],
                    style={"font-size": "1.1em", "font-weight": "600", "color": colour},
                )
        solara.Text(conditions, classes=["devsim-today"], style={"font-size": "0.95em"})
        title = f"{protocol.title} · {model.experiment.species}"  # a cat is no mouse
        solara.Text(title, classes=["devsim-protocol"], style={"font-weight": "600"})
        solara.Text(protocol.description, style={"font-size": "0.9em"})


@solara.component
def Controls(run: Run):
    """Step, Play/Pause, Reset and the speed: always in view (sticky), never in a drawer."""
    model = run.model
    tick.value  # noqa: B018
    finished = model.age >= model.days
    pending = draft.value != run.inputs
    error = check(draft.value)
    with solara.Div(classes=["devsim-bar"]):
        solara.Text(f"P{model.age}", classes=["devsim-bar-age"])
        solara.Button(
            "Step",
            on_click=step_one,
            disabled=finished or playing.value,
            color="primary",
            classes=["devsim-step"],
            icon_name="mdi-skip-next",
        )
        if finished:
            solara.Button("Finished", disabled=True, classes=["devsim-play"])
        else:
            solara.Button(
                "Pause" if playing.value else "Play",
                on_click=toggle_play,
                color="primary",
                classes=["devsim-play"],
                icon_name="mdi-pause" if playing.value else "mdi-play",
            )
        solara.Button(
            "Reset", on_click=reset, classes=["devsim-reset"], icon_name="mdi-restore",
            outlined=True,
        )  # fmt: skip
        with solara.Div(classes=["devsim-speed"]):
            solara.Select(
                label="Speed (days per second)",
                values=list(SPEEDS),
                value=speed.value,
                on_value=speed.set,
                dense=True,
                classes=["devsim-speed-select"],
            )
            if playing.value and kept_pace.value is not None:
                # a busy server (a class on one laptop) cannot keep every speed: say so,
                # rather than let the chosen speed stand for the pace seen
                solara.Text(
                    f"the server keeps about {kept_pace.value:.1f} days per second",
                    classes=["devsim-behind"],
                )
        solara.Switch(
            label="Large text (projector)", value=large_text, classes=["devsim-large-switch"]
        )
        if error and not (draft.value == run.inputs and model.input_error):
            # (settings as the running link gave them: the header's banner already says it)
            solara.Text(f"Not applied: {error}", classes=["devsim-invalid"])
        elif pending and model.age > 0:
            solara.Text(
                "Settings changed: press Reset to apply them (this run keeps the old ones)",
                classes=["devsim-pending"],
            )
        elif pending:
            solara.Text("Applying the new settings…", classes=["devsim-applying"])
        if finished:
            solara.Text(
                "Reset to run again, or set a longer life in Settings and press Reset",
                classes=["devsim-finished"],
            )


def _input(name: str, disabled: bool = False):
    """One settings field, built from the same description as the link's fields."""
    spec = model_params()[name]
    value = draft.value[name]
    label = spec["label"].removeprefix("Custom: ")
    if spec["type"] == "SliderInt":  # the number in view, not only while dragged
        label = f"{label}: {int(value)}"
        preset = presets().get(draft.value["protocol"])
        if name == "days" and preset is not None and preset.days > int(value):
            # a preset is never cut short: say how long it lives (the header's "of P...")
            label += f" (this preset lives to P{preset.days})"
    elif spec["type"] == "SliderFloat":
        species = draft.value["species"]
        explicit = _explicit(draft.value)
        own = species != "mouse" and species_own(name, value, explicit)
        # the thumb stands where the label says: a gene left at the mouse default runs the
        # species' own value (the cat's r_mat thumb sat at the mouse's 0.048 beside "0.025")
        value = gene_in_use(name, value, species, explicit)
        label = f"{label}: {value:g}" + (f" ({species}'s own)" if own else "")

    def on_value(new):
        change(name, new)

    with solara.Tooltip(TIPS[name]):
        with solara.Div(classes=[f"devsim-input-{name}"]):
            kind = spec["type"]
            if kind == "Select" and "texts" in spec:  # items read as text, set as values
                items = [
                    {"text": t, "value": v}
                    for t, v in zip(spec["texts"], spec["values"], strict=True)
                ]
                solara.v.Select(label=label, items=items, v_model=value,
                                on_v_model=on_value, disabled=disabled,
                                dense=True)  # fmt: skip
            elif kind == "Select":
                solara.Select(label, values=spec["values"], value=value, on_value=on_value,
                              disabled=disabled, dense=True)  # fmt: skip
            elif kind == "SliderInt":
                top = spec["max"]
                if name in DAY_FIELDS:  # a day of the protocol: within the life (or its value)
                    top = max(min(top, int(draft.value["days"])), int(value))
                solara.SliderInt(label, value=int(value), min=spec["min"], max=top,
                                 on_value=on_value, disabled=disabled)  # fmt: skip
            elif kind == "SliderFloat":
                solara.SliderFloat(label, value=float(value), min=spec["min"], max=spec["max"],
                                   step=spec["step"], on_value=on_value,
                                   disabled=disabled)  # fmt: skip
            elif kind == "Checkbox":
                solara.Checkbox(label=label, value=bool(value), on_value=on_value,
                                disabled=disabled)  # fmt: skip
            else:
                solara.InputText(label, value=str(value), on_value=on_value, disabled=disabled,
                                 continuous_update=False)  # fmt: skip


def toggle_settings() -> None:
    settings_open.set(not settings_open.value)


@solara.component
def Settings():
    """The settings, built only while open: every element on the page is visited by each
    day's render, and the closed panel keeps a playing page light."""
    shown = settings_open.value
    solara.Button(
        "Settings (species, protocol, genes, seed)",
        icon_name="mdi-chevron-up" if shown else "mdi-chevron-down",
        on_click=toggle_settings,
        outlined=True,
        classes=["devsim-settings-toggle"],
        style={"width": "100%", "justify-content": "flex-start", "text-transform": "none"},
    )
    if not shown:
        return
    custom = draft.value["protocol"] == CUSTOM
    with solara.Card(margin=0):
        with solara.Div(classes=["devsim-settings"]):
            with solara.ColumnsResponsive(12, medium=4):
                with solara.Column(gap="2px"):
                    for name in ("species", "protocol", "days", "organisms", "seed"):
                        _input(name)
                with solara.Column(gap="2px"):
                    off = "" if custom else " (off: a preset is chosen)"
                    solara.Text("Custom protocol" + off, style={"font-weight": "600"})
                    one_eye = draft.value["condition"] in EYE_CONDITIONS
                    for name in CUSTOM_ONLY:  # which eye: only for a one-eyed condition
                        _input(name, disabled=not custom or (name == "eye" and not one_eye))
                    dz = custom and bool(draft.value["diazepam"])
                    for name in ("diazepam_from", "diazepam_to"):
                        _input(name, disabled=not dz)
                with solara.Column(gap="2px", classes=["devsim-genes"]):
                    solara.Text("Genes (until you move one, each species runs its own value)",
                                style={"font-weight": "600"})  # fmt: skip
                    for name, *_ in PAGE_GENES:
                        _input(name)
                    moved = _explicit(draft.value) or any(
                        not species_own(n, draft.value[n]) for n in GENE_FIELDS
                    )
                    solara.Button("The species' own genes", on_click=own_genes, text=True,
                                  disabled=not moved, classes=["devsim-own-genes"])  # fmt: skip


def _tidy():
    run = session.value
    with run.lock:
        return run.model.results().tidy()


def results_csv() -> bytes:
    """The running model's tidy results as they are today (the day is a column)."""
    return _tidy().to_csv(index=False).encode()


def results_parquet() -> bytes:
    buffer = io.BytesIO()
    table = _tidy()
    table.attrs["devsim"] = provenance()  # the table carries what made it, as devsim run's
    table.to_parquet(buffer, index=False)
    return buffer.getvalue()


@solara.component
def Export(query: str):
    """The run's tidy results (CSV, Parquet) and the link to share. Nothing here changes
    with the day, so a step does not redraw it."""
    with solara.Row(style={"flex-wrap": "wrap", "align-items": "center", "gap": "8px"}):
        solara.FileDownload(results_csv, filename="devsim_results.csv", label="Results (CSV)",
                            mime_type="text/csv")  # fmt: skip
        solara.FileDownload(results_parquet, filename="devsim_results.parquet",
                            label="Results (Parquet)")  # fmt: skip
        with solara.Div(style={"flex": "1 1 320px"}):
            PageTools(query=query, event_key=on_key)


@solara.component
def Panels(run: Run):
    model = run.model
    tick.value  # noqa: B018
    specs = solara.use_memo(
        lambda: json.dumps([
            {"name": name, "title": charts.PANEL_TITLES[name], "description": spec["description"],
             "chooser": name in ("synapses", "maps"), "spec": spec}
            for name, spec in charts.panel_specs(model).items()
        ]),
        dependencies=[model],
    )  # fmt: skip
    with run.lock:
        organism, labels = _selected(model)
        today = {
            "version": f"{model.age}-{tick.value}",
            "age": model.age,
            "animal": charts.animal_label(organism),
            "animals": labels,
            "table": metrics_html(model),
            "sets": charts.panel_data(model, organism, previous.value, on_screen.value),
        }
    PanelsView(specs=specs, payload=json.dumps(today), notes=METRICS_NOTES,
               large=large_text.value,
               event_choose=selected_organism.set,
               event_visible=lambda names: on_screen.set(tuple(names)))  # fmt: skip


@solara.component
def Player():
    """The play loop, running while Play is on (restarted when the run is replaced)."""
    solara.use_thread(
        play_loop, dependencies=[playing.value, session.value], intrusive_cancel=False
    )


@solara.component
def Page():
    """The development page; its state outlives the component (see the module's docstring)."""
    router = solara.use_router()
    if session.value is None:  # the session's first visit: the link's settings, if any
        inputs, link_error = parse_inputs(dict(parse_qsl(router.search or "")))
        run = build(inputs)
        if link_error:  # what the link got wrong, and then what its settings do
            problems = [link_error, run.model.input_error]
            run.model.input_error = "; ".join(p for p in problems if p)
        draft.set(dict(inputs))
        session.set(run)
    run = session.value
    solara.Style(CSS)
    classes = ["devsim-page"] + (["devsim-large"] if large_text.value else [])
    with solara.Div(classes=classes, style={"width": "100%"}):
        Header(run)
        Controls(run)
        Player()
        with solara.Div(classes=["devsim-body"], style={"padding": "0 8px"}):
            # what to do first, above the panels (it sat below them, out of sight)
            with solara.Div(classes=["devsim-intro"]):
                # what runs: the default protocol where a bad link made none
                solara.Markdown(intro_text(running_inputs(run)), style={"font-size": "0.9em"})
            Settings()
            Panels(run)
            # below the panels, so that a 720p projector shows a chart without scrolling
            Export(query_of(running_inputs(run)))

"""The Lessons page: a lesson's text one step at a time, beside a live simulation.

The page lists the shipped lessons (title and summary, in teaching order). A chosen
lesson is shown one ``## `` section at a time (Back / Next) next to a live run of the
lesson's first scenario: the preset of that name (:func:`~devsim.viz.page_model.presets`)
with fewer animals per group, so that it runs in seconds. Two steps are interactive:

* **Predict, then run** (the lesson's ``## Predict`` section): the class picks an answer to
  one question about the run (which way ocular dominance shifts, or for strabismus whether
  binocular cells are lost); only then is Run enabled. Run lives the rest of the simulated
  life in a worker thread, redrawing the figures every few days, and then puts the result
  next to the prediction.
* **Compare with the published result** (added at the end): the validation rows of the
  lesson (:data:`devsim.validation.ROWS`) with their published targets and sources, and the
  value this live run gives wherever the row's quantity comes from the scenario just run.

A lesson without a scenario (the Baldwin effect) points to its own page instead.

State is per browser session: the module-level ``solara.reactive`` values below are kept per
virtual kernel, so a lesson, its step and its prediction survive a visit to another tab.
The live run itself is shared (:class:`SharedRun`): every session's run of a lesson is the
same, so the server lives it once, in a thread of its own that is the only code stepping
its model; everything drawn comes from an immutable :class:`Snapshot`, so a render never
reads a model while it changes.
"""

from __future__ import annotations

import html
import io
import logging
import math
import threading
import time
import weakref
from concurrent.futures import Future
from dataclasses import dataclass, replace
from functools import cache
from pathlib import Path
from urllib.parse import parse_qsl, urlencode

import numpy as np
import solara
import solara.lab
from solara.server import kernel_context

from devsim.handout import render_text
from devsim.lessons import Lesson, lessons
from devsim.maps import MAP_METRICS
from devsim.measures import DAILY_METRICS, FINAL_METRICS
from devsim.model import DevelopmentModel
from devsim.outputs import printable
from devsim.profile import STARTS, Profile
from devsim.scenario import load_scenario
from devsim.senses import DEPRIVED_EYE_WORDS, MONOCULAR_DEPRIVATIONS
from devsim.shipped import scenario_path
from devsim.validation import ROWS, Settings, near_miss
from devsim.viz import figures
from devsim.viz.components import LIVE_MODELS
from devsim.viz.figures import display_name as _shown
from devsim.viz.page_model import PageModel, preset_text, presets

LESSON_ORGANISMS = 8  # animals per group in a live lesson run (the shipped scenarios have 16)
REDRAWS = 10  # how many times the figures are redrawn while Run lives the simulated life
REPLAY_SECONDS = 0.3  # a snapshot's time on screen where the shared run has made it already
FIGURE_DPI = 150  # the figures are drawn sharper than the development page's and scaled down
NO_CHANGE = 0.05  # a change smaller than this counts as "no clear change"
BALDWIN_PATH = "/baldwin"
PREDICT = "Predict, then run"
COMPARE = "Compare with the published result"
# The prediction's verdict: (ink, tint) of its box. Vuetify's green and orange text on their
# own 12 % tint read at ~2.5:1; a dark ink of the same hue on a light tint reads at >= 6:1.
VERDICT_COLOURS = {"agrees": ("#1b5e20", "#e8f5e9"), "differs": ("#7a3e00", "#fff3e0")}

# Which comparison the prediction is about, where it is not "the first manipulated group
# against the reference group at the end of the run" (scenario name -> Question fields).
FOCUS: dict[str, dict] = {
    "dark_rearing": {"group": "dark_md_p50", "reference": "dark_control"},
    "gad65": {"group": "ko_md", "reference": "ko_control", "age": 28},
    "strabismus": {"metric": "binocular_fraction"},
    # the swing back to the reopened eye, read when the reverse suture ends (by the last day,
    # P66, the in-window group has drifted back to the controls' balance)
    "reverse_suture": {"age": 32},
}


# --- the question of the "Predict, then run" step --------------------------------------------
@dataclass(frozen=True)
class Question:
    """One question about a live run: which way ``metric`` of ``group`` moves vs ``reference``."""

    scenario: str
    metric: str  # "cbi" or "binocular_fraction"
    group: str
    reference: str
    age: int  # the day the answer is read
    deprived_eye: str | None = None  # the one eye closed or silenced in ``group``, if any
    deprivation: str = "closed"

    def _eye(self, eye: str) -> str:
        if self.deprived_eye is None:
            return f"the {eye} eye"
        role = self.deprivation if eye == self.deprived_eye else "open"
        return f"the {eye} eye (the {role} eye)"

    @property
    def prompt(self) -> str:
        if self.metric == "binocular_fraction":
            return (
                f"Compared with **{_shown(self.reference)}**, how will the share of binocular "
                f"cells (OD classes 2–6) of **{_shown(self.group)}** have changed by P{self.age}?"
            )
        return (
            f"Compared with **{_shown(self.reference)}**, which way will the ocular dominance "
            f"of **{_shown(self.group)}** have moved by P{self.age}? (Read it in the "
            "contralateral bias index, CBI: 1 = every cell prefers the left eye, 0.5 = "
            "balanced.)"
        )

    def options(self) -> list[tuple[str, str]]:
        """(value, label) of each answer, in the order shown."""
        if self.metric == "binocular_fraction":
            return [
                ("down", "Fewer binocular cells"),
                (
                    "none",
                    f"No clear change (less than {100 * NO_CHANGE:g} points from "
                    f"{_shown(self.reference)})",
                ),
                ("up", "More binocular cells"),
            ]
        left = ("up", f"Toward {self._eye('left')}: the CBI rises")
        right = ("down", f"Toward {self._eye('right')}: the CBI falls")
        none = (
            "none",
            f"No clear change (the CBI differs from {_shown(self.reference)}'s "
            f"by less than {NO_CHANGE:g})",
        )
        if self.deprived_eye == "right":
            return [left, none, right]  # the open eye first
        return [right, none, left]

    def label(self, value: str) -> str:
        return dict(self.options()).get(value, value)

    def values(self, summary: dict) -> tuple[float, float]:
        """(group, reference) value of the metric on the day the answer is read, rounded as
        the page shows them (the CBI to 0.01, a share to 1 %), so that the difference a
        student reads off the two numbers is the one the answer is judged by."""

        def read(group: str) -> float:
            series = summary["groups"][group]["daily"][self.metric]
            value = series[min(self.age, len(series) - 1)]
            return float("nan") if value is None else round(float(value), 2)

        return read(self.group), read(self.reference)

    def answer(self, summary: dict) -> str:
        return self._answer(self._change(*self.values(summary)))

    @staticmethod
    def _change(group: float, reference: float) -> float:
        return round(group - reference, 2)  # of the two numbers as shown

    @staticmethod
    def _answer(delta: float) -> str:
        if math.isnan(delta) or abs(delta) < NO_CHANGE:
            return "none"
        return "up" if delta > 0 else "down"

    def result_text(self, summary: dict) -> str:
        """What happened, in one or two sentences of Markdown."""
        group, reference = self.values(summary)
        delta = self._change(group, reference)
        if self.metric == "binocular_fraction":
            what = "share of binocular cells"
            values = f"{group:.0%} against {reference:.0%} in {_shown(self.reference)}"
            amount = f"{abs(100 * delta):.0f} percentage points"
        else:
            what = "CBI"
            values = f"{group:.2f} against {reference:.2f} in {_shown(self.reference)}"
            amount = f"{abs(delta):.2f}"
        if math.isnan(delta):
            return f"At P{self.age} the {what} of {_shown(self.group)} could not be measured."
        text = f"At P{self.age} the {what} of **{_shown(self.group)}** is {values}"
        answer = self._answer(delta)
        if answer == "none":
            text = f"{text}: a difference of only {amount}, **no clear change**."
        else:
            verb = "rose" if delta > 0 else "fell"
            text = f"{text}: it {verb} by {amount}. **{self.label(answer)}**."
        end = len(summary["groups"][self.reference]["daily"][self.metric]) - 1
        if self.age < end:  # the question's day is not the day the figures end on
            text += f" (The figures and the table show P{end}, the end of the run.)"
        return text


def question_for(scenario: str) -> Question:
    """The prediction question of a preset (see :data:`FOCUS` for the exceptions)."""
    preset = presets()[scenario]
    reference = preset.reference
    others = [g.name for g in preset.groups if g.name != reference]
    fields = {"metric": "cbi", "group": others[0] if others else reference, "age": preset.days}
    fields["reference"] = reference
    fields.update(FOCUS.get(scenario, {}))
    group = next(g for g in preset.groups if g.name == fields["group"])
    deprived = [item for item in group.rearing if item.condition in MONOCULAR_DEPRIVATIONS]
    eyes = {item.eye for item in deprived}
    if len(eyes) == 1:
        fields["deprived_eye"] = eyes.pop()
        fields["deprivation"] = DEPRIVED_EYE_WORDS[deprived[0].condition]
    return Question(scenario=scenario, **fields)


# --- steps ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Step:
    heading: str
    markdown: str
    kind: str = "text"  # "text", "predict" or "compare"


COMPARE_TEXT = """
The published experiments of this lesson, with the target the validation table checks
(devsim's validation runs each with 16 animals per group and 5 seeds). The last column is what
**this live run** gives, wherever the quantity comes from the scenario you just ran. One small
run scatters more than the mean over five seeds: a value a little outside the target is no
surprise, one on the other side of zero would be. Each quantity is read as its row defines it
(a shift is the littermate controls' CBI minus the deprived group's, on the day the
deprivation ends); the table of groups below shows the last day, each group against one
reference group, so its numbers can differ from these.
"""


def live_scenario(lesson: Lesson) -> str | None:
    """The scenario the lesson runs live: its first one, if it is a preset."""
    scenarios = lesson.header.scenarios
    return scenarios[0] if scenarios and scenarios[0] in presets() else None


def lesson_steps(lesson: Lesson) -> list[Step]:
    """The lesson's ``## `` sections; with a live scenario, plus Predict-then-run and Compare."""
    live = live_scenario(lesson) is not None
    steps, predict = [], False
    for heading, text in lesson.steps():
        if live and not predict and heading.lower().startswith("predict"):
            steps.append(Step(PREDICT, text, "predict"))
            predict = True
        else:
            steps.append(Step(heading or lesson.title, text))
    if live:
        if not predict:
            steps.append(Step(PREDICT, "", "predict"))
        if lesson.header.rows:  # published experiments to compare with
            steps.append(Step(COMPARE, COMPARE_TEXT, "compare"))
    return steps


# --- the live run -----------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class Snapshot:
    """What the page shows of a live model on one day (immutable; drawn off the model)."""

    age: int
    days: int
    histogram: bytes
    timeline: bytes
    metrics: dict[str, dict]
    summary: dict | None = None  # the run's summary, once it has reached its last day
    maps: bytes | None = None  # a cortical sheet's OD maps (None on the point cortex)

    @property
    def finished(self) -> bool:
        return self.summary is not None


class SharedRun:
    """A lesson's live run, computed once for every session that shows it.

    A lesson's run is the same for every student (the same preset, animals and seed give
    the same bytes), so a class of thirty pressing Run costs one run, not thirty (a sheet's
    takes about a minute), and one model in memory. The first Run starts it in a thread of
    its own, which lives the simulated life to its end whoever still watches, taking a
    :class:`Snapshot` every few days; each session shows them in order, as they are made, or
    at :data:`REPLAY_SECONDS` apiece once they exist. The model is freed at the end; the run
    itself when no session shows it any more (:func:`shared_run` holds it weakly).
    """

    def __init__(self, scenario: str):
        self.scenario = scenario
        self.model: DevelopmentModel | None = _lesson_model(scenario)
        LIVE_MODELS.add(self.model)  # the server's /status counts it
        self.snapshots = [take_snapshot(self.model)]
        self.error = ""  # why the run failed, if it did
        self._changed = threading.Condition()
        self._thread: threading.Thread | None = None

    @property
    def ended(self) -> bool:
        """The run has reached its last day, or failed."""
        return self.snapshots[-1].finished or bool(self.error)

    @property
    def failure(self) -> str:
        """Why the run cannot go on to its last day ("" while it can): it failed, or its
        thread ended without it."""
        if self.error:
            return self.error
        thread = self._thread
        if thread is not None and not thread.is_alive() and not self.snapshots[-1].finished:
            return "the run stopped before its last day"
        return ""

    @property
    def usable(self) -> bool:
        return not self.failure

    def start(self) -> None:
        with self._changed:
            if self._thread is not None:
                return
            thread = threading.Thread(
                target=self._live, name=f"devsim lesson run {self.scenario}", daemon=True
            )
            # no session's: the run is everyone's, and must not keep the first clicker's
            # session alive (solara gives a thread the context it was made in)
            thread.current_context = None
            self._thread = thread
        try:
            thread.start()
        except RuntimeError as exc:  # no thread to be had: say so, as a failed run
            self._fail(exc)

    def _live(self) -> None:
        model = self.model
        try:
            chunk = max(1, math.ceil(model.days / REDRAWS))
            while model.running:
                for _ in range(chunk):
                    model.step()
                    if not model.running:
                        break
                snap = take_snapshot(model)
                with self._changed:
                    if snap.finished:
                        self.model = None  # what is shown is in the snapshots
                    self.snapshots.append(snap)
                    self._changed.notify_all()
        except BaseException as exc:
            logger.exception("the live run of %s failed", self.scenario)
            self._fail(exc)
        finally:
            self.model = None  # (a thread that ended short of the last day: see failure)

    def _fail(self, exc: BaseException) -> None:
        with self._changed:
            self.error = printable(f"{type(exc).__name__}: {exc}", 300)
            self._changed.notify_all()

    def wait(self, index: int, timeout: float) -> bool:
        """Whether snapshot ``index`` exists, waiting up to ``timeout`` s for it."""
        with self._changed:
            return (
                self._changed.wait_for(lambda: len(self.snapshots) > index or self.ended, timeout)
                and len(self.snapshots) > index
            )


# scenario, animals, redraws -> the run (weakly: freed when no session shows it), or the
# Future of its build under way (sessions opening it meanwhile wait for that one build)
_shared: dict[tuple, weakref.ref | Future] = {}
_shared_lock = threading.Lock()


def shared_run(scenario: str) -> SharedRun:
    """The live run of ``scenario`` that every session shares: built by the first session to
    ask, the others waiting for that build (and getting its error, if it fails); one that
    failed is built again at the next asking."""
    key = (scenario, lesson_organisms(presets()[scenario]), REDRAWS)
    with _shared_lock:
        entry = _shared.get(key)
        if isinstance(entry, Future):
            future, owner = entry, False
        else:
            run = entry() if entry is not None else None
            if run is not None and run.usable:
                return run
            future, owner = Future(), True
            _shared[key] = future
    if not owner:
        return future.result()
    try:
        # built outside the asking session: its figures read matplotlib's settings through
        # solara's per-session proxy, and a tab closed mid-build failed the build for every
        # session waiting on it
        with kernel_context.without_context():
            run = SharedRun(scenario)
    except BaseException as exc:
        with _shared_lock:
            _shared.pop(key, None)  # the next opening tries again
        future.set_exception(exc)
        raise
    with _shared_lock:
        _shared[key] = weakref.ref(run)
    future.set_result(run)
    return run


@dataclass(frozen=True, eq=False)
class LiveRun:
    """One session's view of a lesson's :class:`SharedRun`: which snapshot it shows."""

    lesson: str
    scenario: str
    shared: SharedRun
    shown: int = 0

    @property
    def snapshot(self) -> Snapshot:
        return self.shared.snapshots[self.shown]


def _png(fig) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=FIGURE_DPI, **figures.SAVE_KWARGS)
    return buffer.getvalue()


def live_summary(model: DevelopmentModel) -> dict:
    """The run's summary so far, as :func:`devsim.experiment.run_scenario` gives it."""
    return model.results().summary()


def take_snapshot(model: DevelopmentModel) -> Snapshot:
    metrics = {
        name: {k: m[k] for k in ("cbi", "mean_odi", "binocular_fraction", "plasticity")}
        for name, m in model.group_metrics.items()
    }
    return Snapshot(
        age=model.age,
        days=model.days,
        histogram=_png(figures.histogram_figure(model)),
        timeline=_png(figures.timeline_figure(model)),
        metrics=metrics,
        summary=None if model.running else live_summary(model),
        maps=_od_maps(model) if model.sheet else None,
    )


def _od_maps(model: DevelopmentModel) -> bytes:
    """The sheet's OD maps as the run's ``od_maps.png`` draws them (the lessons read them)."""
    from devsim.plots.maps import od_maps

    buffer = io.BytesIO()
    od_maps(model.map_record(), buffer, label=_shown)
    return buffer.getvalue()


def lesson_organisms(preset) -> int:
    """Animals per group in a live lesson run: LESSON_ORGANISMS, or fewer where the preset
    itself has fewer (a cortical sheet's run is heavy: the shipped ones have 2)."""
    return min(LESSON_ORGANISMS, max(g.organisms for g in preset.groups))


def _lesson_model(name: str) -> PageModel:
    """A model of preset ``name`` as the lessons run it (fewer animals)."""
    preset = presets()[name]
    return PageModel(
        species=preset.species,
        protocol=name,
        days=preset.days,
        organisms=lesson_organisms(preset),
        seed=preset.seed,
        neurons=preset.neurons,
        presentations_per_day=preset.presentations_per_day,
        batch_size=preset.batch_size,
    )


def new_live_run(lesson: Lesson) -> LiveRun | None:
    """The lesson's live run from its first day (None if the lesson has none)."""
    name = live_scenario(lesson)
    if name is None:
        return None
    return LiveRun(lesson.name, name, shared_run(name))


# --- measured vs published ------------------------------------------------------------------
@cache
def _blank_summary(name: str) -> dict:
    """A summary of scenario ``name`` with every number NaN (a run that is not available)."""
    scenario = load_scenario(scenario_path(name))
    nan, days = float("nan"), scenario.days + 1
    metrics = [*FINAL_METRICS, *(MAP_METRICS if scenario.cortex == "sheet" else ())]
    final = {m: nan for m in metrics} | {"od_histogram": [nan] * 7}
    daily = {"day": list(range(days))} | {m: [nan] * days for m in DAILY_METRICS}
    return {"groups": {g.name: {"final": final, "daily": daily} for g in scenario.groups}}


class LiveRuns:
    """Stands in for :class:`devsim.validation.Runs`: the live summary for its scenario.

    Every other scenario, and the critical-period profiles, come back as NaN: a row's
    measures then give their published targets, and a value only where they read the live
    scenario.
    """

    settings = Settings(seeds=(0,), cat=True)

    def __init__(self, scenario: str, summary: dict | None):
        self.scenario = scenario
        self.summary = summary

    def summaries(self, name: str) -> list[dict]:
        if name == self.scenario and self.summary is not None:
            return [self.summary]
        if name == "normal" and self.summary is not None and self._control_is_normal():
            # normal rearing is what the live run's control group lives through
            reference = presets()[self.scenario].reference
            return [{**self.summary, "groups": {"control": self.summary["groups"][reference]}}]
        return [_blank_summary(name)]

    def _control_is_normal(self) -> bool:
        """The live scenario's control group is reared normally, untreated, with the genes
        and species of the shipped normal-rearing scenario."""
        live, normal = presets().get(self.scenario), presets().get("normal")
        if live is None or normal is None or live.species != normal.species:
            return False
        group = next(g for g in live.groups if g.name == live.reference)
        model = normal.groups[0]
        return not group.rearing and not group.treatments and group.genome == model.genome

    def profile(self, species: str) -> Profile:
        starts = STARTS[species]
        blank = np.full((1, len(starts)), np.nan)
        return Profile(species, starts, {r: blank for r in ("light", "dark", "diazepam")})


@dataclass(frozen=True)
class Comparison:
    row: int
    experiment: str
    source: str
    quantity: str
    target: str
    live: float | None  # None: the quantity does not come from the live scenario
    agrees: bool | None  # None: not measured live, or only reported (no target)
    near: bool = False  # just outside the range (devsim.validation.near_miss)


def comparisons(lesson: Lesson, scenario: str, summary: dict | None) -> list[Comparison]:
    """The lesson's validation rows: each measure's target, and its value in the live run.

    A measure counts as measured live when it is a number with the live summary and changes
    when the live summary is blanked (a profile measure, say, gives the same placeholder
    with or without the live run).
    """
    by_number = {row[0]: row for row in ROWS}
    out = []
    for number in lesson.header.rows:
        _, experiment, source, measure, _ = by_number[number]
        with np.errstate(all="ignore"):
            blank = measure(LiveRuns(scenario, None))
            live = measure(LiveRuns(scenario, summary)) if summary is not None else blank
        for b, m in zip(blank, live, strict=True):
            value, placeholder = m.values[0], b.values[0]
            measured = summary is not None and math.isfinite(value) and value != placeholder
            out.append(
                Comparison(
                    number,
                    experiment,
                    source,
                    m.name,
                    m.target(),
                    value if measured else None,
                    m.passed if measured and m.has_target else None,
                    measured and m.has_target and near_miss(value, m.low, m.high),
                )
            )
    return out


def comparison_html(rows: list[Comparison]) -> str:
    """The comparison as an HTML table: one block of lines per validation row."""
    lines = [
        '<table class="devsim-compare-table"><thead><tr><th>experiment (source)</th>'
        "<th>quantity</th><th>published target</th><th>this live run</th></tr></thead><tbody>"
    ]
    for k, r in enumerate(rows):
        cells = ""
        if k == 0 or rows[k - 1].row != r.row:
            span = sum(1 for other in rows if other.row == r.row)
            cells = (
                f'<td rowspan="{span}"><b>{html.escape(r.experiment)}</b><br>'
                f'<span class="devsim-source">{html.escape(r.source)}</span></td>'
            )
        if r.live is None:
            live = '<span class="devsim-muted">not measured in this run</span>'
        elif r.agrees is None:  # reported: nothing to agree with
            live = f"<b>{r.live:.3f}</b>"
        elif r.near:
            live = (
                f'<b>{r.live:.3f}</b> <span class="devsim-near" title="one seed of a small '
                'litter: within the spread between runs">just outside</span>'
            )
        else:
            mark = "agrees" if r.agrees else "differs"
            live = f'<b>{r.live:.3f}</b> <span class="devsim-{mark}">{mark}</span>'
        lines.append(
            f"<tr>{cells}<td>{html.escape(r.quantity)}</td><td>{html.escape(r.target)}</td>"
            f"<td>{live}</td></tr>"
        )
    lines.append("</tbody></table>")
    return "\n".join(lines)


def _num(value, fmt: str) -> str:
    return "–" if value is None or value != value else format(value, fmt)


def numbers_html(snapshot: Snapshot, reference: str) -> str:
    """The groups' key numbers on the snapshot's day, as an HTML table."""
    ref_cbi = snapshot.metrics[reference]["cbi"]
    lines = [
        "<table><thead><tr><th>group</th><th>CBI</th><th>CBI change vs "
        f"{html.escape(_shown(reference))}</th><th>mean ODI</th><th>binocular</th><th>gate</th>"
        "</tr></thead><tbody>"
    ]
    for name, m in snapshot.metrics.items():
        # signed as it moved: negative when the CBI fell (a shift toward the ipsilateral eye)
        # from the rounded CBIs, as a reader subtracts them (and as the prediction is judged)
        both = None not in (m["cbi"], ref_cbi)
        change = round(m["cbi"], 2) - round(ref_cbi, 2) if both else None
        shift = "" if name == reference else _num(change, "+.2f")
        binocular = m["binocular_fraction"]
        lines.append(
            f"<tr><td>{html.escape(_shown(name))}</td><td>{_num(m['cbi'], '.2f')}</td>"
            f"<td>{shift}</td>"
            f"<td>{_num(m['mean_odi'], '+.2f')}</td>"
            # to 0.1 %: the comparison above reads the share to three decimals (0.922 is
            # "just outside" a target up to 0.92, while 92 % looked inside it)
            f"<td>{_num(None if binocular != binocular else 100 * binocular, '.1f')} %</td>"
            f"<td>{_num(m['plasticity'], '.2f')}</td></tr>"
        )
    lines.append("</tbody></table>")
    return "\n".join(lines)


# --- session state ----------------------------------------------------------------------------
chosen = solara.reactive("")  # the lesson shown ("" = the list of lessons)
step_index = solara.reactive(0)
prediction = solara.reactive("")
live = solara.reactive(None)  # LiveRun of the chosen lesson, or None
link_error = solara.reactive("")  # what the address got wrong (an unknown lesson, step)
preparing = solara.reactive(False)  # a live run is being built
wanted = solara.reactive(0)  # counts the builds asked for: only the latest one is shown
building = solara.reactive(0)  # the build under way (a view mounted again starts no second)
build_error = solara.reactive("")  # why the last build failed, for the page to say
run_failure = solara.reactive(None)  # (the view, why) of this session's Run that failed
_lock = threading.Lock()  # the check-and-set of a worker's snapshot
logger = logging.getLogger(__name__)


def open_lesson(lesson: Lesson) -> None:
    link_error.set("")
    step_index.set(0)
    prediction.set("")
    _prepare(lesson)  # before the view mounts, so that it starts one build, the latest
    chosen.set(lesson.name)


def _prepare(lesson: Lesson) -> None:
    """Ask for a fresh live run of the lesson. :func:`build_live_run` builds it in a thread
    (a sheet takes seconds), so the page says so meanwhile and its buttons act at once: they
    were queued behind the build and all taken after it."""
    live.set(None)
    build_error.set("")
    preparing.set(live_scenario(lesson) is not None)
    wanted.set(wanted.value + 1)


def build_live_run(lesson: Lesson, request: int) -> None:
    """Build build number ``request`` of ``lesson``'s live run; dropped if the lesson was
    closed, another one chosen or the run asked for again meanwhile. A failure is shown on
    the page (and logged), unless a newer build was asked for."""
    with _lock:
        if not preparing.value or wanted.value != request or building.value == request:
            return
        building.set(request)
    try:
        run = new_live_run(lesson)
    except Exception as exc:
        logger.exception("the live run of lesson %s failed", lesson.name)
        with _lock:
            if wanted.value == request:
                build_error.set(printable(f"{type(exc).__name__}: {exc}", 300))
                preparing.set(False)
        return
    finally:
        with _lock:
            if building.value == request:
                building.set(0)
    with _lock:
        if wanted.value != request or chosen.value != lesson.name:
            return
        live.set(run)
        preparing.set(False)


def close_lesson() -> None:
    link_error.set("")
    chosen.set("")
    live.set(None)
    prediction.set("")
    preparing.set(False)
    build_error.set("")
    wanted.set(wanted.value + 1)  # a build under way is dropped


def start_over(lesson: Lesson) -> None:
    prediction.set("")
    _prepare(lesson)


def _stop(task) -> None:
    """Stop a session's Run (its view of the shared run; the run itself goes on)."""
    try:
        task.cancel()
    except RuntimeError:  # never started
        pass


CSS = """
.devsim-lessons { max-width: 1600px; color: rgba(0, 0, 0, 0.87); }
/* centred: Solara's column carries Vuetify's ma-0 (margin: 0 !important) */
.v-sheet.devsim-lessons.ma-0 { margin: 0 auto !important; }
.devsim-lessons .v-card__text { color: rgba(0, 0, 0, 0.87) !important; }
.devsim-lessons-intro { font-size: 1.1em; }
.devsim-lessons strong { font-weight: 700; }
.devsim-lesson-grid { display: grid; gap: 12px;
  grid-template-columns: repeat(auto-fill, minmax(580px, 1fr)); }
.devsim-lesson-card { padding: 2px 8px; height: 100%; margin: 0; border-left: 6px solid #1976d2; }
.devsim-lesson-card .devsim-lesson-number { font-size: 1.7em; font-weight: 700; color: #1976d2;
  min-width: 1.4em; text-align: center; }
.devsim-lesson-card .devsim-lesson-title { font-size: 1.25em; font-weight: 700; }
.devsim-lesson-card .devsim-lesson-summary { font-size: 1.05em; color: #333; }
.devsim-lesson-card .devsim-lesson-kind { font-size: 0.85em; color: #777; }
.devsim-lesson-heading { font-size: 1.7em; font-weight: 700; line-height: 1.2; }
.devsim-step-title { font-size: 1.5em; font-weight: 700; color: #1976d2; margin: 4px 0 10px 0; }
.devsim-lesson-step { font-size: 1.15em; line-height: 1.6; color: #1a1a1a; }
.devsim-lesson-step p { margin-bottom: 0.7em; }
.devsim-lesson-step li { margin-bottom: 0.3em; }
.devsim-lesson-step code { font-size: 0.9em; }
.devsim-stepper .v-btn { text-transform: none; letter-spacing: 0; font-size: 0.85em; }
.devsim-live-title { font-weight: 600; font-size: 1.1em; }
.devsim-live-description { font-size: 0.92em; color: #444; }
.devsim-live-where { font-size: 0.85em; color: #666; display: block; }
.devsim-lesson-age { font-size: 2.2em; font-weight: 700; line-height: 1.1; }
/* side by side on a wide screen, one above the other (larger) on a projector's 1280 px */
.devsim-live-figures { display: flex; flex-wrap: wrap; gap: 4px 10px; justify-content: center; }
.devsim-live-figures > div { flex: 1 1 430px; max-width: 600px; }
.devsim-live-figures img { width: 100%; height: auto; }
.devsim-numbers { font-size: 1.02em; }
.devsim-numbers table, .devsim-compare table { border-collapse: collapse; width: 100%; }
.devsim-numbers th, .devsim-numbers td { padding: 3px 8px; text-align: right;
  border-bottom: 1px solid #e0e0e0; }
.devsim-numbers th:first-child, .devsim-numbers td:first-child { text-align: left; }
.devsim-compare th, .devsim-compare td { padding: 5px 8px; border: 1px solid #ccc;
  text-align: left; vertical-align: top; }
.devsim-compare th, .devsim-numbers th { background: #f3f3f3; }
.devsim-compare { font-size: 0.95em; line-height: 1.4; }
.devsim-compare .devsim-source { font-size: 0.85em; color: #555; }
.devsim-agrees { color: #1a7f37; font-weight: 600; }
.devsim-differs { color: #b42318; font-weight: 600; }
.devsim-near { color: #8a6d00; font-weight: 600; }
.devsim-muted { color: #888; font-style: italic; }
.devsim-prediction .v-label { font-size: 1.05em; color: #1a1a1a !important; }
.devsim-prediction { margin-top: 4px; }
.devsim-lesson-result { font-size: 1.08em; }
.devsim-lesson-result p { margin-bottom: 0.4em; }
.devsim-question { font-weight: 600; margin-top: 6px; }
"""
# the tint is the box's own background, not Vuetify's translucent ::before, so the text is
# read against one colour
CSS += "".join(
    f".devsim-verdict-{verdict}.v-alert {{ color: {ink} !important; "
    f"background-color: {tint} !important; border-color: {ink} !important; }}\n"
    for verdict, (ink, tint) in VERDICT_COLOURS.items()
)
CSS += ".devsim-verdict.v-alert::before { opacity: 0 !important; }\n"


# --- components -------------------------------------------------------------------------------
@solara.component_vue(str(Path(__file__).parent / "step_scroll.vue"))
def StepScroll(step: str):
    """Scrolls to the step's title when ``step`` changes (see step_scroll.vue)."""


@solara.component
def Text(markdown: str, classes: list[str] = [], style: dict | None = None):  # noqa: B006
    """Markdown as HTML (no KaTeX or Mermaid needed, unlike ``solara.Markdown``)."""
    css = "; ".join(f"{k}: {v}" for k, v in (style or {}).items()) or None
    solara.HTML(tag="div", unsafe_innerHTML=render_text(markdown), classes=classes, style=css)


@solara.component
def LessonList(items: list[Lesson]):
    Text(
        "Each lesson walks through one classic experiment: the question, what was done, a "
        "prediction, then a live simulation and the published numbers. Pick one to start.",
        classes=["devsim-lessons-intro"],
    )
    with solara.Div(classes=["devsim-lesson-grid"]):
        for number, lesson in enumerate(items, start=1):
            LessonCard(number, lesson)


@solara.component
def LessonCard(number: int, lesson: Lesson):
    scenario = live_scenario(lesson)
    if scenario is not None:
        kind = f"Live simulation: {presets()[scenario].name}"
    elif lesson.header.baldwin:
        kind = "Runs on the Baldwin effect page"
    else:
        kind = "Text only"
    with solara.Card(margin=0, classes=["devsim-lesson-card"]):
        with solara.Row(style={"align-items": "center"}, gap="16px"):
            solara.Text(str(number), classes=["devsim-lesson-number"])
            with solara.Column(gap="2px", style={"flex": "1 1 auto"}):
                solara.Text(lesson.title, classes=["devsim-lesson-title"])
                solara.Text(lesson.header.summary, classes=["devsim-lesson-summary"])
                solara.Text(kind, classes=["devsim-lesson-kind"])
            solara.Button(
                "Start lesson",
                icon_name="mdi-play",
                color="primary",
                on_click=lambda lesson=lesson: open_lesson(lesson),
                classes=[f"devsim-open-{lesson.name}"],
            )


@solara.component
def Stepper(steps: list[Step], index: int):
    with solara.Row(gap="4px", classes=["devsim-stepper"], style={"flex-wrap": "wrap"}):
        for k, step in enumerate(steps):
            solara.Button(
                f"{k + 1}. {step.heading}",
                small=True,
                depressed=k == index,
                text=k != index,
                color="primary" if k == index else None,
                on_click=lambda k=k: step_index.set(k),
            )


@solara.component
def LiveFigures(run: LiveRun, question: Question | None, pending: bool):
    snap = run.snapshot
    preset = presets()[run.scenario]
    with solara.Card(margin=0, style={"height": "100%"}):
        solara.Text(f"Live simulation: {preset.name}", classes=["devsim-live-title"])
        with solara.Row(style={"align-items": "center"}, gap="14px"):
            solara.Text(f"P{snap.age}", classes=["devsim-lesson-age"])
            with solara.Column(gap="0px", style={"flex": "1 1 auto"}):
                solara.Text(f"simulated day {snap.age} of {snap.days}", style={"color": "#555"})
                solara.ProgressLinear(
                    value=100 * snap.age / max(snap.days, 1),
                    color="primary" if pending or snap.finished else "grey",
                )
        description = " ".join(preset.description.split())
        solara.Text(
            f"{description} ({lesson_organisms(preset)} animals per group. Everyone who opens "
            "this lesson sees this same run: same animals, same seed, lived once.)",
            classes=["devsim-live-description"],
        )
        # where to run it again at leisure: the Simulation page's menu reads it so
        solara.Text(
            f"On the Simulation page: protocol “{preset_text(run.scenario)}”.",
            classes=["devsim-live-where"],
        )
        with solara.Div(classes=["devsim-live-figures"]):
            with solara.Div(classes=["devsim-lesson-histogram"]):
                solara.Image(snap.histogram)
            with solara.Div(classes=["devsim-lesson-timeline"]):
                solara.Image(snap.timeline)
            if snap.maps is not None:
                with solara.Div(classes=["devsim-lesson-maps"]):
                    solara.Image(snap.maps)
        reference = question.reference if question is not None else preset.reference
        solara.HTML(
            tag="div",
            unsafe_innerHTML=numbers_html(snap, reference),
            classes=["devsim-numbers"],
        )


@solara.component
def PredictStep(lesson: Lesson, run: LiveRun, question: Question, task):
    snap = run.snapshot
    Text(question.prompt, classes=["devsim-question"])
    solara.v.RadioGroup(
        v_model=prediction.value or None,
        on_v_model=lambda value: prediction.set(value or ""),
        disabled=snap.finished or task.pending,
        class_="devsim-prediction",
        children=[solara.v.Radio(label=label, value=value) for value, label in question.options()],
    )
    with solara.Row(style={"align-items": "center"}):
        solara.Button(
            "Run",
            icon_name="mdi-play",
            color="primary",
            disabled=not prediction.value or snap.finished or task.pending,
            on_click=task,
            classes=["devsim-run"],
        )
        if snap.finished or not run.shared.usable:  # (a failed run is lived again)
            solara.Button(
                "Start over",
                icon_name="mdi-restart",
                text=True,
                on_click=lambda: (_stop(task), start_over(lesson)),
                classes=["devsim-start-over"],
            )
        if not prediction.value:
            solara.Text("Pick a prediction first.", style={"color": "#777"})
        elif task.pending:
            solara.Text(
                f"Running… P{snap.age} of P{snap.days}",
                style={"color": "#777"},
                classes=["devsim-running"],
            )
        elif not snap.finished and snap.age > 0:
            solara.Text("Stopped here: Run shows the rest.", style={"color": "#777"})
    failed = run_failure.value
    if failed is not None and failed[0] is run:  # (a view started over has not failed)
        solara.Error(f"The run failed: {failed[1]}", classes=["devsim-run-error"])
    if snap.finished:
        outcome = question.answer(snap.summary)
        right = outcome == prediction.value
        mark = (
            "✔ The simulation agrees with your prediction."
            if right
            else ("✘ The simulation disagrees with your prediction: why might that be?")
        )
        with solara.Div(classes=["devsim-lesson-result"]):
            text = (
                f"{question.result_text(snap.summary)}\n\n"
                f"You predicted: *{question.label(prediction.value)}*. **{mark}**"
            )
            alert = solara.Success if right else solara.Warning
            verdict = "agrees" if right else "differs"
            with alert(
                icon="mdi-check-circle" if right else "mdi-alert-circle",
                classes=["devsim-verdict", f"devsim-verdict-{verdict}"],
            ):
                Text(text)


@solara.component
def CompareStep(lesson: Lesson, run: LiveRun, question: Question):
    snap = run.snapshot
    summary = snap.summary
    rows = solara.use_memo(
        lambda: comparisons(lesson, run.scenario, summary), dependencies=[lesson, summary]
    )
    if summary is None:
        solara.Info(
            f"Run the simulation first (step “{PREDICT}”): the last column fills in then.",
            classes=["devsim-compare-pending"],
        )
    if rows:
        solara.HTML(tag="div", unsafe_innerHTML=comparison_html(rows), classes=["devsim-compare"])
    else:
        solara.Text("This lesson names no validation rows.")
    if summary is not None:
        solara.Text(
            f"This run's groups at P{snap.age}",
            style={"font-weight": "700", "margin-top": "12px", "display": "block"},
        )
        solara.HTML(
            tag="div",
            unsafe_innerHTML=numbers_html(snap, question.reference),
            classes=["devsim-numbers"],
        )


@solara.component
def NoLiveRun(lesson: Lesson):
    with solara.Card(margin=0):
        if lesson.header.baldwin:
            Text(
                "### Run it yourself\nThis lesson's simulation is Hinton & Nowlan's evolving "
                "population. It has its own page: set the population, switch learning on or "
                "off, and watch the allele frequencies evolve.",
                style={"font-size": "1.1em"},
            )
            with solara.Link(BALDWIN_PATH):
                solara.Button(
                    "Open the Baldwin effect page",
                    icon_name="mdi-dna",
                    color="primary",
                    classes=["devsim-to-baldwin"],
                )
        elif live_scenario(lesson) is not None and preparing.value:
            solara.Text("Preparing the live simulation…", classes=["devsim-preparing"])
            solara.ProgressLinear(True)
        elif live_scenario(lesson) is not None:  # the build failed
            if build_error.value:
                solara.Error(
                    f"The live simulation could not be built: {build_error.value}",
                    classes=["devsim-build-error"],
                )
            solara.Button(
                "Prepare the live simulation",
                icon_name="mdi-restart",
                color="primary",
                on_click=lambda: start_over(lesson),
                classes=["devsim-prepare"],
            )
        else:
            Text(
                "This lesson has no live simulation on this page: its runs take longer than a "
                "lesson. Its handout has their figures (for the teacher: `devsim lesson "
                f"{lesson.name} --out DIR` writes it).",
            )


@solara.component
def LessonView(lesson: Lesson):
    steps = solara.use_memo(lambda: lesson_steps(lesson), dependencies=[lesson])
    index = min(step_index.value, len(steps) - 1)
    step = steps[index]
    run = live.value if live.value is not None and live.value.lesson == lesson.name else None
    request = wanted.value
    solara.use_thread(
        lambda: build_live_run(lesson, request),
        dependencies=[lesson.name, request],
        intrusive_cancel=False,
    )
    question = solara.use_memo(
        lambda: question_for(run.scenario) if run is not None else None,
        dependencies=[run.scenario if run is not None else None],
    )

    def run_to_end():
        """Show the rest of the simulated life, a snapshot at a time, as the shared run
        makes them (started by the first session's Run) or, where they exist, at
        REPLAY_SECONDS apiece. Only the view it started from is moved on: a lesson closed
        and opened again, or started over, is a new view that this call leaves alone."""
        mine = live.value
        if mine is None:
            return
        shared = mine.shared
        try:
            shared.start()
            while not mine.snapshot.finished:
                following = mine.shown + 1
                made = len(shared.snapshots) > following  # already there: replayed
                while not shared.wait(following, timeout=0.25):
                    if not task.is_current():
                        return  # cancelled: the lesson was closed or restarted
                    if shared.failure:
                        raise RuntimeError(shared.failure)
                if made:
                    time.sleep(REPLAY_SECONDS)
                if not task.is_current():
                    return
                with _lock:
                    if live.value is not mine:
                        return
                    mine = replace(mine, shown=following)
                    live.set(mine)
        except Exception as exc:
            with _lock:
                if live.value is mine:
                    run_failure.set((mine, printable(str(exc), 300)))
            raise

    task = solara.lab.use_task(run_to_end, dependencies=None, raise_error=False)
    solara.use_effect(lambda: lambda: _stop(task), [])  # the view closed: its Run stops

    with solara.Row(style={"align-items": "center"}, gap="12px"):
        solara.Button(
            "All lessons",
            icon_name="mdi-arrow-left",
            text=True,
            on_click=close_lesson,
            classes=["devsim-all-lessons"],
        )
        solara.Text(lesson.title, classes=["devsim-lesson-heading"])
    Stepper(steps, index)
    StepScroll(step=f"{lesson.name}:{index}")
    columns = [6, 6] if step.kind == "compare" else [5, 7]
    # side by side from a tablet's width on, stacked on a phone (the text was a few words wide)
    with solara.ColumnsResponsive(12, medium=columns, gutters_dense=True):
        with solara.Card(margin=0, style={"height": "100%"}, classes=["devsim-lesson-text"]):
            solara.Text(step.heading, classes=["devsim-step-title"])
            with solara.Div(classes=["devsim-lesson-step"]):
                if step.markdown:
                    solara.HTML(
                        tag="div", unsafe_innerHTML=render_text(step.markdown, lesson.images)
                    )
                if step.kind == "predict" and run is not None:
                    PredictStep(lesson, run, question, task)
                elif step.kind == "compare" and run is not None:
                    CompareStep(lesson, run, question)
            with solara.Row(style={"margin-top": "16px"}):
                solara.Button(
                    "Back",
                    icon_name="mdi-chevron-left",
                    disabled=index == 0,
                    on_click=lambda: step_index.set(index - 1),
                    outlined=True,
                    classes=["devsim-back"],
                )
                solara.Text(
                    f"Step {index + 1} of {len(steps)}",
                    style={"align-self": "center", "color": "#666"},
                )
                # before the run, Run is the step's main button: Next still skips it (a
                # teacher may), but the later steps read the run's result
                unrun = step.kind == "predict" and run is not None and not run.snapshot.finished
                solara.Button(
                    "Next",
                    icon_name="mdi-chevron-right",
                    disabled=index == len(steps) - 1,
                    on_click=lambda: step_index.set(index + 1),
                    color=None if unrun else "primary",
                    outlined=unrun,
                    classes=["devsim-next"],
                )
        if run is not None:
            LiveFigures(run, question, task.pending)
        else:
            NoLiveRun(lesson)
    if lesson.teacher_notes:
        with solara.Details("For the teacher: what to say, what to ask", expand=False):
            solara.HTML(
                tag="div",
                unsafe_innerHTML=render_text(lesson.teacher_notes, lesson.images),
                classes=["devsim-teacher-notes"],
            )


def lesson_link(name: str, index: int) -> str:
    """The page's address for lesson ``name`` at step ``index`` (0-based; the address
    counts from 1, as the page does), or the list of lessons for no name."""
    return "/lessons" + (f"?{urlencode({'lesson': name, 'step': index + 1})}" if name else "")


def read_link(search: str, items: list[Lesson]) -> tuple[Lesson | None, int, str]:
    """The lesson and step (0-based) an address names, and what it got wrong ("" if
    nothing): an unknown lesson shows the list, a step out of range the first step."""
    query = dict(parse_qsl(search or ""))
    name = query.get("lesson", "")
    if not name:
        return None, 0, ""
    lesson = next((item for item in items if item.name == name), None)
    if lesson is None:
        return None, 0, f"The link names no lesson {printable(name, 60)!r}: choose one below."
    count = len(lesson_steps(lesson))
    step = query.get("step", "1")
    if step.isdecimal() and 1 <= int(step) <= count:
        return lesson, int(step) - 1, ""
    problem = f"The link's step {printable(step, 20)!r} is not one of this lesson's 1–{count}"
    return lesson, 0, f"{problem}: here is its first step."


def follow_link(search: str, items: list[Lesson]) -> None:
    """Show what the address names (a link, a refresh, the browser's Back or Forward)."""
    lesson, index, problem = read_link(search, items)
    if lesson is None and chosen.value:
        close_lesson()
    elif lesson is not None and chosen.value != lesson.name:
        open_lesson(lesson)
    if lesson is not None:
        step_index.set(index)
    link_error.set(problem)  # until a lesson is opened or closed on the page


@solara.component_vue(str(Path(__file__).parent / "address.vue"))
def AddressReplace(replace: str):
    """Puts ``replace`` in place of the browser's address and moves Solara's router to it
    (see address.vue)."""


@solara.component
def LessonsPage():
    """The Lessons route: the list of lessons, or one lesson step by step. The address
    names the lesson and its step (``/lessons?lesson=hubel_wiesel&step=3``), so a refresh,
    a link handed to a class or the browser's Back and Forward find the same step."""
    items, error = solara.use_memo(_load, dependencies=[])
    router = solara.use_router()
    seen = solara.use_ref(None)  # the address last read or written by this page
    # an address put in place of the browser's, no new entry (address.vue), and the one it
    # replaces: the page waits until the router has it
    replacing, set_replacing = solara.use_state(("", ""))

    def sync():
        if router.set_path is None:  # no address (the page outside the app, e.g. in a
            return  # notebook or a test): nothing to follow or to write
        search = router.search or ""
        href, before = replacing
        if href:
            if search == before:  # not there yet
                return
            set_replacing(("", ""))  # there (or Back or a link went elsewhere meanwhile)
            if search == href.partition("?")[2]:
                return
        mounted = seen.current is not None
        if search != seen.current and (search or mounted or not chosen.value):
            follow_link(search, items)  # the address changed: the page follows it
            # a step out of range shows the first, an unknown lesson the list: the
            # address says what is shown, in place of the link's (Back skips the bad one)
            shown = lesson_link(chosen.value, step_index.value)
            seen.current = shown.partition("?")[2]
            if seen.current != search:
                set_replacing((shown, search))
            return
        # the page changed (a lesson opened or closed, a step taken; or the tab came back
        # to a lesson still open): the address follows it, a new entry for each change on
        # the page; the tab's own entry ("/lessons") is replaced, so that Back from the
        # lesson goes to the tab before, not to the list
        wanted = lesson_link(chosen.value, step_index.value)
        seen.current = wanted.partition("?")[2]
        if seen.current != search:
            if not mounted and not search:
                set_replacing((wanted, search))
            else:
                router.push(wanted)

    solara.use_effect(sync, [router.search, chosen.value, step_index.value, replacing])
    if router.set_path is not None:
        AddressReplace(replace=replacing[0])
    solara.Style(CSS)
    solara.AppBarTitle("devsim: lessons")
    with solara.Column(classes=["devsim-lessons"], gap="10px"):
        lesson = next((item for item in items if item.name == chosen.value), None)
        if link_error.value:
            solara.Warning(link_error.value, classes=["devsim-link-error"])
        if lesson is None:  # a broken file is the teacher's to mend: said on the list only
            for line in error.splitlines() if error else ():
                solara.Error(f"{line} (this lesson is left out until its file is mended)")
            solara.Text("Lessons", classes=["devsim-lesson-heading"])
            LessonList(items)
        else:
            LessonView(lesson)


def _load() -> tuple[list[Lesson], str | None]:
    """The lessons that read, and one line per malformed file (a teacher's: say which)."""
    errors: list[str] = []
    found = lessons(errors=errors)
    return found, "\n".join(errors) or None

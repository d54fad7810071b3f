"""The Baldwin effect page: Hinton & Nowlan (1987) run in the browser.

Controls for the number of generations, independent runs, population size and whether the
``?`` alleles are learned; Run calls :func:`devsim.baldwin.run_baldwin` in a worker thread
(population 1000 x 50 generations x 5 runs takes well under a second, 1000 generations a
few seconds) and then shows the allele frequencies over generations and the key numbers
next to the published ones. The last result is kept per browser session.
"""

from __future__ import annotations

import html
import io
import time
from dataclasses import dataclass

import pandas as pd
import solara
import solara.lab
from matplotlib.figure import Figure

from devsim.baldwin import run_baldwin
from devsim.defaults import BALDWIN_GENERATIONS, BALDWIN_LOCI, BALDWIN_POPULATION, BALDWIN_TRIALS
from devsim.handout import render_text
from devsim.plots.baldwin import draw_allele_curves

CURVES = (
    ("correct", "Correct alleles (1)", "tab:green"),
    ("incorrect", "Incorrect alleles (0)", "tab:red"),
    ("undecided", "Undecided alleles (?)", "tab:blue"),
)

# (generation, allele, published value, label, source): only what the paper reports (a
# "replication" figure for 1000 generations that no reference could confirm was dropped)
PUBLISHED = (
    (50, "correct", 0.75, "≈ 0.75", "Hinton & Nowlan 1987"),
    (50, "incorrect", 0.0, "≈ 0: gone within tens of generations", "Hinton & Nowlan 1987"),
)

INTRO = """
**How learning can guide evolution** (Hinton & Nowlan 1987). Each of the organisms has 20
genes; each carries one of three alleles: `1` (correct), `0` (incorrect) or `?` (undecided:
set by learning during the life). Only the genome with
all 20 switches right is rewarded: a needle in a haystack. During its life an organism makes
up to 1000 random guesses for its `?` genes; the sooner it hits the target, the more
offspring it has. Learned settings are **not** inherited, yet learning changes which genomes
survive. Run it with learning on, then switch learning off and run again.
"""


@dataclass(frozen=True, eq=False)
class BaldwinResult:
    generations: int
    runs: int
    population: int
    learning: bool
    seed: int
    table: pd.DataFrame
    figure: bytes
    seconds: float


def allele_figure(table: pd.DataFrame, learning: bool = True) -> Figure:
    """Mean allele frequencies (+-1 sd over runs) with the published values marked."""
    fig = Figure(figsize=(7.5, 4.2), dpi=110, layout="constrained")
    ax = fig.add_subplot()
    draw_allele_curves(ax, table, CURVES)
    generation = table["generation"].to_numpy()
    last = int(generation.max())
    colours = {name: colour for name, _, colour in CURVES}
    for gen, allele, value, _label, source in PUBLISHED:
        if learning and gen <= last:
            ax.plot([gen], [value], marker="*", markersize=16, color=colours[allele],
                    mec="black", mew=0.8, zorder=5, clip_on=False)  # fmt: skip
            # left of its star, unless that runs into the y axis (a long run puts
            # generation 50 near it): then right of it
            right = gen < 0.3 * max(last, 1)
            ax.annotate(
                f"{source.split(' (')[0]}: {value:g}",
                (gen, value),
                xytext=(10 if right else -10, 9),
                textcoords="offset points",
                fontsize=9,
                ha="left" if right else "right",
            )
    ax.set_xlim(0, max(last, 1) * 1.02)
    ax.set_ylim(0, 1)
    ax.set_xlabel("Generation")
    ax.set_ylabel("Share of all alleles in the population")
    state = "with learning" if learning else "without learning"
    ax.set_title(f"Allele frequencies {state} (mean ± sd over runs; ★ = published)")
    ax.grid(alpha=0.3)
    ax.legend(loc="center right", frameon=False)
    return fig


def _png(fig: Figure) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    return buffer.getvalue()


def simulate(generations: int, runs: int, population: int, learning: bool, seed: int):
    start = time.perf_counter()
    table = run_baldwin(
        generations=generations, runs=runs, seed=seed, population=population, learning=learning
    )
    return BaldwinResult(
        generations,
        runs,
        population,
        learning,
        seed,
        table,
        _png(allele_figure(table, learning)),
        time.perf_counter() - start,
    )


def _at(table: pd.DataFrame, generation: int, allele: str) -> str | None:
    rows = table[table["generation"] == generation]
    if rows.empty:
        return None
    row = rows.iloc[0]
    return f"{row[allele]:.2f} ± {row[f'{allele}_sd']:.2f}"


def numbers_html(result: BaldwinResult) -> str:
    """The key numbers of the run next to the published ones."""
    table = result.table
    # a run without learning is compared with the paper's runs with it: say so, or its far
    # lower numbers read as a failure
    published = (
        "published (with learning)"
        if result.learning
        else "published, with learning (this run has learning off: expect far less)"
    )
    lines = [
        '<table class="devsim-baldwin-table"><thead><tr><th>quantity</th><th>this run</th>'
        f"<th>{published}</th><th>source</th></tr></thead><tbody>"
    ]
    names = {"correct": "Correct", "incorrect": "Incorrect", "undecided": "Undecided (?)"}
    for gen, allele, _value, label, source in PUBLISHED:
        measured = _at(table, gen, allele)
        shown = (
            f"<b>{measured}</b>"
            if measured
            else (f'<span class="devsim-muted">run {gen} generations to see it</span>')
        )
        lines.append(
            f"<tr><td>{names[allele]} alleles at generation {gen}</td><td>{shown}</td>"
            f"<td>{html.escape(label)}</td><td>{html.escape(source)}</td></tr>"
        )
    last = table.iloc[-1]
    lines.append(
        f"<tr><td>Share of generation {int(last['generation'])} that finds the target</td>"
        f"<td><b>{last['found_fraction']:.2f}</b></td><td>≈ 1 with learning; 0 without "
        "(the needle is never found)</td><td>Hinton & Nowlan 1987</td></tr>"
    )
    # the means mix runs that found the target with runs that never did
    lines.append(
        f"<tr><td>Runs in which the target was found (of {result.runs})</td>"
        f"<td><b>{int(last['runs_found'])}</b></td><td>—</td><td>the means above mix the "
        "runs that found it with those that never did</td></tr>"
    )
    lines.append("</tbody></table>")
    return "\n".join(lines)


CSS = """
.devsim-baldwin { max-width: 1600px; color: rgba(0, 0, 0, 0.87); }
/* centred: Solara's column carries Vuetify's ma-0 (margin: 0 !important) */
.v-sheet.devsim-baldwin.ma-0 { margin: 0 auto !important; }
.devsim-baldwin .v-card__text { color: rgba(0, 0, 0, 0.87) !important; font-size: 1em; }
.devsim-baldwin-title { font-size: 1.9em; font-weight: 700; }
.devsim-baldwin-intro { font-size: 1.12em; line-height: 1.55; max-width: 75em; }
.devsim-baldwin-figure img { width: 100%; max-width: 900px; height: auto; }
.devsim-baldwin-numbers table { border-collapse: collapse; font-size: 1.02em; }
.devsim-baldwin-numbers th, .devsim-baldwin-numbers td { border: 1px solid #ccc;
  padding: 5px 10px; text-align: left; }
.devsim-baldwin-numbers th { background: #f3f3f3; }
.devsim-muted { color: #888; font-style: italic; }
.devsim-baldwin strong { font-weight: 700; }
.devsim-baldwin-intro code { font-size: 1em; font-weight: 700; padding: 0 4px; }
"""

# Per browser session: the last result survives a visit to another page.
last_result = solara.reactive(None)


@solara.component
def BaldwinPage():
    """The Baldwin effect route."""
    generations = solara.use_reactive(BALDWIN_GENERATIONS)
    runs = solara.use_reactive(5)
    population = solara.use_reactive(BALDWIN_POPULATION)
    learning = solara.use_reactive(True)
    seed = solara.use_reactive(0)

    bad_seed = seed.value is None or int(seed.value) < 0

    def compute():
        if bad_seed:  # the button is off; a key press must not start it either
            return None
        result = simulate(
            int(generations.value),
            int(runs.value),
            int(population.value),
            bool(learning.value),
            int(seed.value),
        )
        if task.is_current():
            last_result.set(result)
        return result

    task = solara.lab.use_task(compute, dependencies=None, raise_error=False)
    result = last_result.value

    solara.Style(CSS)
    solara.AppBarTitle("devsim: the Baldwin effect")
    with solara.Column(classes=["devsim-baldwin"], gap="10px"):
        solara.Text(
            "The Baldwin effect: how learning guides evolution", classes=["devsim-baldwin-title"]
        )
        solara.HTML(
            tag="div", unsafe_innerHTML=render_text(INTRO), classes=["devsim-baldwin-intro"]
        )
        # side by side from a tablet's width on, stacked on a phone (the controls were ~100 px)
        with solara.ColumnsResponsive(12, medium=[3, 9], gutters_dense=True):
            with solara.Card("Run Hinton & Nowlan", margin=0, classes=["devsim-baldwin-controls"]):
                with solara.Column(gap="4px"):
                    solara.SliderInt(
                        f"Generations: {generations.value}",
                        value=generations,
                        min=10,
                        max=1000,
                        step=10,
                    )
                    solara.SliderInt(
                        f"Independent runs: {runs.value}", value=runs, min=1, max=20, step=1
                    )
                    solara.SliderInt(
                        f"Population: {population.value}",
                        value=population,
                        min=100,
                        max=2000,
                        step=100,
                    )
                    solara.Switch(
                        label="Learning: the ? genes are guessed during life", value=learning
                    )
                    solara.InputInt("Seed", value=seed, classes=["devsim-baldwin-seed"])
                    if bad_seed:
                        solara.Error("Seed: a whole number ≥ 0", classes=["devsim-baldwin-bad"])
                    solara.Button(
                        "Run",
                        icon_name="mdi-play",
                        color="primary",
                        on_click=task,
                        disabled=task.pending or bad_seed,
                        classes=["devsim-baldwin-run"],
                    )
                    if task.pending:
                        solara.ProgressLinear(True)
                        solara.Text("Evolving…", classes=["devsim-baldwin-running"])
                    if task.error:
                        solara.Error(f"The run failed: {task.exception}")
                    solara.Text(
                        f"{BALDWIN_LOCI} genes and {BALDWIN_TRIALS} learning trials per life, "
                        "as in the paper. "
                        "1000 generations take a few seconds.",
                        style={"font-size": "0.9em", "color": "#555"},
                    )
            with solara.Card(margin=0):
                if result is None:
                    solara.Info("Press Run to evolve the populations.")
                else:
                    state = "on" if result.learning else "off"
                    solara.Text(
                        f"{result.runs} runs × {result.population} organisms × "
                        f"{result.generations} generations, learning {state}, seed {result.seed} "
                        f"({result.seconds:.1f} s)",
                        classes=["devsim-baldwin-summary"],
                        style={"font-weight": "600"},
                    )
                    with solara.Div(classes=["devsim-baldwin-figure"]):
                        solara.Image(result.figure)
                    solara.HTML(
                        tag="div",
                        unsafe_innerHTML=numbers_html(result),
                        classes=["devsim-baldwin-numbers"],
                    )

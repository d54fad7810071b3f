"""Self-contained HTML handouts for lessons: text, embedded figures, measured vs published."""

from __future__ import annotations

import base64
import html
import re
from collections.abc import Callable
from pathlib import Path

import markdown
import nh3
from matplotlib.figure import Figure

from devsim.experiment import run_scenario
from devsim.genome import Genome
from devsim.lessons import IMAGE_TYPES, IMG_SRC, Lesson, lessons
from devsim.outputs import listed
from devsim.plasticity import WINDOW_OPEN_GATE
from devsim.plots import display_name
from devsim.scenario import load_scenario
from devsim.shipped import lesson_dir, scenario_path
from devsim.validation import ROWS, SHEET_ROWS, Row, Runs, Settings, near_miss

STYLE = """
body { font-family: Georgia, 'DejaVu Serif', serif; max-width: 52rem; margin: 2rem auto;
       padding: 0 1rem; color: #222; line-height: 1.5; }
h1 { font-size: 1.8rem; margin-bottom: 0.2rem; } .summary { color: #555; font-style: italic; }
figure { margin: 1.5rem 0; } figure img { max-width: 100%; border: 1px solid #ddd; }
figcaption { font-size: 0.9rem; color: #555; }
table { border-collapse: collapse; margin: 1rem 0; font-size: 0.92rem; }
th, td { border: 1px solid #ccc; padding: 0.3rem 0.6rem; text-align: left; }
th { background: #f3f3f3; } .pass { color: #1a7f37; } .fail { color: #b42318; }
.near { color: #8a6d00; }
.meta { font-size: 0.8rem; color: #777; margin-top: 3rem; }
.glossary dt { font-weight: bold; margin-top: 0.4rem; }
.glossary dd { margin-left: 1.5rem; }
.place { font-size: 0.8rem; color: #777; margin: 0; letter-spacing: 0.03em; }
.teacher { border-top: 3px solid #1976d2; margin-top: 2.5rem; }
.wide { overflow-x: auto; }  /* a phone scrolls the table, not the page */
/* on paper: no heading alone at a page's foot, no figure or table row cut in two, a long
   table's header repeated; the verdicts keep a mark a greyscale printer shows */
@media print {
  html { font-size: 10.5pt; }  /* every rem with it: tables and captions too */
  body { margin: 0 auto; max-width: none; }
  h1, h2, h3 { break-after: avoid; page-break-after: avoid; }
  figure, tr { break-inside: avoid; page-break-inside: avoid; }
  .teacher { break-before: page; page-break-before: always; }
  thead { display: table-header-group; }
  .pass::before { content: "✔ "; } .fail::before { content: "✘ "; } .near::before { content: "~ "; }
}
"""


def lesson_settings(quick: bool) -> Settings:
    """Fewer animals than the validation table: a handout is for a class, not a paper."""
    if quick:
        return Settings.quick()
    return Settings(seeds=(0, 1, 2), organisms=12, profile_organisms=8, cat=False)


def _png(draw: Callable[[Path], None]) -> str:
    """Render a figure-writing function to an embedded base64 PNG."""
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "figure.png"
        draw(path)
        return base64.b64encode(path.read_bytes()).decode("ascii")


def _map_figures(record: dict, innate: bool) -> list[str]:
    """A sheet run's maps, as the handout shows them; ``innate``: its cortex starts with a
    rough map (neighbours share thalamic inputs: ``aff_corr`` > 0, the kitten's)."""
    from devsim.plots import maps

    start = (
        "this cortex starts with a rough map: neighbouring cells share thalamic inputs"
        if innate
        else "this cortex starts salt and pepper: neighbours share no thalamic inputs"
    )
    return [
        _figure_html(
            _png(lambda p: maps.od_maps(record, p, label=display_name)),
            "Ocular dominance maps drawn as autoradiographs: the contralateral (left) eye's "
            "territory white, the ipsilateral eye's black.",
        ),
        _figure_html(
            _png(lambda p: maps.orientation_maps(record, p, label=display_name)),
            "Orientation maps: colour = preferred orientation, brightness = selectivity; "
            "pinwheels circled.",
        ),
        _figure_html(
            _png(lambda p: maps.map_development(record, p, label=display_name)),
            f"One animal's maps over age: vision refines them while the window is open ({start}).",
        ),
    ]


def _figure_html(png: str, caption: str) -> str:
    return (
        f'<figure><img alt="{html.escape(caption)}" src="data:image/png;base64,{png}">'
        f"<figcaption>{html.escape(caption)}</figcaption></figure>"
    )


def _rows_table(rows: list[Row]) -> str:
    lines = [
        '<div class="wide"><table><thead><tr><th>experiment</th><th>quantity</th>'
        "<th>range the published result allows</th><th>measured here</th><th></th>"
        "<th>source</th></tr>"
        "</thead><tbody>"
    ]
    for row in rows:
        for m in row.measures:
            mark = (
                ""  # reported: no published target to agree or differ with
                if not m.has_target
                else '<span class="pass">agrees</span>'
                if m.passed
                else '<span class="near">just outside</span>'
                if near_miss(m.mean, m.low, m.high)
                else '<span class="fail">differs</span>'
            )
            lines.append(
                f"<tr><td>{html.escape(row.experiment)}</td><td>{html.escape(m.name)}</td>"
                f"<td>{html.escape(m.target())}</td><td>{m.measured()}</td>"
                f"<td>{mark}</td><td>{html.escape(row.source)}</td></tr>"
            )
    lines.append("</tbody></table></div>")
    return "\n".join(lines)


def build_handout(
    lesson: Lesson,
    out: Path,
    quick: bool = False,
    runs: Runs | None = None,
    teacher: bool = False,
) -> dict:
    """Run the lesson's material and write ``out/index.html``; return the measured numbers.
    ``teacher``: the teacher's copy, with the lesson's notes for the teacher at the end.

    The handout is built in a staging folder beside ``out`` and published only when it is
    complete: an error or an interruption leaves neither a partial handout nor the staging
    folder behind.
    """
    from devsim.outputs import staged

    with staged(Path(out)) as stage:
        numbers, page = _build(lesson, quick, runs, teacher)
        (stage / "index.html").write_text(page, encoding="utf-8")
    return numbers


def _build(lesson: Lesson, quick: bool, runs: Runs | None, teacher: bool) -> tuple[dict, str]:
    """Run everything the lesson asks for: the measured numbers and the handout page."""
    from devsim.plots.development import od_histograms, timeline

    settings = runs.settings if runs else lesson_settings(quick)
    runs = runs or Runs(settings)
    parts: list[str] = []
    numbers: dict = {}
    ran: list[str] = []  # what the figures and the table were run with (the page's foot)

    for name in lesson.header.scenarios:
        scenario = load_scenario(scenario_path(name))
        data = scenario.model_dump(by_alias=True)
        data["seed"] = settings.seeds[0]
        sheet = scenario.cortex == "sheet"
        for group in data["groups"]:
            group["organisms"] = settings.sheet_organisms if sheet else settings.organisms
        scenario = type(scenario).model_validate(data)
        organisms = data["groups"][0]["organisms"]
        ran.append(f"{scenario.name}: seed {scenario.seed}, {organisms} organisms per group")
        summary, model = run_scenario(scenario)
        numbers[name] = {g: d["final"] for g, d in summary["groups"].items()}
        parts.append(f"<h2>Run: {html.escape(scenario.name)}</h2>")
        if scenario.description:
            parts.append(f"<p>{html.escape(scenario.description.strip())}</p>")
        parts.append(
            _figure_html(
                # three a row, so that a printed page can read them
                _png(lambda p, s=summary: od_histograms(s, p, label=display_name, per_row=3)),
                f"Ocular-dominance histograms on the last day, P{scenario.days} (class 1 = "
                "contralateral eye only, 7 = ipsilateral only)"
                + (
                    f"; the black outline is the {display_name(summary['reference_group'])} "
                    "group's."
                    if len(summary["groups"]) > 1
                    else "."
                ),
            )
        )
        parts.append(
            _figure_html(
                _png(lambda p, s=summary, sc=scenario: timeline(s, sc, p, label=display_name)),
                "Mean ODI and the plasticity gate over age. The shaded band marks the days "
                f"on which the {display_name(summary['reference_group'])} group's gate is at "
                f"least {WINDOW_OPEN_GATE:g}, the window's most plastic days (the gate is "
                "above zero for longer, and a deprived group's can peak later); rearing "
                "events are bars.",
            )
        )
        if sheet:
            first = scenario.groups[0]
            genome = Genome.preset(first.species or scenario.species, first.genome)
            parts.extend(_map_figures(model.map_record(), innate=genome["aff_corr"] > 0))

    if lesson.header.profile:
        from devsim.plots.validation import profile_figure
        from devsim.profile import MD_DAYS

        profile = runs.profile(lesson.header.profile)
        numbers["profile_peak_start"] = profile.peak_start("light")
        ran.append(
            f"the profile: {listed('seed', settings.seeds)}, "
            f"{settings.profile_organisms} organisms per group"
        )
        parts.append("<h2>Run: the critical-period profile</h2>")
        parts.append(
            _figure_html(
                _png(lambda p: profile_figure(profile, p)),
                f"OD shift after {MD_DAYS} days of MD, against the age MD started.",
            )
        )

    if lesson.header.baldwin:
        from devsim.baldwin import run_baldwin
        from devsim.plots.baldwin import plot_alleles

        generations, n_runs = (30, 3) if quick else (200, 10)
        table = run_baldwin(generations=generations, runs=n_runs, seed=0)
        last = table.iloc[-1]
        numbers["baldwin"] = {k: float(last[k]) for k in ("correct", "incorrect", "undecided")}
        parts.append("<h2>Run: Hinton &amp; Nowlan (1987)</h2>")
        parts.append(
            _figure_html(
                _png(lambda p: plot_alleles(table, p)),
                f"Allele frequencies over {generations} generations ({n_runs} runs).",
            )
        )

    for name in lesson.header.evolution:
        parts.append(_evolution_part(name, quick, numbers))

    rows = _measure_rows(runs, lesson.header.rows)
    if rows:
        numbers["rows"] = {r.number: {m.name: m.mean for m in r.measures} for r in rows}
        sheet = any(r.number in SHEET_ROWS for r in rows)
        ran.append(
            "the table: runs of its own, of the validation table's scenarios (not the runs "
            f"in the figures), {listed('seed', settings.seeds)}, "
            f"{settings.organisms} organisms per group"
            + (
                f" (its sheet rows: {listed('seed', settings.sheet_seeds)}, "
                f"{settings.sheet_organisms} per group)"
                if sheet
                else ""
            )
        )
        parts.append("<h2>Measured here, next to the published result</h2>")
        parts.append(
            f"<p>These numbers come from runs of their own ({listed('seed', settings.seeds)}, "
            f"{settings.organisms} animals per group), not from the runs in the figures "
            "above, so they can differ a little from what the figures show (± and the other "
            "terms are explained at the end).</p>"
        )
        parts.append(_rows_table(rows))

    return numbers, _page(lesson, parts, ran, teacher)


def _measure_rows(runs: Runs, numbers: tuple[int, ...]) -> list[Row]:
    out = []
    for number, experiment, source, fn, scenarios in ROWS:
        if number in numbers:
            row = Row(number, experiment, source, fn, scenarios)
            row.measures = fn(runs)
            out.append(row)
    return out


def run_evolution_file(path: Path, quick: bool = False):
    """Evolve an evolution scenario for its generations; the per-generation table."""
    from devsim.evolution import build_evolution_model
    from devsim.evolution_scenario import load_evolution_scenario

    scenario = load_evolution_scenario(path)
    if quick:
        scenario = scenario.quick_version()
    model = build_evolution_model(scenario)
    for _ in range(scenario.generations):
        model.step()
    return scenario, model.history()


def _evolution_part(name: str, quick: bool, numbers: dict) -> str:
    """Run an evolution scenario and show its traits over generations (in a world of
    several features, each layer's measure per feature)."""
    scenario, table = run_evolution_file(scenario_path(name, "evolution"), quick)
    features = [f.name for f in scenario.features]
    if features:
        panels = {
            "innate_effective": "genome: template (strength x match)",
            "plasticity": "learning (eta x gate-days)",
            "adult_gate": "adult gate",
        }
        lines = {c: [(f, f"{c}@{f}_mean") for f in features] for c in panels}
    else:
        panels = {c: c for c in ("fitness", "plasticity", "innate")}
        lines = {c: [(None, f"{c}_mean")] for c in panels}
    last = table.iloc[-1]
    numbers[f"evolution:{name}"] = {
        column: float(last[column]) for pairs in lines.values() for _, column in pairs
    }

    def draw(path: Path) -> None:
        fig = Figure(figsize=(7.5, 2.8), layout="constrained")
        axes = fig.subplots(1, len(panels))
        for ax, (key, title) in zip(axes, panels.items(), strict=True):
            for label, column in lines[key]:
                ax.plot(table["generation"], table[column], label=label)
            ax.set_title(title, fontsize=9)
            ax.set_xlabel("generation")
        if features:
            axes[0].legend(fontsize=7, frameon=False)
        fig.savefig(path, dpi=100)

    caption = (
        f"Population means over {scenario.generations} generations, per feature of the "
        "world: the world-specific innate template, plasticity (learning rate integrated "
        "over the life) and the plasticity gate at maturity."
        if features
        else f"Population means over {scenario.generations} generations: fitness, "
        "plasticity (learning rate integrated over the open window) and the strength "
        "of the innate template."
    )
    return (
        f"<h2>Run: {html.escape(scenario.name)}</h2>"
        f"<p>{html.escape(scenario.description.strip())}</p>" + _figure_html(_png(draw), caption)
    )


# The words a handout may use that a student may not know, each with its plain meaning and
# the pattern that finds it in the page: the handout ends with those it uses.
GLOSSARY = (
    ("P24", r"\bP\d+\b", "postnatal day: P24 is the 24th day after birth (mouse and kitten "
     "ages are given this way)."),
    ("critical period", r"critical (period|window)", "the weeks of early life when what "
     "the eyes see rewires the visual cortex; later the same experience changes little."),
    ("contralateral, ipsilateral", r"contralateral|ipsilateral", "the eye on the other "
     "side of the head from the brain area recorded, and the eye on the same side. Most "
     "cells prefer the contralateral eye; in devsim it is the left eye."),
    ("MD", r"\bMD\b|monocular deprivation", "monocular deprivation: one eye's lids sewn "
     "shut for some days, so that it sees only blurred light."),
    ("OD class", r"\bOD\b|ocular.dominance", "which eye drives a cell, in 7 classes: 1 = "
     "only the contralateral (left) eye, 4 = both eyes equally, 7 = only the ipsilateral "
     "(right) eye."),
    ("CBI", r"\bCBI\b", "contralateral bias index: one number for all of a group's cells, "
     "from 1 (every cell driven by the contralateral eye) to 0 (every cell by the other "
     "eye); 0.5 is balanced, and normal mice are near 0.65."),
    ("ODI", r"\bODI\b", "ocular dominance index of one cell: +1 when only the left "
     "(contralateral) eye drives it, -1 when only the right eye does, 0 when both drive it "
     "equally; the mean ODI averages it over the cells."),
    ("binocular", r"binocular", "driven by both eyes (OD classes 2 to 6); the binocular "
     "fraction is the share of the cells that are."),
    ("responsive cells", r"responsive", "cells that answer at least one eye; cells that "
     "answer neither are left out of every count."),
    ("plasticity gate", r"\bgate\b", "how much the cortex can still change, from 0 "
     "(fixed) to 1 (fully plastic). In the model it opens when inhibition in the cortex "
     "matures and is shut by brakes that build up afterwards."),
    ("shift", r"\bshift", "how far a group's eye preference moved: the control animals' "
     "CBI minus the deprived animals' CBI, positive when the deprived animals' cells moved "
     "toward the right (ipsilateral) eye, as they do when the left eye is closed."),
    ("±", r"±", "the value is the mean of repeated runs, ± how much it varied between them "
     "(the standard deviation)."),
    ("pinwheel", r"pinwheel", "a point of an orientation map around which every "
     "orientation is found, as the colours are around the centre of a colour wheel; cat "
     "and monkey maps have about π (3.1) per column area."),
    ("Λ, column spacing", r"Λ|column spacing", "the distance on the cortical sheet from "
     "one patch of an eye (or an orientation) to the next of the same, in units of the "
     "sheet; the cat's is about 9 units here."),
    ("ring", r"\bring\b", "how far the map's column spacing stands out of its spectrum: "
     "about 1 when units are salt and pepper, about 2 or more when the map has columns."),
    ("seed", r"\bseeds?\b", "the number that starts a run's random draws: runs with "
     "different seeds are like different litters."),
)  # fmt: skip


def glossary_html(page: str) -> str:
    """The words of :data:`GLOSSARY` that ``page`` (HTML) uses, as a list of definitions
    ("" if none)."""
    text = html.unescape(re.sub(r"<[^>]+>|data:[^\"')]+", " ", page))
    used = [(term, meaning) for term, pattern, meaning in GLOSSARY if re.search(pattern, text)]
    if not used:
        return ""
    items = "".join(
        f"<dt>{html.escape(term)}</dt><dd>{html.escape(meaning)}</dd>" for term, meaning in used
    )
    return f'<section class="glossary"><h2>Words used here</h2><dl>{items}</dl></section>'


def _page(lesson: Lesson, parts: list[str], ran: list[str], teacher: bool = False) -> str:
    body = render_text(lesson.student_body, lesson.images)
    shipped = lesson.path.resolve().parent == lesson_dir().resolve()
    source = f"lessons/{lesson.path.name}" if shipped else f"the lesson file {lesson.path.name}"
    # where it stands in the course, for a printed set (shipped lessons only)
    order = [item.name for item in lessons()] if shipped else []
    place = (
        f'<p class="place">devsim lesson {order.index(lesson.name) + 1} of {len(order)}'
        f"{' · teacher’s copy' if teacher else ''}</p>"
        if lesson.name in order
        else ('<p class="place">teacher’s copy</p>' if teacher else "")
    )
    notes = (
        '<section class="teacher"><h2>For the teacher</h2>'
        f"{render_text(lesson.teacher_notes, lesson.images)}</section>"
        if teacher and lesson.teacher_notes
        else ""
    )
    return f"""<!DOCTYPE html>
<html lang="{html.escape(lesson.header.language)}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(lesson.title)} · devsim lesson</title>
<style>{STYLE}</style></head>
<body>
{place}
<h1>{html.escape(lesson.title)}</h1>
<p class="summary">{html.escape(lesson.header.summary)}</p>
{body}
{"".join(parts)}
{glossary_html(body + "".join(parts))}
<p class="meta">Generated by devsim from {html.escape(source)}.{
        " Runs: " + html.escape("; ".join(ran)) + "." if ran else ""
    }</p>
{notes}
</body></html>
"""


# What Markdown (with tables) produces, and nothing else: lesson text is data, and raw HTML
# in it (scripts, event handlers, iframes, javascript: links) must not reach a browser.
ALLOWED_TAGS = {
    "p", "h1", "h2", "h3", "h4", "h5", "h6", "em", "strong", "code", "pre", "ul", "ol",
    "li", "a", "img", "table", "thead", "tbody", "tr", "th", "td", "blockquote", "hr",
    "br", "sup", "sub",
    "details", "summary",  # an answer a teacher folds away until a student opens it
}  # fmt: skip
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title"},
    "th": {"style"},  # the tables extension aligns columns with style="text-align: ..."
    "td": {"style"},
    "ol": {"start"},
}
_IMAGE_DATA = tuple(f"data:image/{kind};" for kind in dict.fromkeys(IMAGE_TYPES.values()))


def _url_allowed(tag: str, attribute: str, value: str) -> str | None:
    """Links: http, https or relative; images: embedded raster data or relative paths."""
    url = value.strip().lower()
    scheme = url.split(":", 1)[0] if ":" in url.split("/", 1)[0] else ""
    if tag == "a" and attribute == "href":
        return value if scheme in ("", "http", "https") else None
    if tag == "img" and attribute == "src":
        if url.startswith(_IMAGE_DATA):
            return value
        return value if not scheme and not url.startswith("//") else None  # no tracking
    return value


_CLEANER = nh3.Cleaner(
    tags=ALLOWED_TAGS,
    clean_content_tags={"script", "style", "iframe", "object", "embed", "template"},
    attributes=ALLOWED_ATTRIBUTES,
    attribute_filter=_url_allowed,
    url_schemes={"http", "https", "data"},
    filter_style_properties={"text-align"},
    strip_comments=True,
    link_rel="noopener noreferrer",
)


# Every element name of HTML (WHATWG, obsolete ones included), SVG and MathML. A tag that
# names one of them and is not allowed is removed (with its content for scripts and the
# like); anything else in angle brackets is the author's text (``<N>``, ``<g_inh>``, ``<your
# answer>``), which ammonia would drop as an unknown tag: it is shown as written instead.
HTML_ELEMENTS = frozenset(
    """a abbr acronym address applet area article aside audio b base basefont bdi bdo bgsound
    big blink blockquote body br button canvas caption center cite code col colgroup data
    datalist dd del details dfn dialog dir div dl dt em embed fieldset figcaption figure font
    footer form frame frameset h1 h2 h3 h4 h5 h6 head header hgroup hr html i iframe image img
    input ins isindex kbd keygen label legend li link listing main map mark marquee menu
    menuitem meta meter multicol nav nextid nobr noembed noframes noscript object ol optgroup
    option output p param picture plaintext pre progress q rb rp rt rtc ruby s samp script
    search section select slot small source spacer span strike strong style sub summary sup
    table tbody td template textarea tfoot th thead time title tr track tt u ul var video wbr
    xmp
    svg altglyph animate animatecolor animatemotion animatetransform circle clippath
    color-profile cursor defs desc discard ellipse feblend fecolormatrix fecomponenttransfer
    fecomposite feconvolvematrix fediffuselighting fedisplacementmap fedistantlight
    fedropshadow feflood fefunca fefuncb fefuncg fefuncr fegaussianblur feimage femerge
    femergenode femorphology feoffset fepointlight fespecularlighting fespotlight fetile
    feturbulence filter font-face foreignobject g glyph hatch line lineargradient marker mask
    metadata mpath path pattern polygon polyline radialgradient rect set stop switch symbol
    text textpath tref tspan use view
    math annotation annotation-xml maction menclose merror mfenced mfrac mi mmultiscripts mn
    mo mover mpadded mphantom mprescripts mroot mrow ms mspace msqrt mstyle msub msubsup msup
    mtable mtd mtext mtr munder munderover none semantics""".split()
)
_TAG = re.compile(r"<(/?)([A-Za-z][^\s/>]*)([^<>]*)>")


def _show_unknown_tag(match: re.Match) -> str:
    if match.group(2).lower() in HTML_ELEMENTS:
        return match.group(0)
    return html.escape(match.group(0), quote=False)


def sanitise_html(fragment: str) -> str:
    """``fragment`` with only the tags, attributes and URLs Markdown text needs; text in
    angle brackets that names no HTML element is kept as text."""
    return _CLEANER.clean(_TAG.sub(_show_unknown_tag, fragment))


def render_text(text: str, images: tuple[tuple[str, Path], ...] = ()) -> str:
    """Markdown to sanitised HTML (handouts and the browser Lessons page); a lesson's own
    ``images`` (:attr:`devsim.lessons.Lesson.images`) embedded as data, so a handout stays
    one offline file and the page shows them."""
    page = markdown.markdown(text, extensions=["tables"])
    if images:
        files = dict(images)

        def embed(match: re.Match) -> str:
            file = files.get(html.unescape(match[3]).strip())
            if file is None:
                return match[0]
            kind = IMAGE_TYPES[file.suffix.lower()]
            data = base64.b64encode(file.read_bytes()).decode("ascii")
            return f'{match[1]}"data:image/{kind};base64,{data}"'

        page = IMG_SRC.sub(embed, page)
    return sanitise_html(page)

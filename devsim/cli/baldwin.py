"""``devsim baldwin``: reproduce Hinton & Nowlan (1987); write ``alleles.csv``, ``alleles.png`` and
``baldwin.json`` (the settings).

Numbers are read as text and converted here, so a bad value is reported as one
:class:`~devsim.errors.DevsimInputError` line (exit code 2) by :func:`devsim.cli.main`. Nothing
is written until the whole computation has succeeded, and each file is written to a temporary
file in the output directory and moved into place with :func:`os.replace`.
"""

from __future__ import annotations

import argparse
import json
import math

import pandas as pd

from devsim.budget import add_arguments as add_budget_arguments
from devsim.budget import baldwin_cost, check_cost, limits
from devsim.defaults import (
    BALDWIN_GENERATIONS,
    BALDWIN_LOCI,
    BALDWIN_MUTATION_RATE,
    BALDWIN_POPULATION,
    BALDWIN_RUNS,
    BALDWIN_SEED,
    BALDWIN_TRIALS,
)
from devsim.errors import DevsimInputError
from devsim.outputs import check_out, check_own_folder, staged
from devsim.provenance import provenance

CSV_NAME = "alleles.csv"
PNG_NAME = "alleles.png"
JSON_NAME = "baldwin.json"  # the settings and the code that ran them
KEY_GENERATIONS = (0, 10, 50)


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add the ``baldwin`` sub-command to ``subparsers`` and return its parser."""
    parser = subparsers.add_parser(
        "baldwin",
        help="reproduce Hinton & Nowlan (1987): how learning can guide evolution",
        description=(
            f"Evolve populations whose {BALDWIN_LOCI} loci are 1, 0 or ? (learnable) toward a "
            "single target genotype; write mean +- sd allele frequencies per generation to "
            "DIR/alleles.csv, the classic figure to DIR/alleles.png, and the settings to "
            "DIR/baldwin.json."
        ),
    )
    # numbers are read as text and converted in run(): a bad value is one line, exit code 2
    parser.add_argument(
        "--generations",
        default=str(BALDWIN_GENERATIONS),
        metavar="G",
        help="generations (default %(default)s)",
    )
    parser.add_argument(
        "--runs",
        default=str(BALDWIN_RUNS),
        metavar="R",
        help="independent runs (default %(default)s)",
    )
    parser.add_argument(
        "--seed", default=str(BALDWIN_SEED), metavar="S", help="root seed (default %(default)s)"
    )
    parser.add_argument(
        "--population",
        default=str(BALDWIN_POPULATION),
        metavar="N",
        help="individuals (default %(default)s)",
    )
    parser.add_argument(
        "--trials",
        default=str(BALDWIN_TRIALS),
        metavar="T",
        help="learning trials per life (default %(default)s)",
    )
    parser.add_argument(
        "--mutation-rate",
        default=f"{BALDWIN_MUTATION_RATE:g}",
        metavar="M",
        help="per-locus mutation probability per child (default %(default)s)",
    )
    parser.add_argument(
        "--no-learning",
        action="store_true",
        help="disable learning: ? alleles count as wrong",
    )
    parser.add_argument("--out", required=True, metavar="DIR", help="output directory")
    add_budget_arguments(parser)
    parser.set_defaults(func=run)
    return parser


def _integer(option: str, text: str) -> int:
    try:
        return int(text.strip())
    except ValueError:
        raise DevsimInputError(f"{option} must be an integer, got {text!r}") from None


def _number(option: str, text: str) -> float:
    try:
        value = float(text.strip())
    except ValueError:
        raise DevsimInputError(f"{option} must be a number, got {text!r}") from None
    if not math.isfinite(value):
        raise DevsimInputError(f"{option} must be a finite number, got {text!r}")
    return value


def _summary(table: pd.DataFrame) -> str:
    last = int(table["generation"].iloc[-1])
    wanted = sorted({g for g in KEY_GENERATIONS if g <= last} | {last})
    rows = table.set_index("generation").loc[wanted]
    lines = [
        f"{'generation':>10}  {'correct':>15}  {'incorrect':>15}  {'undecided':>15}  {'fitness':>7}"
    ]
    for generation, row in rows.iterrows():
        cells = [
            f"{row[name]:.3f} +- {row[name + '_sd']:.3f}"
            for name in ("correct", "incorrect", "undecided")
        ]
        lines.append(
            f"{generation:>10}  {cells[0]:>15}  {cells[1]:>15}  {cells[2]:>15}  "
            f"{row['fitness_mean']:>7.2f}"
        )
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    """Run the replicated simulation, write the CSV and PNG, print key values."""
    out = check_out(args.out)
    check_own_folder(out, "devsim baldwin")
    from devsim.baldwin import TABLE_COLUMNS, run_baldwin
    from devsim.plots.baldwin import plot_alleles

    generations = _integer("--generations", args.generations)
    runs = _integer("--runs", args.runs)
    seed = _integer("--seed", args.seed)
    population = _integer("--population", args.population)
    trials = _integer("--trials", args.trials)
    mutation_rate = _number("--mutation-rate", args.mutation_rate)
    cost = baldwin_cost(population, generations, runs)
    check_cost(cost, *limits(args), what="baldwin", smaller="a smaller --population")

    try:
        table = run_baldwin(
            generations=generations,
            runs=runs,
            seed=seed,
            population=population,
            trials=trials,
            mutation_rate=mutation_rate,
            learning=not args.no_learning,
        )
    except DevsimInputError as exc:
        # run_baldwin names its parameters; point at the command-line option instead.
        message = str(exc)
        for name in ("generations", "runs", "seed", "population", "trials", "mutation_rate"):
            if message.startswith(f"{name} "):
                message = "--" + name.replace("_", "-") + message[len(name) :]
                break
        raise DevsimInputError(message) from None

    csv_table = table[list(TABLE_COLUMNS)]
    settings = {
        **provenance(),
        "generations": generations,
        "runs": runs,
        "seed": seed,
        "population": population,
        "trials": trials,
        "mutation_rate": mutation_rate,
        "learning": not args.no_learning,
    }
    with staged(out) as staging:
        csv_table.to_csv(staging / CSV_NAME, index=False)
        (staging / JSON_NAME).write_text(json.dumps(settings, indent=1) + "\n", encoding="utf-8")
        plot_alleles(table, staging / PNG_NAME)

    learning = "off" if args.no_learning else "on"
    print(
        f"Hinton & Nowlan (1987): {runs} runs x {generations} generations, population "
        f"{population}, {trials} trials, learning {learning} (mean +- sd over runs)"
    )
    print(_summary(table))
    found = int(table["runs_found"].iloc[-1])
    # the means mix runs that found the target with runs that never did: say how many
    print(f"the target was found in {found} of {runs} runs by generation {generations}")
    print(f"wrote {out / CSV_NAME}, {out / PNG_NAME} and {out / JSON_NAME} (the settings)")
    return 0

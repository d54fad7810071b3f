"""Defaults and settings that the library and the command line share, each written once here.

Plain values with no imports: the command line builds every command's parser at start-up
and takes its defaults from here, while the library modules they belong to import pandas,
Mesa or the model. The library's own signatures use the same names, so the two cannot
drift apart.
"""

from __future__ import annotations

# devsim baldwin / devsim.baldwin: Hinton & Nowlan's (1987) 20 loci, 1000 individuals and
# 1000 learning trials per life; 50 generations, 20 independent runs, root seed 0.
BALDWIN_LOCI = 20
BALDWIN_POPULATION = 1000
BALDWIN_TRIALS = 1000
BALDWIN_MUTATION_RATE = 0.0
BALDWIN_GENERATIONS = 50
BALDWIN_RUNS = 20
BALDWIN_SEED = 0

# devsim bench / devsim.bench: seeds per variant of the --checks comparisons.
BENCH_SEEDS = 5

# devsim profile / devsim.profile: days of each MD of a profile, the animal profiled and the
# organisms per group.
PROFILE_MD_DAYS = 4
PROFILE_SPECIES = "mouse"
PROFILE_ORGANISMS = 8

# Runs (seeds) per scenario of one command: devsim evolve --seeds, devsim profile --seeds.
SEEDS_MAX = 1000

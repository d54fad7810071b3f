"""Developmental genomes: genes that say *how to learn*, never what to know.

A genome is a set of named genes with bounds and a per-gene heritable mutation scale
(``sigma``). The genes cover three things (docs/science.md, The model):

* the plasticity rule family ``dw = eta * dt * <g_pm * (A*x*y*(y - theta) + B*x*y) +
  g * (C*x + D*y + E)> - eta * gamma * dt * w`` with a sliding BCM threshold (Bienenstock,
  Cooper & Munro 1982), ``g_pm`` the potentiation gate where ``A*y*(y - theta) + B*y`` is
  positive and the gate ``g`` elsewhere (docs/science.md, The plasticity rule);
* the critical window as a circuit: PV inhibition matures with the activity that reaches
  it and triggers the window; brakes (perineuronal nets, Lynx1) accumulate after it and
  close it; homeostatic scaling and adult potentiation remain (Hensch 2005; Takesian &
  Hensch 2013; Toyoizumi et al. 2013);
* wiring: initial (exuberant) density, pruning, sprouting and the contralateral share of
  the initial projection.

Presets: ``mouse`` (eyes open ~P14; the gate above 0.1 from ~P21 to ~P36, peaking at
P25-26, so MD shifts OD most from P24-P28, as in Gordon & Stryker 1996), ``cat`` (eyes
open ~P8; the gate peaks at ~P40, above 0.1 from ~P27 to ~P70), ``gad65_ko`` (mouse with
weak inhibition, Hensch et al. 1998) and ``lynx1_ko`` (mouse without the Lynx1 brake,
Morishita et al. 2010).
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from devsim.errors import DevsimInputError


@dataclass(frozen=True)
class Gene:
    """One heritable parameter: its default, allowed range, mutation scale and unit."""

    name: str
    default: float
    low: float
    high: float
    sigma: float  # default heritable mutation scale, in the gene's own unit
    unit: str
    doc: str


# Mouse defaults. Units are per day of life unless stated otherwise.
GENES: tuple[Gene, ...] = (
    # --- the plasticity rule family (BCM is A=1, B=C=D=E=0) ---
    Gene("eta", 0.2, 0.0, 1000.0, 0.01, "1/day", "learning rate"),
    Gene("tau_theta", 0.1, 0.01, 5.0, 0.01, "day", "time constant of the sliding threshold"),
    Gene("tau_theta_down", 0.1, 0.01, 20.0, 0.05, "day", "...when the threshold slides down"),
    Gene("y0", 1.0, 0.05, 20.0, 0.1, "a.u.", "BCM target activity: theta -> <y^2>/y0"),
    Gene("gamma", 0.0, 0.0, 1.0, 0.005, "1/day", "weight decay"),
    Gene("w_max", 2.0, 0.01, 100.0, 0.02, "a.u.", "saturation strength of one synapse"),
    Gene("rule_A", 1.0, -2.0, 2.0, 0.05, "-", "BCM term x*y*(y - theta)"),
    Gene("rule_B", 0.0, -2.0, 2.0, 0.05, "-", "Hebbian term x*y"),
    Gene("rule_C", 0.0, -1.0, 1.0, 0.02, "-", "presynaptic term x"),
    Gene("rule_D", 0.0, -1.0, 1.0, 0.02, "-", "postsynaptic term y"),
    Gene("rule_E", 0.0, -1.0, 1.0, 0.02, "-", "constant drift"),
    # --- the critical window as a circuit: PV inhibition matures with the activity that
    # reaches it and opens the window; brakes (perineuronal nets, Lynx1) close it ---
    Gene("r_mat", 0.048, 0.0, 1.0, 0.005, "1/day", "maturation rate of PV inhibition"),
    Gene("a_vis", 0.9, 0.0, 1.0, 0.05, "-", "share of maturation driven by evoked activity"),
    Gene("a_ref", 1.5, 0.01, 50.0, 0.05, "a.u.", "PV drive at which maturation runs at r_mat"),
    Gene("mat_noise", 0.1, 0.0, 1.0, 0.02, "-", "littermate noise of r_mat (log sd)"),
    Gene("g_inh", 1.0, 0.0, 3.0, 0.05, "-", "inhibitory gain (GAD65)"),
    Gene("w_pv", 0.0, 0.0, 4.0, 0.05, "-", "PV inhibition onto excitatory cells per unit I"),
    Gene("theta_open", 0.5, 0.0, 3.0, 0.05, "-", "inhibition that triggers the window"),
    Gene("open_width", 0.015, 0.005, 1.0, 0.01, "-", "softness of the opening"),
    Gene("r_close", 0.07, 0.0, 2.0, 0.01, "1/day", "perineuronal-net growth per day of vision"),
    Gene("pnn_loss", 1.6, 0.0, 5.0, 0.01, "1/day", "net loss per day, drive below the used-to"),
    Gene("r_lynx", 0.3, 0.0, 2.0, 0.01, "1/day", "Lynx1 expression rate after opening"),
    Gene("s_brake", 6.5, 0.0, 50.0, 0.2, "-", "strength of the brakes (nets x Lynx1 x inhibition)"),
    Gene("floor_adult", 0.004, 0.0, 1.0, 0.005, "-", "plasticity left in the adult"),
    Gene("ltp_brake", 0.9, 0.0, 1.0, 0.05, "-", "share of the brakes that acts on potentiation"),
    Gene("r_scale", 0.05, 0.0, 5.0, 0.02, "1/day", "homeostatic synaptic scaling rate"),
    Gene("tau_set", 7.0, 0.5, 100.0, 0.5, "day", "time constant of the scaling set point"),
    Gene("tau_used", 14.0, 0.5, 100.0, 0.5, "day", "averaging time of the used-to PV drive"),
    # --- wiring ---
    Gene("density", 0.25, 0.02, 1.0, 0.02, "-", "initial connection probability"),
    Gene("prune_threshold", 0.6, 0.0, 1.0, 0.02, "-", "weak synapse: |w| below this x mean"),
    Gene("sprout_rate", 0.12, 0.0, 1.0, 0.005, "1/day", "sprouting probability of a free slot"),
    Gene("sprout_act", 1.0, 0.0, 1.0, 0.02, "-", "share of sprouting that needs activity"),
    Gene("sprout_floor", 0.24, 0.0, 50.0, 0.05, "-", "PV drive (x a_ref) below which none"),
    Gene("sprout_drive", 0.38, 0.01, 50.0, 0.05, "-", "PV drive (x a_ref) for full sprouting"),
    Gene("contra_bias", 0.7, 0.0, 1.0, 0.02, "-", "contralateral share of afferents"),
    # --- the cortical sheet (scenario cortex = "sheet"; the point cortex has no space) ---
    Gene("aff_spread", 2.5, 0.5, 20.0, 0.1, "positions", "afferent arbor: sd of strength"),
    Gene("aff_corr", 0.0, 0.0, 20.0, 0.1, "units", "shared afferents: correlation length"),
    Gene("lat_exc", 1.0, 0.0, 10.0, 0.05, "-", "gain of short-range lateral excitation"),
    Gene("r_exc", 0.5, 0.1, 20.0, 0.05, "units", "range (sd) of lateral excitation"),
    Gene("lat_inh", 2.0, 0.0, 10.0, 0.05, "-", "gain of longer-range lateral inhibition"),
    Gene("r_inh", 1.0, 0.1, 20.0, 0.05, "units", "range (sd) of lateral inhibition"),
    # --- innate weight template ("pretrained weights"; used by devsim.evolution only) ---
    Gene("innate_strength", 0.0, 0.0, 1.0, 0.05, "-", "share of neurons set to innate_orientation"),
    Gene("innate_orientation", 0.0, 0.0, 180.0, 10.0, "deg", "template orientation (periodic)"),
    Gene("innate_offset", 0.0, -2.0, 2.0, 0.2, "channels", "eye offset the template expects"),
    # the sigma reference of innate_orientation: a neutral copy of its mutation (the same
    # period, start scale and ceiling), so that without selection their sigmas drift alike
    Gene("marker", 0.0, 0.0, 180.0, 10.0, "deg", "neutral marker locus: no phenotypic effect"),
)
GENE_NAMES: tuple[str, ...] = tuple(g.name for g in GENES)
# Genes that only devsim.evolution expresses (the innate template and the neutral marker):
# a development scenario that sets them would change nothing.
EVOLUTION_ONLY_GENES = frozenset(
    {"innate_strength", "innate_orientation", "innate_offset", "marker"}
)
# Genes that only a sheet cortex expresses (afferent spread and sharing, lateral interactions).
SHEET_GENES = frozenset({"aff_spread", "aff_corr", "lat_exc", "r_exc", "lat_inh", "r_inh"})
GENE_BY_NAME: dict[str, Gene] = {g.name: g for g in GENES}
# The genes a development scenario takes, and those an evolution scenario takes (it
# develops the point cortex).
DEVELOPMENT_GENES = tuple(n for n in GENE_NAMES if n not in EVOLUTION_ONLY_GENES)
EVOLUTION_GENES = tuple(n for n in GENE_NAMES if n not in SHEET_GENES)


@dataclass(frozen=True)
class Species:
    """Facts about a species that are not genes: when the eyes open, a typical lifetime."""

    name: str
    eye_opening_day: int  # post-natal day
    genes: Mapping[str, float] = field(default_factory=dict)  # departures from GENES defaults
    animal: str = ""  # the animal a strain belongs to (a knockout is a mouse); default: name

    def __post_init__(self):
        if not self.animal:
            object.__setattr__(self, "animal", self.name)


SPECIES: dict[str, Species] = {
    "mouse": Species("mouse", eye_opening_day=14),
    # Cat: eyes open ~P8; the window peaks ~6 weeks and declines over ~10 weeks (Mower 1991).
    "cat": Species(
        "cat",
        eye_opening_day=8,
        genes={
            "r_mat": 0.025,
            "r_close": 0.02,
            # nets turn over as slowly as they grow (pnn_loss / r_close as in the mouse)
            "pnn_loss": 0.46,
            # a deprived eye's afferents retract within a week of MD in kittens (Antonini &
            # Stryker 1993), not within 4 days in mice (Antonini et al. 1999)
            "prune_threshold": 0.7,
            "r_lynx": 0.08,
            "open_width": 0.04,
            "a_vis": 0.85,
            # On a sheet: neighbouring units share thalamocortical axons over ~3 units (an
            # innate map, Crair et al. 1998) and lateral interactions wide enough to grow
            # columns (no effect on the point cortex, which has no space).
            "aff_corr": 3.0,
            "lat_exc": 4.0,
            "r_exc": 1.5,
            "lat_inh": 6.0,
            "r_inh": 3.0,
        },
    ),
    # GAD65 knockout: weak GABA release; the window never opens by itself (Hensch 1998).
    "gad65_ko": Species("gad65_ko", eye_opening_day=14, genes={"g_inh": 0.35}, animal="mouse"),
    # Lynx1 knockout: no Lynx1 brake, the adult stays plastic (Morishita et al. 2010).
    "lynx1_ko": Species("lynx1_ko", eye_opening_day=14, genes={"r_lynx": 0.0}, animal="mouse"),
}


def unknown_gene(name: object, allowed: Sequence[str], shown: str | None = None) -> str:
    """The message for an unknown gene: the closest allowed names first (a long list of
    allowed genes may be cut in the middle when shown), then the whole list. ``shown``:
    how to print the name (default its repr)."""
    text = repr(name) if shown is None else shown
    close = difflib.get_close_matches(str(name), allowed, n=3, cutoff=0.6)
    hint = f" (did you mean {' or '.join(map(repr, close))}?)" if close else ""
    return f"unknown gene {text}{hint}; allowed genes: {', '.join(allowed)}"


def check_gene(
    name: str, value: object, where: str = "genome", allowed: Sequence[str] = GENE_NAMES
) -> float:
    """Return ``value`` as a float if it is an allowed value of gene ``name``.

    Raises ``DevsimInputError`` naming the gene and its allowed range otherwise (prefixed
    by ``where`` unless it is empty); an unknown gene's message lists ``allowed`` (the
    genes of the context: :data:`DEVELOPMENT_GENES`, :data:`EVOLUTION_GENES`).
    """
    gene = GENE_BY_NAME.get(name)
    at = f"{where}: " if where else ""
    if gene is None:
        raise DevsimInputError(at + unknown_gene(name, allowed))
    if isinstance(value, bool) or not isinstance(value, int | float | np.floating | np.integer):
        raise DevsimInputError(
            f"{at}gene {name!r} must be a number in [{gene.low}, {gene.high}], got {value!r}"
        )
    try:
        value = float(value)
    except OverflowError:  # an integer beyond any float
        raise DevsimInputError(
            f"{at}gene {name!r} is an integer too large for a float; allowed "
            f"[{gene.low}, {gene.high}]"
        ) from None
    if not (gene.low <= value <= gene.high) or math.isnan(value):
        raise DevsimInputError(
            f"{at}gene {name!r} = {value} is out of bounds; allowed [{gene.low}, {gene.high}]"
        )
    return value


@dataclass(frozen=True)
class Genome:
    """An organism's developmental genome: gene values and per-gene mutation scales.

    Examples
    --------
    >>> g = Genome.preset("gad65_ko")
    >>> g["g_inh"] < Genome.preset("mouse")["g_inh"]
    True
    """

    values: Mapping[str, float]
    sigmas: Mapping[str, float]
    species: str = "mouse"

    @classmethod
    def preset(
        cls,
        species: str = "mouse",
        overrides: Mapping[str, object] | None = None,
        where: str = "genome",
    ) -> Genome:
        """The preset genome of ``species`` with optional gene ``overrides``."""
        if species not in SPECIES:
            raise DevsimInputError(
                f"{where}: unknown species {species!r}; allowed: {', '.join(SPECIES)}"
            )
        values = {g.name: g.default for g in GENES}
        values.update(SPECIES[species].genes)
        for name, value in (overrides or {}).items():
            values[name] = check_gene(name, value, where)
        sigmas = {g.name: g.sigma for g in GENES}
        return cls(values=values, sigmas=sigmas, species=species)

    def __getitem__(self, name: str) -> float:
        return self.values[name]

    def with_genes(self, **genes: float) -> Genome:
        """A copy with some genes changed (each checked against its bounds)."""
        values = dict(self.values)
        for name, value in genes.items():
            values[name] = check_gene(name, value)
        return Genome(values=values, sigmas=dict(self.sigmas), species=self.species)

    @property
    def eye_opening_day(self) -> int:
        return SPECIES[self.species].eye_opening_day


def gene_table(genomes: list[Genome]) -> dict[str, np.ndarray]:
    """Stack the genes of several genomes into one float array per gene (for the kernel)."""
    return {
        name: np.array([g.values[name] for g in genomes], dtype=np.float64) for name in GENE_NAMES
    }

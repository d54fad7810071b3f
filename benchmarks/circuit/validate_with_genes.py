import dataclasses
import json
import sys

from devsim import genome

over = json.loads(sys.argv[1])
species_over = json.loads(sys.argv[2]) if len(sys.argv) > 2 else {}
genome.GENES = tuple(
    dataclasses.replace(g, default=over.get(g.name, g.default)) for g in genome.GENES
)
for sp, genes in species_over.items():
    s = genome.SPECIES[sp]
    genome.SPECIES[sp] = dataclasses.replace(s, genes={**s.genes, **genes})
from devsim.validation import Settings, validate

rows_arg = (
    tuple(int(r) for r in sys.argv[3].split(",")) if len(sys.argv) > 3 and sys.argv[3] else None
)
rows, _ = validate(Settings.quick(), rows=rows_arg)
bad = 0
for r in rows:
    for m in r.measures:
        flag = "" if m.passed else "  <-- NO"
        bad += not m.passed
        print(f"{r.number:2d} {m.name[:58]:58s} {m.target():>14s} {m.mean:8.3f}{flag}")
print("failing measures:", bad)

"""devsim: an agent-based critical-period developmental simulator.

Organisms carry genomes that encode *how to learn* (plasticity rules and the timing of
critical windows), not weights; experience during development sets the weights.
"""

__version__ = "0.1.0"

"""Matplotlib figures (top layer): one module per topic."""

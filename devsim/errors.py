"""Errors that devsim reports to users as one clear line.

:class:`DevsimInputError` is bad input (CLI exit code 2); :class:`DevsimRunError` is a run
that cannot give a trustworthy result, e.g. non-finite weights (CLI exit code 1).
"""


class DevsimInputError(ValueError):
    """Bad user input: the message names the file, the field and what is allowed."""


class DevsimRunError(RuntimeError):
    """A run stopped because its result would be wrong (e.g. NaN); the message names the
    organism, the day and the gene values."""

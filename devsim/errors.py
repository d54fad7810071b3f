"""Errors that devsim reports to users as one clear line (CLI exit code 2)."""


class DevsimInputError(ValueError):
    """Bad user input: the message names the file, the field and what is allowed."""

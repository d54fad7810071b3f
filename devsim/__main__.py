"""``python -m devsim``: the ``devsim`` command (for an environment without its script on
the PATH, e.g. a notebook's kernel)."""

from devsim.cli import main

if __name__ == "__main__":
    raise SystemExit(main())

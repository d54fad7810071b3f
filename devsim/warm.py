"""Preloaded by the fork server of a local cluster's workers (:func:`devsim.runner.fork_server`):
runs the warm-up function named in ``DEVSIM_WARM`` once, so that every worker forked from
the server starts with devsim imported and its compiled loops loaded."""

from devsim.runner import warm_up

warm_up()

"""Preloaded by the fork server of a local cluster's workers (:func:`devsim.runner.fork_server`),
first: ignores Ctrl-C (the server was started with it blocked, and every worker forked from
the server keeps the server's SIGINT setting), then runs the warm-up function named in
``DEVSIM_WARM`` once, so that every worker forked from the server starts with devsim
imported and its compiled loops loaded."""

import distributed  # noqa: F401 - its log handlers, which one_line_errors changes

from devsim.runner import ignore_ctrl_c, one_line_errors, warm_up

ignore_ctrl_c()
one_line_errors()  # a worker that fails to start says why in one line
warm_up()

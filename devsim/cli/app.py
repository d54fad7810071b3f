"""``devsim app [--host H] [--port P] [--session-timeout T]``: the browser app for a class."""

from __future__ import annotations

import argparse
import ipaddress
import os
import re
import sys

from devsim.errors import DevsimInputError

SESSION_TIMEOUT = "15m"  # a browser that dies without closing its tab frees its session by then
LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "app",
        help="serve the browser app (simulation, lessons, Baldwin effect) for a class",
        description="Serve the browser app with Solara in production mode. Every browser tab "
        "is a session of its own; a session whose browser went away without closing it is "
        f"freed after --session-timeout (default {SESSION_TIMEOUT}). Assets are served from "
        "the local cache that `make app` (scripts/install_solara_assets.sh) fills once, so the "
        "page then works offline; until it is filled, Solara fetches a missing asset from its "
        "CDN. "
        "/status shows the live sessions and the server's memory.",
    )
    parser.add_argument("--host", default="127.0.0.1",
                        help="address to listen on (default 127.0.0.1: this machine only; "
                        "0.0.0.0 lets the class's devices on the local network in)")  # fmt: skip
    parser.add_argument("--port", default="8765", help="port (default 8765)")
    parser.add_argument(
        "--session-timeout",
        default=SESSION_TIMEOUT,
        help="free a session this long after its browser disconnected: a number with s, m or "
        f"h (default {SESSION_TIMEOUT})",
    )
    parser.set_defaults(func=main)


def server_command(args: argparse.Namespace) -> tuple[list[str], dict[str, str]]:
    """The solara command line and environment for these arguments (checked first)."""
    if not re.fullmatch(r"[0-9]+(\.[0-9]+)?[smh]", args.session_timeout):
        raise DevsimInputError(
            f"--session-timeout: a number followed by s, m or h (e.g. 15m), "
            f"got {args.session_timeout!r}"
        )
    if not str(args.port).isdigit() or not 1 <= int(args.port) <= 65535:
        raise DevsimInputError(f"--port: a whole number from 1 to 65535, got {args.port!r}")
    if not _host(args.host):
        raise DevsimInputError(
            f"--host: an IP address (e.g. 127.0.0.1, 0.0.0.0, ::1) or a host name, "
            f"got {args.host!r}"
        )
    env = {**os.environ, **server_env(args.session_timeout)}
    # one warning a session that plain http on 127.0.0.1 is expected to give (the cookie
    # cannot be SameSite=None without https): it filled a teacher's terminal
    env["PYTHONWARNINGS"] = ",".join(
        w for w in (os.environ.get("PYTHONWARNINGS"), SAMESITE_WARNING) if w
    )
    command = [
        sys.executable, "-m", "solara", "run", "devsim.viz.app",
        "--host", args.host, "--port", str(args.port),
        "--production", "--no-open", "--no-check-version",
    ]  # fmt: skip
    return command, env


def _host(text: str) -> bool:
    """An IPv4 or IPv6 address, or a host name of letters, digits, inner hyphens and
    underscores (as container names have)."""
    try:
        ipaddress.ip_address(text)
        return True
    except ValueError:
        pass
    if re.fullmatch(r"[0-9.]+", text):  # dotted digits that are no IPv4 address
        return False
    label = r"[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?"
    return len(text) <= 253 and re.fullmatch(rf"{label}(\.{label})*\.?", text) is not None


SAMESITE_WARNING = "ignore:Cookies with samesite=none require https:UserWarning"


def server_env(session_timeout: str = SESSION_TIMEOUT) -> dict[str, str]:
    """The environment the app's server runs in (the browser tests use it too)."""
    return {
        # glibc: large arrays always mapped and returned on free, two heaps for all the
        # threads; without these a session's freed stimulus banks stay resident (about
        # 50 MiB a playing session more, never given back after the session is culled)
        "MALLOC_MMAP_THRESHOLD_": "1048576",
        "MALLOC_ARENA_MAX": "2",
        "SOLARA_KERNEL_CULL_TIMEOUT": session_timeout,
        "SOLARA_THEME_SHOW_BANNER": "false",
        "SOLARA_THEME_TITLE": "devsim",  # the browser tab's title
        "SOLARA_THEME_VARIANT": "light",
        "SOLARA_ASSETS_PROXY": "true",
        "SOLARA_TELEMETRY_MIXPANEL_ENABLE": "false",
    }


def main(args: argparse.Namespace) -> int:
    import subprocess

    command, env = server_command(args)
    print(
        f"devsim app: http://{args.host}:{args.port}/ (sessions freed "
        f"{args.session_timeout} after their browser leaves; Ctrl-C stops)",
        file=sys.stderr,
    )
    return subprocess.call(command, env=env)

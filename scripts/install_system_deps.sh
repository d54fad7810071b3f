#!/usr/bin/env bash
# Install the system packages the browser tests need: Debian's chromium (Playwright's own
# browser download is not used) plus fonts so screenshots contain readable text.
# Idempotent: exits in well under a second when everything is already installed.
# Usage: sudo scripts/install_system_deps.sh      (root, or sudo available)
set -euo pipefail

# chromium: the browser Playwright drives (executable_path="/usr/bin/chromium")
# fonts-*: chromium renders boxes/blank text without any font; Roboto/MDI icons come with
# solara's own assets (scripts/install_solara_assets.sh), these cover the fallbacks
PACKAGES=(chromium fonts-dejavu-core fonts-liberation)
# npm: needed by scripts/install_solara_assets.sh; only if no npm is on PATH already
# (keeps a NodeSource/nvm node untouched)
command -v npm >/dev/null 2>&1 || PACKAGES+=(npm)

missing=()
for pkg in "${PACKAGES[@]}"; do
    # "install ok installed" is dpkg's status for a fully installed package
    if [[ "$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)" != "install ok installed" ]]; then
        missing+=("$pkg")
    fi
done

if ((${#missing[@]} == 0)); then
    echo "system deps already installed: ${PACKAGES[*]}"
    exit 0
fi

SUDO=()
if [[ $(id -u) -ne 0 ]]; then
    command -v sudo >/dev/null || { echo "need root (or sudo) to install: ${missing[*]}" >&2; exit 1; }
    SUDO=(sudo)
fi
export DEBIAN_FRONTEND=noninteractive

# Refresh the package lists only if one of the missing packages has no install candidate
# (e.g. a fresh container whose /var/lib/apt/lists is empty).
need_update=0
for pkg in "${missing[@]}"; do
    candidate="$(apt-cache policy "$pkg" 2>/dev/null | awk '/Candidate:/ {print $2}')"
    if [[ -z "$candidate" || "$candidate" == "(none)" ]]; then
        need_update=1
        break
    fi
done
if ((need_update)); then
    ${SUDO[@]+"${SUDO[@]}"} apt-get update
fi

if ! ${SUDO[@]+"${SUDO[@]}"} apt-get install -y --no-install-recommends "${missing[@]}"; then
    # stale lists (404 on a superseded .deb): refresh once and retry
    ${SUDO[@]+"${SUDO[@]}"} apt-get update
    ${SUDO[@]+"${SUDO[@]}"} apt-get install -y --no-install-recommends "${missing[@]}"
fi

chromium --version

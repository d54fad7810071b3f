#!/usr/bin/env bash
# Fill Solara's CDN proxy cache from the npm registry, so `solara run` (and SolaraViz) render
# without internet access.
#
# Usage: scripts/install_solara_assets.sh [VENV]   (VENV defaults to the repository's .venv)
#        SOLARA_ASSETS_CORE_ONLY=1 scripts/install_solara_assets.sh   (page shell only, see below)
#
# How Solara loads its browser assets: the page template (solara/server/templates/solara.html.j2)
# and several widget templates (*.vue) reference `{{cdn}}/<npm-package>@<version>/<file>`. With
# SOLARA_ASSETS_PROXY=true (the default outside Colab/VS Code/Voila) `{{cdn}}` is
# `/_solara/cdn`, which the server answers from SOLARA_ASSETS_PROXY_CACHE_DIR
# (default `<sys.prefix>/share/solara/cdn/`) and, on a miss, fetches from
# SOLARA_ASSETS_CDN (https://cdn.jsdelivr.net/npm/) and stores it there. jsdelivr serves the
# files of the npm tarball, so the cache layout is simply
#     <cache>/<npm-package>@<version-as-written-in-the-url>/<path inside the npm tarball>
# e.g. <cache>/@widgetti/solara-vuetify-app@10.1.1/dist/main8.css, <cache>/vega@5/build/vega.min.js.
#
# The package list is read from the installed solara's sources (no hard-coded versions):
#   - solara/server/templates/*.j2        : solara-vuetify-app (vuetify2) or solara-vuetify3-app
#                                           (chosen like solara does: ipyvue 3.x => vue3), requirejs
#   - solara.server.settings Assets.fontawesome_path (or $SOLARA_ASSETS_FONTAWESOME_PATH)
#   - solara/widgets/vue/*.vue            : @widgetti/vue-grid-layout (GridDraggable, used by
#                                           SolaraViz), vega/vega-lite/vega-embed (FigureAltair)
#   - solara/components/*.{py,vue}        : katex, mermaid (solara.Markdown)
# Only references with a literal version are taken (echarts/codemirror/milkdown build their
# version at run time and are not used by Mesa). SOLARA_ASSETS_CORE_ONLY=1 limits the list to the
# page template, font-awesome and the grid layout.
#
# Idempotent: each package directory gets a `.npm-pack-complete` marker and is moved into place
# only once fully unpacked; a second run just checks markers and files (about 0.1 s).
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${1:-$REPO_ROOT/.venv}"
PY="$VENV/bin/python"
if [[ ! -x "$PY" ]]; then
    echo "error: $PY not found (pass the virtualenv path as first argument)" >&2
    exit 1
fi

# --- ask the installed solara what it wants -------------------------------------------------
# Does not import solara (slow, side effects); only locates it and reads its source files.
plan="$("$PY" - <<'PYEOF'
import importlib.metadata as md
import importlib.util
import os
import pathlib
import re
import sys

spec = importlib.util.find_spec("solara")
if spec is None or not spec.submodule_search_locations:
    sys.exit("solara is not installed in this environment")
root = pathlib.Path(list(spec.submodule_search_locations)[0])

vue3 = md.version("ipyvue").startswith("3")  # same test as solara/server/server.py
ipywidgets_major = md.version("ipywidgets").split(".")[0]
core_only = os.environ.get("SOLARA_ASSETS_CORE_ONLY", "") not in ("", "0", "false")

# cache dir: same default as solara.server.settings.Assets.proxy_cache_dir
cache = os.environ.get("SOLARA_ASSETS_PROXY_CACHE_DIR") or os.path.join(sys.prefix, "share/solara/cdn/")

# <cdn>/<pkg>@<literal version>/<file>, where <cdn> is {{cdn}} (jinja) or ${this.getCdn()} (vue)
ref = re.compile(
    r"(?:\{\{\s*cdn\s*\}\}|\$\{this\.getCdn\(\)\})"
    r"/((?:@[a-z0-9][\w.-]*/)?[a-z0-9][\w.-]*@[0-9][\w.+-]*)"  # package@version
    r"/([^\"'`\s]+)"  # file inside the package
)

sources = sorted((root / "server/templates").glob("*.j2"))
sources += sorted((root / "widgets/vue").glob("gridlayout*.vue"))
if not core_only:
    sources += sorted((root / "widgets/vue").glob("*.vue"))
    sources += sorted((root / "components").glob("*.vue")) + sorted((root / "components").glob("*.py"))

wanted = {}  # package@version -> set of files that must exist
for src in dict.fromkeys(sources):
    for pkgver, path in ref.findall(src.read_text(encoding="utf-8")):
        name = pkgver.rsplit("@", 1)[0]
        if name.endswith("solara-vuetify3-app") and not vue3:
            continue
        if name.endswith("solara-vuetify-app") and vue3:
            continue
        path = path.replace("{{ipywidget_major_version}}", ipywidgets_major)
        files = wanted.setdefault(pkgver, set())
        if "{" not in path and "$" not in path:
            files.add(path)

# font-awesome: the template uses {{cdn}}{{assets.fontawesome_path}}
fa = os.environ.get("SOLARA_ASSETS_FONTAWESOME_PATH")
if not fa:
    m = re.search(r'fontawesome_path:\s*str\s*=\s*"([^"]+)"', (root / "server/settings.py").read_text(encoding="utf-8"))
    fa = m.group(1) if m else None
if fa:
    parts = fa.strip("/").split("/")
    n = 2 if parts[0].startswith("@") else 1  # scoped packages have two segments
    pkgver, path = "/".join(parts[:n]), "/".join(parts[n:])
    if "@" in pkgver[1:]:
        wanted.setdefault(pkgver, set()).add(path)

print("CACHE", cache)
for pkgver in sorted(wanted):
    print("PKG", pkgver)
    for path in sorted(wanted[pkgver]):
        print("FILE", f"{pkgver}/{path}")
PYEOF
)"

CACHE="$(awk '$1 == "CACHE" {print $2}' <<<"$plan")"
CACHE="${CACHE%/}"
mapfile -t PKGS < <(awk '$1 == "PKG" {print $2}' <<<"$plan")
mapfile -t FILES < <(awk '$1 == "FILE" {print $2}' <<<"$plan")
if ((${#PKGS[@]} == 0)); then
    echo "error: found no CDN package references in solara's sources" >&2
    exit 1
fi
mkdir -p "$CACHE"

todo=()
for pkg in "${PKGS[@]}"; do
    [[ -f "$CACHE/$pkg/.npm-pack-complete" ]] || todo+=("$pkg")
done

if ((${#todo[@]} > 0)); then
    command -v npm >/dev/null || { echo "error: npm is required (apt-get install -y npm)" >&2; exit 1; }
    tmp="$(mktemp -d "${TMPDIR:-/tmp}/solara-assets.XXXXXX")"
    staging="$CACHE/.staging.$$"
    trap 'rm -rf "$tmp" "$staging"' EXIT
    echo "fetching from npm: ${todo[*]}"
    (cd "$tmp" && npm pack --silent --json "${todo[@]}" >pack.json)
    mkdir -p "$staging"
    for pkg in "${todo[@]}"; do
        name="${pkg%@*}"
        # npm pack resolves ranges (vega@5 -> 5.x.y); find its tarball by package name
        read -r tarball version < <(
            "$PY" -c 'import json,sys
for e in json.load(open(sys.argv[1])):
    if e["name"] == sys.argv[2]:
        print(e["filename"], e["version"]); break' "$tmp/pack.json" "$name"
        ) || true
        [[ -n "${tarball:-}" && -f "$tmp/$tarball" ]] || { echo "error: npm pack gave no tarball for $pkg" >&2; exit 1; }
        dest="$staging/$pkg"
        mkdir -p "$dest"
        # npm tarballs have one top-level directory (usually package/)
        tar -xzf "$tmp/$tarball" -C "$dest" --strip-components=1 --no-same-owner
        chmod -R a+rX "$dest"
        printf '%s %s\n' "$name" "$version" >"$dest/.npm-pack-complete"
        # replace whatever solara's proxy may have cached piecemeal before
        rm -rf "${CACHE:?}/$pkg"
        mkdir -p "$(dirname "$CACHE/$pkg")"
        mv "$dest" "$CACHE/$pkg"
        echo "  $pkg -> $CACHE/$pkg (npm $version)"
    done
fi

missing=0
for f in "${FILES[@]}"; do
    # jsdelivr minifies on the fly: it serves X.min.js / X.min.css even when the npm tarball
    # only has X.js / X.css (e.g. requirejs@2.3.6/require.min.js); the unminified file works
    if [[ ! -f "$CACHE/$f" && "$f" =~ ^(.*)\.min\.(js|css)$ && -f "$CACHE/${BASH_REMATCH[1]}.${BASH_REMATCH[2]}" ]]; then
        cp "$CACHE/${BASH_REMATCH[1]}.${BASH_REMATCH[2]}" "$CACHE/$f"
        echo "  $f: copied from the unminified file (not in the npm tarball)"
    fi
    if [[ ! -f "$CACHE/$f" ]]; then
        echo "error: expected asset missing: $CACHE/$f" >&2
        missing=1
    fi
done
((missing == 0)) || exit 1
echo "solara CDN cache ready: $CACHE (${#PKGS[@]} packages: ${PKGS[*]})"

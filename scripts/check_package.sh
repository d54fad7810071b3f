#!/usr/bin/env bash
# Packaging check (part of `make test`): build a wheel from this checkout, install it into a
# fresh virtual environment outside the checkout, and from another folder run what a user
# runs first. Catches data files left out of the wheel and code that finds files through
# the checkout instead of the installed package.
#
#   bash scripts/check_package.sh [PYTHON]    (default: .venv/bin/python)
#
# Needs pip's access to PyPI (or its cache) for the wheel's dependencies.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
PY="${1:-$ROOT/.venv/bin/python}"
TMP="$(mktemp -d "${TMPDIR:-/tmp}/devsim-package.XXXXXX")"
trap 'rm -rf "$TMP"' EXIT
export PIP_DISABLE_PIP_VERSION_CHECK=1
unset PYTHONPATH VIRTUAL_ENV

START=$SECONDS
step() {  # step "what" command...: print it, time it, stop at the first failure
    local what="$1" t0=$SECONDS rc=0
    shift
    echo "==> $what"
    "$@" || rc=$?
    if [ "$rc" -ne 0 ]; then
        echo "FAILED: $what (exit $rc, after $((SECONDS - t0)) s)" >&2
        exit 1
    fi
    echo "    ok ($((SECONDS - t0)) s)"
}

copy_source() {  # only what the wheel is built from: no build/, egg-info or caches
    mkdir "$TMP/src"
    tar -C "$ROOT" -c --exclude=__pycache__ --exclude='*.pyc' pyproject.toml README.md devsim \
        | tar -C "$TMP/src" -x
}

wheel_has_data() {  # every shipped scenario and lesson of the checkout is in the wheel
    "$PY" - "$TMP"/dist/devsim-*.whl "$ROOT" <<'EOF'
import sys
import zipfile
from pathlib import Path

wheel, root = sys.argv[1], Path(sys.argv[2])
names = set(zipfile.ZipFile(wheel).namelist())
shipped = sorted(
    p.relative_to(root).as_posix()
    for p in (root / "devsim" / "data").rglob("*")
    if p.is_file() and p.suffix in (".toml", ".md")
)
missing = [p for p in shipped if p not in names]
if missing or not shipped:
    sys.exit(f"the wheel lacks {len(missing)} shipped files: {', '.join(missing) or 'all'}")
print(f"    {len(shipped)} shipped data files in {Path(wheel).name}")
EOF
}

installed_devsim() {  # the fresh environment imports devsim from its own site-packages
    "$TMP/venv/bin/python" -c "
import devsim, sys
where = devsim.__file__
print('    devsim imported from', where)
sys.exit(0 if where.startswith('$TMP/venv/') else 'devsim is not the installed copy')"
}

step "copy the package source" copy_source
step "build the wheel" "$PY" -m pip wheel --no-deps -q -w "$TMP/dist" "$TMP/src"
step "the wheel holds every shipped scenario and lesson" wheel_has_data
# no pip of its own (ensurepip is slow): this pip installs into it with --python
step "create a fresh virtual environment" "$PY" -m venv --without-pip "$TMP/venv"
step "install the wheel (dependencies from PyPI / pip's cache)" \
    "$PY" -m pip --python "$TMP/venv/bin/python" install -q "$TMP"/dist/devsim-*.whl

mkdir "$TMP/work"
cd "$TMP/work"  # another folder: nothing of the checkout is reachable from here
BIN="$TMP/venv/bin"
step "installed devsim is imported" installed_devsim
step "devsim run md_critical" "$BIN/devsim" run md_critical --out run
step "devsim validate --quick --rows 1" "$BIN/devsim" validate --quick --rows 1 --out validation
step "devsim lesson --list" "$BIN/devsim" lesson --list
step "devsim scenarios" "$BIN/devsim" scenarios
step "devsim scenarios copy cp_profile_sweep mine" "$BIN/devsim" scenarios copy cp_profile_sweep mine
step "import the app (devsim.viz.app)" "$BIN/python" -c "import devsim.viz.app as app; app.Page"
echo "package check passed in $((SECONDS - START)) s"

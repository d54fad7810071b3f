# devsim: the README's commands. `make demo` runs the main job, `make test` the test suite.
VENV ?= .venv
PY := $(VENV)/bin/python
# devsim needs Python 3.12: python3.12 if there is one (pyenv also picks 3.12 from
# .python-version), else python3; PYTHON=/path/to/python3.12 make demo chooses another.
PYTHON ?= $(shell command -v python3.12 2>/dev/null || echo python3)
STAMP := $(VENV)/.installed
NEEDS_312 := import sys; sys.exit(sys.version_info < (3, 12))

.PHONY: demo test app lint clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c '$(NEEDS_312)' || { echo "devsim needs Python 3.12 or newer; $(PYTHON) is $$($(PYTHON) --version 2>&1). Install 3.12 (e.g. pyenv install 3.12) or run PYTHON=/path/to/python3.12 make ..." >&2; exit 2; }
	@$(PY) -c '$(NEEDS_312)' 2>/dev/null || { rm -rf $(VENV) && $(PYTHON) -m venv $(VENV); }
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	touch $(STAMP)

# The main job: monocular deprivation at the peak of the critical period vs controls.
demo: $(STAMP)
	$(VENV)/bin/devsim run md_critical --out out/md_critical

# The whole test suite on every core (pytest-xdist; `pytest -n 0` runs it serially), browser
# tests included (installs chromium and Solara's assets), then
# the packaging check: the wheel, installed in a fresh venv, run from another folder.
test: $(STAMP)
	bash scripts/install_system_deps.sh
	bash scripts/install_solara_assets.sh $(VENV)
	$(VENV)/bin/pytest
	bash scripts/check_package.sh $(PY)

# The browser app for a class: http://127.0.0.1:8765/ (see `devsim app --help`).
app: $(STAMP)
	bash scripts/install_solara_assets.sh $(VENV)
	$(VENV)/bin/devsim app

lint: $(STAMP)
	$(VENV)/bin/ruff check devsim tests benchmarks
	$(VENV)/bin/ruff format --check devsim tests

clean:
	rm -rf out test-output .pytest_cache

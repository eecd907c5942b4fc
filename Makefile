# Every target builds what it needs: a fresh machine with Python, pip and gcc is enough.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
LOCK   := requirements/dev.txt
# How requirements/dev.txt is written: every dependency of the package and its dev extra, for
# every Python the package supports (3.10 and newer) and every platform, with hashes.
LOCK_COMMAND := uv pip compile pyproject.toml --extra dev --universal --python-version 3.10 \
	--generate-hashes --no-emit-index-url --no-emit-find-links --quiet -o $(LOCK)
# requirements/action.txt: what the GitHub Action (action.yml) installs before the package from
# its own checkout: the runtime dependencies and the build backend, no dev tools, with hashes.
ACTION_LOCK_COMMAND := uv pip compile pyproject.toml requirements/action.in --universal \
	--python-version 3.10 --generate-hashes --no-emit-index-url --no-emit-find-links --quiet \
	-o requirements/action.txt

# CPython 3.11's AST builder keeps its depth counter in interpreter-wide state, so an ast.parse
# nested inside another corrupts it: when pytest parses a test's source to show a failure, a
# garbage collection in the middle can run a finaliser whose ResourceWarning (an error here) goes
# to pytest's unraisable-exception hook, which formats a traceback, and 3.11's traceback module
# parses the source line for its ^^^ carets. The outer parse then fails with "AST constructor
# recursion depth mismatch" and the run ends in INTERNALERROR instead of naming the failed test.
# Without column ranges the traceback module draws no carets and never parses.
PYTEST_ENV := PYTHONNODEBUGRANGES=1

.DEFAULT_GOAL := help
.PHONY: help demo test test-fast lint format check-tests components golden docs readme bench clean \
	lock lock-upgrade test-latest test-oldest

help: ## list the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

# The exact versions from the lock, hash-checked; then the package itself, built with the
# locked hatchling (no build environment of unpinned versions).
$(STAMP): pyproject.toml $(LOCK)
	rm -rf $(VENV)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --require-hashes --no-deps -r $(LOCK)
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	$(BIN)/python -m pip check
	touch $(STAMP)

demo: $(STAMP) ## run the doctor against the embedded demo SCIM server
	$(BIN)/scim-doctor demo

test: lint check-tests ## lint (ruff, mypy) and the whole suite, every real component required

test-fast: $(STAMP) ## the suite without installing components: tests that need one skip
	$(PYTEST_ENV) $(BIN)/python -m pytest

# Coverage floor: 88 % of branches and lines of scim_doctor measured in-process (91.8 % when
# set); subprocess runs (fault matrix, e2e) are not counted.
check-tests: $(STAMP) components
	SCIM_DOCTOR_REQUIRE_REAL=1 $(PYTEST_ENV) $(BIN)/python -m pytest --cov=scim_doctor \
		--cov-report=term:skip-covered --cov-fail-under=88

components: $(STAMP) ## install what the suite needs: chromium, node/npm, nginx, the npm servers' packages (root)
	@sh scripts/ensure-components
	$(BIN)/python -m tests.thirdparty.npm

lint: $(STAMP) ## ruff (lint + format check), mypy strict and the layer contract (import-linter)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports --no-cache

format: $(STAMP) ## apply ruff's formatting and autofixes
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# The lock needs only uv (from the current lock), not the installed package: a dependency just
# added to pyproject.toml is not in the lock yet, so the stamp's `pip check` would fail first.
$(BIN)/uv: $(LOCK)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --require-hashes --no-deps -r $(LOCK)
	touch $(BIN)/uv

lock: $(BIN)/uv ## rewrite requirements/dev.txt and action.txt after a dependency change (keeps other pins)
	$(BIN)/$(LOCK_COMMAND)
	$(BIN)/$(ACTION_LOCK_COMMAND)

lock-upgrade: $(BIN)/uv ## rewrite requirements/dev.txt with the newest allowed versions
	$(BIN)/$(LOCK_COMMAND) --upgrade
	$(BIN)/$(ACTION_LOCK_COMMAND) --upgrade

test-latest: $(STAMP) ## the suite on the newest versions pyproject allows; writes requirements/drift-latest.md
	$(BIN)/python scripts/drift-check latest

test-oldest: $(STAMP) ## the suite on the lowest versions pyproject allows; writes requirements/drift-oldest.md
	$(BIN)/python scripts/drift-check oldest

golden: $(STAMP) ## rewrite the reporters' golden files from the current output
	SCIM_DOCTOR_UPDATE_GOLDEN=1 $(BIN)/python -m pytest tests/reporters -q

docs: $(STAMP) ## regenerate docs/findings.md from the finding catalogue
	$(BIN)/python -m scim_doctor.reporters.findings_doc > docs/findings.md

readme: $(STAMP) ## rewrite README.md's sample outputs from the golden files (after `make golden`)
	$(BIN)/python scripts/readme.py

bench: $(STAMP) ## run the benchmarks under benchmarks/ and write benchmarks/results.json
	$(BIN)/python benchmarks/run.py

clean: ## remove the venvs and caches
	rm -rf $(VENV) .venv-latest .venv-oldest .pytest_cache .mypy_cache .ruff_cache tests/actual

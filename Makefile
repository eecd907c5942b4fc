# Every target builds what it needs: a fresh machine with Python, pip and gcc is enough.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.DEFAULT_GOAL := help
.PHONY: help demo test lint format check-tests chromium golden docs bench clean

help: ## list the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP) ## run the doctor against the embedded demo SCIM server
	$(BIN)/scim-doctor demo

test: lint check-tests ## lint (ruff, mypy) and run the whole test suite

# Coverage floor: 88 % of branches and lines of scim_doctor measured in-process (91.8 % when
# set); subprocess runs (fault matrix, e2e) are not counted.
check-tests: $(STAMP) chromium
	$(BIN)/python -m pytest --cov=scim_doctor --cov-report=term:skip-covered --cov-fail-under=88

chromium: ## install Debian's chromium for the HTML report's browser tests (root; else they skip)
	@sh scripts/ensure-chromium

lint: $(STAMP) ## ruff (lint + format check) and mypy strict
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: $(STAMP) ## apply ruff's formatting and autofixes
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

golden: $(STAMP) ## rewrite the reporters' golden files from the current output
	SCIM_DOCTOR_UPDATE_GOLDEN=1 $(BIN)/python -m pytest tests/reporters -q

docs: $(STAMP) ## regenerate docs/findings.md from the finding catalogue
	$(BIN)/python -m scim_doctor.docs_gen > docs/findings.md

bench: $(STAMP) ## run the benchmarks under benchmarks/ and write benchmarks/results.json
	$(BIN)/python benchmarks/run.py

clean: ## remove the venv and caches
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache tests/actual

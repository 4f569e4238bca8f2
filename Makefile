# PyTorch Workbook: `make lab` to learn, `make test` to check everything. See README.md.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
NBVAL := --nbval-lax --nbval-current-env --nbval-sanitize-with tests/nbval_sanitize.cfg --nbval-cell-timeout=900
NB ?= notebooks/[0-9][0-9]_*.ipynb
LAB_PORT ?= 8888
LAB_ROOT ?= $(CURDIR)
LAB_ARGS ?=

.PHONY: setup lab test unit notebooks execute doctor workbook site lint clean

## setup: create .venv with the pinned packages, the data set, the kernel (idempotent: seconds when done).
## scripts/course.py does the work, so macOS and Windows run the same steps without make (see README).
setup:
	@$(PYTHON) scripts/course.py setup

## lab: open JupyterLab on notebooks/ (the exercise copies are in workbook/)
lab:
	$(PYTHON) scripts/course.py lab --port $(LAB_PORT) --root "$(LAB_ROOT)" $(LAB_ARGS)

## test: every unit test, then every notebook in fast mode (what CI runs)
test:
	$(PYTHON) scripts/course.py test $(PYTEST_ARGS)

unit: setup
	PT_COURSE_FAST=1 $(BIN)/python -m pytest tests $(PYTEST_ARGS)

notebooks: setup
	PT_COURSE_FAST=1 $(BIN)/python -m pytest $(NB) $(NBVAL) $(PYTEST_ARGS)

## execute: re-run notebooks in place in full mode (NB=notebooks/05_cnn.ipynb for one), then the workbook
execute: setup
	$(BIN)/python scripts/execute_notebooks.py $(NB)
	$(BIN)/python scripts/make_workbook.py

## doctor: the environment report to paste into bug reports
doctor: setup
	$(BIN)/python -m pt_helpers.doctor

## workbook: regenerate workbook/ (exercise copies with solutions blanked)
workbook: setup
	$(BIN)/python scripts/make_workbook.py

## site: the course as a website in _build/html from the committed outputs (no execution, no torch needed);
## read it with `python -m http.server -d _build/html`. Installs requirements-docs.txt into .venv on first use.
site:
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python scripts/build_site.py

lint: setup
	$(BIN)/ruff check pt_helpers tests scripts conftest.py

clean:
	rm -rf $(VENV) .pytest_cache _build

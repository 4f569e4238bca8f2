# PyTorch Workbook: `make lab` to learn, `make test` to check everything. See README.md.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PIP := $(BIN)/python -m pip
STAMP := $(VENV)/.installed
ASSETS_STAMP := $(VENV)/.visdom-assets
NBVAL := --nbval-lax --nbval-current-env --nbval-sanitize-with tests/nbval_sanitize.cfg --nbval-cell-timeout=900
NB ?= notebooks/[0-9][0-9]_*.ipynb
LAB_PORT ?= 8888
LAB_ROOT ?= $(CURDIR)
LAB_ARGS ?=

.PHONY: setup lab test unit notebooks execute doctor workbook lint clean

## setup: create .venv with the pinned packages, the data set, the kernel (idempotent: seconds when done)
setup: $(STAMP) $(ASSETS_STAMP) data/.fashion-mnist

$(STAMP): requirements.txt pyproject.toml jupyter/overrides.json
	@$(PYTHON) -c 'import sys; v=sys.version_info; sys.exit(0 if (3,11)<=v[:2]<=(3,13) else "Python 3.11-3.13 needed (3.11 is tested); set PYTHON=python3.11")'
	$(BIN)/python -m pip --version >/dev/null 2>&1 || $(PYTHON) -m venv $(VENV) || \
	  { echo "'$(PYTHON) -m venv' failed: on Debian/Ubuntu install the venv module first (sudo apt-get install python3-venv)"; exit 1; }
	$(PIP) install --quiet --upgrade 'pip>=24' 'setuptools>=68,<81' wheel
	@# --no-build-isolation: visdom 0.2.4 is an sdist whose setup.py needs setuptools<81 (installed above)
	$(PIP) install --no-build-isolation -r requirements.txt
	$(PIP) install --quiet --no-build-isolation --no-deps -e .
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 --display-name "Python 3 (PyTorch Workbook)"
	@# JupyterLab defaults for the course: no news prompt, no update check (jupyter/overrides.json)
	mkdir -p $(VENV)/share/jupyter/lab/settings && cp jupyter/overrides.json $(VENV)/share/jupyter/lab/settings/overrides.json
	touch $@

$(ASSETS_STAMP): $(STAMP) scripts/visdom_assets.py
	$(BIN)/python scripts/visdom_assets.py install && touch $@ || { echo "warning: visdom web assets not provisioned (see above); visdom needs the internet at start. Once npm works: $(BIN)/python scripts/visdom_assets.py install"; echo skipped > $@; }

data/.fashion-mnist:
	@if ls /usr/share/datasets/fashion-mnist/*.gz >/dev/null 2>&1 || ls data/FashionMNIST/raw/*ubyte* >/dev/null 2>&1; then \
	  echo "Fashion-MNIST: found"; \
	elif command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ]; then \
	  apt-get install -y -q dataset-fashion-mnist || (apt-get update -q && apt-get install -y -q dataset-fashion-mnist) || \
	    echo "warning: apt-get could not install dataset-fashion-mnist; the lessons will download it"; \
	else \
	  echo "Fashion-MNIST: not installed; run 'sudo apt-get install dataset-fashion-mnist' (Debian/Ubuntu) or let lesson 03 download it"; \
	fi
	@mkdir -p data && touch $@

## lab: open JupyterLab on notebooks/ (the exercise copies are in workbook/)
lab: setup
	@# news_url=None and NeverCheckForUpdate: no "get notified about Jupyter news?" prompt, no request to jupyter.org
	$(BIN)/jupyter lab --ServerApp.root_dir="$(LAB_ROOT)" --LabApp.default_url=/lab/tree/notebooks \
	  --ServerApp.ip=127.0.0.1 --ServerApp.port=$(LAB_PORT) --LabApp.news_url=None \
	  --LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate \
	  $$([ "$$(id -u)" = 0 ] && echo --allow-root) $(LAB_ARGS)

## test: every unit test, then every notebook in fast mode (what CI runs)
test: setup
	PT_COURSE_FAST=1 $(BIN)/python -m pytest tests notebooks $(NBVAL) $(PYTEST_ARGS)

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

lint: setup
	$(BIN)/ruff check pt_helpers tests scripts conftest.py

clean:
	rm -rf $(VENV) .pytest_cache

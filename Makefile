# Two commands: `make run` (install, set up the database, serve) and `make test`.
# Everything lives in .venv; the install step reruns only when pyproject.toml changes.

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test install lint help

help:
	@echo "make run    install into $(VENV), create/upgrade the database and the first admin, serve"
	@echo "make test   install into $(VENV), run the tests (ARGS='-k name' to pick)"
	@echo "make lint   ruff and mypy"

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
	  { echo "minyi needs Python 3.11 or newer (found: $$($(PYTHON) --version 2>&1))"; exit 1; }
	@$(PYTHON) -m venv $(VENV) || \
	  { echo "could not create $(VENV); on Debian/Ubuntu: sudo apt-get install python3-venv"; exit 1; }

$(STAMP): pyproject.toml | $(BIN)/python
	@echo "installing minyi and its dependencies into $(VENV) ..."
	@$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/minyi init
	$(BIN)/minyi serve

test: $(STAMP)
	$(BIN)/pytest $(ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy

# Two commands on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test bench clean

$(STAMP): pyproject.toml marketmon/store/_columns.c
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/marketmon

test: $(STAMP)
	$(BIN)/lint-imports
	$(BIN)/python -m pytest --cov --cov-report=term
	$(BIN)/python tests/coverage_floors.py

bench: $(STAMP)
	$(BIN)/marketmon bench

clean:
	rm -rf $(VENV) build *.egg-info marketmon/*.so marketmon/store/*.so

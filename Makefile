# Two commands set up a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test install migrate load lint bench clean

# bot/enrich is compiled by mypyc at install (setup.py): a change there means a rebuild.
$(STAMP): pyproject.toml setup.py $(wildcard bot/enrich/*.py)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

migrate: $(STAMP)
	$(BIN)/briefbot db upgrade

load: migrate
	$(BIN)/briefbot ingest data/cacianalyst-2025-sep-nov.txt

run: load
	$(BIN)/briefbot run

test: $(STAMP)
	$(BIN)/python -m pytest -q $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check bot tests bench

bench: $(STAMP)
	$(BIN)/python -m pip install -q -e '.[dev,bench]'
	$(BIN)/python bench/ingest.py

clean:
	rm -rf $(VENV) var .pytest_cache build *.so bot/enrich/*.so

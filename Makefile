# tickerwire — `make run` and `make test` are all a new user needs (Python 3.11+).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DB ?= data/tickerwire.duckdb
DEMO_DB ?= data/demo.duckdb
PORT ?= 8501
PYTEST_ARGS ?=

.PHONY: run demo test lint format bench refresh install clean

# Install into .venv only when pyproject.toml or setup.py changed since the last install.
$(STAMP): pyproject.toml setup.py
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@echo "installing tickerwire into $(VENV) …"
	@$(BIN)/python -m pip install -q --upgrade pip 2>&1 | sed '/^WARNING: Location/d'
	@set -o pipefail; $(BIN)/python -m pip install -q -e '.[dev]' 2>&1 | sed '/^WARNING: Location/d'
	@touch $(STAMP)

install: $(STAMP)

# Refresh live data when the network is there, else say so once and serve the offline demo.
run: $(STAMP)
	@if $(BIN)/python -m pipelines.netcheck; then \
	    $(BIN)/tickerwire --db $(DB) refresh || echo "refresh finished with errors (see above); serving what was stored"; \
	    $(BIN)/tickerwire --db $(DB) dashboard --port $(PORT); \
	else \
	    echo "offline: cannot reach the exchanges or Yahoo — serving the bundled sample of recorded real prices and news (labelled in the dashboard)"; \
	    $(BIN)/tickerwire --db $(DEMO_DB) demo; \
	    $(BIN)/tickerwire --db $(DEMO_DB) dashboard --port $(PORT); \
	fi

demo: $(STAMP)
	@$(BIN)/tickerwire --db $(DEMO_DB) demo
	@$(BIN)/tickerwire --db $(DEMO_DB) dashboard --port $(PORT)

refresh: $(STAMP)
	@$(BIN)/tickerwire --db $(DB) refresh

# The Spark engine's tests need the [spark] extra and a Java runtime: installed for `make test`
# only (a plain install and `make run` never pull them); Debian's OpenJDK when java is missing.
SPARK_STAMP := $(VENV)/.installed-spark
$(SPARK_STAMP): $(STAMP)
	@set -o pipefail; $(BIN)/python -m pip install -q -e '.[dev,spark]' 2>&1 | sed '/^WARNING: Location/d' \
	    || echo "could not install tickerwire[spark]: Spark tests will be skipped"
	@touch $(SPARK_STAMP)

# Browser tests need Debian's Chromium; install it when missing (root only), never a downloaded one.
test: $(STAMP) $(SPARK_STAMP)
	@command -v java >/dev/null 2>&1 || { \
	    if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	        echo "installing Debian openjdk-17-jre-headless for the Spark tests …"; \
	        (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openjdk-17-jre-headless) >/dev/null 2>&1 \
	            || echo "could not install java: Spark tests will be skipped"; \
	    else echo "java missing and not root: Spark tests will be skipped"; fi; }
	@command -v chromium >/dev/null 2>&1 || { \
	    if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	        echo "installing Debian chromium for the browser tests …"; \
	        (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) >/dev/null 2>&1 \
	            || echo "could not install chromium: browser tests will be skipped"; \
	    else echo "chromium missing and not root: browser tests will be skipped"; fi; }
	@$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	@$(BIN)/ruff check .
	@$(BIN)/ruff format --check .
	@$(BIN)/mypy

format: $(STAMP)
	@$(BIN)/ruff check --fix .
	@$(BIN)/ruff format .

bench: $(STAMP)
	@for script in bench/bench_*.py; do echo "== $$script"; $(BIN)/python $$script || exit 1; done

clean:
	rm -rf $(VENV) .pytest_cache build *.egg-info

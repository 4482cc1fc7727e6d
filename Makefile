# Two commands do all the set-up on a fresh machine: `make demo` and `make test`.
# Both create .venv and install the pinned dependencies of requirements.lock.

SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

export SEGMENTS_DUCKDB_PATH ?= $(CURDIR)/.data/segments.duckdb
export DBT_PROFILES_DIR ?= $(CURDIR)
SYNC_CONFIG ?= $(if $(wildcard sync.yml),sync.yml,sync.example.yml)
DEMO_CUSTOMERS ?= 20000
DEMO_SEED ?= 42
DEMO_HISTORY_START ?= 2026-05-01
DEMO_HISTORY_END ?= 2026-10-01
BENCH_SIZES ?= 10000 100000 1000000

.PHONY: demo test test-spark postgres lint typecheck bench clean help

help:
	@echo "make demo    demo data, monthly history, dbt build, report and summary (DuckDB: $$SEGMENTS_DUCKDB_PATH)"
	@echo "make test    lint, type-check and run every test (with a local PostgreSQL server)"
	@echo "make test-spark   the Apache Spark portability test (slower)"
	@echo "make bench   benchmarks (BENCH_SIZES='$(BENCH_SIZES)')"

$(STAMP): requirements.lock pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements.lock
	$(BIN)/pip install --quiet --no-deps -e .
	@touch $@

profiles.yml:
	cp profiles.yml.example profiles.yml

demo: $(STAMP) profiles.yml
	$(BIN)/segments demo-data --customers $(DEMO_CUSTOMERS) --seed $(DEMO_SEED)
	$(BIN)/segments backfill --start $(DEMO_HISTORY_START) --end $(DEMO_HISTORY_END) --every month
	$(BIN)/dbt build
	$(BIN)/segments report
	$(BIN)/segments summary --sync-config $(SYNC_CONFIG)

lint: $(STAMP)
	$(BIN)/ruff check segmentation sync tests bench python_models
	$(BIN)/ruff format --check segmentation sync tests bench python_models

typecheck: $(STAMP)
	$(BIN)/mypy

# The PostgreSQL server (installed from Debian's packages when missing) serves the
# portability and sync tests; it listens on 127.0.0.1 only and is stopped afterwards.
test: $(STAMP) profiles.yml lint typecheck
	bash tests/report/install_chromium.sh
	bash scripts/postgres.sh start >/dev/null
	eval "$$(bash scripts/postgres.sh env)" && SEGMENTS_TEST_POSTGRES=1 $(BIN)/pytest -q; \
	  status=$$?; bash scripts/postgres.sh stop >/dev/null; exit $$status

# Apache Spark (dbt-spark in session mode, PySpark, Java 17): slower, so kept apart.
test-spark: $(STAMP) profiles.yml
	bash scripts/spark.sh install
	SEGMENTS_TEST_SPARK=1 $(BIN)/pytest -q tests/portability/test_spark.py

bench: $(STAMP) profiles.yml
	$(BIN)/python bench/bench_features.py --sizes $(BENCH_SIZES)
	$(BIN)/python bench/bench_segmentation.py --sizes $(BENCH_SIZES)

clean:
	rm -rf target logs .data reports

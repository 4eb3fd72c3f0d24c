# Entry points for data engineers and CI. Settings come from environment
# variables (see README); every target installs the venv first if needed.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
CUSTOMERS ?= 10000
DAYS ?= 365
SEED ?= 42
comma := ,

.PHONY: install chromium java run demo deliver test lint ui docs metrics evaluate generate reload rollback bench clean

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip>=24"
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

# make run FULL_REFRESH=1: also rebuild the incremental dbt models from all of raw.
# make run TARGET=spark: dbt builds on a local SparkSession instead of DuckDB (the
# setting WAREHOUSE_ENGINE; README, "Spark"), with Java installed first when missing.
ENGINE := $(if $(TARGET),WAREHOUSE_ENGINE=$(TARGET))
ENGINE_NEEDS := $(if $(filter spark,$(TARGET) $(WAREHOUSE_ENGINE)),java)
run: install $(ENGINE_NEEDS)
	$(ENGINE) $(BIN)/python -m orchestration.cli run $(if $(FULL_REFRESH),--full-refresh)

# Generate the demo data set into $$LANDING_DIR if it holds no deliveries, then run.
demo: install $(ENGINE_NEEDS)
	$(ENGINE) $(BIN)/python -m orchestration.cli run --demo

# DuckDB releases a BI tool may bundle, kept out of the project's environment: the tests
# open the published file with the oldest one it promises (publish.OLDEST_READER) and with
# the newest 1.x command line.
COMPAT_READERS := $(VENV)/compat-readers
$(COMPAT_READERS)/.installed: $(STAMP)
	rm -rf $(COMPAT_READERS)
	$(BIN)/python -m pip install --quiet --no-deps --target $(COMPAT_READERS)/duckdb-1.0.0 \
		duckdb==1.0.0
	$(BIN)/python -m pip install --quiet --no-deps --target $(COMPAT_READERS)/duckdb-cli \
		duckdb-cli==1.5.6
	touch $@

# Spark (the dbt target `spark`, `make run TARGET=spark`) runs on a Java 17 runtime:
# Debian's, installed here when missing (as root). pyspark brings Spark and its jars.
java:
	command -v java >/dev/null || { apt-get update && apt-get install -y openjdk-17-jre-headless; }

# The dashboard test renders the page in headless Chromium: Debian's package, installed
# here when missing (as root; browser downloads such as Playwright's are not reachable).
chromium:
	command -v chromium >/dev/null || { apt-get update && apt-get install -y chromium; }

# Two workers: most tests wait on one single-threaded dbt or Dagster process, so a
# second one uses the other core. Tests that share a fixture run in one worker
# (tests/conftest.py), the longest started first (FIRST_GROUPS there). TEST_WORKERS=0
# runs them in this process.
TEST_WORKERS ?= 2
test: install chromium java $(COMPAT_READERS)/.installed
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --no-loadscope-reorder --durations=25

# sqlfluff in two processes: 81 s against 127 s on 2 cores (its dbt templater compiles
# the project once).
lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	WAREHOUSE_DIR=$$(mktemp -d) AS_OF_DATE=2026-06-30 $(BIN)/sqlfluff lint --processes 2 dbt_project/models dbt_project/tests

ui: install $(ENGINE_NEEDS)
	$(ENGINE) $(BIN)/python -m orchestration.cli ui

# make metrics METRICS=revenue,aov GROUP_BY=metric_time__month,channel [WHERE=...]: the
# governed metrics (dbt_project/models/semantic) on the current warehouse, through
# MetricFlow; any other `mf` command: .venv/bin/python -m orchestration.cli metrics <command>.
METRICS ?= revenue,orders,aov
GROUP_BY ?= metric_time__month
metrics: install
	$(BIN)/python -m orchestration.cli metrics query --metrics $(METRICS) --group-by $(GROUP_BY) \
		$(if $(WHERE),--where "$(WHERE)")

# make evaluate CUTOFF=2026-03-31: the CLV and churn models cut at CUTOFF (default: 90
# days before the as-of date) against what happened after it.
evaluate: install
	$(BIN)/python -m orchestration.cli evaluate $(if $(CUTOFF),--cutoff $(CUTOFF))

# The dbt docs site of the current warehouse as one file: data/docs/static_index.html.
docs: install
	cd dbt_project && WAREHOUSE_DIR=$${WAREHOUSE_DIR:-$(CURDIR)/data/warehouse} \
		../$(BIN)/dbt docs generate --static --target-path $(CURDIR)/data/docs

# HOLD_BACK=N writes the last N delivery days to $$HELD_DIR instead, for `make deliver`;
# COUNTRY_SHARES=CN=0.9,US=0.1 a population of another country mix.
generate: install
	$(BIN)/python -m orchestration.generator --customers $(CUSTOMERS) --days $(DAYS) --seed $(SEED) \
		$(if $(FORCE),--overwrite) $(if $(HOLD_BACK),--hold-back $(HOLD_BACK)) \
		$(if $(COUNTRY_SHARES),--country-shares $(COUNTRY_SHARES))

# Move the next held-back day (NIGHTS=N: days) into $$LANDING_DIR; `make run` then loads it.
deliver: install $(ENGINE_NEEDS)
	$(ENGINE) $(BIN)/python -m orchestration.cli deliver $(if $(NIGHTS),--days $(NIGHTS))

# make reload FROM=2026-03-01 TO=2026-03-05: load those delivery days again from scratch
# (a backfill of their partitions, one run, the days in order), rebuild, publish.
reload: install $(ENGINE_NEEDS)
	$(ENGINE) $(BIN)/python -m orchestration.cli reload $(FROM) $(TO)

# lifetimes is the reference the CLV fit is timed against: benchmark-only, kept out of
# the project's environment in its own --target directory.
BENCH_EXTRAS := $(VENV)/bench-extras

$(BENCH_EXTRAS): $(STAMP)
	$(BIN)/python -m pip install --quiet --no-deps --target $(BENCH_EXTRAS) \
		lifetimes==0.11.3 autograd==1.9.1 dill==0.4.1

# Put the previous published version back; running it again undoes it.
rollback: install
	$(BIN)/python -m orchestration.cli rollback

# make bench INCREMENT=1: nightly increments against a full build instead (scripts/bench.py).
bench: install $(BENCH_EXTRAS) $(if $(filter spark,$(subst $(comma), ,$(ENGINES))),java)
ifdef ENGINES
	$(BIN)/python scripts/bench.py --engines $(ENGINES) --customers $(CUSTOMERS) --days $(DAYS) --seed $(SEED)
else ifdef INCREMENT
	$(BIN)/python scripts/bench.py --increment --customers $(CUSTOMERS) --days $(DAYS) --seed $(SEED)
else
	$(BIN)/python scripts/bench.py --customers $(CUSTOMERS) --days $(DAYS) --seed $(SEED) \
		$(if $(COUNTRY_SHARES),--country-shares $(COUNTRY_SHARES))
	PYTHONPATH=$(BENCH_EXTRAS) $(BIN)/python scripts/bench_clv.py --customers 1000000
	$(BIN)/python scripts/bench_ingest.py
endif

clean:
	rm -rf data dbt_project/target dbt_project/logs

# One command surface for people and CI (.ci/run calls these same targets).
PY ?= python3
VENV := .venv
UV := $(VENV)/bin/uv
RUN := $(UV) run --frozen --no-sync

.PHONY: setup up test test-fast lint typecheck bench bench-bus bench-mapper bench-orders bench-catalog bench-sandbox chaos bench-all k8s-validate clean

$(VENV)/bin/uv:
	$(PY) -m venv $(VENV)
	$(VENV)/bin/python -m pip install --quiet --disable-pip-version-check uv==0.13.9

setup: $(VENV)/bin/uv  ## create .venv with every service, the koppel command and the dev tools
	$(UV) sync --frozen --all-packages

up: setup  ## run the whole platform in one process on the embedded default
	$(VENV)/bin/koppel up

test: setup  ## the test suite; integration tests join in when KOPPEL_TEST_DATABASE_URL/AMQP_URL are set
	$(RUN) pytest

lint: setup
	$(RUN) ruff check .
	$(RUN) ruff format --check .
	$(RUN) mypy libs/*/src services/*/src

typecheck: setup  ## mypy strict over every library and service
	$(RUN) mypy libs/*/src services/*/src

bench-bus: setup
	$(VENV)/bin/koppel bench bus

bench-mapper: setup
	$(VENV)/bin/koppel bench mapper

bench-orders: setup  ## 2,000 orders through the distributed mode (each service its own process; local PostgreSQL + RabbitMQ)
	$(VENV)/bin/koppel bench orders --processes $(ORDERS_BENCH_ARGS)

bench-catalog: setup
	$(VENV)/bin/koppel bench catalog

bench-sandbox: setup  ## cold start of both sandboxes (exec until seeded data is served), 5 runs each, JSON
	$(VENV)/bin/koppel bench sandbox $(SANDBOX_BENCH_ARGS)

bench: bench-all  ## every benchmark (bench-bus, bench-mapper, orders, catalog) -> bench/results.json

clean:
	rm -rf $(VENV) .koppel .pytest_cache .mypy_cache .ruff_cache

# Chaos and load suite (issue 11): the distributed mode under fire, and every benchmark in one file.
chaos: setup  ## kills, broker drop, HTTP faults, duplicates on RabbitMQ + PostgreSQL; exit 1 on loss
	$(VENV)/bin/koppel chaos $(CHAOS_ARGS)

bench-all: setup  ## bus, mapper, orders and catalog benchmarks -> bench/results.json
	$(VENV)/bin/koppel bench all

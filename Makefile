# The two commands a new user needs: `make run` and `make test`.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
UV_VERSION := 0.13.9
# Two workers: the machines this runs on have two cores.
PYTEST_ARGS ?= -n 2
export DJANGO_SETTINGS_MODULE := helpdesk.settings

.PHONY: run test lint install migrate seed bench clean help

help:
	@echo "make run    - install, migrate, load demo data, start web + Celery worker + beat"
	@echo "make test   - run the whole test suite (PostgreSQL + Redis when reachable)"
	@echo "make lint   - ruff (lint + format check) and mypy"
	@echo "make bench  - benchmarks on PostgreSQL + Redis, JSON lines (BENCH_SCALE=0.1 shrinks, BENCH=peer runs one)"

$(BIN)/uv:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet "uv==$(UV_VERSION)"

# Installs exactly what uv.lock pins (application, production extra and dev tools).
install: $(BIN)/uv
	$(BIN)/uv sync --frozen --inexact --all-extras --active --quiet

# `make run` is the local, embedded set-up: development settings unless told otherwise.
run seed migrate: export DEBUG ?= 1
# The links in mail (written when the demo is seeded, and sent by the worker) name the web
# process's address.
run seed migrate: export PUBLIC_BASE_URL ?= http://localhost:$(or $(PORT),8000)

migrate: install
	$(BIN)/python manage.py migrate --no-input

seed: migrate
	$(BIN)/python manage.py seed_demo

# honcho hands each process a PORT counted from its base (5000 unless told): the web
# process listens on PORT, which must be the address the banner prints.
run: seed
	$(BIN)/python manage.py collectstatic --no-input --verbosity 0
	$(BIN)/python -m helpdesk.devtools banner
	$(BIN)/python -m helpdesk.devtools run

test: install
	$(BIN)/python -m helpdesk.devtools test -- $(PYTEST_ARGS)

# Benchmarks (not part of CI): PostgreSQL and Redis at the default local addresses; the
# data sets are built once and kept in helpdesk_bench. BENCH_SCALE=0.1 for a quick check.
bench: install
	@createdb -h 127.0.0.1 -U postgres helpdesk_bench 2>/dev/null || true
	$(BIN)/python -m tests.benchmarks $(BENCH)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	DEBUG=1 $(BIN)/mypy .

clean:
	rm -rf $(VENV) data/ staticfiles/ .pytest_cache .mypy_cache .ruff_cache

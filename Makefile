# PSA — make run (the demo), make test (the suite minus `slow`), make test-slow, make lint, make bench.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

VENV      := .venv
PY        := $(VENV)/bin/python
UV_VERSION := 0.13.9
HOST      ?= 127.0.0.1
PORT      ?= 8000
BENCH_SIZE ?= S
# BENCH_ONLY="invoice_run revenue_run" runs only those workloads (default: all).
BENCH_ONLY ?=
# make test runs the suite in parallel processes (pytest-xdist), each on its own test database, without the
# `slow` end-to-end checks; make test-slow runs only those. CI (.ci/run) runs both.
TEST_WORKERS ?= auto
PYTEST_ARGS ?= -n $(TEST_WORKERS) -m "not slow"
SLOW_PYTEST_ARGS ?= -n $(TEST_WORKERS)
export DJANGO_SETTINGS_MODULE := psa.settings
# The demo runs with DEBUG off; PSA_DEMO allows plain http on 127.0.0.1 only (psa/settings.py, demo block).
DEMO_ENV  := PSA_DEMO=true DEBUG=false

# A Python >= 3.12: PATH first, then pyenv's versions directory. Fails with a clear message if none.
define find_python
for c in python3.13 python3.12 python3 python; do \
  p=$$(command -v $$c 2>/dev/null) || continue; \
  "$$p" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else 1)' >/dev/null 2>&1 && { echo "$$p"; exit 0; }; \
done; \
for p in $$(ls -d "$${PYENV_ROOT:-$$HOME/.pyenv}"/versions/3.1[2-9]*/bin/python3 2>/dev/null | sort -V -r); do \
  "$$p" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else 1)' >/dev/null 2>&1 && { echo "$$p"; exit 0; }; \
done; \
echo "PSA needs Python 3.12 or newer (Django 6). None found on PATH or in pyenv's versions directory." >&2; \
echo "Install one (e.g. 'pyenv install 3.12') and run make again." >&2; exit 1
endef

.PHONY: help
help:
	@echo "make run      install everything, migrate, seed the demo, start web + worker + beat"
	@echo "make install  everything 'make run' does before it starts a process"
	@echo "make test     the test suite without the slow end-to-end checks (PostgreSQL/Redis when reachable, else SQLite)"
	@echo "make test-slow  only the slow checks: browser, real worker, crash-and-rerun, benchmark smoke, demo launcher"
	@echo "make lint     ruff, import-linter (layers), missing migrations, mypy (types)"
	@echo "make bench    benchmarks at BENCH_SIZE=S|M (PostgreSQL), results in tests/benchmarks/results/"
	@echo "make firm     one coherent firm at FIRM_SIZE=tiny|S|M|L into DATABASE_URL's empty database, by COPY"
	@echo "make loadtest pages under 16 concurrent connections (gunicorn on 127.0.0.1), results/loadtest.json"

# --- the demo firm ------------------------------------------------------------------------------------
# make install/run/worker seed and run the demo, so they ask for the demo seller explicitly (Northwind and an
# example IBAN, psa/core/firm.py); production sets PSA_FIRM_* itself and has no default seller.
install run worker: export PSA_DEMO_FIRM ?= true

# --- installation ------------------------------------------------------------------------------------
$(VENV)/.python:
	@PYTHON=$$($(find_python)); \
	echo "Using $$PYTHON ($$($$PYTHON --version))"; \
	rm -rf $(VENV); "$$PYTHON" -m venv $(VENV); \
	$(VENV)/bin/python -m pip install --quiet --disable-pip-version-check "uv==$(UV_VERSION)" >$(VENV)/pip.log 2>&1 \
	  || { cat $(VENV)/pip.log; exit 1; }; \
	echo "$$PYTHON" > $@

$(VENV)/.synced: uv.lock pyproject.toml $(VENV)/.python
	$(VENV)/bin/uv sync --frozen --python $(PY) --quiet
	@touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

.PHONY: deps
deps: $(VENV)/.synced node_modules/.installed

.PHONY: install
install: deps
	$(DEMO_ENV) $(PY) manage.py migrate --noinput
	$(DEMO_ENV) $(PY) manage.py seed_demo --quiet
	$(DEMO_ENV) $(PY) manage.py collectstatic --noinput --verbosity 0

# --- running -----------------------------------------------------------------------------------------
.PHONY: run
run: install
	@echo ""
	@echo "PSA is starting on http://$(HOST):$(PORT)/  (Ctrl-C stops web, worker and beat)"
	@echo "Demo logins, password psa-demo-2026: sales, pm, consultant, finance, admin, client"
	@echo "Background jobs: $${REDIS_URL:+Redis at $$REDIS_URL}$${REDIS_URL:-embedded filesystem broker (var/broker), real worker process}"
	@echo ""
	@$(DEMO_ENV) exec $(PY) -m psa.launcher --host $(HOST) --port $(PORT)

.PHONY: worker
worker: deps
	$(VENV)/bin/celery -A psa worker --loglevel=INFO --pool=solo --without-mingle --without-gossip --without-heartbeat

# --- quality -----------------------------------------------------------------------------------------
.PHONY: lint
lint: deps
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports
	DEBUG=true $(PY) manage.py makemigrations --check --dry-run
	DEBUG=true $(VENV)/bin/mypy

.PHONY: format
format: deps
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

# make test: DATABASE_URL/REDIS_URL when set; else local PostgreSQL/Redis on default ports when reachable;
# else SQLite (PostgreSQL-only tests skipped with the reason printed).
.PHONY: test
test: deps
	@eval "$$($(PY) tests/services_probe.py)"; \
	export DEBUG=false SECRET_KEY=test-only-secret-key-not-for-production-0123456789 \
	  SECURE_SSL_REDIRECT=false SESSION_COOKIE_SECURE=false CSRF_COOKIE_SECURE=false STATIC_MANIFEST=false \
	  PSA_VAR_DIR=$(CURDIR)/var/test; \
	$(PY) -m pytest $(PYTEST_ARGS)

.PHONY: test-slow
test-slow:
	@$(MAKE) --no-print-directory test PYTEST_ARGS='$(SLOW_PYTEST_ARGS) -m slow'

# django-hordak (journal_post_vs_hordak) runs on Django 5.0 in its own virtual environment, made here from pinned
# requirements: a Python 3.10-3.12 (Django 5.0's), from PATH or pyenv's versions directory.
HORDAK_VENV := .venv-hordak
HORDAK_REQUIREMENTS := tests/benchmarks/hordak/requirements.txt
$(HORDAK_VENV)/.installed: $(HORDAK_REQUIREMENTS)
	@PYTHON=""; \
	for c in python3.12 python3.11 python3.10 $$(ls -d "$${PYENV_ROOT:-$$HOME/.pyenv}"/versions/3.1[0-2]*/bin/python3 2>/dev/null | sort -V -r); do \
	  p=$$(command -v $$c 2>/dev/null) || continue; \
	  "$$p" -c 'import sys; sys.exit(0 if (3, 10) <= sys.version_info[:2] <= (3, 12) else 1)' >/dev/null 2>&1 && { PYTHON=$$p; break; }; \
	done; \
	if [ -z "$$PYTHON" ]; then echo "django-hordak's Django 5.0 needs Python 3.10-3.12; none found on PATH or in pyenv." >&2; exit 1; fi; \
	echo "Building $(HORDAK_VENV) for django-hordak with $$PYTHON"; \
	rm -rf $(HORDAK_VENV); "$$PYTHON" -m venv $(HORDAK_VENV); \
	$(HORDAK_VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r $(HORDAK_REQUIREMENTS) \
	  >$(HORDAK_VENV)/pip.log 2>&1 || { cat $(HORDAK_VENV)/pip.log >&2; exit 1; }; \
	touch $@

.PHONY: bench
bench: deps $(HORDAK_VENV)/.installed
	@eval "$$($(PY) tests/services_probe.py)"; \
	BENCH_SIZE=$(BENCH_SIZE) DEBUG=false SECRET_KEY=bench-only-secret-key-0123456789abcdef STATIC_MANIFEST=false \
	$(PY) -m tests.benchmarks.run $(BENCH_ONLY)

# make firm FIRM_SIZE=M: one coherent firm (people, clients, pipeline, projects, 24 months of approved time,
# invoices, journal with stored balances; tests/benchmarks/firm.py) into DATABASE_URL's migrated-or-empty database,
# printing how long each part took. It refuses a database that already holds projects or journal entries.
FIRM_SIZE ?= S
.PHONY: firm
firm: deps
	@eval "$$($(PY) tests/services_probe.py)"; \
	DEBUG=false SECRET_KEY=firm-only-secret-key-0123456789abcdef STATIC_MANIFEST=false PSA_DEMO_FIRM=true \
	$(PY) -m tests.benchmarks.firm --size $(FIRM_SIZE)

# make loadtest: gunicorn (production settings, 2 workers x 4 threads) on 127.0.0.1 against DATABASE_URL, each
# persona's pages at LOADTEST_CONCURRENCY connections for LOADTEST_DURATION seconds each; LOADTEST_LOAD=S|M|L
# loads a coherent firm of that size first (as make firm; DATABASE_URL's database must be empty). Results in tests/benchmarks/results/loadtest.json.
LOADTEST_CONCURRENCY ?= 16
LOADTEST_DURATION ?= 15
LOADTEST_LOAD ?=
.PHONY: loadtest
loadtest: deps
	@eval "$$($(PY) tests/services_probe.py)"; \
	DEBUG=false SECRET_KEY=loadtest-only-secret-key-0123456789abcdef STATIC_MANIFEST=false SECURE_SSL_REDIRECT=false \
	  SESSION_COOKIE_SECURE=false CSRF_COOKIE_SECURE=false PSA_DEMO_FIRM=true \
	$(PY) -m tests.benchmarks.loadtest --serve --concurrency $(LOADTEST_CONCURRENCY) --duration $(LOADTEST_DURATION) \
	  $(if $(LOADTEST_LOAD),--load $(LOADTEST_LOAD))

.PHONY: clean
clean:
	rm -rf $(VENV) $(HORDAK_VENV) node_modules staticfiles .pytest_cache .ruff_cache .mypy_cache

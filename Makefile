# netscaler-certsync developer entry points.
# `make demo` and `make test` work on a fresh machine: they create .venv when it is missing.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
# The dev package (emulated Kubernetes API, test PKI, the demo) is never installed or shipped:
# it is found on this path by the demo, the benchmarks, import-linter and (via pyproject) pytest.
export PYTHONPATH := $(CURDIR)/devkit

.PHONY: help venv test lint format demo bench soak tools e2e image clean

help:
	@echo "make demo   - the operator syncing a certificate to a (simulated) NetScaler"
	@echo "make test   - lint, import-linter and every test tier"
	@echo "make lint   - ruff, import-linter, the reasons check and vulture only"
	@echo "make bench  - benchmarks; results go to docs/benchmarks.md"
	@echo "make soak   - the chaos tier, long: SEEDS=\"1 2 3\" MINUTES=5 per seed"
	@echo "make tools  - fetch helm and kubectl into .tools/bin when the system lacks them"

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	@touch $(STAMP)

venv: $(STAMP)

lint: $(STAMP)
	$(VENV)/bin/ruff check operator devkit tests bench hack
	$(VENV)/bin/ruff format --check operator devkit tests bench hack
	$(VENV)/bin/lint-imports
	$(PY) hack/check_reasons.py
	$(VENV)/bin/vulture operator devkit tests bench hack --min-confidence 80

format: $(STAMP)
	$(VENV)/bin/ruff format operator devkit tests bench hack
	$(VENV)/bin/ruff check --fix operator devkit tests bench hack

# Two pytest-xdist workers (docs/testing.md, "What the suite costs"); TEST_WORKERS=0 runs serially.
TEST_WORKERS ?= 2

test: lint tools
	PATH="$(CURDIR)/.tools/bin:$$PATH" $(PY) -m pytest -n $(TEST_WORKERS) $(PYTEST_ARGS)

tools:
	@bash hack/tools.sh

demo: $(STAMP)
	$(PY) -m certsync_devkit.demo $(DEMO_ARGS)

bench: $(STAMP)
	$(PY) -m bench $(BENCH_ARGS)

SEEDS ?= 1 2 3
MINUTES ?= 5

soak: $(STAMP)
	CERTSYNC_CHAOS_SEEDS="$(SEEDS)" CERTSYNC_CHAOS_SECONDS=$$(( $(MINUTES) * 60 )) \
		$(PY) -m pytest tests/chaos -q -p no:cacheprovider $(PYTEST_ARGS)

e2e:
	bash hack/e2e-kind.sh

image:
	docker build -t netscaler-certsync:dev .

clean:
	rm -rf $(VENV) .tools .pytest_cache .ruff_cache

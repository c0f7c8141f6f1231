# OKPay — two commands do everything on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export OKPAY_HOME ?= $(CURDIR)

.PHONY: run test lint security bench install clean help
.DEFAULT_GOAL := help

help:
	@echo "make run    set up, migrate, load demo data and serve on http://127.0.0.1:8000"
	@echo "make test   set up and run every check and test"
	@echo "make security  bandit and pip-audit (also part of make lint / make test)"
	@echo "make bench  run the benchmarks (needs PostgreSQL on 127.0.0.1:5432)"

$(STAMP): pyproject.toml constraints.txt
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "OKPay needs Python >= 3.11; set PYTHON=python3.11")'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -c constraints.txt -e '.[dev]'
	touch $@

install: $(STAMP)

run: $(STAMP)
	OKPAY_DEBUG=$${OKPAY_DEBUG:-true} $(BIN)/okpay migrate --no-input -v 0
	OKPAY_DEBUG=$${OKPAY_DEBUG:-true} $(BIN)/okpay demo
	OKPAY_DEBUG=$${OKPAY_DEBUG:-true} $(BIN)/okpay serve --host $${HOST:-127.0.0.1} --port $${PORT:-8000}

# mypy covers the shared plumbing and every app's services and selectors (STYLE.md).
MYPY_PATHS := src/okpay/conf.py src/okpay/core src/okpay/api

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks scripts
	$(BIN)/mypy $(MYPY_PATHS)
	$(BIN)/python scripts/check_messages.py
	$(MAKE) --no-print-directory security

# Security checks (docs/security.md): ruff's S rules run above; bandit over src (every finding
# fixed or marked `# nosec BXXX` with its reason); pip-audit over constraints.txt when a
# vulnerability service answers (else one SKIPPED line). The URL access rules, headers, CSRF and
# cookie flags are tests (tests/security/), run by `make test`.
security: $(STAMP)
	$(BIN)/bandit -q -r src -c pyproject.toml
	$(BIN)/python scripts/pip_audit.py

test: lint
	$(BIN)/pytest $(PYTEST_ARGS)

bench: $(STAMP)
	@for tool in wrk pgbench; do command -v $$tool >/dev/null 2>&1 || { \
	  echo "make bench needs $$tool: apt-get install wrk postgresql-client"; exit 1; }; done
	$(BIN)/python -m benchmarks $(BENCH_ARGS)

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache .mypy_cache .hypothesis

# Lighthouse in mobile mode over the main pages (issue 22): npm's lighthouse@12.2.3 (kept in
# .lighthouse/, not committed) and Debian's Chromium; writes the scores into docs/performance.md.
.PHONY: lighthouse
lighthouse: $(STAMP)
	test -x .lighthouse/node_modules/.bin/lighthouse || npm install --prefix .lighthouse --no-audit --no-fund lighthouse@12.2.3
	OKPAY_HOME=$$(mktemp -d) $(BIN)/python scripts/lighthouse.py

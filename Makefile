# Two commands matter: `make run` and `make test`. Everything else is what they call.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
BUN_DIR := $(CURDIR)/tools/node_modules/.bin
# `python -m assetry serve ARGS`: the embedded Postgres (unless DATABASE_URL is set), migrations,
# then `reflex run ARGS`; Ctrl-C stops the app and then the database.
SERVE := PATH="$(BUN_DIR):$$PATH" REFLEX_USE_SYSTEM_BUN=1 $(PY) -m assetry serve
PORT ?= 3000

.PHONY: run dev test install install-test migrate lint bench smoke clean

run: install  ## install everything, start the database, migrate, serve the production build on :3000
	$(SERVE) --env prod --single-port --frontend-port $(PORT) --loglevel warning

dev: install  ## hot reload on :3000 (backend :8000)
	$(SERVE) --env dev --frontend-port $(PORT)

install: $(VENV)/.installed tools/node_modules/.installed

$(VENV)/.installed: pyproject.toml uv.lock
	@command -v uv >/dev/null || python3 -m pip install --quiet "uv>=0.9"
	# Bytecode compiled once here: shells that set PYTHONDONTWRITEBYTECODE would otherwise make
	# every process (app, worker, each CLI call in the tests) compile its libraries from source.
	uv sync --frozen --compile-bytecode
	@touch $@

tools/node_modules/.installed: tools/package.json tools/package-lock.json
	npm ci --prefix tools --no-audit --no-fund --loglevel=error
	@touch $@

migrate: install
	$(PY) -m assetry migrate

install-test: install
	@command -v chromium >/dev/null || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium)

# The browser tests (their own server and database) run in a second pytest beside unit and
# integration tests, which run on 2 xdist workers (a database each); its output follows theirs.
# (Its log is not under test-results/: pytest-playwright empties that folder when it starts.)
test: install-test  ## the whole suite: unit, integration (Postgres), e2e in Chromium
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	@export PATH="$(BUN_DIR):$$PATH" REFLEX_USE_SYSTEM_BUN=1; log=$$(mktemp -t assetry-e2e-XXXXXX.log); \
	$(VENV)/bin/pytest -m e2e > $$log 2>&1 & browser=$$!; \
	$(VENV)/bin/pytest -m "not e2e" -n 2; others=$$?; \
	wait $$browser; browsers=$$?; \
	echo "===== end-to-end tests (ran beside the others; log: $$log) ====="; \
	cat $$log; \
	exit $$(( others != 0 || browsers != 0 ))

lint:
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

bench: install-test  ## benchmarks under bench/, figures printed as medians
	PATH="$(BUN_DIR):$$PATH" REFLEX_USE_SYSTEM_BUN=1 $(PY) -m bench

smoke: install  ## one cheap real call per configured provider (needs keys; not part of `make test`)
	$(PY) -m assetry smoke

clean:
	rm -rf .web .states $(VENV) tools/node_modules data

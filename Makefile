# Two commands matter: `make run` and `make test`. Everything else is what they call.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
BUN_DIR := $(CURDIR)/tools/node_modules/.bin
REFLEX := PATH="$(BUN_DIR):$$PATH" REFLEX_USE_SYSTEM_BUN=1 $(VENV)/bin/reflex
PORT ?= 3000

.PHONY: run dev test install install-test migrate lint bench smoke clean

run: install migrate  ## install everything, migrate, serve the production build on :3000
	$(REFLEX) run --env prod --single-port --frontend-port $(PORT) --loglevel warning

dev: install migrate  ## hot reload on :3000 (backend :8000)
	$(REFLEX) run --env dev --frontend-port $(PORT)

install: $(VENV)/.installed tools/node_modules/.installed

$(VENV)/.installed: pyproject.toml uv.lock
	@command -v uv >/dev/null || python3 -m pip install --quiet "uv>=0.9"
	uv sync --frozen
	@touch $@

tools/node_modules/.installed: tools/package.json tools/package-lock.json
	npm ci --prefix tools --no-audit --no-fund --loglevel=error
	@touch $@

migrate: install
	$(PY) -m assetry migrate

install-test: install
	@command -v chromium >/dev/null || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium)

test: install-test  ## the whole suite: unit, integration (SQLite and Postgres), e2e in Chromium
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	PATH="$(BUN_DIR):$$PATH" REFLEX_USE_SYSTEM_BUN=1 $(VENV)/bin/pytest

lint:
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

bench: install-test  ## benchmarks under bench/, figures printed as medians
	PATH="$(BUN_DIR):$$PATH" REFLEX_USE_SYSTEM_BUN=1 $(PY) -m bench

smoke: install  ## one cheap real call per configured provider (needs keys; not part of `make test`)
	$(PY) -m assetry smoke

clean:
	rm -rf .web .states $(VENV) tools/node_modules data

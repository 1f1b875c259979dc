# SecureChat: `make run` starts the app on the embedded defaults, `make test` runs every test.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
# Must equal WEBSOCKET_MAX_MESSAGE_BYTES in securechat/settings.py (a test checks it).
WS_MAX_MESSAGE_BYTES := 262144
CHROMIUM ?= /usr/bin/chromium
IS_ROOT := $(shell [ "$$(id -u)" = 0 ] && echo yes)

.PHONY: run test lint format check-python browser node clean bench bench-client bench-paths bench-backpressure

run: $(VENV)/.installed
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py collectstatic --noinput -v 0
	@echo "SecureChat on http://$(HOST):$(PORT)/"
	exec $(BIN)/daphne -b $(HOST) -p $(PORT) --websocket-max-message-size $(WS_MAX_MESSAGE_BYTES) \
		securechat.asgi:application

test: $(VENV)/.installed-test browser node
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m pytest
	node --test tests/js/

lint: $(VENV)/.installed-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(VENV)/.installed-test
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# --- set-up steps, each done once -------------------------------------------------

check-python:
	@$(PYTHON) -c "import ensurepip" 2>/dev/null || { \
	  if [ "$(IS_ROOT)" = yes ]; then apt-get update -qq && apt-get install -y -qq python3-venv; \
	  else echo "Python's venv module is missing: sudo apt-get install python3-venv"; exit 1; fi; }

$(BIN)/python: | check-python
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: requirements.txt | $(BIN)/python
	$(BIN)/pip install -q --disable-pip-version-check -r requirements.txt
	touch $@

$(VENV)/.installed-test: requirements.txt requirements-test.txt | $(BIN)/python
	$(BIN)/pip install -q --disable-pip-version-check -r requirements-test.txt
	touch $@ $(VENV)/.installed

# Debian's Chromium for the browser tests (Playwright's own download needs the internet).
browser:
	@if [ -x "$(CHROMIUM)" ]; then :; \
	elif [ "$(IS_ROOT)" = yes ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; \
	else echo "No Chromium at $(CHROMIUM) and not root: browser tests will be skipped (sudo apt-get install chromium)"; fi

node:
	@command -v node >/dev/null || { \
	  if [ "$(IS_ROOT)" = yes ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs; \
	  else echo "Node.js is missing: sudo apt-get install nodejs"; exit 1; fi; }

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache

# The relay benchmark (docs/PERFORMANCE.md): needs Postgres and Redis; prints a table, writes bench-results/.
$(VENV)/.installed-bench: requirements.txt requirements-bench.txt | $(BIN)/python
	$(BIN)/pip install -q --disable-pip-version-check -r requirements-bench.txt
	touch $@

bench: $(VENV)/.installed-bench
	$(BIN)/python -m bench.relay $(BENCH_ARGS)

# CPU per part of the send path (parse, store, rate counters, fan-out), each on its own: a minute, a table.
bench-paths: $(VENV)/.installed-bench
	$(BIN)/python -m bench.paths $(BENCH_ARGS)

# A client that never reads: daphne's memory with and without the bounds on a socket's work (SECURITY.md, "Limits").
bench-backpressure: $(VENV)/.installed-bench
	$(BIN)/python -m bench.backpressure $(BENCH_ARGS)

# The browser's envelope crypto in headless Chromium (sizes, encrypt+sign, verify+decrypt, history).
bench-client: $(VENV)/.installed-test browser
	$(BIN)/python -m bench.client $(BENCH_ARGS)

# Rich text on hostile input (static/js/ui/rich-text.js): milliseconds per input at 16 000 and 200 000 characters.
.PHONY: bench-rich-text
bench-rich-text: node
	node bench/rich-text.mjs

# Re-vendors markdown-it (static/vendor/markdown-it/) from the npm registry, checking the tarball's sha512 against the
# registry's integrity and, for the pinned version, the one in VERSION: `make vendor MARKDOWN_IT_VERSION=15.0.3`.
MARKDOWN_IT_VERSION ?= $(shell sed -n 's/^version: //p' static/vendor/markdown-it/VERSION)
.PHONY: vendor
vendor:
	scripts/vendor-update.sh $(MARKDOWN_IT_VERSION)

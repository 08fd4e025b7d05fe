# Everything a new machine needs is `make demo` and `make test` (Python 3.11+ as python3).
# The virtualenv lives in .venv and is reinstalled only when a requirements file changes.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
# The stamp lives inside the venv, so deleting .venv also forgets what was installed.
INSTALLED := $(VENV)/.requirements-installed

WEB_PORT ?= 8000
SANDBOX_PORT ?= 8765
PYTEST_ARGS ?=
export WEB_PORT SANDBOX_PORT

.PHONY: help install demo test bench lint browser fuzz chaos

help:
	@echo "make demo    set up .venv, migrate, seed demo data, run web + worker + sandbox"
	@echo "             (WEB_PORT=$(WEB_PORT), SANDBOX_PORT=$(SANDBOX_PORT); Ctrl-C stops all three)"
	@echo "make test    set up .venv and run pytest (DATABASE_URL / REDIS_URL are respected;"
	@echo "             extra arguments: make test PYTEST_ARGS='-m queue -x')"
	@echo "             (installs Chromium for the browser tests when it can: root + apt-get)"
	@echo "make bench   run every bench/*.py script, then print one table of all figures"
	@echo "make chaos   the fault suite: workers killed, database and Redis restarted, 30 % API"
	@echo "             faults; fails on any duplicate, loss or stuck job (CHAOS_SCALE=short: ~3 min)"
	@echo "make lint    ruff check"
	@echo "make fuzz    atheris on the settlement parsers and webhook checks (FUZZ_RUNS=$(FUZZ_RUNS) each)"

$(PY):
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
		|| { echo "We build and test on Python 3.11 or newer; set PYTHON=python3.11" >&2; exit 1; }
	$(PYTHON) -m venv $(VENV)

$(INSTALLED): requirements.txt requirements-dev.txt | $(PY)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	@touch $@

install: $(INSTALLED)

demo: export SANDBOX_URL := http://127.0.0.1:$(SANDBOX_PORT)
demo: $(INSTALLED)
	$(PY) manage.py migrate --noinput
	$(PY) manage.py seed_demo
	exec $(PY) bin/demo.py

test: $(INSTALLED) browser
	$(PY) -m pytest $(PYTEST_ARGS)

# The browser tests (tests/status/test_browser.py) drive Debian's Chromium through Playwright.
# It is installed here when it can be (root with apt-get); otherwise those tests skip and name
# the missing browser. On CI (CI=true) they fail instead of skipping.
browser:
	@if command -v chromium >/dev/null 2>&1 || [ -x "$${CHROMIUM_PATH:-}" ]; then \
		:; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		echo "Installing Chromium for the browser tests (apt-get install chromium)"; \
		{ DEBIAN_FRONTEND=noninteractive apt-get update -qq \
			&& DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; } \
			|| echo "Could not install Chromium: the browser tests will skip" >&2; \
	else \
		echo "Chromium is not installed and cannot be installed here (needs root and apt-get):" \
			"the browser tests will skip" >&2; \
	fi

# Benchmarks are standalone scripts run from the project root; files starting with `_` are
# shared helpers, not benchmarks. Each script appends its figures to var/bench/results.jsonl;
# bench/_results.py prints them all as one table at the end (docs/BENCHMARKS.md).
bench: $(INSTALLED)
	@shopt -s nullglob; failed=0; ran=0; \
	mkdir -p var/bench; : > var/bench/results.jsonl; \
	for script in bench/*.py; do \
		case "$$(basename "$$script")" in _*) continue ;; esac; \
		ran=$$((ran + 1)); echo "== $$script"; \
		PYTHONPATH=. $(PY) "$$script" || { echo "!! $$script failed" >&2; failed=$$((failed + 1)); }; \
	done; \
	if [ "$$ran" -eq 0 ]; then echo "No benchmarks in bench/ yet."; else $(PY) bench/_results.py; fi; \
	exit $$((failed > 0))

# The fault suite (chaos/run.py): its own PostgreSQL and Redis in a temp directory (never the
# shared ones), the sandbox and qcluster workers; CHAOS_SCALE=short is the CI form.
CHAOS_SCALE ?= full
chaos: $(INSTALLED)
	PYTHONPATH=. $(PY) chaos/run.py --scale $(CHAOS_SCALE)

lint: $(INSTALLED)
	$(VENV)/bin/ruff check --no-cache .

FUZZ_RUNS ?= 20000
fuzz: $(INSTALLED)
	$(PY) -m fuzz.run settlement -runs=$(FUZZ_RUNS)
	$(PY) -m fuzz.run webhook -runs=$(FUZZ_RUNS)

# Two commands matter (README, Quick start): `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install demo test check lint lock browser stack-up stack-down stack-status clean

# The versions CI passed with: requirements-dev.lock (hashes checked), then the project itself.
$(STAMP): pyproject.toml setup.py requirements-dev.lock deploy/fence_urllib3.py
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet --require-hashes -r requirements-dev.lock
	# urllib3-future (niquests <- grafana-client) would overwrite urllib3 at every start
	$(BIN)/python deploy/fence_urllib3.py requirements-dev.lock
	$(BIN)/python -m pip install --quiet --no-deps --editable .
	touch $(STAMP)

install: $(STAMP)

# The main job: the real local stack (Kafka + InfluxDB on 127.0.0.1), a pipeline worker and
# 8 simulated treadmill stations, with a live table of every patient's gait; Ctrl-C stops all.
demo: install
	$(BIN)/gaitstream demo

# Lint and format check, then: creates .venv, installs, starts the stack (pytest's session
# fixture, the same stack code), runs every test, and stops only the servers it started.
test: install lint browser
	$(BIN)/gaitstream stack install
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# The fast tier while editing: lint, then every test that needs no server (no Kafka, InfluxDB,
# PostgreSQL or browser: the markers come from the fixtures a test uses, tests/conftest.py).
check: install lint
	$(BIN)/python -m pytest -q -m "not integration" $(PYTEST_ARGS)

# Web pages (the patient feedback screen) are tested in Debian's chromium, driven by Playwright
# (no browser download): installed here when missing and allowed; else those tests skip, saying why.
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then echo "installing Debian's chromium for the browser tests"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else echo "no chromium and not root: the browser tests will skip (sudo apt-get install chromium)"; fi; }

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# Refresh the locks after changing dependencies in pyproject.toml (needs PyPI).
lock: install
	$(BIN)/python -m pip install --quiet uv
	$(BIN)/uv pip compile pyproject.toml --python-version 3.11 --generate-hashes --no-annotate --no-header -o requirements.lock
	$(BIN)/uv pip compile pyproject.toml --extra dev --python-version 3.11 --generate-hashes --no-annotate --no-header -o requirements-dev.lock

stack-up: install
	$(BIN)/gaitstream stack up

stack-down: install
	$(BIN)/gaitstream stack down

stack-status: install
	$(BIN)/gaitstream stack status

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .ruff_cache

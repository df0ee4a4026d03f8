# Two commands matter (README, Quick start): `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install demo test stack-up stack-down stack-status clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet --editable '.[dev]'
	touch $(STAMP)

install: $(STAMP)

# The main job: the real local stack (Kafka + InfluxDB on 127.0.0.1), a pipeline worker and
# 8 simulated treadmill stations, with a live table of every patient's gait; Ctrl-C stops all.
demo: install
	$(BIN)/gaitstream demo

# Creates .venv, installs, starts the stack (pytest's session fixture, the same stack code),
# runs every test, and stops only the servers it started.
test: install
	$(BIN)/gaitstream stack install
	$(BIN)/python -m pytest $(PYTEST_ARGS)

stack-up: install
	$(BIN)/gaitstream stack up

stack-down: install
	$(BIN)/gaitstream stack down

stack-status: install
	$(BIN)/gaitstream stack status

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache

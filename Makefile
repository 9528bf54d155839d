# One entry point for people and CI. `make test` sets up everything on a fresh Debian
# machine (venv, pip packages, Debian packages when missing) and runs the whole suite.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
RUNDOWN ?= rundown/rehearsal.yaml
# Debian packages the tests need (real OBS, a virtual screen); installed only when missing.
DEBIAN_PACKAGES ?= obs-studio xvfb xauth chromium fonts-noto-cjk prometheus prometheus-alertmanager docker-compose ffmpeg

.PHONY: setup deps test lint run simulate bench clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $@

setup: $(VENV)/.installed deps

deps:
	@scripts/ensure-debian-packages $(DEBIAN_PACKAGES)

lint: setup
	$(VENV)/bin/ruff check .

test: setup
	$(VENV)/bin/ruff check .
	$(PY) -m pytest -q

# The main job: the controller on a private headless OBS, the show moved to start now.
run: setup
	$(VENV)/bin/showctl demo $(RUNDOWN)

simulate: setup
	$(VENV)/bin/showctl validate $(RUNDOWN)
	$(VENV)/bin/showctl plan $(RUNDOWN)
	$(VENV)/bin/showctl simulate $(RUNDOWN)

# Benchmarks against the real parts (not timed tests); results in bench/results/.
bench: setup
	$(PY) bench/take_latency.py
	$(PY) bench/fanout.py
	$(PY) bench/mixer.py
	$(PY) bench/overlays.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis

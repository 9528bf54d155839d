# One entry point for people and CI. `make test` sets up everything on a fresh Debian
# machine (venv, pip packages, Debian packages when missing) and runs the whole suite.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
RUNDOWN ?= rundown/rehearsal.yaml
# Debian packages the tests need (real OBS, a virtual screen); installed only when missing.
DEBIAN_PACKAGES ?= obs-studio xvfb xauth chromium fonts-noto-cjk prometheus prometheus-alertmanager docker-compose ffmpeg \
	iproute2 libsrt1.5-gnutls gstreamer1.0-plugins-bad gstreamer1.0-plugins-good gstreamer1.0-plugins-ugly \
	gstreamer1.0-nice gir1.2-gst-plugins-bad-1.0 gir1.2-nice-0.1 python3-gi coturn etcd-server firefox-esr janus

.PHONY: setup deps test test-fast lint run simulate bench bench-quick load drill clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $@

setup: $(VENV)/.installed deps integrations/companion/node_modules tests/browsers/node_modules

# The Companion module's packages (tests/companion/test_companion.py), as locked.
integrations/companion/node_modules: integrations/companion/package-lock.json
	npm ci --prefix integrations/companion
	touch $@

# puppeteer-core for the Firefox tests (tests/firefox.py): drives Debian's firefox-esr, so
# it must never download a browser.
tests/browsers/node_modules: tests/browsers/package-lock.json
	PUPPETEER_SKIP_DOWNLOAD=1 npm ci --prefix tests/browsers
	touch $@

deps:
	@scripts/ensure-debian-packages $(DEBIAN_PACKAGES)

lint: setup
	$(VENV)/bin/ruff check .

# CI (.ci/run): lint, then every test, with the 20 slowest in the output.
test: setup
	$(VENV)/bin/ruff check .
	$(PY) -m pytest -q --durations=20

# The inner loop, under a minute: the unit tests only (markers in tests/conftest.py), every
# property test capped at a few examples (the Hypothesis profile "fast", tests/helpers.py).
# No Debian packages needed; `make test` before pushing.
test-fast: $(VENV)/.installed
	$(PY) -m pytest -q -m unit --hypothesis-profile=fast --durations=5

# The main job: the controller on a private headless OBS, the show moved to start now.
run: setup
	$(VENV)/bin/showctl demo $(RUNDOWN)

simulate: setup
	$(VENV)/bin/showctl validate $(RUNDOWN)
	$(VENV)/bin/showctl plan $(RUNDOWN)
	$(VENV)/bin/showctl simulate $(RUNDOWN)

# Benchmarks against the real parts (not timed tests): every figure next to its baseline in
# one report, bench/results/report.md and report.json (bench/report.py). bench-quick: small
# counts, a check that the pipeline works (bench/results/quick/), not figures to quote.
bench: setup
	$(PY) -m bench

bench-quick: setup
	$(PY) -m bench --quick

# Load (issue 8): 150 consoles, 50 overlay pages and 4 WebRTC guests for MINUTES of show, in
# a loopback-only network namespace (root); fan-out p99, loop stalls, memory growth.
MINUTES ?= 10
load: setup
	$(PY) bench/load.py --minutes $(MINUTES)

# The show-day drill: the rundown in compressed time against a private headless OBS, with
# faults injected (OBS killed and frozen, the controller killed, a double take, a viewer's
# take, a malformed reload); report in state/drill/drill.md and drill.json. FAULTS=a,b,...
# GUESTS=N: N headless Chromium guests and the guest faults (guest-kill, guest-lossy); root.
SPEED ?= 20
FAULTS ?=
GUESTS ?= 0
drill: setup
	scripts/drill $(RUNDOWN) --speed $(SPEED) $(if $(FAULTS),--faults $(FAULTS)) \
		$(if $(filter-out 0,$(GUESTS)),--guests $(GUESTS))

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis

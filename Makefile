# Two commands: `make run` sets everything up and starts the platform; `make test` sets up and tests it.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)

.PHONY: setup run test test-unit lint format schemas down clean

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[local,dev]'
	@rm -f $(VENV)/.installed-* && touch $@

# promtool (the alert rules' tests) and the local Prometheus of `make run`: Debian's package, once.
setup: $(STAMP)
	@command -v promtool >/dev/null && command -v prometheus >/dev/null || { \
	  echo "installing Debian's prometheus package (promtool and the local Prometheus) …"; \
	  apt-get update -qq >/dev/null && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus >/dev/null; }
	$(PY) -m deploy.launcher setup

run: setup  ## set up and start the whole platform on http://127.0.0.1:8000 (Ctrl-C stops it)
	$(PY) -m deploy.launcher run

test: setup  ## set up and run every test (unit, integration, end-to-end) against the real stack
	$(PY) -m pytest -q -p no:cacheprovider $(PYTEST_ARGS)

test-unit: $(STAMP)  ## only the tests that need no stack
	$(PY) -m pytest -q -m "not stack" $(PYTEST_ARGS)

lint: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m mypy .

format: $(STAMP)
	$(PY) -m ruff check --fix .
	$(PY) -m ruff format .

schemas: $(STAMP)  ## export every topic's JSON Schema into schemas/jsonschema/
	$(PY) -m schemas.export

down:  ## stop a stack left running
	@test -x $(PY) && $(PY) -m deploy.launcher down || true

clean: down  ## remove all local state, caches and the virtualenv
	rm -rf .cdp $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis
	find . -name __pycache__ -type d -prune -exec rm -rf {} +

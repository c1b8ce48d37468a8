# Developer entry points. `make run` serves the API locally; `make test` sets everything up and runs every check.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PORT ?= 7071

.PHONY: setup run test lint unit bench clean

$(VENV)/.installed: requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

setup: $(VENV)/.installed

run: setup  ## the service on the embedded in-memory store, http://127.0.0.1:7071/v1, dev key sk-local-dev
	$(PY) -m core.http.local_host --port $(PORT)

lint: setup
	$(PY) -m ruff check .
	$(PY) -m mypy

test: setup  ## lint, infrastructure checks, then unit, integration and e2e tests on memory, Redis and Cosmos DB
	bash .ci/system-deps.sh
	$(MAKE) lint
	bash .ci/infra-checks.sh
	$(PY) -m pytest

unit: setup
	$(PY) -m pytest tests/unit

bench: setup
	$(PY) -m bench.run

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache tests/cosmos_emulator/node_modules tests/azurite/node_modules

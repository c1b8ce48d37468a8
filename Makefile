# Developer entry points. `make run` serves the API locally; `make test` sets everything up and runs every check.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PORT ?= 7071
# The second CI pass runs on Python 3.12 (the deployed default) in its own virtualenv. PYTHON312 if given, else
# python3.12 on PATH, else pyenv's newest 3.12.
VENV312 ?= .venv-py312
PY312 := $(VENV312)/bin/python
ifeq ($(origin PYTHON312), undefined)
PYTHON312 := $(shell for candidate in python3.12 "$$(pyenv root 2>/dev/null)/versions/$$(pyenv versions --bare \
  2>/dev/null | grep '^3\.12' | tail -n 1)/bin/python3.12"; do "$$candidate" -c 'import sys; \
  assert sys.version_info[:2] == (3, 12)' >/dev/null 2>&1 && { echo "$$candidate"; break; }; done)
endif

.PHONY: setup run test test-py312 lint unit bench clean

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
	$(MAKE) test-py312

$(VENV312)/.installed: requirements.txt requirements-dev.txt
	@test -n "$(PYTHON312)" || { echo "no Python 3.12 found: install one or set PYTHON312=/path/to/python3.12" >&2; exit 1; }
	$(PYTHON312) -m venv $(VENV312)
	$(PY312) -m pip install --quiet --upgrade pip
	$(PY312) -m pip install --quiet -r requirements-dev.txt
	touch $@

# Lighter than the main pass, which already ran everything on python3: what differs between Python versions is the
# app itself (asyncio, the SDKs), so unit tests and the e2e suite through the registered functions on the memory
# store. Skipped when the main pass already ran on 3.12 (the CI matrix's 3.12 job).
test-py312:  ## unit tests and the e2e suite (memory store) again on Python 3.12
	@if $(PY) -c 'import sys; sys.exit(sys.version_info[:2] != (3, 12))' 2>/dev/null; then \
	  echo "test-py312: the main pass ran on Python 3.12 already"; \
	else \
	  $(MAKE) $(VENV312)/.installed && E2E_STORES=memory $(PY312) -m pytest tests/unit tests/e2e; \
	fi

unit: setup
	$(PY) -m pytest tests/unit

bench: setup
	$(PY) -m bench.run

clean:
	rm -rf $(VENV) $(VENV312) .pytest_cache .mypy_cache .ruff_cache tests/cosmos_emulator/node_modules tests/azurite/node_modules \
	  tests/node/node_modules

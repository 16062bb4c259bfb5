# The two commands a newcomer needs: `make run` and `make test`. Everything else is set up by them.
SHELL := /bin/bash
PYTHON ?= python3
UV_VERSION ?= 0.13.9
HOST ?= 127.0.0.1
PORT ?= 8000
TOOLS := .tools
UV := $(TOOLS)/bin/uv
VENV := .venv
PY := $(VENV)/bin/python
export UV_PROJECT_ENVIRONMENT := $(VENV)

# Test services (override to point elsewhere). The tests never run on the embedded default.
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/postgres
TEST_REDIS_URL ?= redis://127.0.0.1:6379/15
CHROMIUM_PATH ?= /usr/bin/chromium

.PHONY: run test install lint test-unit test-e2e check-services messages bench clean

$(UV):
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet --disable-pip-version-check "uv==$(UV_VERSION)"

$(VENV)/.synced: $(UV) pyproject.toml uv.lock
	$(UV) sync --frozen --quiet
	touch $@

install: $(VENV)/.synced

run: install
	$(PY) manage.py migrate --noinput
	$(PY) manage.py seed_demo
	@echo
	@echo "  Qunzu is starting at http://$(HOST):$(PORT)/  (API docs: http://$(HOST):$(PORT)/api/docs/)"
	@echo "  Sign in with one of the demo logins above; open a second browser to chat between two members."
	@echo
	$(VENV)/bin/uvicorn config.asgi:application --host $(HOST) --port $(PORT) --lifespan off --ws-max-size 1048576

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports

check-services: install
	DATABASE_URL=$(TEST_DATABASE_URL) REDIS_URL=$(TEST_REDIS_URL) $(PY) scripts/check_services.py

test-unit: install check-services
	DATABASE_URL=$(TEST_DATABASE_URL) REDIS_URL=$(TEST_REDIS_URL) $(PY) -m pytest -m "not e2e" -p no:playwright

test-e2e: install check-services
	@test -x $(CHROMIUM_PATH) || { echo "Chromium not found at $(CHROMIUM_PATH): apt-get install -y chromium (or set CHROMIUM_PATH)"; exit 1; }
	DATABASE_URL=$(TEST_DATABASE_URL) REDIS_URL=$(TEST_REDIS_URL) CHROMIUM_PATH=$(CHROMIUM_PATH) \
	  DJANGO_ALLOW_ASYNC_UNSAFE=true $(PY) -m pytest -m e2e

test: lint test-unit test-e2e

messages: install
	$(PY) manage.py makemessages -l zh_Hans --ignore=.venv --ignore=.tools --ignore=tests --ignore=bench --no-obsolete
	$(PY) scripts/zh_hans.py
	$(PY) manage.py compilemessages -l zh_Hans --ignore=.venv --ignore=.tools

bench: install check-services  # BENCH_ARGS=--quick for the small sizes
	DATABASE_URL=$(TEST_DATABASE_URL) REDIS_URL=$(TEST_REDIS_URL) $(PY) -m bench $(BENCH_ARGS)

clean:
	rm -rf $(VENV) $(TOOLS) staticfiles test-results

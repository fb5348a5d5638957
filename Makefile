# The two commands of the README: `make run` and `make test`. Both install what they need on
# first use: the virtual environment in .venv/, the Python packages, the Kafka jars.

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
INSTALLED := $(VENV)/.installed

.PHONY: run test bench check lint typecheck unit component integration schemas jars browser pdftotext install clean-data stack-up stack-down faults status

$(INSTALLED): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(INSTALLED)

install: $(INSTALLED)

jars: $(INSTALLED)
	$(PY) -c "from deploy.local.kafka import ensure_jars; print(ensure_jars())"

## Headless Chromium for the browser tests: Debian's package (Playwright's own download is not
## reachable here), driven through the playwright wheel with executable_path.
CHROMIUM := /usr/bin/chromium
$(CHROMIUM):
	@if [ "$$(id -u)" = 0 ]; then sudo=; else sudo=sudo; fi; \
	$$sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq chromium

browser: $(CHROMIUM)

## pdftotext (Debian's poppler-utils): the invoice tests read the PDF's text back with it.
PDFTOTEXT := /usr/bin/pdftotext
$(PDFTOTEXT):
	@if [ "$$(id -u)" = 0 ]; then sudo=; else sudo=sudo; fi; \
	$$sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq poppler-utils

pdftotext: $(PDFTOTEXT)

## Kafka, PostgreSQL and the services on 127.0.0.1; Ctrl-C stops everything.
run: jars
	$(PY) -m deploy.run

## The whole suite: unit, contract, integration and reliability tests on real Kafka and PostgreSQL.
test: jars browser pdftotext
	$(PY) -m pytest

## ruff, mypy and the fast tests: pure logic, then handlers and projections on a real PostgreSQL
## (started on first use, like the Kafka jars; no Kafka needed).
check: lint typecheck unit component

lint: $(INSTALLED)
	$(VENV)/bin/ruff check .

typecheck: $(INSTALLED)
	$(VENV)/bin/mypy contracts services deploy bench

unit: $(INSTALLED)
	$(PY) -m pytest tests/unit

component: $(INSTALLED)
	$(PY) -m pytest tests/component

integration: jars browser
	$(PY) -m pytest tests/integration

## The benchmark (issue 10): its own stack as `make run` starts it, the machine's ceilings, the
## eventsourcing peer and the system's figures; bench-results/report.{json,md}. Under 10 minutes.
bench: jars
	$(PY) -m bench

## The fault suite at full scale on a fresh test stack (not while `make test` runs), then once
## against a 3-broker KRaft cluster; report in bench-results/faults.{json,md}.
faults: jars
	$(PY) -m deploy.faults

## The processes of a running `make run` (supervisord's view).
status: $(INSTALLED)
	$(VENV)/bin/supervisorctl -c .data/local/run/supervisord.conf status

## Regenerate the committed JSON Schemas and AsyncAPI document from contracts/.
schemas: $(INSTALLED)
	$(PY) -m contracts.schema_export

stack-up: jars
	$(PY) -m deploy.local up

stack-down: $(INSTALLED)
	$(PY) -m deploy.local down

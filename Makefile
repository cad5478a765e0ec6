# The two commands of the README quick start; each does its own set-up.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test test-kafka test-outage lint schemas timeline clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $(STAMP)

## demo: embedded broker + worker + replay of the bundled corpus; alerts until Ctrl-C
demo: $(STAMP)
	$(BIN)/dipwatch demo $(ARGS)

## test: the whole suite; integration tests on the embedded broker
test: $(STAMP)
	$(BIN)/python -m pytest $(ARGS)

## test-kafka: the integration (contract) suite on Apache Kafka assembled from Maven Central
test-kafka: $(STAMP)
	DIPWATCH_TEST_BROKER=kafka $(BIN)/python -m pytest -m integration $(ARGS)

## test-outage: only the broker-restart test (stop Apache Kafka for 30 s mid-replay)
test-outage: $(STAMP)
	DIPWATCH_TEST_BROKER=kafka $(BIN)/python -m pytest -m outage -s $(ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

## schemas: regenerate the checked-in JSON Schema files from the models
schemas: $(STAMP)
	$(BIN)/python -m schemas.jsonschema_export

## timeline: regenerate the alerts-and-tension timeline of the corpus in docs/TIMELINE.md
timeline: $(STAMP)
	$(BIN)/dipwatch timeline --out docs/TIMELINE.md

clean:
	rm -rf $(VENV) .dipwatch

# The two commands: `make build` (install, warehouse, raw data, dbt build, docs) and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
DBT := $(BIN)/dbt

.PHONY: build test install up down docs lock clean bench

build: install
	$(BIN)/warehouse up
	$(BIN)/warehouse profile
	$(BIN)/warehouse ensure-data
	$(DBT) source freshness
	$(DBT) build
	$(DBT) docs generate

test: install
	$(BIN)/python -m pytest

install: $(VENV)/.installed

$(VENV)/.installed: requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements.txt
	$(BIN)/pip install --quiet --disable-pip-version-check --no-deps -e .
	touch $@

up: install
	$(BIN)/warehouse up

down:
	$(BIN)/warehouse down

# Re-pin every dependency from requirements.in (needs the package index).
lock:
	rm -rf .lock-venv && $(PYTHON) -m venv .lock-venv
	.lock-venv/bin/pip install --quiet -r requirements.in
	(echo "# Fully pinned: every machine gets these exact versions. Generated from requirements.in by 'make lock'."; \
	 .lock-venv/bin/pip freeze --exclude-editable) > requirements.txt
	rm -rf .lock-venv

clean:
	-$(BIN)/warehouse down
	rm -rf target logs .warehouse $(VENV)

# Side-by-side benchmark in a throw-away warehouse: make bench SCALE=10
SCALE ?= 1
bench: install
	$(BIN)/warehouse bench --scale $(SCALE)

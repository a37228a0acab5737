# Everything runs from a virtual environment at .venv in the repository root.
VENV    := .venv
PY      := $(VENV)/bin/python
STAMP   := $(VENV)/.installed
PYTEST  := $(PY) -m pytest

.PHONY: venv run demo up down test test-unit chaos chaos-publish lint contracts postgres postgres-stop kafka kafka-stop \
	bench image compose-up compose-down deploy-check clean screenshots soak

# setuptools (the build backend pip runs) says "Editable installation ... be careful with folders"
# on every editable install: information, not a problem, but it reads like one (issue 24).
$(STAMP): pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	PYTHONWARNINGS="ignore:Editable installation" $(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

venv: $(STAMP)

run: $(STAMP)
	$(VENV)/bin/seller-support serve

# Distributed mode on one machine: Kafka, PostgreSQL and one process per service (deploy/up.sh).
up: $(STAMP)
	bash deploy/up.sh

down:
	bash deploy/down.sh

# Against a running `make run` (SUPPORT_PORT): walks one request of each kind, printing each step,
# then leaves a world to explore in the web app and prints the lines to sign in with, last.
demo: $(STAMP)
	$(VENV)/bin/seller-support demo

# The whole suite, on a fresh clone with nothing run before it. deploy/install-deps.sh installs
# Debian's chromium, nginx and fonts-dejavu-core when missing (one line saying what to run when it
# cannot); integration tests need PostgreSQL: when SUPPORT_TEST_DATABASE_URL is not set,
# deploy/postgres/start.sh starts (and if needed installs) a local cluster and prints its URL; the
# Kafka tests start the local broker themselves (deploy/kafka/start.sh). pytest exits 5 when it
# collected nothing, and make fails with it: an empty run is a failure (PYTEST_PATHS narrows the run).
# The order is random (pytest-randomly; the run ends with its seed: `PYTEST_ORDER=--randomly-seed=<seed>`
# repeats it; `PYTEST_ORDER="-p no:randomly"` runs in file order).
PYTEST_PATHS ?= tests
PYTEST_ORDER ?=
test: $(STAMP)
	bash deploy/install-deps.sh
	SUPPORT_TEST_DATABASE_URL="$${SUPPORT_TEST_DATABASE_URL:-$$(bash deploy/postgres/start.sh)}" \
		$(PYTEST) -q -p no:cacheprovider $(PYTEST_ORDER) $(PYTEST_PATHS)

# The fault-injection suite, full profile (tests/chaos; own Kafka and PostgreSQL on other ports):
# writes its figures and seed to var/chaos/reliability-full.md (never to the tracked docs).
# `make test` runs its short profile. `make chaos-publish` copies the report to docs/reliability.md.
chaos: $(STAMP)
	CHAOS_PROFILE=full $(PYTEST) -q -p no:cacheprovider tests/chaos

# The money property test (R63, tests/integration/test_money_property.py), long profile: 200 random
# walks of up to 40 steps per store; `make test` runs a few short ones.
soak: $(STAMP)
	SUPPORT_TEST_DATABASE_URL="$${SUPPORT_TEST_DATABASE_URL:-$$(bash deploy/postgres/start.sh)}" \
		SUPPORT_MONEY_EXAMPLES=$${SUPPORT_MONEY_EXAMPLES:-200} SUPPORT_MONEY_STEPS=$${SUPPORT_MONEY_STEPS:-40} \
		$(PYTEST) -q -p no:cacheprovider tests/integration/test_money_property.py

chaos-publish: $(STAMP)
	$(PY) -m tests.chaos.publish

test-unit: $(STAMP)
	$(PYTEST) -q -p no:cacheprovider tests/unit

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports
	$(PY) -m shared.contracts.generate --check
	$(PY) -m services.openapi_documents --check
	$(PY) -m services.migrate check
	$(PY) -m tests.suite_lint

# Regenerate the JSON Schemas, the AsyncAPI document and the OpenAPI documents (docs/openapi).
contracts: $(STAMP)
	$(PY) -m shared.contracts.generate
	$(PY) -m services.openapi_documents

postgres:
	@bash deploy/postgres/start.sh

postgres-stop:
	bash deploy/postgres/stop.sh

# A real single-node Apache Kafka (KRaft) from Maven Central jars: deploy/kafka, docs/kafka.md.
kafka:
	@bash deploy/kafka/start.sh

kafka-stop:
	bash deploy/kafka/stop.sh

# One image for every service (needs a Docker engine); the command picks the process.
image:
	docker build -t seller-support:local .

# The distributed system in containers (set SUPPORT_JWT_SECRET first); see docs/operations.md.
compose-up:
	docker compose -f deploy/compose.yaml up --build -d

compose-down:
	docker compose -f deploy/compose.yaml down

# Check the Dockerfile, compose and Kubernetes files without any container engine.
deploy-check: $(STAMP)
	$(PYTEST) -q -p no:cacheprovider tests/unit/test_deploy_files.py

# Every figure beside its raw baseline in one run: bench/results.{json,md}, bench/latency.png.
bench: $(STAMP)
	$(PY) bench/run.py

# A PNG of every web-app page, desktop and 390 px phone, into docs/ui/ (real server, Debian's chromium).
screenshots: $(STAMP)
	bash deploy/install-deps.sh chromium fonts-dejavu-core
	$(PY) -m tests.browser.screenshots

clean:
	-bash deploy/kafka/stop.sh
	rm -rf $(VENV) var .pytest_cache .ruff_cache .hypothesis

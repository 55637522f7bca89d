# Dyad — two commands: `make run` and `make test`. Everything else is a helper.
PYTHON ?= $(shell command -v python3.11 || command -v python3.12 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
WITH_DB := $(PY) scripts/with_db.py
HOST ?= 127.0.0.1
PORT ?= 8000
PYTEST_ARGS ?=

.PHONY: run test lint format check-migrations shell manage bench screenshots clean-db

$(VENV)/.installed: pyproject.toml scripts/install.sh
	PYTHON="$(PYTHON)" VENV="$(VENV)" sh scripts/install.sh
	touch $@

run: $(VENV)/.installed
	$(WITH_DB) $(PY) manage.py devserver $(HOST):$(PORT)

test: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
# mypy loads the settings to learn the models; it never connects to this database.
	DEBUG=true DATABASE_URL=postgres://mypy.invalid/dyad $(VENV)/bin/mypy
	$(WITH_DB) $(PY) manage.py makemigrations --check --dry-run
	DEBUG=false ALLOWED_HOSTS=dyad.example.org BEHIND_TLS_PROXY=true TRUSTED_PROXY_COUNT=1 SECRET_KEY="$$($(PY) -c 'import secrets; print(secrets.token_urlsafe(50))')" $(WITH_DB) $(PY) manage.py check --deploy --fail-level WARNING
	sh scripts/ensure_chromium.sh
	$(WITH_DB) $(PY) -m pytest $(PYTEST_ARGS)

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

shell: $(VENV)/.installed
	$(WITH_DB) $(PY) manage.py shell

# make manage ARGS="createsuperuser"
manage: $(VENV)/.installed
	$(WITH_DB) $(PY) manage.py $(ARGS)

# HTTP benchmarks (gunicorn + wrk on a separate bench database); not part of `make test`.
# Prints the figures and records them in docs/benchmarks.md ("HTTP benchmarks").
bench: $(VENV)/.installed
	$(PY) bench/run.py --write-docs
	$(PY) bench/scale_out.py

# README screenshots (docs/screenshots/) from a seeded server, taken with Debian's Chromium.
screenshots: $(VENV)/.installed
	sh scripts/ensure_chromium.sh
	$(PY) scripts/screenshots.py

clean-db:
	rm -rf var/pg

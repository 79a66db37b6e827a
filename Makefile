# SuperEdge: `make run` brings the whole product up, `make test` runs the whole suite.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
CHROMIUM ?= /usr/bin/chromium

.PHONY: run test install browser lint format migrate seed bench check-deploy clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip==25.2

$(VENV)/.installed: requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@

install: $(VENV)/.installed

# Browser tests drive Debian's chromium (never a downloaded browser build).
browser:
	@if [ ! -x $(CHROMIUM) ]; then \
		echo "Installing Debian's chromium for the browser tests..."; \
		if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
		$$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq chromium >/dev/null; \
	fi

migrate: install
	$(BIN)/python manage.py migrate --noinput

seed: migrate
	$(BIN)/python manage.py seed_demo

run: seed
	@echo ""
	@echo "  SuperEdge is starting at  http://$(HOST):$(PORT)/"
	@echo "  (database: $${DATABASE_URL:-SQLite in var/}; messaging: $${REDIS_URL:-in-process})"
	@echo "  Curate as staff: $(BIN)/python manage.py changepassword admin, then /accounts/login/"
	@echo ""
	@if [ -n "$$REDIS_URL" ]; then \
		$(BIN)/celery -A marketplace worker --beat --loglevel=warning --concurrency=2 & \
		trap "kill $$! 2>/dev/null" EXIT; \
		$(BIN)/daphne -b $(HOST) -p $(PORT) marketplace.asgi:application; \
	else \
		exec $(BIN)/daphne -b $(HOST) -p $(PORT) marketplace.asgi:application; \
	fi

test: install browser
	$(BIN)/python -m pytest -p no:cacheprovider -n 2 --dist loadfile $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

check-deploy: install
	DJANGO_DEBUG=false DJANGO_SECRET_KEY=$$($(BIN)/python -c 'import secrets;print(secrets.token_urlsafe(50))') \
	DATASET_KEY_ENCRYPTION_KEY=$$($(BIN)/python -c 'import secrets;print(secrets.token_urlsafe(32))') \
	DJANGO_ALLOWED_HOSTS=market.example.com $(BIN)/python manage.py check --deploy --fail-level WARNING

bench: install
	$(BIN)/python bench/catalogue.py

clean:
	rm -rf var/ .pytest_cache .ruff_cache

# SuperEdge: `make run` brings the whole product up, `make test` runs the whole suite.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
CHROMIUM ?= /usr/bin/chromium
# The development chain (anvil, chain id 31337): its port, and where it keeps its chain and log.
CHAIN_PORT ?= 8545
CHAIN_STATE := var/anvil-state.json
CHAIN_LOG := var/anvil.log
# Without Redis (hence Celery), `make run` follows the chain with `manage.py index_chain`.
INDEXER_LOG := var/indexer.log
SCHEDULER_LOG := var/scheduler.log
CLEAN_INPUTS_LOG := var/clean-inputs.log
STANDING_LOG := var/standing.log
NOTIFICATIONS_LOG := var/notifications.log
# The site's access log (a line per request, the agents' polls included) stays out of the terminal.
ACCESS_LOG := var/access.log
# The two local worker agents of `make run` (dev chain): anvil's dev accounts 6 and 7.
WORKER_ACCOUNTS := 6 7
# Exit status 0 when the JSON-RPC node at the URL given as argument answers eth_chainId.
RPC_ANSWERS = $(BIN)/python -c 'import sys, urllib.request as r; r.urlopen(r.Request(sys.argv[1], b"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"eth_chainId\",\"params\":[]}", {"Content-Type": "application/json"}), timeout=2)' 2>/dev/null

.PHONY: run chain test install browser lint format migrate seed bench bench-indexer bench-orderbook bench-gas bench-pipeline bench-matchmaking check-deploy clean contracts contracts-check

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip==25.2

$(VENV)/.installed: requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@

# The contracts toolchain (solcjs, OpenZeppelin, anvil) comes from npm, pinned by package-lock.json
# (`npm install`, not `npm ci`: npm 11 leaves the other platforms' anvil builds out of the lock file).
node_modules/.installed: package.json package-lock.json
	npm install --no-audit --no-fund --loglevel=error
	touch $@

install: $(VENV)/.installed node_modules/.installed

# Compile the Solidity sources into marketplace/contracts/build.json (committed).
contracts: node_modules/.installed
	node marketplace/contracts/compile.mjs

# Recompile and fail when the committed build.json differs from what the sources give.
contracts-check: node_modules/.installed
	node marketplace/contracts/compile.mjs --check

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

# Everything in one terminal: the dev chain (unless WEB3_RPC_URL already answers), our contracts
# (deployed once, then reused), the database, the demo catalogue, the chain indexer, the site
# (and Celery with REDIS_URL, whose beat runs the indexer). Ctrl-C, or a kill of make, stops every process it started; anvil writes its state
# to $(CHAIN_STATE) on the way out, so the next `make run` finds the same chain again. A kill
# (TERM, HUP) is a normal way to stop: the recipe then ends quietly (make itself still dies of
# the signal, so its caller sees it) rather than make reporting "Error 143". The seeding's
# transactions are logged only when something goes wrong (its summary line says what it did).
run: install
	@set -euo pipefail; mkdir -p var; \
	started=(); \
	stop() { trap - INT TERM HUP; [ $${#started[@]} -eq 0 ] || kill "$${started[@]}" 2>/dev/null || true; wait; }; \
	trap stop EXIT; trap 'exit 130' INT; trap 'exit 0' TERM HUP; \
	rpc="$${WEB3_RPC_URL:-http://127.0.0.1:$(CHAIN_PORT)}"; chain="already running, left running"; \
	if ! $(RPC_ANSWERS) "$$rpc"; then \
		if [ "$$rpc" != "http://127.0.0.1:$(CHAIN_PORT)" ] && [ "$$rpc" != "http://localhost:$(CHAIN_PORT)" ]; then \
			echo "WEB3_RPC_URL=$$rpc does not answer: start that node, or unset WEB3_RPC_URL for the dev chain." >&2; \
			exit 1; \
		fi; \
		echo "Starting the dev chain (anvil) on port $(CHAIN_PORT), state in $(CHAIN_STATE), log in $(CHAIN_LOG)"; \
		logged=$$(wc -c 2>/dev/null < $(CHAIN_LOG) || echo 0); \
		$(BIN)/python -m marketplace.chain.anvil --port $(CHAIN_PORT) --state $(CHAIN_STATE) >>$(CHAIN_LOG) 2>&1 & \
		anvil=$$!; started+=($$anvil); chain="anvil, chain id 31337, log in $(CHAIN_LOG)"; \
	fi; \
	export WEB3_RPC_URL="$$rpc"; \
	$(BIN)/python manage.py migrate --noinput; \
	for attempt in $$(seq 150); do \
		if $(RPC_ANSWERS) "$$rpc"; then break; fi; \
		if [ -n "$${anvil:-}" ] && ! kill -0 "$$anvil" 2>/dev/null; then \
			echo "anvil stopped while starting; it said (in $(CHAIN_LOG)):" >&2; \
			tail -c +$$((logged + 1)) $(CHAIN_LOG) | tail -n 20 >&2; exit 1; \
		fi; \
		if [ "$$attempt" = 150 ]; then echo "The chain at $$rpc did not answer within 30 s." >&2; exit 1; fi; \
		sleep 0.2; \
	done; \
	deployed=$$($(BIN)/python manage.py deploy_contracts); echo "$$deployed"; \
	hub=$$(echo "$$deployed" | awk '$$1 == "hub" { print $$2 }'); \
	LOG_LEVEL=WARNING $(BIN)/python manage.py seed_demo; \
	echo ""; \
	echo "  SuperEdge is starting at  http://$(HOST):$(PORT)/"; \
	echo "  (database: $${DATABASE_URL:-SQLite in var/}; messaging: $${REDIS_URL:-in-process})"; \
	echo "  Chain: $$rpc ($$chain)"; \
	echo "  Hub:   $$hub"; \
	echo "  Index: $${REDIS_URL:+Celery beat}$${REDIS_URL:-manage.py index_chain, log in $(INDEXER_LOG)}"; \
	echo "  Pools: scheduler $${REDIS_URL:+in Celery beat}$${REDIS_URL:-manage.py run_scheduler, log in $(SCHEDULER_LOG)}; worker agents of dev accounts $(WORKER_ACCOUNTS), logs in var/worker-N.log"; \
	echo "  Input clean-up: $${REDIS_URL:+Celery beat}$${REDIS_URL:-manage.py clean_inputs --loop, log in $(CLEAN_INPUTS_LOG)}"; \
	echo "  Standing requests: $${REDIS_URL:+Celery beat}$${REDIS_URL:-manage.py match_standing --loop, log in $(STANDING_LOG)}"; \
	echo "  Notifications: $${REDIS_URL:+Celery beat}$${REDIS_URL:-manage.py send_notifications --loop, log in $(NOTIFICATIONS_LOG)}; emails $${EMAIL_URL:+sent through the EMAIL_URL server}$${EMAIL_URL:-printed by their sender (console backend)}"; \
	echo "  Curate as staff: $(BIN)/python manage.py changepassword admin, then /accounts/login/"; \
	echo ""; \
	if [ -n "$${REDIS_URL:-}" ]; then \
		$(BIN)/celery -A marketplace worker --beat --schedule var/celerybeat-schedule --loglevel=warning --concurrency=2 & \
		started+=($$!); \
	else \
		$(BIN)/python manage.py index_chain --wait --verbosity 0 >>$(INDEXER_LOG) 2>&1 & \
		started+=($$!); \
		$(BIN)/python manage.py run_scheduler --verbosity 0 >>$(SCHEDULER_LOG) 2>&1 & \
		started+=($$!); \
		$(BIN)/python manage.py clean_inputs --loop >>$(CLEAN_INPUTS_LOG) 2>&1 & \
		started+=($$!); \
		$(BIN)/python manage.py match_standing --loop >>$(STANDING_LOG) 2>&1 & \
		started+=($$!); \
		$(BIN)/python manage.py send_notifications --loop >>$(NOTIFICATIONS_LOG) 2>&1 & \
		started+=($$!); \
	fi; \
	if [ "$${CHAIN_ID:-31337}" = 31337 ]; then \
		for n in $(WORKER_ACCOUNTS); do \
			$(BIN)/python manage.py run_worker --dev-account $$n --site http://$(HOST):$(PORT) \
				--allow-origin http://localhost:$(PORT) \
				--work-dir var/worker-$$n >>var/worker-$$n.log 2>&1 & \
			started+=($$!); \
		done; \
	fi; \
	$(BIN)/python -m marketplace.serve --host $(HOST) --port $(PORT) --access-log $(ACCESS_LOG) & \
	started+=($$!); \
	wait $$!

# The dev chain alone, in the foreground (Ctrl-C stops it and saves its state).
chain: install
	$(BIN)/python -m marketplace.chain.anvil --port $(CHAIN_PORT) --state $(CHAIN_STATE)

# Test processes: one per core (on two cores, four were no faster: 9.5 min against 9.2 on
# SQLite, 10.0 against 10.0 on PostgreSQL). A file's tests stay in one process (its fixtures).
TEST_WORKERS ?= 2
test: install browser
	$(BIN)/python -m pytest -p no:cacheprovider -n $(TEST_WORKERS) --dist loadfile $(PYTEST_ARGS)

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

# Indexer throughput on 100,000-event sets, into PostgreSQL (DATABASE_URL's server).
bench-indexer: install
	$(BIN)/python bench/indexer.py

# Order book: publishing through the service and HTTP, best offers over 100,000 open orders.
bench-orderbook: install
	$(BIN)/python bench/orderbook.py

# Gas per Hub call and per task, beside iExec PoCo's published figures.
bench-gas: install
	$(BIN)/python bench/gas.py

# Tasks end to end through two agents: overhead per task, and live progress to a websocket.
bench-pipeline: install
	$(BIN)/python bench/pipeline.py

# Matchmaking: 1,000 requests matched, explained and ranked against 10,000 pool ads.
bench-matchmaking: install
	$(BIN)/python bench/matchmaking.py

clean:
	rm -rf var/ .pytest_cache .ruff_cache

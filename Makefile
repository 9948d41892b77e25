# kunflow — `make run` sets up everything and serves the app on SQLite; `make test` sets up and
# runs the whole suite (SQLite, plus PostgreSQL when it answers at KUNFLOW_TEST_PG_URL).

PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 5000
KUNFLOW_TEST_PG_URL ?= postgresql://postgres@127.0.0.1:5432/test
export KUNFLOW_TEST_PG_URL

.PHONY: run test setup lint bench clean bundle browser-deps

$(BIN)/python:
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "需要 Python 3.11（$(PYTHON)）"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $@

setup: $(VENV)/.installed

# Browser bundle web/static/dist/kunflow.{js,css} (docs/frontend.md): `npm ci` again only when the
# lock file changes (stamp in node_modules), esbuild again only when a source changes; then the
# node tests of the bundle's sources (translations checked against the installed form-js).
NPM_STAMP := node_modules/.kunflow-npm-ci
BUNDLE_SOURCES := $(wildcard web/static/src/*.js web/static/src/*.css web/static/src/admin/*.js web/static/src/admin/*.css web/static/src/dashboard/*.js web/static/src/dashboard/*.css) web/static/build.mjs package-lock.json

$(NPM_STAMP): package.json package-lock.json
	@command -v npm >/dev/null 2>&1 || { echo "需要 Node.js 20 与 npm（构建浏览器端脚本）"; exit 1; }
	npm ci --no-audit --no-fund
	touch $@

web/static/dist/kunflow.js web/static/dist/kunflow.css web/static/dist/kunflow-admin.js web/static/dist/kunflow-admin.css web/static/dist/kunflow-dashboard.js web/static/dist/kunflow-dashboard.css &: $(BUNDLE_SOURCES) $(NPM_STAMP)
	npm run --silent build
	npm test --silent || { rm -f web/static/dist/kunflow*.js web/static/dist/kunflow*.css; exit 1; }

bundle: web/static/dist/kunflow.js web/static/dist/kunflow.css web/static/dist/kunflow-admin.js web/static/dist/kunflow-admin.css web/static/dist/kunflow-dashboard.js web/static/dist/kunflow-dashboard.css

# Browser tests drive Debian's chromium (never a downloaded one) and need a CJK font to render
# the Chinese pages; install both from Debian's packages when missing.
CHROMIUM ?= /usr/bin/chromium
APT_GET := $(if $(filter 0,$(shell id -u)),apt-get,sudo apt-get)

browser-deps:
	@if [ ! -x "$(CHROMIUM)" ] || ! fc-list :lang=zh 2>/dev/null | grep -q .; then \
		echo "安装 chromium 与中文字体（Debian 软件包）"; \
		$(APT_GET) update -qq && \
		DEBIAN_FRONTEND=noninteractive $(APT_GET) install -y -qq chromium fonts-wqy-zenhei >/dev/null; \
	fi
	@[ -x "$(CHROMIUM)" ] || { echo "找不到 $(CHROMIUM)：浏览器测试需要 Debian 的 chromium"; exit 1; }

# `make run` is someone at a terminal: log lines as text (`kunflow run` alone logs JSON for a
# log shipper, docs/operations.md); KUNFLOW_LOG_FORMAT=json make run for the other.
KUNFLOW_LOG_FORMAT ?= text

run: setup bundle
	PORT=$(PORT) $(BIN)/kunflow demo --if-empty
	PORT=$(PORT) KUNFLOW_LOG_FORMAT=$(KUNFLOW_LOG_FORMAT) $(BIN)/kunflow run

lint: setup
	$(BIN)/ruff check engine web workflows config tests bench
	$(BIN)/lint-imports

# The suite runs in TEST_WORKERS pytest-xdist processes (TEST_WORKERS=0: in this one), one per
# core of the 2-core machines that CI and the developers use: each worker also drives a database
# server, gunicorn or chromium, so more workers than cores only queue for the same cores.
# --dist loadfile keeps a test file's tests on one worker, so a module-scoped fixture is set up
# once; session fixtures (the live server, the demo) are set up by each worker that needs them.
# PYTEST_ARGS adds arguments, e.g. PYTEST_ARGS=--durations=30.
TEST_WORKERS ?= 2
PYTEST_ARGS ?=

test: setup lint bundle browser-deps
	@if $(BIN)/python -c "import sys, psycopg; psycopg.connect('$(KUNFLOW_TEST_PG_URL)', connect_timeout=3).close()" 2>/dev/null; then \
		echo "PostgreSQL 可用（$(KUNFLOW_TEST_PG_URL)）：engine 与 API 测试在 SQLite 和 PostgreSQL 上各跑一遍"; \
	else \
		echo "PostgreSQL 不可用（$(KUNFLOW_TEST_PG_URL)）：只在 SQLite 上运行，PostgreSQL 参数的用例将被跳过"; \
	fi
	$(BIN)/pytest -q -n $(TEST_WORKERS) --dist loadfile $(PYTEST_ARGS)

bench: setup
	$(BIN)/python bench/engine.py

# Task lists with 100k tasks (docs/benchmarks.md): SQLite, then PostgreSQL when it answers at
# KUNFLOW_TEST_PG_URL (in a schema of its own, dropped afterwards).
.PHONY: bench-tasklist
bench-tasklist: setup
	$(BIN)/python bench/tasklist.py
	@if $(BIN)/python -c "import psycopg; psycopg.connect('$(KUNFLOW_TEST_PG_URL)', connect_timeout=3).close()" 2>/dev/null; then \
		$(BIN)/python bench/tasklist.py --pg $(KUNFLOW_TEST_PG_URL); \
	else \
		echo "PostgreSQL 不可用（$(KUNFLOW_TEST_PG_URL)）：只测了 SQLite"; \
	fi

clean:
	rm -rf $(VENV) var .pytest_cache

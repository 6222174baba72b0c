# ModelHub: `make run` installs the runtime and serves the app with a worker and beat;
# `make test` adds the test tools and runs the whole suite.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
RUNTIME := $(VENV)/.installed-runtime
DEV := $(VENV)/.installed-dev

.PHONY: run test install install-dev migrate bench clean

$(PY):
	$(PYTHON) -m venv $(VENV)

# `make run` needs only the runtime; `make test` and `make bench` add the test tools on top.
$(RUNTIME): requirements.txt requirements-mysql.txt | $(PY)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet -r requirements.txt
	@# The MySQL driver compiles against the MariaDB/MySQL client headers; without them the embedded default still works.
	@if pkg-config --exists mysqlclient 2>/dev/null; then $(PIP) install --quiet -r requirements-mysql.txt; \
	  else echo "note: MySQL client headers not found; skipping mysqlclient (needed only for DATABASE_URL=mysql://...)"; fi
	touch $(RUNTIME)

$(DEV): $(RUNTIME) requirements-dev.txt
	$(PIP) install --quiet -r requirements-dev.txt
	touch $(DEV)

install: $(RUNTIME)

install-dev: $(DEV)

migrate: install
	$(PY) manage.py migrate --noinput

run: migrate
	$(PY) manage.py collectstatic --noinput --verbosity 0
	$(PY) manage.py ensure_admin
	$(PY) manage.py runstack

test: install-dev
	$(PY) -m pytest $(PYTEST_ARGS)

bench: install-dev
	@for script in bench/bench_*.py; do echo "== $$script"; $(PY) $$script || exit 1; done

clean:
	rm -rf $(VENV) var staticfiles .pytest_cache

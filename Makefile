# ModelHub: `make run` serves the app with a worker and beat; `make test` runs the whole suite.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
STAMP := $(VENV)/.installed

.PHONY: run test install migrate bench clean

$(PY):
	$(PYTHON) -m venv $(VENV)

$(STAMP): requirements.txt requirements-dev.txt requirements-mysql.txt | $(PY)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet -r requirements-dev.txt
	@# The MySQL driver compiles against the MariaDB/MySQL client headers; without them the embedded default still works.
	@if pkg-config --exists mysqlclient 2>/dev/null; then $(PIP) install --quiet -r requirements-mysql.txt; \
	  else echo "note: MySQL client headers not found; skipping mysqlclient (needed only for DATABASE_URL=mysql://...)"; fi
	touch $(STAMP)

install: $(STAMP)

migrate: install
	$(PY) manage.py migrate --noinput

run: migrate
	$(PY) manage.py collectstatic --noinput --verbosity 0
	$(PY) manage.py ensure_admin
	$(PY) manage.py runstack

test: install
	$(PY) -m pytest $(PYTEST_ARGS)

bench: install
	@for script in bench/bench_*.py; do echo "== $$script"; $(PY) $$script || exit 1; done

clean:
	rm -rf $(VENV) var staticfiles .pytest_cache

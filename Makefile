# ModelHub: `make run` installs the runtime and serves the app with a worker and beat;
# `make test` adds the test tools and runs the whole suite.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
RUNTIME := $(VENV)/.installed-runtime
DEV := $(VENV)/.installed-dev
PORT ?= 8000
# The local target's ML environment (requirements-local.txt), apart from the web app's venv.
# CI keeps it outside the checkout (LOCAL_VENV=/var/cache/...), so every clone on a machine shares one build.
LOCAL_VENV ?= .venv-local
# The stamp names the requirements' content, not their file time: a fresh clone reuses a shared build.
LOCAL_STAMP := $(LOCAL_VENV)/.installed-$(shell $(PYTHON) -c "import hashlib; print(hashlib.sha256(open('requirements-local.txt', 'rb').read()).hexdigest()[:16])")
export LOCAL_PYTHON ?= $(abspath $(LOCAL_VENV))/bin/python

.PHONY: run test install install-dev migrate bench clean local-env

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

# LOCAL_ENV=0 skips the local target's ML environment (a web/worker host that only drives the cloud).
LOCAL_ENV ?= 1
run: migrate $(if $(filter 1,$(LOCAL_ENV)),local-env)
	$(PY) manage.py collectstatic --noinput --verbosity 0
	$(PY) manage.py ensure_admin
	$(if $(filter 1,$(LOCAL_ENV)),$(PY) manage.py load_demo_data)
	SITE_URL=$${SITE_URL:-http://127.0.0.1:$(PORT)} $(PY) manage.py runstack --port $(PORT)

# The whole suite includes the local target's real training and serving runs, so it needs the ML environment.
test: install-dev local-env
	$(PY) -m pytest $(PYTEST_ARGS)

# Every benchmark leaves its figures in var/bench/; the report rewrites docs/benchmarks.md's latest-run section from them.
bench: install-dev
	rm -rf var/bench
	@for script in bench/bench_*.py; do echo "== $$script"; $(PY) $$script || exit 1; done
	$(PY) bench/report.py

# --- Local target: trainer and model server environment (see docs/local.md) ---
$(LOCAL_STAMP):
	@echo "== Installing the local ML environment into $(LOCAL_VENV) (CPU torch, LLaMA-Factory, TRL; ~2.5 GB, a few minutes)"
	mkdir -p $(dir $(abspath $(LOCAL_VENV)))
	$(PYTHON) -m venv $(LOCAL_VENV)
	$(LOCAL_VENV)/bin/pip install --progress-bar on -r requirements-local.txt
	@# No torchvision/torchaudio build matches this torch on CPU; LLaMA-Factory imports torchaudio only for audio.
	$(LOCAL_VENV)/bin/pip uninstall --yes torchvision torchaudio
	$(LOCAL_VENV)/bin/python -c "import pathlib, sysconfig; d = pathlib.Path(sysconfig.get_paths()['purelib'], 'torchaudio'); d.mkdir(exist_ok=True); (d / '__init__.py').write_text('# stand-in: no torchaudio build for this torch\n')"
	$(LOCAL_VENV)/bin/llamafactory-cli version >/dev/null
	touch $(LOCAL_STAMP)
	@echo "== Local ML environment ready: $(LOCAL_VENV)"

local-env: $(LOCAL_STAMP)

clean:
	rm -rf $(VENV) $(LOCAL_VENV) var staticfiles .pytest_cache

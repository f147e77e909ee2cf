# Two commands: `make run` sets up and serves the product on the embedded default
# (SQLite, eager Celery, sandbox provider); `make test` sets up and runs the tests.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
# The embedded default: development mode with the sandbox provider on.
RUN_ENV := DEBUG=$${DEBUG:-true} SANDBOX_ENABLED=$${SANDBOX_ENABLED:-true} \
           INTEGRATIONS_BASE_URL=$${INTEGRATIONS_BASE_URL:-http://$(HOST):$(PORT)}

.PHONY: run test test-all test-faults setup messages makemessages migrate demo worker beat bench bench-fleet bench-gbp bench-refresh soak clean help

help:
	@echo "make run    - set up and serve on http://$(HOST):$(PORT) (demo user: demo / demo)"
	@echo "make test   - set up and run the everyday test suite (about 2 minutes)"
	@echo "make test-all - also the load and packaging runs (what CI runs)"
	@echo "make bench  - run the benchmarks (results in bench/results/)"
	@echo "make worker / make beat - a Celery worker / beat (needs REDIS_URL)"
	@echo "make makemessages - update the translation catalogues (*.po) from the sources (GNU gettext)"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: requirements.txt | $(BIN)/python
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $@

$(VENV)/.installed-dev: requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@ $(VENV)/.installed

# The translations: each catalogue's django.po compiled to the django.mo Django reads. The .mo
# files are not committed; tools/messages.py compiles them (no GNU gettext needed), the same code
# the wheel's build hook (setup.py) runs.
PO_FILES := $(wildcard integrations/locale/*/LC_MESSAGES/django.po gbp/locale/*/LC_MESSAGES/django.po \
                       sandbox/locale/*/LC_MESSAGES/django.po locale/*/LC_MESSAGES/django.po)
MO_FILES := $(PO_FILES:.po=.mo)

messages: $(MO_FILES)

%/LC_MESSAGES/django.mo: %/LC_MESSAGES/django.po tools/messages.py | $(BIN)/python
	$(BIN)/python tools/messages.py compile $<

# After changing a translatable string: every catalogue updated (new msgids added, empty), then
# translated by hand; tests/test_translations.py fails while one is missing, empty or fuzzy.
makemessages: $(VENV)/.installed
	$(BIN)/python tools/messages.py make

setup: $(VENV)/.installed messages

migrate: setup
	$(RUN_ENV) $(BIN)/python manage.py migrate --noinput

demo: migrate
	$(RUN_ENV) $(BIN)/python manage.py setup_demo
	$(RUN_ENV) $(BIN)/python manage.py setup_schedules
	$(RUN_ENV) sh -c 'case "$$SANDBOX_ENABLED" in true|1|yes|on) $(BIN)/python manage.py sandbox register;; esac'

run: demo
	@echo "Serving on http://$(HOST):$(PORT)/  (log in as demo / demo)"
	$(RUN_ENV) $(BIN)/python manage.py runserver $(HOST):$(PORT)

# The everyday suite leaves out the slow runs (markers `load`, `packaging`, `faults`); CI and
# `make test-all` run them. pytest exits 5 when it collects no tests: not a failure.
# Two pytest-xdist workers: most tests wait on a live server or a browser, not on a core.
PYTEST_MARKERS ?= not load and not packaging and not faults
PYTEST_WORKERS ?= 2
test: $(VENV)/.installed-dev messages
	@echo "Everyday suite (-m '$(PYTEST_MARKERS)'): the load, packaging and fault runs are slow; make test-all or CI runs them."
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) -m "$(PYTEST_MARKERS)" $(PYTEST_ARGS); rc=$$?; if [ $$rc -eq 5 ]; then exit 0; fi; exit $$rc

test-all:
	$(MAKE) test PYTEST_MARKERS=""

# The fault suite alone (PostgreSQL server binaries, Redis, root for its own clusters and a tmpfs).
test-faults:
	$(MAKE) test PYTEST_MARKERS="faults" PYTEST_WORKERS=1

# Benchmarks write their figures to stdout and bench/results/ (not committed).
bench: $(VENV)/.installed-dev messages
	mkdir -p bench/results
	$(BIN)/python -m bench.bench_tokens | tee bench/results/bench_tokens.txt
	$(BIN)/python -m bench.bench_tokens --latency-ms 5 --rounds 200 | tee bench/results/bench_tokens_5ms.txt
	$(BIN)/python -m bench.refresh_many | tee bench/results/refresh_many.txt

# The GBP sync at Google's quota: about 9 minutes (the quota, not the machine, sets the pace).
# The scale benchmarks on PostgreSQL and Redis, each in a database of its own (create them
# first: createdb -h 127.0.0.1 -U postgres bench; createdb ... fleet). REDIS_URL is required.
BENCH_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/bench
FLEET_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/fleet
FLEET_ENV := FERNET_KEYS=$${FERNET_KEYS:-bench-key-0123456789abcdef-0123456789} DATABASE_URL=$(FLEET_DATABASE_URL)
bench-fleet: $(VENV)/.installed-dev
	mkdir -p bench/results
	DATABASE_URL=$(BENCH_DATABASE_URL) $(BIN)/python -m bench.bench_tokens | tee bench/results/bench_tokens_pg.txt
	$(FLEET_ENV) $(BIN)/python -m bench.seed --n 1000000 --truncate | tee bench/results/seed.txt
	$(FLEET_ENV) $(BIN)/python -m bench.fleet_scale | tee bench/results/fleet_scale.txt
	DATABASE_URL=$(BENCH_DATABASE_URL) $(BIN)/python -m bench.fleet | tee bench/results/fleet.txt

bench-gbp: $(VENV)/.installed-dev
	mkdir -p bench/results
	$(BIN)/python -m bench.gbp_sync | tee bench/results/gbp_sync.txt

# A longer load run than CI's (see the README's Reliability section).
soak: $(VENV)/.installed-dev
	SOAK_SECONDS=$${SOAK_SECONDS:-300} SOAK_INTEGRATIONS=$${SOAK_INTEGRATIONS:-3000} \
	  $(BIN)/python -m pytest tests/integrations/test_reliability_load.py -m load -p no:cacheprovider -q -s

worker: setup
	$(BIN)/celery -A config worker --loglevel=INFO

beat: setup
	$(BIN)/celery -A config beat --loglevel=INFO

clean:
	rm -rf $(VENV) db.sqlite3 db.sqlite3-* staticfiles .pytest_cache $(MO_FILES)

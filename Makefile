# The two commands of the contract:
#   make run   — a whole installation on the embedded default (embedded PostgreSQL, simulators)
#   make test  — install and start every real service the tests need, then all checks and tests
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
BUF := npx -y @bufbuild/buf@1.75.0
PYTEST_ARGS ?=
# TEST_WORKERS=N runs test files on N parallel pytest-xdist workers (a file stays on one);
# 0 runs them serially. Since components are forked from one pre-imported parent
# (tests/forked.py) the suite waits more than it computes (TTLs, kills, JVM start-up): on
# a 2-core box three workers take 10 min of pytest, two 12.7 (docs/testing.md). Each worker
# takes ports from a range of its own (tests/ports.py). Files go out in collection order
# (--no-loadscope-reorder: cluster and e2e, the longest, first; unit tests last), so that
# the workers end close together instead of one running a long file alone.
TEST_WORKERS ?= 3

.PHONY: run test venv lint gen gen-check checks services bench load clean

$(VENV)/.installed: pyproject.toml requirements.lock
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip uv
	$(VENV)/bin/uv pip install -q --python $(PY) -r requirements.lock
	$(VENV)/bin/uv pip install -q --python $(PY) --no-deps -e .
	touch $@

venv: $(VENV)/.installed

run: venv
	$(VENV)/bin/rcs run

gen: venv
	PY=$(PY) scripts/gen-proto.sh

# Regenerate into a scratch directory and fail on any difference from rcs/ (rcs/ itself
# is left alone, so that this can run beside lint and the tests).
gen-check: venv
	d=$$(mktemp -d) && PY=$(PY) GEN_OUT="$$d" scripts/gen-proto.sh \
	  && diff -r -x __pycache__ rcs "$$d/rcs"; rc=$$?; rm -rf "$$d"; \
	  [ $$rc = 0 ] || echo "rcs/ is not what proto/ generates: run make gen and commit it" >&2; \
	  exit $$rc

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports
	$(BUF) lint
	$(BUF) format -d --exit-code
	BUF="$(BUF)" scripts/buf-breaking.sh

services:
	scripts/test-services.sh up >/dev/null

checks: gen-check lint

# gen-check and lint run at low priority beside the services' start and the tests, which
# mostly wait (TTLs, kills, JVM start-up); their output follows pytest's, and any of the
# three failing fails the run.
test: venv
	@echo "gen-check and lint run in the background (nice 10); their output follows the tests'"
	@log=$$(mktemp); \
	nice -n 10 $(MAKE) --no-print-directory checks >"$$log" 2>&1 & checks=$$!; \
	$(MAKE) --no-print-directory services && eval "$$(scripts/test-services.sh env)" \
	  && $(VENV)/bin/pytest -m "not slow" -n $(TEST_WORKERS) --dist loadfile \
	    --no-loadscope-reorder $(PYTEST_ARGS); \
	tests=$$?; wait $$checks; checks_rc=$$?; \
	echo "--- gen-check and lint (exit status $$checks_rc):"; cat "$$log"; rm -f "$$log"; \
	[ $$tests = 0 ] && [ $$checks_rc = 0 ]

bench: venv services
	eval "$$(scripts/test-services.sh env)" && $(VENV)/bin/pytest tests/benchmarks --benchmark-enable -m "not slow"

clean:
	rm -rf $(VENV) .cache .pytest_cache .mypy_cache .ruff_cache

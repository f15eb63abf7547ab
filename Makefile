# Two commands do everything: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint fuzz bench mutate clean

# (Re)build the virtualenv only when pyproject.toml changed: quick when nothing did.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e ".[dev]"
	touch $(STAMP)

run: $(STAMP)
	TZ=UTC exec $(BIN)/python -m devstack $(ARGS)

# Lint, types, the suite with branch coverage, then coverage per package against its floor.
test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy
	TZ=UTC $(BIN)/python -m pytest --cov --cov-report= $(PYTEST_ARGS)
	$(BIN)/python -m tests.support.coverage_floors

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy

# Schemathesis over every operation with many random examples (`make test` runs a few,
# derandomized): minutes, not seconds.
fuzz: $(STAMP)
	TZ=UTC FUZZ_EXAMPLES=500 FUZZ_RANDOM=1 $(BIN)/python -m pytest -p no:cacheprovider \
		--timeout=0 tests/api/test_fuzz.py $(PYTEST_ARGS)

bench: $(STAMP)
	TZ=UTC $(BIN)/python -m bench

# Mutation testing of the rules' conditions and working-time arithmetic ([tool.mutmut]);
# the last score and the surviving mutants are in docs/testing.md.
mutate: $(STAMP)
	rm -rf mutants
	TZ=UTC $(BIN)/python -m tests.support.mutate run
	$(BIN)/python -m tests.support.mutate results

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache .coverage mutants

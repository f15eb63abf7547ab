# Two commands do everything: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint bench clean

# (Re)build the virtualenv only when pyproject.toml changed: quick when nothing did.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e ".[dev]"
	touch $(STAMP)

run: $(STAMP)
	TZ=UTC exec $(BIN)/python -m devstack $(ARGS)

test: $(STAMP)
	$(BIN)/ruff check .
	TZ=UTC $(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .

bench: $(STAMP)
	TZ=UTC $(BIN)/python -m bench

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache

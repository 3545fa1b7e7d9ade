# Two commands for a newcomer: `make run` (the demo without a token) and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint install demo clean fuzz mutate

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/python -m bot

demo: $(STAMP)
	$(BIN)/python -m bot demo

test: $(STAMP)
	$(BIN)/python -m pytest -q -n 2

# The explorer of tests/test_fuzz_updates.py, long: fresh sequences each run.
FUZZ_EXAMPLES ?= 400
fuzz: $(STAMP)
	VSTBPN_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) $(BIN)/python -m pytest -q \
		tests/test_fuzz_updates.py --hypothesis-show-statistics

# Mutation testing before a release (not CI: slow on two cores). One target or several, or all:
# make mutate MODULE="access registration"; targets in tools/mutate.py; results in docs/testing.md.
MODULE ?= all
mutate: $(STAMP)
	$(BIN)/python -m pip install --quiet "mutmut==3.8.1" && $(BIN)/python -m tools.mutate $(MODULE)

lint: $(STAMP)
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .
	$(BIN)/mypy .

clean:
	rm -rf $(VENV) data .pytest_cache .mypy_cache .ruff_cache

# licsim: the two commands a new user needs are `make run` and `make test`.
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: setup run test bench bench-batch clean

setup: $(STAMP)

# The virtual environment is rebuilt whenever the dependency pins change.
$(STAMP): pyproject.toml constraints.txt
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "need $(PYTHON) on PATH"; exit 2; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip>=24"
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[dev]"
	$(BIN)/python -m sim.interfaces.dashboard.assets
	touch $(STAMP)

# --force: a second `make run` replaces the first run's files in results/baseline/ and keeps any others.
run: setup
	$(BIN)/licsim run scenarios/baseline.yaml --force

test: setup
	$(BIN)/python -m pytest -q

bench: setup
	$(BIN)/python benchmarks/bench_run.py
	$(BIN)/python benchmarks/bench_dashboard.py

bench-batch: setup
	$(BIN)/python benchmarks/bench_batch.py --runs 200

clean:
	rm -rf $(VENV) results .pytest_cache .hypothesis

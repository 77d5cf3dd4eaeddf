# The two commands a user needs: `make demo` and `make test`. Both set everything up first and
# are fast when it is already set up.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint bench sysdeps clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $@

# Debian packages the traffic tests will need; installed only when missing and running as root.
sysdeps:
	@bash scripts/sysdeps.sh

demo: $(STAMP)
	@$(BIN)/fivegbench run testplans/demo.yaml; rc=$$?; \
	  if [ $$rc -le 1 ]; then exit 0; else echo "demo run did not complete (exit $$rc)"; exit $$rc; fi

lint: $(STAMP)
	$(BIN)/ruff check fivegbench tests benchmarks
	$(BIN)/ruff format --check fivegbench tests benchmarks
	$(BIN)/mypy fivegbench

test: $(STAMP) sysdeps lint
	$(BIN)/pytest -q --durations=25

bench: $(STAMP)
	$(BIN)/python benchmarks/io.py
	$(BIN)/python benchmarks/reduce.py
	$(BIN)/python benchmarks/evm.py
	$(BIN)/python benchmarks/waveform.py
	$(BIN)/python benchmarks/traffic.py
	$(BIN)/python benchmarks/cli_startup.py
	$(BIN)/python benchmarks/report.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache

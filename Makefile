# Two commands for a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp

.PHONY: demo test lint bench clean

$(STAMP): pyproject.toml requirements.lock
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@$(PY) -m pip install -q --upgrade pip
	@$(PY) -m pip install -q -c requirements.lock -e '.[dev]'
	@touch $(STAMP)

demo: $(STAMP)
	@$(VENV)/bin/vendorwatch demo --dir demo-output \
		--with examples/terminal-west/assets.csv \
		--with examples/terminal-west/access.csv \
		--with examples/terminal-west/inspections.csv

test: $(STAMP)
	@$(PY) -m ruff check src tests bench
	@$(PY) -m mypy
	@$(PY) -m pytest -q

bench: $(STAMP)
	@$(PY) bench/ingest.py

clean:
	rm -rf $(VENV) demo-output .pytest_cache .mypy_cache .ruff_cache

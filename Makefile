# Two commands for a fresh machine: `make demo` and `make test`. Both create .venv if missing.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
OUT ?= out/demo

.PHONY: demo test install check-java clean

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	@touch $(STAMP)

install: $(STAMP)

check-java:
	@$(PYTHON) deploy/check_java.py

demo: check-java install
	PYSPARK_PYTHON=$(abspath $(PY)) $(PY) -m jobs.score --outdir $(OUT)

test: check-java install
	PYSPARK_PYTHON=$(abspath $(PY)) $(PY) -m pytest

clean:
	rm -rf out spark-warehouse .pytest_cache

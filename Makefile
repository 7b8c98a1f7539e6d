# Two entry points for a fresh machine: `make demo` (install + run the Niger scenario) and `make test`.
VENV ?= .venv
PY := $(VENV)/bin/python

$(PY):
	"$$(scripts/find-python)" -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

install: $(PY)
	$(PY) -m pip install --quiet -e '.[test]'

demo: install
	$(VENV)/bin/sim validate scenarios/*.toml
	$(VENV)/bin/sim run scenarios/niger-2024.toml

test: install
	$(PY) -m pytest -q

bench: install
	$(PY) benchmarks/bench_engine.py

.PHONY: install demo test bench

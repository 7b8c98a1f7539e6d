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
	$(VENV)/bin/ruff check --select F,I sim tests benchmarks
	$(VENV)/bin/lint-imports --no-cache
	$(PY) -m pytest -q
	# the engine's tests again with the numpy kernels (they must give the same numbers as the compiled ones)
	SIM_KERNELS=numpy $(PY) -m pytest -q tests/test_model.py tests/test_rules.py tests/test_templates.py tests/test_uncertainty.py tests/test_kernels.py tests/test_golden.py

bench: install
	$(PY) benchmarks/bench_engine.py

.PHONY: install demo test bench

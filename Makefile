# The two commands a newcomer needs: `make demo` and `make test`.
# Both create .venv on first use and install the package with its dev tools.

PYTHON ?= python3
VENV := .venv
VENV_PYTHON := $(VENV)/bin/python
INSTALLED := $(VENV)/.installed

.PHONY: demo test lint bench bench-instructions fuzz clean

$(INSTALLED): pyproject.toml
	test -x $(VENV_PYTHON) || $(PYTHON) -m venv $(VENV)
	$(VENV_PYTHON) -m pip install --quiet --upgrade pip
	$(VENV_PYTHON) -m pip install --quiet -e ".[dev]"
	touch $(INSTALLED)

demo: $(INSTALLED)
	$(VENV_PYTHON) scripts/demo.py

test: $(INSTALLED)
	$(VENV_PYTHON) -m ruff check .
	$(VENV_PYTHON) -m pytest -q -n 2

lint: $(INSTALLED)
	$(VENV_PYTHON) -m ruff check .
	$(VENV_PYTHON) -m ruff format --check .

bench: $(INSTALLED)
	$(VENV_PYTHON) bench/run.py

# A refactor's check (docs/benchmarks.md): the server's instructions per
# operation, this working tree against BASELINE (by default the last commit).
BASELINE ?= HEAD

bench-instructions: $(INSTALLED)
	$(VENV_PYTHON) bench/instructions.py --baseline $(BASELINE)

# Coverage-guided fuzzing (fuzz/README.md): every harness for FUZZ_SECONDS
# each, FUZZ_JOBS at a time; crashes land in fuzz/crashes/ and fail the target.
# atheris ships binary wheels for Linux x86-64 only, so it is installed here,
# not with the dev tools.
FUZZ_SECONDS ?= 60
FUZZ_JOBS ?= 1

fuzz: $(INSTALLED)
	$(VENV_PYTHON) -m pip install --quiet "atheris>=2.3"
	$(VENV_PYTHON) -m fuzz.campaign --seconds $(FUZZ_SECONDS) --jobs $(FUZZ_JOBS)

clean:
	rm -rf $(VENV) build src/*.egg-info .pytest_cache .ruff_cache .hypothesis

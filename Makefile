# Two commands do all the set-up on a fresh machine:
#   make demo   installs what it needs and serves the live joint picture (the trilateral exercise)
#   make test   installs what it needs and runs the whole test suite
PY      ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed-test
BSTAMP  := $(VENV)/.installed-bench
OUT     ?= out

.PHONY: install demo test bench clean

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install -q --disable-pip-version-check -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/skyweave serve --demo --out $(OUT)/demo

test: $(STAMP)
	sh scripts/services.sh
	$(BIN)/ruff check skyweave tests benchmarks
	$(BIN)/python -m pytest -n 2 --dist loadfile

$(BSTAMP): $(STAMP)
	$(BIN)/python -m pip install -q --disable-pip-version-check -e '.[test,bench]'
	touch $(BSTAMP)

bench: $(BSTAMP)
	sh scripts/services.sh
	$(BIN)/python benchmarks/run_all.py

clean:
	rm -rf $(VENV) $(OUT) .pytest_cache .hypothesis build *.egg-info

# The two commands of the README. Everything they need is installed from this repository's files.
PYTHON ?= python3
VENV := .venv
STAMP := $(VENV)/.installed

.PHONY: run test bench

run: $(STAMP)
	$(VENV)/bin/python -m cdp_site.platform run

test: $(STAMP)
	$(VENV)/bin/python -m cdp_site.platform test

bench: $(STAMP)
	$(VENV)/bin/python -m bench

$(STAMP): requirements.txt requirements-dev.txt
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install --quiet --upgrade pip
	$(VENV)/bin/python -m pip install --quiet -r requirements-dev.txt
	touch $(STAMP)

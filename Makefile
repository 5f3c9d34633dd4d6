# The two commands: `make run` (the whole app on embedded defaults) and `make test`.
SHELL := /bin/bash
VENV := .venv
STAMP := $(VENV)/.installed-$(shell cat requirements/*.lock | cksum | cut -d' ' -f1)

.PHONY: run test bench screenshots lint format audit clean

run: $(STAMP)
	scripts/run

test: $(STAMP)
	scripts/test

bench: $(STAMP)
	.venv/bin/python -m bench

screenshots: $(STAMP)
	.venv/bin/python scripts/screenshots.py --docs

# Known vulnerabilities in the pinned runtime dependencies (PyPI's advisory service, so it
# needs the network and is not part of `make test`). --no-deps: the lock is already complete.
audit: $(STAMP)
	$(VENV)/bin/pip-audit --progress-spinner off --strict --no-deps --disable-pip \
		-r requirements/base.lock

lint: $(STAMP)
	.venv/bin/ruff check . && .venv/bin/ruff format --check .

format: $(STAMP)
	.venv/bin/ruff check --fix . && .venv/bin/ruff format .

# Everything is pinned in the lock files and installed without resolving, so a fresh
# install is the same on every machine.
$(STAMP): requirements/base.lock requirements/dev.lock
	@test -x $(VENV)/bin/python || $$(scripts/find-python) -m venv $(VENV)
	$(VENV)/bin/python -m pip install --quiet --upgrade pip
	$(VENV)/bin/python -m pip install --quiet --no-deps -r requirements/dev.lock
	rm -f $(VENV)/.installed-* && touch $@

clean:
	rm -rf $(VENV) var

# The two commands a newcomer needs (see README.md):
#   make build   install flashgen into .venv and build the course in cards/ into output/
#   make test    install system packages, flashgen and its test tools, then run the tests
# and, on a machine without apt-get or root, or that has the system packages already:
#   make check   install flashgen and its test tools, then run the tests (those that need a
#                missing program skip, naming it); same as `make test SYSTEM_PACKAGES=`
PYTHON ?= python3
VENV ?= .venv
# poppler-utils: pdftoppm/pdftotext for looking at PDFs; chromium: the browser the card
# templates are tested in; fonts-noto-cjk: glyphs for Chinese/Japanese/Korean course text.
SYSTEM_PACKAGES ?= poppler-utils chromium fonts-noto-cjk
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: build test check install install-test system-packages ankiconnect-server clean

build: install
	$(VENV)/bin/flashgen build cards

test: system-packages ankiconnect-server check

check: install-test
	$(VENV)/bin/ruff check .
	$(VENV)/bin/pytest

# Both installs are editable: the venv runs the code of this folder, so `make build` after
# `make test` (or after an edit) never puts a copy in front of it that the tests would then
# test. `install` installs only when the venv's flashgen is not this folder's code (missing,
# or a copy) or pyproject.toml changed since (dependencies); else it keeps what is there.
EDITABLE_STAMP = $(VENV)/.flashgen-editable
IS_THIS_FOLDER = import flashgen, pathlib, sys; \
  sys.exit(pathlib.Path(flashgen.__file__).parent.resolve() != pathlib.Path("generator/flashgen").resolve())
PIP_INSTALL = $(VENV)/bin/pip install --quiet --disable-pip-version-check

install: $(VENV)/bin/python
	@if $(VENV)/bin/python -c '$(IS_THIS_FOLDER)' 2>/dev/null && [ $(EDITABLE_STAMP) -nt pyproject.toml ]; \
	then :; else \
	  echo "$(PIP_INSTALL) -e ."; $(PIP_INSTALL) -e . && touch $(EDITABLE_STAMP); \
	fi

install-test: $(VENV)/bin/python
	$(PIP_INSTALL) -e '.[test]'
	@touch $(EDITABLE_STAMP)

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)

system-packages:
	@missing=""; for p in $(SYSTEM_PACKAGES); do \
	  dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing system packages:$$missing"; \
	  $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $$missing; \
	fi

# The AnkiConnect tests talk to a real AnkiConnect: anki-connect-server, a headless one on the
# official anki library. It needs Python 3.12 or newer; the [test] extra brings it when the venv
# has one, else it goes into a side venv with the newest python3.1x found (PATH, then pyenv).
# With neither, those tests skip, saying so.
ANKICONNECT_VENV ?= .venv-ankiconnect
ANKICONNECT_SERVER ?= anki-connect-server==0.5.0 httpx
NEWER_PYTHON = $(firstword $(foreach v,14 13 12,$(shell command -v python3.$(v) >/dev/null 2>&1 \
  && python3.$(v) -c '' 2>/dev/null && echo python3.$(v))) \
  $(wildcard $(or $(PYENV_ROOT),$(HOME)/.pyenv)/versions/3.1[2-9]*/bin/python3))

ankiconnect-server: $(VENV)/bin/python
	@if $(VENV)/bin/python -c 'import sys; sys.exit(sys.version_info < (3, 12))'; then :; \
	elif [ -x $(ANKICONNECT_VENV)/bin/anki-connect-server ]; then :; \
	elif [ -n "$(NEWER_PYTHON)" ]; then \
	  echo "$(NEWER_PYTHON) -m venv $(ANKICONNECT_VENV)"; \
	  $(NEWER_PYTHON) -m venv $(ANKICONNECT_VENV) && \
	  $(ANKICONNECT_VENV)/bin/pip install --quiet --disable-pip-version-check $(ANKICONNECT_SERVER); \
	else echo "no Python 3.12 or newer: the AnkiConnect tests will skip"; fi

clean:
	rm -rf $(VENV) $(ANKICONNECT_VENV) output

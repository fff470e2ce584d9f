# The two commands a newcomer needs (see README.md):
#   make build   install flashgen into .venv and build the course in cards/ into output/
#   make test    install system packages, flashgen and its test tools, then run the tests
PYTHON ?= python3
VENV ?= .venv
# poppler-utils: pdftoppm/pdftotext for looking at PDFs; chromium: the browser the card
# templates are tested in; fonts-noto-cjk: glyphs for Chinese/Japanese/Korean course text.
SYSTEM_PACKAGES ?= poppler-utils chromium fonts-noto-cjk
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: build test install install-test system-packages clean

build: install
	$(VENV)/bin/flashgen build cards

test: system-packages install-test
	$(VENV)/bin/ruff check .
	$(VENV)/bin/pytest

install: $(VENV)/bin/python
	$(VENV)/bin/pip install --quiet --disable-pip-version-check .

install-test: $(VENV)/bin/python
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -e '.[test]'

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

clean:
	rm -rf $(VENV) output

# sempi: the two commands of the README (make demo, make test) and friends.
# Everything installs into .venv; nothing outside the project is touched,
# except Debian packages the tests need, installed with apt-get when missing
# and running as root.

# The system Python when it can make venvs: a venv built from it is usable by
# other accounts (the sudo deployment in docs/security.md and its test), unlike
# one built from an interpreter under a private home such as /root/.pyenv.
PYTHON ?= $(shell for p in /usr/bin/python3 python3; do \
            $$p -c 'import sys, venv, ensurepip; assert sys.version_info >= (3, 11)' 2>/dev/null \
            && { echo $$p; break; }; done)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
DEMO   := demo
# Shells and tools the end-to-end tests drive (and PostgreSQL, found by its initdb:
# Debian keeps its programs off PATH; tests/postgres_server.py starts one).
TEST_DEBS := bash zsh fish tmux oathtool sudo

.PHONY: install test demo bench docs i18n lint system-deps clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

system-deps:
	@missing=""; for p in $(TEST_DEBS); do command -v $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing="$$missing postgresql"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "installing:$$missing"; apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	  else echo "missing tools for some tests:$$missing (install them, or run as root)"; fi; \
	fi

test: install system-deps
	$(BIN)/ruff check --quiet sempi_cli tests bench
	$(BIN)/ruff format --check --quiet sempi_cli tests bench
	$(BIN)/mypy
	$(BIN)/python -m pytest -n 2 -q
	@echo "== the service tests again, on PostgreSQL (tests/conftest.py: SEMPI_TEST_STORE)"
	SEMPI_TEST_STORE=postgresql $(BIN)/python -m pytest -n 2 -q

demo: install
	rm -rf $(DEMO)
	SEMPI_HOME=$(DEMO) $(BIN)/python -m sempi_cli.demo $(DEMO)

# bench/automation.py counts instructions with valgrind (callgrind).
bench: install
	@command -v valgrind >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq valgrind >/dev/null; \
	  else echo "bench/automation.py needs valgrind (install it, or run as root)"; fi; }
	@for script in bench/*.py; do \
	  case $$script in bench/floor.py|bench/_*) continue;; esac; \
	  echo "== $$script"; $(BIN)/python $$script || exit 1; \
	done

docs: install
	$(BIN)/python -m sempi_cli.docgen
	$(BIN)/python -m sempi_cli.demo --examples

# The Italian catalog after a change of texts: Babel extracts them, the .po gains the
# new ones (to translate, docs/glossario.md) and loses the gone ones, the .mo is compiled.
i18n: install
	$(BIN)/python -m sempi_cli.i18n_catalog update

lint: install
	$(BIN)/ruff check sempi_cli tests bench
	$(BIN)/ruff format --check sempi_cli tests bench

clean:
	rm -rf $(VENV) $(DEMO) .pytest_cache .hypothesis .ruff_cache .mypy_cache

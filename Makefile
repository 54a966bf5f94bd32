# socialmap: `make run` serves the site on http://127.0.0.1:5000, `make test` runs every test.
# Both install what is missing first (a venv, PostGIS, browser assets), so they work from a
# clean clone on a fresh Debian machine.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
FLASK  := $(BIN)/flask --app app
HOST   ?= 127.0.0.1
PORT   ?= 5000

.PHONY: run test serve install assets system db-start db-stop db-status lint bench clean

run: install
	$(FLASK) setup
	$(FLASK) run --host $(HOST) --port $(PORT)

# Production: gunicorn with socialmap/gunicorn_conf.py (workers per core, gthread, JSON access
# log); SOCIALMAP_BIND, SOCIALMAP_WORKERS, SOCIALMAP_THREADS override its defaults.
serve: install
	$(FLASK) setup
	SOCIALMAP_BIND=$${SOCIALMAP_BIND:-$(HOST):8000} exec $(BIN)/gunicorn -c python:socialmap.gunicorn_conf app:app

test: install
	$(BIN)/python -m pytest $(PYTEST_ARGS)

install: $(VENV)/.installed system assets

$(VENV)/.installed: setup.cfg pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[test]'
	touch $@

# PostGIS is installed by the app's own lifecycle code (flask db start); this adds what the
# browser tests need. Only root can install; others get the command to run.
system:
	@$(BIN)/python -m socialmap.system

assets:
	@$(BIN)/python -m socialmap.assets

db-start: install
	$(FLASK) db start
db-stop:
	$(FLASK) db stop
db-status:
	$(FLASK) db status

lint:
	$(BIN)/ruff check socialmap migrations tests bench app.py

clean:
	-$(FLASK) db stop
	rm -rf var $(VENV)

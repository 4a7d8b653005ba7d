# 12345 citizen hotline portal. Two commands: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 5000
export FLASK_APP := wsgi

.PHONY: run serve test install translations extract clean-db

run: install translations
	$(BIN)/flask portal init
	PORTAL_SCHEDULER_ENABLED=true $(BIN)/flask run --host "$(HOST)" --port "$(PORT)" --no-reload

# production mode (docs/production.md): gunicorn + PostgreSQL (DATABASE_URL) + Redis + scheduler
serve: install translations
	bash deploy/serve.sh

# the suite in TEST_JOBS processes (pytest-xdist; the production-stack tests share one of them),
# then the "serial" tests alone (the PostgreSQL restart); exit status 5 = none selected
TEST_JOBS ?= 2
test: install translations
	$(BIN)/bandit -q -r portal wsgi.py deploy --severity-level high
	$(BIN)/python -m pytest -n $(TEST_JOBS) --dist loadgroup -m "not serial" $(PYTEST_ARGS)
	$(BIN)/python -m pytest -m serial $(PYTEST_ARGS) || [ $$? -eq 5 ]

install: $(VENV)/.installed

$(VENV)/.installed: requirements.txt
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is needed (set PYTHON=python3.11)")'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $@

translations: install
	$(BIN)/pybabel compile --use-fuzzy -d translations

# maintainers: refresh the catalog after changing user-visible text
extract: install
	$(BIN)/pybabel extract -F babel.cfg -k N_ -k _l -k NC_:1c,2 --ignore-dirs ".* .venv" -o translations/messages.pot .
	$(BIN)/pybabel update -i translations/messages.pot -d translations --no-fuzzy-matching

clean-db:
	rm -f instance/portal.db instance/portal.db-wal instance/portal.db-shm instance/demo-accounts.txt

#!/usr/bin/env bash
# Production mode on this machine: PostgreSQL + Redis + gunicorn (N workers) + one scheduler
# process. `make serve` runs this; docs/production.md explains every variable.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN="${BIN:-.venv/bin}"
export FLASK_APP=wsgi
export DATABASE_URL="${DATABASE_URL:-postgresql+psycopg://postgres@127.0.0.1:5432/portal}"
export PORTAL_RATELIMIT_STORAGE="${PORTAL_RATELIMIT_STORAGE:-redis://127.0.0.1:6379/0}"
export PORTAL_RATELIMIT_KEY_PREFIX="${PORTAL_RATELIMIT_KEY_PREFIX:-portal}"
export PORTAL_BIND="${PORTAL_BIND:-127.0.0.1:8000}"
export PORTAL_SCHEDULER_ENABLED=false          # the web workers never run jobs; the scheduler does

"$BIN/python" -m portal.production ensure-database   # CREATE DATABASE when missing
"$BIN/flask" portal init                             # migrate to the newest version; seed when empty

"$BIN/flask" portal scheduler &                      # the one scheduler process
scheduler=$!
trap 'kill "$scheduler" 2>/dev/null || true; wait "$scheduler" 2>/dev/null || true' EXIT INT TERM
echo "portal: http://$PORTAL_BIND/  (health: /healthz; Ctrl-C stops web and scheduler)"
"$BIN/gunicorn" -c deploy/gunicorn.conf.py wsgi:app

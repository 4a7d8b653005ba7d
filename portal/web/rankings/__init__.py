"""Signed-in pages of issue 5: job runs and ranking settings (admins), a unit's own rates
with the requests behind them (its staff)."""
from flask import Blueprint

bp = Blueprint("rankings", __name__)

from . import routes  # noqa: E402,F401

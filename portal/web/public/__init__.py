"""The citizen pages: home, submit (with its htmx fragments and the receipt), track, rate, photos."""
from flask import Blueprint

bp = Blueprint("public", __name__)

from . import guard, routes, submit, track  # noqa: E402,F401

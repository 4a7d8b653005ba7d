"""The public board (排名公示): monthly rankings, a page per unit, city-wide figures."""
from flask import Blueprint

bp = Blueprint("board", __name__)

from . import routes  # noqa: E402,F401

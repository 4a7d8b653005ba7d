"""知识库 editor and the repeat-rate page, for center staff (operators and dispatchers)."""
from flask import Blueprint

bp = Blueprint("kb", __name__, url_prefix="/staff")

from . import routes  # noqa: E402,F401

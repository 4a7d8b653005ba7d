"""Admin pages for the channels (issue 8): API keys, counts by channel, unit contacts, the outbox."""
from flask import Blueprint

bp = Blueprint("channels", __name__, url_prefix="/admin")

from . import routes  # noqa: E402,F401

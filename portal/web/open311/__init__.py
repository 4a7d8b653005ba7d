"""Open311 GeoReport v2 under /open311/v2/ (issue 8): JSON and XML, API keys per channel."""
from flask import Blueprint

from ...extensions import csrf

bp = Blueprint("open311", __name__, url_prefix="/open311/v2")
csrf.exempt(bp)   # machine clients authenticate with api_key, not a session cookie

from . import routes  # noqa: E402,F401

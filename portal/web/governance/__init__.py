"""Proactive governance pages: hot spots, 每月一题 topics and the data dashboard (staff, under
/staff/governance) and the public topic pages (/topics)."""
from flask import Blueprint

bp = Blueprint("governance", __name__, url_prefix="/staff/governance")
public_bp = Blueprint("topics", __name__, url_prefix="/topics")

from . import public, routes  # noqa: E402,F401

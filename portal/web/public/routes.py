"""Public pages: the home page and tracking a request."""
from __future__ import annotations

from flask import render_template

from . import bp


@bp.route("/")
def home():
    return render_template("public/home.html")

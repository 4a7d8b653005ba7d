"""Public pages: the home page and the photos of a request."""
from __future__ import annotations

from flask import abort, render_template, send_file
from flask_login import current_user
from sqlalchemy import select

from ...domain.deadlines import utcnow
from ...extensions import db
from ...models import Attachment
from ...services import attachments
from ...services.tickets import load_ticket_for
from . import bp
from .guard import is_proven
from .queries import city_rates, top_categories


@bp.route("/")
def home():
    now = utcnow()
    return render_template("public/home.html", rates=city_rates(now), top=top_categories(now))


@bp.route("/photos/<name>")
def photo(name: str):
    """A request's photo, for the citizen who proved the tracking credentials in this session or
    for staff whose scope includes the request; everyone else gets 404."""
    att = db.session.scalar(select(Attachment).where(Attachment.stored_name == name))
    if att is None:
        abort(404)
    allowed = is_proven(att.ticket_id)
    if not allowed and current_user.is_authenticated:
        allowed = load_ticket_for(current_user.actor(), att.ticket_id) is not None
    if not allowed:
        abort(404)
    path = attachments.path_of(att)
    if not path.is_file():
        abort(404)
    response = send_file(path, mimetype=att.mime, max_age=0, conditional=True, etag=True)
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response.headers["Content-Disposition"] = "inline"
    return response

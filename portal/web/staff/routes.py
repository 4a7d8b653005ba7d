"""Staff pages: each user's queue (their unit's scope) and a request's page."""
from __future__ import annotations

from flask import abort, render_template, request
from flask_login import current_user, login_required
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from ...domain.access import Role
from ...domain.lifecycle import OPEN, Status
from ...extensions import db
from ...models import Ticket, TicketEvent
from ...services.tickets import facts_for, load_ticket_for, visible_clause
from ..htmx import render_page_or_partial
from . import bp

PAGE_SIZE = 50


@bp.before_request
@login_required
def _signed_in():
    """Every staff page needs a signed-in user; scope is checked per query."""


@bp.route("/")
def home():
    actor = current_user.actor()
    scope = visible_clause(actor, current_user.unit.path)
    status = request.args.get("status", "")
    page = max(1, request.args.get("page", 1, type=int))
    counts = dict(db.session.execute(
        select(Ticket.status, func.count()).where(scope).group_by(Ticket.status)).all())
    stmt = select(Ticket).where(scope).options(joinedload(Ticket.handling_unit), joinedload(Ticket.street))
    if status in {s.value for s in Status}:
        stmt = stmt.where(Ticket.status == Status(status))
    else:
        status = ""
        stmt = stmt.where(Ticket.status.in_(list(OPEN)))
    total = db.session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))
    rows = db.session.scalars(stmt.order_by(Ticket.created_at.desc()).limit(PAGE_SIZE)
                              .offset((page - 1) * PAGE_SIZE)).unique().all()
    return render_page_or_partial(
        "staff/home.html", "staff/_queue_rows.html", rows=rows, counts=counts, status=status,
        statuses=list(Status), page=page, pages=max(1, -(-total // PAGE_SIZE)), total=total)


@bp.route("/tickets/<int:ticket_id>")
def ticket(ticket_id: int):
    actor = current_user.actor()
    if current_user.role is Role.ADMIN:
        abort(404)
    t = load_ticket_for(actor, ticket_id)
    if t is None:
        abort(404)
    events = db.session.scalars(select(TicketEvent).where(TicketEvent.ticket_id == t.id)
                                .options(joinedload(TicketEvent.unit), joinedload(TicketEvent.actor_unit))
                                .order_by(TicketEvent.seq)).all()
    return render_template("staff/ticket.html", t=t, events=events, facts=facts_for(t), actor=actor)

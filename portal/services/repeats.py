"""重复反映 and 重复件: repeated requests and near-duplicates.

* At intake (``create_ticket``), a request from the same caller (phone), in the same category
  and at the same street as one received in the 30 days before is linked to the latest such
  request as a repeat (``TicketRepeat``); the link is also written on the SUBMIT event's data.
* Near-duplicate texts at the same street are suggested for merging on the staff page
  (``merge_candidates``): the full-text search finds open requests there sharing most words.
* ``repeat_rates(month_start, month_end)``: per unit, the requests received in the period that
  it holds and how many of them repeat an earlier request. One SQL GROUP BY.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import case, func, select

from ..domain.lifecycle import TERMINAL, Status
from ..extensions import db
from ..models import Ticket, TicketRepeat
from . import search

REPEAT_WINDOW = timedelta(days=30)
NEAR_DUPLICATE_SHARE = 0.5       # a merge candidate shares at least half the words of the request


def find_repeat_of(phone: str, category_id: int | None, street_id: int | None, now: datetime,
                   exclude_id: int | None = None) -> Ticket | None:
    """The latest request received in the 30 days before ``now`` with the same caller, category
    and street (None without a phone or a street)."""
    if not phone or street_id is None or category_id is None:
        return None
    stmt = (select(Ticket).where(Ticket.citizen_phone == phone, Ticket.category_id == category_id,
                                 Ticket.street_id == street_id,
                                 Ticket.created_at >= now - REPEAT_WINDOW, Ticket.created_at <= now)
            .order_by(Ticket.created_at.desc(), Ticket.id.desc()).limit(1))
    if exclude_id is not None:
        stmt = stmt.where(Ticket.id != exclude_id)
    return db.session.scalar(stmt)


def link_repeat(ticket: Ticket, earlier: Ticket, now: datetime) -> TicketRepeat:
    link = TicketRepeat(ticket_id=ticket.id, repeat_of_id=earlier.id, created_at=now)
    db.session.add(link)
    return link


def repeat_of(ticket: Ticket) -> Ticket | None:
    link = db.session.get(TicketRepeat, ticket.id)
    return link.repeat_of if link is not None else None


def repeats_of(ticket: Ticket, limit: int = 10) -> list[Ticket]:
    """Later requests linked as repeats of this one, newest first."""
    return list(db.session.scalars(
        select(Ticket).join(TicketRepeat, TicketRepeat.ticket_id == Ticket.id)
        .where(TicketRepeat.repeat_of_id == ticket.id).order_by(Ticket.created_at.desc()).limit(limit)))


def merge_candidates(ticket: Ticket, limit: int = 5) -> list[tuple[Ticket, float]]:
    """Open requests at the same street whose text shares at least half the words of this
    one (best match first), with that share."""
    if ticket.street_id is None:
        return []
    open_statuses = [s for s in Status if s not in TERMINAL]
    return search.similar_tickets(
        search.terms_of_ticket(ticket), exclude_id=ticket.id, limit=limit, min_share=NEAR_DUPLICATE_SHARE,
        where=(Ticket.street_id == ticket.street_id, Ticket.status.in_(open_statuses)), open_only=True)


def repeat_rates(month_start: datetime, month_end: datetime) -> dict[int, tuple[int, int]]:
    """{unit id: (repeats, total)}: requests received in [month_start, month_end) that the unit
    holds (its current handling unit), and how many of them are linked as repeats."""
    repeats = func.coalesce(func.sum(case((TicketRepeat.ticket_id.isnot(None), 1), else_=0)), 0)
    rows = db.session.execute(
        select(Ticket.handling_unit_id, repeats, func.count(Ticket.id))
        .select_from(Ticket).outerjoin(TicketRepeat, TicketRepeat.ticket_id == Ticket.id)
        .where(Ticket.created_at >= month_start, Ticket.created_at < month_end, Ticket.handling_unit_id.isnot(None))
        .group_by(Ticket.handling_unit_id)).all()
    return {unit_id: (int(r), int(n)) for unit_id, r, n in rows}

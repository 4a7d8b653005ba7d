"""Retention (issue 9): citizens' names, phones and e-mail addresses are erased from requests
closed more than ``RETENTION_MONTHS`` months ago (config, env ``PORTAL_RETENTION_MONTHS``,
default 24). Everything the statistics use stays: status, unit, category, dates, deadlines,
the event trail, callbacks and ratings, counters. Outbox rows of those requests lose their
recipient too.

The erasure is a bulk UPDATE in batches (Beijing's scale: hundreds of thousands of requests
a month), idempotent (a request already erased is not touched again). It records no
``TicketEvent``: the status does not change and the trail stays the same; the run itself is
logged with the count. ``version`` is bumped so a form opened before the erasure conflicts
instead of writing the old values back.

A text that names the citizen (the request, the unit's reply, the center's answer) keeps the name
masked (``privacy.mask_names``) before the name is erased: the public pages mask the name they
are given, and once it is erased they would be given none. Phones and e-mail addresses in a text
need no such step: every public view redacts them by their shape, whatever is stored.
"""
from __future__ import annotations

import calendar
from datetime import datetime

from flask import current_app
from sqlalchemy import bindparam, func, or_, select, update

from ..domain.lifecycle import TERMINAL
from ..domain.privacy import mask_names
from ..extensions import db
from ..models import OutboxMessage, Ticket

DEFAULT_MONTHS = 24
BATCH = 5000


def months_before(now: datetime, months: int) -> datetime:
    """The same day and time ``months`` calendar months earlier (clamped to the month's end)."""
    index = now.year * 12 + (now.month - 1) - months
    year, month = divmod(index, 12)
    day = min(now.day, calendar.monthrange(year, month + 1)[1])
    return now.replace(year=year, month=month + 1, day=day)


def retention_cutoff(now: datetime, months: int | None = None) -> datetime:
    if months is None:
        months = int(current_app.config.get("RETENTION_MONTHS") or DEFAULT_MONTHS)
    if months < 1:
        raise ValueError("RETENTION_MONTHS must be at least 1")
    return months_before(now, months)


def anonymise_closed(now: datetime, months: int | None = None, batch: int = BATCH) -> int:
    """Erase personal contact data from requests closed before the cutoff; returns how many."""
    cutoff = retention_cutoff(now, months)
    due = (select(Ticket.id)
           .where(Ticket.status.in_(list(TERMINAL)), Ticket.closed_at.is_not(None), Ticket.closed_at < cutoff,
                  or_(Ticket.citizen_name != "", Ticket.citizen_phone != "", Ticket.citizen_email != ""))
           .order_by(Ticket.id).limit(batch))
    total = 0
    while True:
        ids = list(db.session.scalars(due))
        if not ids:
            break
        _mask_names_in_texts(ids)
        db.session.execute(update(OutboxMessage).where(OutboxMessage.ticket_id.in_(ids), OutboxMessage.recipient != "")
                           .values(recipient="").execution_options(synchronize_session=False))
        db.session.execute(update(Ticket).where(Ticket.id.in_(ids))
                           .values(citizen_name="", citizen_phone="", citizen_email="", version=Ticket.version + 1)
                           .execution_options(synchronize_session=False))
        total += len(ids)
        if len(ids) < batch:
            break
    db.session.flush()
    db.session.expire_all()
    return total


def _mask_names_in_texts(ids: list[int]) -> None:
    """Mask the citizen's name inside the texts of those of ``ids`` that contain it (few: the
    database finds them; each is rewritten here, where the masking rule is)."""
    texts = (Ticket.content, Ticket.reply, Ticket.answer)
    rows = db.session.execute(
        select(Ticket.id, Ticket.citizen_name, *texts)
        .where(Ticket.id.in_(ids), func.length(func.trim(Ticket.citizen_name)) >= 2,
               or_(*(column.contains(func.trim(Ticket.citizen_name)) for column in texts)))).all()
    if not rows:
        return
    db.session.execute(
        update(Ticket.__table__).where(Ticket.__table__.c.id == bindparam("tid"))
        .values(content=bindparam("c"), reply=bindparam("r"), answer=bindparam("a")),
        [{"tid": tid, "c": mask_names(content or "", (name,)), "r": mask_names(reply or "", (name,)),
          "a": mask_names(answer or "", (name,))} for tid, name, content, reply, answer in rows])

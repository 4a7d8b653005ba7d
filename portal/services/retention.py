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

Before the contact fields go, every free text of the request is erased of the citizen
(``privacy.erase``): the request's title and content, the reply, report and answer, the close
reason, the rating comment, the notes of its events and callbacks, and its search words. The name
is masked (first character and stars: the public pages mask the name they are given, and once it
is erased they would be given none); phones (the citizen's own in any grouping, any mobile number,
any landline with its area code), e-mail addresses and id numbers become ``***``. The address of
the problem stays: the hot-spot alerts count requests by it.
"""
from __future__ import annotations

import calendar
from datetime import datetime

from flask import current_app
from sqlalchemy import bindparam, or_, select, update

from ..domain.lifecycle import TERMINAL
from ..domain.privacy import erase
from ..extensions import db
from ..models import Callback, OutboxMessage, Ticket, TicketEvent, TicketText
from .search import ticket_tokens

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
        _erase_texts(ids)
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


_TEXTS = ("title", "content", "reply", "report", "answer", "close_reason", "rating_comment")


def _erase_texts(ids: list[int]) -> None:
    """Erase the citizen from every free text of the requests ``ids`` before their contact fields
    go (``privacy.erase``: names masked, phones, e-mail addresses and id numbers gone): the
    request's own texts, its search words (a staff search by an old phone number finds nothing),
    the notes of its events and callbacks. Only the rows whose text changes are written (a
    rewrite per row, where the rule is; the batch is read once)."""
    table = Ticket.__table__
    rows = db.session.execute(
        select(table.c.id, table.c.citizen_name, table.c.citizen_phone, table.c.address,
               *(table.c[name] for name in _TEXTS)).where(table.c.id.in_(ids))).all()
    people: dict[int, tuple[tuple[str, ...], tuple[str, ...]]] = {}
    changed, words = [], []
    for row in rows:
        names, phones = (row.citizen_name,), (row.citizen_phone,)
        people[row.id] = (names, phones)
        values = {name: erase(getattr(row, name) or "", names, phones) for name in _TEXTS}
        if any(values[name] != (getattr(row, name) or "") for name in _TEXTS):
            changed.append({"tid": row.id, **values})
            words.append({"tid": row.id,
                          "tokens": ticket_tokens(values["title"], values["content"], row.address)})
    if changed:
        db.session.execute(update(table).where(table.c.id == bindparam("tid"))
                           .values({name: bindparam(name) for name in _TEXTS}), changed)
        texts = TicketText.__table__
        db.session.execute(update(texts).where(texts.c.ticket_id == bindparam("tid"))
                           .values(tokens=bindparam("tokens")), words)
    for model in (TicketEvent, Callback):
        notes = model.__table__
        rewritten = []
        for note_id, ticket_id, note in db.session.execute(
                select(notes.c.id, notes.c.ticket_id, notes.c.note)
                .where(notes.c.ticket_id.in_(ids), notes.c.note != "")):
            erased = erase(note, *people[ticket_id])
            if erased != note:
                rewritten.append({"nid": note_id, "note": erased})
        if rewritten:
            db.session.execute(update(notes).where(notes.c.id == bindparam("nid"))
                               .values(note=bindparam("note")), rewritten)

"""Helpers for the integration tests: read a request's rows straight from the database,
perform an action and check the event it left, or check that a refused action changed nothing."""
from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import func, select

from portal.domain.access import Actor
from portal.domain.lifecycle import Action
from portal.extensions import db
from portal.models import Callback, Ticket, TicketEvent, TicketUnit
from portal.services.tickets import perform


def snapshot(ticket_id: int) -> dict:
    """Everything stored about one request, read with Core (no identity map involved)."""
    t, tu, ev, cb = Ticket.__table__, TicketUnit.__table__, TicketEvent.__table__, Callback.__table__
    return {
        "row": dict(db.session.execute(select(t).where(t.c.id == ticket_id)).mappings().one()),
        "units": [tuple(r) for r in db.session.execute(
            select(tu).where(tu.c.ticket_id == ticket_id).order_by(tu.c.unit_id))],
        "events": [tuple(r) for r in db.session.execute(
            select(ev).where(ev.c.ticket_id == ticket_id).order_by(ev.c.seq))],
        "callbacks": [tuple(r) for r in db.session.execute(
            select(cb).where(cb.c.ticket_id == ticket_id).order_by(cb.c.id))],
    }


def counts() -> tuple[int, int]:
    return (db.session.scalar(select(func.count()).select_from(Ticket)),
            db.session.scalar(select(func.count()).select_from(TicketEvent)))


def reload(ticket_id: int) -> Ticket:
    db.session.expire_all()
    return db.session.get(Ticket, ticket_id)


def act(ticket: Ticket, action: Action, actor: Actor, at: datetime, **details) -> tuple[Ticket, TicketEvent]:
    """Perform, commit, re-read; check the generic parts of the event. Returns (ticket, event) fresh from the DB."""
    tid = ticket.id
    before = snapshot(tid)
    perform(ticket, action, actor, at, **details)
    db.session.commit()
    fresh = reload(tid)
    events = fresh.events
    n = len(before["events"])
    assert [e.seq for e in events] == list(range(1, n + 2)), "one event appended, seqs without gaps"
    event = events[-1]
    assert event.action is action
    assert event.from_status is before["row"]["status"]
    assert event.to_status is fresh.status
    assert event.actor_role is actor.role
    assert event.actor_unit_id == actor.unit_id
    assert event.actor_user_id == actor.user_id
    assert event.at == at
    assert fresh.updated_at == at
    assert fresh.version == before["row"]["version"] + 1
    return fresh, event


def refuse(exc_type: type[Exception], ticket: Ticket, action: Action, actor: Actor, at: datetime,
           match: str | None = None, **details) -> Exception:
    """The action raises ``exc_type``; after the rollback nothing about the request has changed."""
    tid = ticket.id
    before = snapshot(tid)
    with pytest.raises(exc_type, match=match) as info:
        perform(ticket, action, actor, at, **details)
    db.session.rollback()
    assert snapshot(tid) == before
    return info.value

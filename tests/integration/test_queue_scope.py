"""The queues' scope index (``ticket_units.ticket_open``, migration 0010_scope_open) and the open
requests' words (``ticket_open_texts``, 0018_open_texts): kept by ``perform`` in
step with the status through every action, and the queue scope they serve is exactly the open part
of ``visible_clause`` for every unit (SQLite and PostgreSQL)."""
from __future__ import annotations

import random

from sqlalchemy import func, select

from portal.domain.access import Actor, Role
from portal.domain.lifecycle import OPEN, TRANSITIONS
from portal.extensions import db
from portal.models import Ticket, TicketOpenText, TicketText, TicketUnit, Unit
from portal.services import queues
from portal.services.seed import DemoBuilder
from portal.services.tickets import visible_clause


def test_ticket_open_follows_the_status_through_every_action(app, now):
    DemoBuilder(now, random.Random(7)).build(120)       # requests in every state, through perform()
    db.session.commit()
    rows = db.session.execute(select(TicketUnit.ticket_open, Ticket.status)
                              .join(Ticket, Ticket.id == TicketUnit.ticket_id)).all()
    assert {flag for flag, _ in rows} == {True, False}  # the demo has open and closed handled requests
    wrong = [(flag, status) for flag, status in rows if flag != (status in OPEN)]
    assert wrong == []
    texts = db.session.execute(select(TicketText.ticket_id, TicketText.tokens, Ticket.status)
                               .join(Ticket, Ticket.id == TicketText.ticket_id)).all()
    assert len(texts) == db.session.scalar(select(func.count()).select_from(Ticket))   # every request has its words
    # the open requests' words: exactly the open ones', the same words
    open_words = dict(db.session.execute(select(TicketOpenText.ticket_id, TicketOpenText.tokens)).all())
    expected = {tid: tokens for tid, tokens, status in texts if status in OPEN}
    assert expected and len(expected) < len(texts)
    assert open_words == expected


def test_no_action_reopens_a_closed_request():
    """The open requests' words are written at intake and deleted when a request closes; perform
    writes them back for no action, since none leads from a closed status to an open one."""
    assert [(s, a) for (s, a), to in TRANSITIONS.items() if s not in OPEN and to in OPEN] == []


def test_queue_scope_is_the_open_part_of_what_a_unit_may_see(app, now):
    DemoBuilder(now, random.Random(8)).build(120)
    db.session.commit()
    units = [u for u in db.session.scalars(select(Unit).where(Unit.tier.in_((2, 3))))
             if db.session.scalar(select(TicketUnit.ticket_id).where(TicketUnit.unit_id == u.id).limit(1))]
    assert len(units) >= 3
    checked = 0
    for unit in units:
        actor = Actor(Role.HANDLER, unit.id, tier=unit.tier)
        expected = set(db.session.scalars(select(Ticket.id).where(visible_clause(actor, unit.path),
                                                                  Ticket.status.in_(list(OPEN)))))
        got = set(db.session.scalars(select(Ticket.id).where(queues.queue_scope(actor, unit.path))))
        assert got == expected, unit.name
        checked += bool(expected)
    assert checked >= 2

"""Two people acting on one request at the same moment: exactly one wins, the other gets ``Conflict``.

``perform`` flushes the global ``db.session`` (it never commits), so the request that must
raise ``Conflict`` has to live in ``db.session``. Two ways of getting there:

* two sessions in one thread: an independent ``Session(bind=db.engine)`` acts first and
  commits, then the request loaded earlier in ``db.session`` acts;
* two threads, each with its own app context and therefore its own ``db.session``, both
  loading the request before either writes (``threading.Barrier``).
"""
from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from portal.domain.lifecycle import Action as A
from portal.domain.lifecycle import Status as S
from portal.extensions import db
from portal.models import Ticket, TicketEvent
from portal.services.tickets import Conflict, perform
from tests.integration.support import act, refuse, reload


def events_of(ticket_id: int, action: A | None = None) -> int:
    stmt = select(func.count()).select_from(TicketEvent).where(TicketEvent.ticket_id == ticket_id)
    if action is not None:
        stmt = stmt.where(TicketEvent.action == action)
    return db.session.scalar(stmt)


@pytest.mark.parametrize("events_loaded", [True, False], ids=["events_loaded", "events_not_loaded"])
def test_two_sessions_sign_the_same_request(make_ticket, users, now, events_loaded):
    """Whether the stale UPDATE is sent by perform's own flush or by an autoflush inside it
    (``ticket.events`` not loaded yet), the caller gets ``Conflict``."""
    t = make_ticket(S.DISPATCHED)
    tid, version, n_events = t.id, t.version, events_of(t.id)
    db.session.expire_all()
    jianwai, leader = users.actor("jianwai"), users.actor("jianwai.leader")
    first = Session(bind=db.engine)
    try:
        mine = db.session.get(Ticket, tid)          # session 2: the global one, which perform flushes
        theirs = first.get(Ticket, tid)             # session 1
        if events_loaded:
            assert len(mine.events) == n_events
        assert mine.version == theirs.version == version
        assert mine.status is theirs.status is S.DISPATCHED

        perform(theirs, A.SIGN, leader, now)
        first.commit()

        with pytest.raises(Conflict):
            perform(mine, A.SIGN, jianwai, now + timedelta(minutes=1))
        db.session.rollback()
    finally:
        first.close()

    fresh = reload(tid)
    assert fresh.status is S.HANDLING
    assert fresh.version == version + 1
    assert fresh.signed_at == now
    assert events_of(tid, A.SIGN) == 1 and events_of(tid) == n_events + 1
    assert fresh.events[-1].actor_user_id == leader.user_id


@pytest.mark.parametrize("start, first, second", [
    (S.DISPATCHED, A.SIGN, A.SIGN),
    (S.DISPATCHED, A.SIGN, A.REQUEST_RETURN),
    (S.HANDLING, A.FEEDBACK, A.NOTE),
], ids=["sign+sign", "sign+return", "feedback+note"])
def test_two_threads_act_at_once(app, make_ticket, users, now, start, first, second):
    t = make_ticket(start)
    tid, version, n_events = t.id, t.version, events_of(t.id)
    db.session.commit()
    details = {A.SIGN: {}, A.REQUEST_RETURN: {"reason": "不属于本街道"}, A.FEEDBACK: {"reply": "已修复。"},
               A.NOTE: {"note": "已到现场"}}
    actors = [users.actor("jianwai"), users.actor("jianwai.leader")]
    barrier = threading.Barrier(2, timeout=30)
    results: dict[int, str] = {}

    def worker(i: int, action: A) -> None:
        try:
            with app.app_context():                 # its own db.session (scoped to the app context)
                try:
                    ticket = db.session.get(Ticket, tid)
                    assert ticket.version == version
                    barrier.wait()                  # both have read the request before either writes
                    perform(ticket, action, actors[i], now + timedelta(minutes=i + 1), **details[action])
                    db.session.commit()
                    results[i] = "ok"
                except Conflict:
                    db.session.rollback()
                    results[i] = "conflict"
                finally:
                    db.session.remove()
        except BaseException as exc:                # anything else fails the test below
            results[i] = f"{type(exc).__name__}: {exc}"

    threads = [threading.Thread(target=worker, args=(i, a)) for i, a in enumerate((first, second))]
    for th in threads:
        th.start()
    for th in threads:
        th.join(60)
    assert sorted(results.values()) == ["conflict", "ok"], results

    winner = next(i for i, r in results.items() if r == "ok")
    action = (first, second)[winner]
    fresh = reload(tid)
    assert fresh.version == version + 1
    assert events_of(tid) == n_events + 1
    assert events_of(tid, action) == 1
    assert fresh.events[-1].action is action and fresh.events[-1].actor_user_id == actors[winner].user_id
    loser_action = (first, second)[1 - winner]
    if loser_action is not action:
        assert events_of(tid, loser_action) == 0


def test_expected_version_mismatch_is_a_conflict(make_ticket, users, now):
    t = make_ticket(S.DISPATCHED)
    v = t.version
    jianwai = users.actor("jianwai")
    refuse(Conflict, t, A.SIGN, jianwai, now, expected_version=v - 1)
    refuse(Conflict, t, A.SIGN, jianwai, now, expected_version=v + 1)
    t, e = act(t, A.SIGN, jianwai, now, expected_version=str(v))     # a form field arrives as text
    assert t.version == v + 1 and e.action is A.SIGN


def test_a_stale_form_is_a_conflict(make_ticket, users, now):
    """The form was rendered at version v; someone acted since; submitting it changes nothing."""
    t = make_ticket(S.HANDLING)
    rendered = t.version
    act(t, A.NOTE, users.actor("jianwai.leader"), now, note="领导批示：尽快办理")
    t = reload(t.id)
    refuse(Conflict, t, A.FEEDBACK, users.actor("jianwai"), now + timedelta(minutes=1), expected_version=rendered,
           reply="已修复。")
    assert reload(t.id).status is S.HANDLING

"""The ranking's SQL against the event log, snapshots, settings — on SQLite and PostgreSQL."""
from __future__ import annotations

from datetime import datetime, timedelta

import hypothesis.strategies as st
import pytest
from hypothesis import HealthCheck, given, settings
from sqlalchemy import func, select

from portal.domain import months
from portal.domain.access import Actor, Role
from portal.domain.lifecycle import Action, Status
from portal.extensions import db
from portal.models import RankingRow, RankingSettings, RankingSnapshot, Ticket, TicketEvent
from portal.services import ranking
from portal.services.tickets import InvalidInput, create_ticket, perform, rated_callback
from tests.factories import CONTENT

A = Action
CITIZEN = Actor(Role.CITIZEN)
T0 = datetime(2026, 10, 10, 2, 0)           # October in Beijing
STREETS = ("110105001", "110105003", "110105004")


# --- brute force from the event log ----------------------------------------------------------

def brute_force(month: str) -> tuple[dict, dict]:
    """(unit → (dispatched, on time), unit → (answered, resolved, satisfied)) from TicketEvents only."""
    start, end = months.bounds(month)
    events = db.session.scalars(select(TicketEvent).order_by(TicketEvent.ticket_id, TicketEvent.seq)).all()
    by_ticket: dict[int, list[TicketEvent]] = {}
    for e in events:
        by_ticket.setdefault(e.ticket_id, []).append(e)
    resp: dict[int, list[int]] = {}
    cbs: dict[int, list[int]] = {}
    for evs in by_ticket.values():
        moves = [i for i, e in enumerate(evs) if e.action in (A.DISPATCH, A.REDISPATCH, A.APPROVE_RETURN)]
        if moves and evs[moves[-1]].action is not A.APPROVE_RETURN:
            d = evs[moves[-1]]
            if start <= d.at < end:
                signs = [e for e in evs[moves[-1] + 1:] if e.action is A.SIGN]
                row = resp.setdefault(d.unit_id, [0, 0])
                row[0] += 1
                row[1] += bool(signs and signs[0].data.get("on_time"))
        answers = [(e, "citizen" if e.action is A.RATE else "center") for e in evs
                   if e.action in (A.CALLBACK, A.RATE) and e.at < end]
        reached = [e for e, src in answers if src == "center" and e.data.get("contacted")]
        citizen = [e for e, src in answers if src == "citizen"]
        center = [e for e, src in answers if src == "center"]
        chosen = next((g[-1] for g in (reached, citizen, center) if g), None)
        if chosen is not None and start <= chosen.at < end and (chosen.action is A.RATE or chosen.data["contacted"]):
            row = cbs.setdefault(chosen.unit_id, [0, 0, 0])
            row[0] += 1
            row[1] += bool(chosen.data.get("resolved"))
            row[2] += bool(chosen.data.get("satisfied"))
    return ({u: tuple(v) for u, v in resp.items()}, {u: tuple(v) for u, v in cbs.items()})


# --- random lives ------------------------------------------------------------------------------

answer = st.one_of(
    st.tuples(st.just("center"), st.booleans(), st.booleans(), st.booleans()),
    st.tuples(st.just("citizen"), st.just(True), st.booleans(), st.booleans()),
    st.tuples(st.just("rehandle"), st.just(True), st.just(False), st.just(False)),
)
life = st.fixed_dictionaries({
    "start_h": st.integers(0, 50 * 24),         # dispatched between 10 Oct and end of November
    "street": st.sampled_from(STREETS),
    "via_district": st.booleans(),
    "returned": st.booleans(),
    "sign": st.sampled_from(["never", "on_time", "late"]),
    "feedback": st.booleans(),
    "answers": st.lists(st.tuples(answer, st.integers(1, 20 * 24)), max_size=3),
})


def drive(units, users, spec: dict) -> None:
    clock = [T0 + timedelta(hours=spec["start_h"])]

    def t(hours: float = 0.1) -> datetime:
        clock[0] += timedelta(hours=hours)
        return clock[0]

    operator, dispatcher = users.actor("operator"), users.actor("dispatcher")
    street = units[spec["street"]]
    district = units["110105"]
    ticket = create_ticket(CITIZEN, t(), category=_category(), kind=_kind(), content=CONTENT,
                           district=district, street=street)
    perform(ticket, A.ACCEPT, operator, t())
    if spec["returned"]:
        other = units["110105002"]
        perform(ticket, A.DISPATCH, dispatcher, t(), unit=other)
        perform(ticket, A.REQUEST_RETURN, Actor(Role.HANDLER, other.id, 3), t(), reason="不属于本街道")
        perform(ticket, A.APPROVE_RETURN, dispatcher, t())
        if spec["sign"] == "never":          # returned and never dispatched again: counts nowhere
            return
    if spec["via_district"]:
        perform(ticket, A.DISPATCH, dispatcher, t(), unit=district)
        perform(ticket, A.REDISPATCH, Actor(Role.HANDLER, district.id, 2), t(30), unit=street)
    else:
        perform(ticket, A.DISPATCH, dispatcher, t(), unit=street)
    handler = Actor(Role.HANDLER, street.id, 3)
    if spec["sign"] == "never":
        return
    perform(ticket, A.SIGN, handler, t(0.5) if spec["sign"] == "on_time" else t(30))
    if not spec["feedback"]:
        return
    perform(ticket, A.FEEDBACK, handler, t(5), reply="已处理完毕。")
    for (kind, contacted, resolved, satisfied), gap in spec["answers"]:
        at = t(gap)
        if kind == "center" and ticket.status in (Status.FED_BACK, Status.CALLED_BACK):
            perform(ticket, A.CALLBACK, operator, at, contacted=contacted, resolved=resolved, satisfied=satisfied)
        elif kind == "citizen" and ticket.rated_at is None and ticket.status in (Status.FED_BACK,
                                                                                 Status.CALLED_BACK):
            perform(ticket, A.RATE, CITIZEN, at, requester=True, resolved=resolved, satisfied=satisfied)
        elif kind == "rehandle" and ticket.status is Status.CALLED_BACK:
            cb = rated_callback(ticket)
            if not (cb and cb.contacted and cb.resolved and cb.satisfied):
                perform(ticket, A.REHANDLE, dispatcher, at, reason="市民不满意")
                perform(ticket, A.FEEDBACK, handler, t(1), reply="二次办理完毕。")


_cache: dict = {}


def _category():
    from portal.models import Category
    return db.session.scalar(select(Category).where(Category.code == "SZSS-LD"))


def _kind():
    from portal.domain.intake import RequestKind
    return RequestKind.COMPLAINT


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                 HealthCheck.too_slow])
@given(lives=st.lists(life, min_size=1, max_size=6))
def test_sql_equals_the_event_log(app, units, users, lives):
    try:
        for spec in lives:
            drive(units, users, spec)
        db.session.flush()
        for month in ("2026-10", "2026-11"):
            start, end = months.bounds(month)
            want_resp, want_cb = brute_force(month)
            assert ranking.response_counts(start, end) == want_resp
            assert ranking.callback_counts(start, end) == want_cb
    finally:
        db.session.rollback()


def test_the_property_sees_data(app, units, users):
    """The brute force is not vacuous: a known life lands in the counts."""
    drive(units, users, {"start_h": 24, "street": "110105001", "via_district": True, "returned": False,
                         "sign": "on_time", "feedback": True,
                         "answers": [(("center", True, True, False), 2)]})
    street = units["110105001"]
    start, end = months.bounds("2026-10")
    assert ranking.response_counts(start, end) == {street.id: (1, 1)} == brute_force("2026-10")[0]
    assert ranking.callback_counts(start, end) == {street.id: (1, 1, 0)} == brute_force("2026-10")[1]


# --- snapshots -----------------------------------------------------------------------------------

def _rows(snap):
    return [tuple(r) for r in db.session.execute(
        select(RankingRow.unit_id, RankingRow.dispatched, RankingRow.signed_on_time, RankingRow.answered,
               RankingRow.resolved, RankingRow.satisfied, RankingRow.composite, RankingRow.rank,
               RankingRow.governance).where(RankingRow.snapshot_id == snap.id).order_by(RankingRow.position))]


def test_freeze_twice_gives_the_same_snapshot(app, units, users, make_ticket):
    for i in range(3):
        make_ticket(Status.CLOSED, unit="110105001", start=T0 + timedelta(days=i))
    make_ticket(Status.CALLED_BACK, unit="110105003", start=T0 + timedelta(days=5))
    now = datetime(2026, 11, 16)
    snap = ranking.freeze("2026-10", now)
    db.session.commit()
    first = _rows(snap)
    assert any(r[1] for r in first)
    # later activity in October's requests does not change a frozen month
    make_ticket(Status.CLOSED, unit="110105004", start=T0 + timedelta(days=6))
    again = ranking.freeze("2026-10", now + timedelta(hours=1))
    db.session.commit()
    assert again.id == snap.id and _rows(again) == first
    assert db.session.scalar(select(func.count()).select_from(RankingSnapshot)
                             .where(RankingSnapshot.month == "2026-10")) == 1


def test_frozen_rows_by_hand(app, units, make_ticket):
    make_ticket(Status.CLOSED, unit="110105001", start=T0)               # resolved + satisfied
    make_ticket(Status.CALLED_BACK, unit="110105001", start=T0)          # not resolved, not satisfied
    make_ticket(Status.DISPATCHED, unit="110105001", start=T0)           # not signed
    snap = ranking.freeze("2026-10", datetime(2026, 11, 16))
    row = db.session.scalar(select(RankingRow).where(RankingRow.snapshot_id == snap.id,
                                                     RankingRow.unit_id == units["110105001"].id))
    assert (row.dispatched, row.signed_on_time, row.answered, row.resolved, row.satisfied) == (3, 2, 2, 1, 1)
    assert row.response_rate == pytest.approx(2 / 3) and row.satisfaction_rate == pytest.approx(0.5)
    assert row.composite == pytest.approx(0.1 * 2 / 3 + 0.45 * 0.5 + 0.45 * 0.5)
    assert not row.ranked and row.governance          # below the minimum volume of 10, but the most volume
    empty = db.session.scalar(select(RankingRow).where(RankingRow.snapshot_id == snap.id,
                                                       RankingRow.unit_id == units["110105002"].id))
    assert empty.response_rate is None and empty.composite is None and empty.rank is None


def test_unfinished_month_cannot_be_frozen(app):
    with pytest.raises(InvalidInput):
        ranking.freeze("2026-11", datetime(2026, 11, 16))


def test_provisional_is_replaced_and_removed_by_the_freeze(app, make_ticket):
    make_ticket(Status.HANDLING, unit="110105001", start=datetime(2026, 11, 3))
    now = datetime(2026, 11, 16)
    ranking.refresh_provisional(now)
    b = ranking.refresh_provisional(now + timedelta(hours=1))
    db.session.commit()
    assert b.computed_at == now + timedelta(hours=1) and b.month == "2026-11" and b.provisional
    assert db.session.scalar(select(func.count()).select_from(RankingSnapshot)) == 1
    frozen = ranking.freeze("2026-11", datetime(2026, 12, 1))
    db.session.commit()
    assert [(s.month, s.provisional) for s in db.session.scalars(select(RankingSnapshot))] == [("2026-11", False)]
    assert ranking.snapshot("2026-11") == frozen
    with pytest.raises(InvalidInput):
        ranking.refresh_provisional(datetime(2026, 12, 1), "2026-11")


def test_catch_up_freezes_last_month_once(app):
    now = datetime(2026, 11, 16)
    assert ranking.catch_up(now) is not None
    db.session.commit()
    assert ranking.catch_up(now) is None


def test_previous_rank_and_governance_carry_over(app, make_ticket, units):
    for i in range(2):
        make_ticket(Status.CLOSED, unit="110105001", start=T0 + timedelta(days=i))
    ranking.freeze("2026-10", datetime(2026, 11, 16))
    make_ticket(Status.CLOSED, unit="110105001", start=datetime(2026, 11, 5))
    snap = ranking.refresh_provisional(datetime(2026, 11, 16))
    row = db.session.scalar(select(RankingRow).where(RankingRow.snapshot_id == snap.id,
                                                     RankingRow.unit_id == units["110105001"].id))
    assert row.governance and row.governance_since == "2026-10"


# --- settings ------------------------------------------------------------------------------------

GOOD = dict(w_response=20, w_resolution=40, w_satisfaction=40, min_volume=5, advanced_n=3, progress_n=3,
            rectification_n=3, governance_n=10)


def test_settings_effective_from_a_month(app):
    now = datetime(2026, 11, 16)
    ranking.save_settings(now, "2026-12", GOOD)
    db.session.commit()
    assert ranking.settings_for("2026-11").w_response == 10      # the default still
    assert ranking.settings_for("2026-12").w_response == 20
    assert ranking.settings_for("2027-03").min_volume == 5


@pytest.mark.parametrize("change,month", [({"w_response": 30}, "2026-12"), ({"min_volume": -1}, "2026-12"),
                                          ({"w_satisfaction": "x"}, "2026-12"), ({}, "2026-13"),
                                          ({}, "2026-10")])
def test_bad_settings_refused(app, change, month):
    with pytest.raises(InvalidInput):
        ranking.save_settings(datetime(2026, 11, 16), month, {**GOOD, **change})
    assert db.session.scalar(select(func.count()).select_from(RankingSettings)) == 0

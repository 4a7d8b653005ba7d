"""Issue 9 · retention: requests closed more than RETENTION_MONTHS ago lose the citizen's name,
phone and e-mail (and their outbox recipients); every statistic stays the same; open and
recent requests are untouched; a second run changes nothing."""
from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select

from portal.domain.lifecycle import Status
from portal.extensions import db
from portal.jobs import JOBS, run_job
from portal.models import Callback, OutboxMessage, Ticket, TicketEvent, TicketText
from portal.services.search import ticket_match_ids
from portal.services.retention import months_before

PERSON = {"citizen_name": "欧阳秀英", "citizen_phone": "13987654321", "citizen_email": "ouyang@example.com"}


def statistics() -> dict:
    """What the rates, rankings and reports are computed from (all SQL)."""
    q = db.session.execute
    return {
        "by_status_unit_category": sorted(q(select(Ticket.status, Ticket.handling_unit_id, Ticket.category_id,
                                                  Ticket.kind, func.count()).group_by(
            Ticket.status, Ticket.handling_unit_id, Ticket.category_id, Ticket.kind)).all()),
        "times": sorted(q(select(Ticket.id, Ticket.created_at, Ticket.dispatched_at, Ticket.signed_at,
                                 Ticket.fed_back_at, Ticket.closed_at, Ticket.rating_resolved,
                                 Ticket.rating_satisfied, Ticket.return_count, Ticket.district_id,
                                 Ticket.street_id)).all()),
        "callbacks": sorted(q(select(Callback.ticket_id, Callback.unit_id, Callback.contacted, Callback.resolved,
                                     Callback.satisfied, Callback.at)).all()),
        "events": q(select(func.count()).select_from(TicketEvent)).scalar(),
        "outbox": q(select(func.count()).select_from(OutboxMessage)).scalar(),
    }


def reload(t: Ticket) -> Ticket:
    db.session.expire_all()
    return db.session.get(Ticket, t.id)


def test_old_closed_requests_are_anonymised_and_statistics_kept(app, make_ticket, now):
    old = now - timedelta(days=2 * 365 + 40)
    old_closed = make_ticket(Status.CLOSED, start=old, **PERSON)
    old_answered = make_ticket(Status.ANSWERED, start=old, **PERSON)
    old_open = make_ticket(Status.HANDLING, start=old, **PERSON)           # still open: kept
    recent = make_ticket(Status.CLOSED, start=now - timedelta(days=300), **PERSON)
    db.session.add(OutboxMessage(topic="feedback", channel="sms", recipient=PERSON["citizen_phone"],
                                 ticket_id=old_closed.id, payload={}, status="sent", attempts=1,
                                 next_attempt_at=old, created_at=old))
    db.session.commit()
    before = statistics()
    version = old_closed.version

    assert run_job(app, "anonymise_closed", now) == 2

    for t in (old_closed, old_answered):
        t = reload(t)
        assert (t.citizen_name, t.citizen_phone, t.citizen_email) == ("", "", "")
        assert t.tracking_no and t.content                        # the request itself stays
    assert reload(old_closed).version == version + 1              # a stale form now conflicts
    for t in (old_open, recent):
        assert reload(t).citizen_phone == PERSON["citizen_phone"] and reload(t).citizen_name == PERSON["citizen_name"]
    recipients = db.session.scalars(select(OutboxMessage.recipient).where(OutboxMessage.ticket_id == old_closed.id))
    assert set(recipients) == {""}
    assert db.session.scalar(select(func.count()).select_from(OutboxMessage)
                             .where(OutboxMessage.ticket_id == recent.id, OutboxMessage.recipient != "")) > 0
    assert statistics() == before
    assert run_job(app, "anonymise_closed", now) == 0              # idempotent


def test_a_published_text_naming_the_citizen_stays_masked_once_the_name_is_erased(app, make_ticket, now):
    """The public cases mask the name they are given; retention erases it, so it masks it in the
    stored texts first. Phones and e-mail addresses are redacted by their shape on every view."""
    old = now - timedelta(days=2 * 365 + 40)
    content = "我是欧阳秀英，楼下路灯坏了。电话 139 8765 4321，邮箱 ouyang@example.com"
    case = make_ticket(Status.CLOSED, start=old, content=content, consent_publish=True, **PERSON)
    db.session.execute(Ticket.__table__.update().where(Ticket.id == case.id)
                       .values(reply="欧阳秀英女士您好，路灯已修复。", answer="已转欧阳秀英反映的问题。"))
    untouched = make_ticket(Status.CLOSED, start=old, content="小区门口的路灯一直不亮。", consent_publish=True, **PERSON)
    db.session.commit()
    client = app.test_client()
    app.config["PUBLIC_CASES_SECONDS"] = 0      # the same page before and after: not kept between

    def public_page() -> str:
        return client.get("/board/cases", headers={"Accept-Language": "zh"}).get_data(as_text=True)

    before = public_page()
    assert "欧***" in before and "欧阳秀英" not in before and "ouyang@" not in before and "4321" not in before

    assert run_job(app, "anonymise_closed", now) == 2
    t = reload(case)
    assert t.citizen_name == "" and "欧阳秀英" not in t.content + t.reply + t.answer
    assert t.content.startswith("我是欧***，") and t.reply.startswith("欧***女士") and "欧***反映" in t.answer
    assert reload(untouched).content == "小区门口的路灯一直不亮。"
    after = public_page()
    assert "欧阳秀英" not in after and "欧***" in after and "ouyang@" not in after and "4321" not in after


def test_every_free_text_and_the_search_words_lose_the_citizen(app, make_ticket, now):
    """Not only the public view: the stored texts, the notes of the trail and callbacks and the
    search words no longer hold the citizen's phone, e-mail or id number, and the name is masked;
    a staff search by the old phone number finds nothing. Dates and amounts in a text stay."""
    old = now - timedelta(days=2 * 365 + 40)
    case = make_ticket(Status.CLOSED, start=old, title="欧阳秀英反映路灯", content=(
        "我是欧阳秀英，身份证11010519800101123X，电话 139-8765-4321 或 010-62345678，"
        "2024-05-01 起罚款 5000000 元"), **PERSON)
    other = make_ticket(Status.CLOSED, start=old, content="路灯 13987654321 不亮", **PERSON)
    recent = make_ticket(Status.CLOSED, start=now - timedelta(days=30), content="请回电 13987654321", **PERSON)
    db.session.execute(Ticket.__table__.update().where(Ticket.id == case.id).values(
        report="已电话 13987654321 联系欧阳秀英", close_reason="市民 ouyang@example.com 撤诉",
        rating_comment="欧阳秀英：满意，我的电话 139 8765 4321"))
    event = db.session.scalars(select(TicketEvent).where(TicketEvent.ticket_id == case.id)).first()
    event.note = "与欧阳秀英（13987654321）核实"
    db.session.add(Callback(ticket_id=case.id, contacted=True, resolved=True, satisfied=True, at=old,
                            note="回访 139 8765 4321 欧阳秀英满意"))
    db.session.commit()

    def found(words: str) -> set[int]:
        return set(db.session.scalars(select(Ticket.id).where(Ticket.id.in_(ticket_match_ids(words)))))

    assert found("13987654321") == {other.id, recent.id} and found("62345678") == {case.id}
    assert run_job(app, "anonymise_closed", now) == 2

    t = reload(case)
    stored = " ".join([t.title, t.content, t.report, t.close_reason, t.rating_comment,
                       *db.session.scalars(select(TicketEvent.note).where(TicketEvent.ticket_id == case.id)),
                       *db.session.scalars(select(Callback.note).where(Callback.ticket_id == case.id)),
                       db.session.get(TicketText, case.id).tokens])
    for gone in ("欧阳秀英", "13987654321", "8765", "62345678", "11010519800101123X", "ouyang"):
        assert gone not in stored, gone
    assert t.title == "欧***反映路灯" and "2024-05-01 起罚款 5000000 元" in t.content
    assert t.content.startswith("我是欧***，身份证***，电话 *** 或 ***")
    assert found("13987654321") == {recent.id} and not found("62345678")   # the recent one keeps its text
    assert reload(recent).content == "请回电 13987654321"
    assert found("路灯") >= {case.id, other.id}                  # the rest of the words still searchable


class TestConfiguredPeriod:
    @pytest.fixture
    def app_config(self):
        return {"RETENTION_MONTHS": 6}

    def test_the_period_is_configurable_and_batches_add_up(self, app, make_ticket, now):
        from portal.services.retention import anonymise_closed
        tickets = [make_ticket(Status.ANSWERED, start=now - timedelta(days=200), **PERSON) for _ in range(5)]
        kept = make_ticket(Status.ANSWERED, start=now - timedelta(days=150), **PERSON)
        assert anonymise_closed(now, batch=2) == 5                     # three batches: 2 + 2 + 1
        db.session.commit()
        assert all(reload(t).citizen_phone == "" for t in tickets)
        assert reload(kept).citizen_phone == PERSON["citizen_phone"]


def test_the_job_is_registered_daily():
    fn, trigger = JOBS["anonymise_closed"]
    assert trigger["trigger"] == "cron" and fn.__doc__


@pytest.mark.parametrize("now, months, expected", [
    (datetime(2026, 3, 31, 5), 1, datetime(2026, 2, 28, 5)),
    (datetime(2026, 11, 16, 2), 24, datetime(2024, 11, 16, 2)),
    (datetime(2026, 1, 15), 13, datetime(2024, 12, 15)),
    (datetime(2028, 3, 30), 1, datetime(2028, 2, 29)),
])
def test_months_before(now, months, expected):
    assert months_before(now, months) == expected

"""The outbox (issue 8), on SQLite and PostgreSQL: messages written with the event, a failing
backend loses nothing and is retried with backoff, delivery after recovery is exactly once,
dead letters and their retry, two runs that overlap never send a row twice, deadline warnings
are idempotent, and the real backends (SMTP against a local aiosmtpd server, the SMS gateway
adapter against a local HTTP server)."""
from __future__ import annotations

import json
import logging
import socket
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from portal.domain.access import Actor, Role
from portal.domain.lifecycle import Action, Status
from portal.extensions import db
from portal.models import OutboxMessage, UnitContact
from portal.services import notify
from portal.services.tickets import perform

STREET = "110105001"


def pending(**where) -> list[OutboxMessage]:
    db.session.expire_all()
    stmt = select(OutboxMessage).order_by(OutboxMessage.id)
    for k, v in where.items():
        stmt = stmt.where(getattr(OutboxMessage, k) == v)
    return list(db.session.scalars(stmt))


class Recorder:
    """A backend that records each send, and fails while ``down`` is set."""

    def __init__(self, down: bool = False):
        self.down, self.sent, self.calls = down, [], 0

    def __call__(self, msg, text):
        self.calls += 1
        if self.down:
            raise ConnectionError("gateway unreachable")
        self.sent.append((msg.id, msg.channel, text))


@pytest.fixture
def contacts(app, units, now):
    unit = units[STREET]
    db.session.add_all([UnitContact(unit_id=unit.id, channel="email", address="duty@jianwai.example.org",
                                    active=True, created_at=now),
                        UnitContact(unit_id=unit.id, channel="sms", address="+8613700001111", active=True,
                                    created_at=now)])
    db.session.commit()


def test_every_step_writes_its_messages_in_the_same_transaction(make_ticket, users, units, contacts, now):
    t = make_ticket(Status.SUBMITTED, citizen_email="a@example.com", commit=False)
    perform(t, Action.ACCEPT, users.actor("operator"), now)
    perform(t, Action.DISPATCH, users.actor("dispatcher"), now, unit=units[STREET])
    db.session.rollback()                       # the events are gone: so are their messages
    assert pending() == []
    t = make_ticket(Status.CLOSED, citizen_email="a@example.com")
    rows = [(m.audience, m.topic, m.channel) for m in pending(ticket_id=t.id)]
    assert [r for r in rows if r[2] == "sms" and r[0] == "citizen"] == [
        ("citizen", "receipt", "sms"), ("citizen", "dispatched", "sms"), ("citizen", "feedback", "sms"),
        ("citizen", "rate_prompt", "sms")]
    assert ("citizen", "feedback", "email") in rows
    feedback = next(m for m in pending(ticket_id=t.id, topic="feedback"))
    assert "已修复路灯" in notify.render(feedback)          # the reply itself
    h = make_ticket(Status.HANDLING)
    perform(h, Action.SUPERVISE, users.actor("dispatcher"), now, level=2)
    db.session.commit()
    unit_rows = [(m.topic, m.channel, m.unit_id) for m in pending(ticket_id=h.id, audience="unit")]
    assert unit_rows == [("new_in_queue", "email", units[STREET].id), ("new_in_queue", "sms", units[STREET].id),
                         ("supervised", "email", units[STREET].id), ("supervised", "sms", units[STREET].id)]
    supervised = pending(ticket_id=h.id, topic="supervised")[0]
    assert "书面督办" in notify.render(supervised) and "建外街道" in notify.render(supervised)


def test_a_citizen_who_rated_online_is_not_asked_again(make_ticket, users, now):
    t = make_ticket(Status.FED_BACK)
    perform(t, Action.RATE, Actor(Role.CITIZEN), now, requester=True, resolved=True, satisfied=True)
    perform(t, Action.CALLBACK, users.actor("operator"), now, contacted=True, resolved=True, satisfied=True)
    perform(t, Action.CLOSE, users.actor("operator"), now)
    db.session.commit()
    assert pending(ticket_id=t.id, topic="rate_prompt") == []


def test_templates_in_chinese_and_english(make_ticket, now):
    t = make_ticket(Status.SUBMITTED, locale="en")
    msg = pending(ticket_id=t.id)[0]
    assert msg.locale == "en" and notify.render(msg).startswith("[12345] We have received")
    for topic, texts in notify.TEMPLATES.items():
        assert set(texts) == {"zh", "en"}, topic
        for locale in ("zh", "en"):
            fake = OutboxMessage(topic=topic, locale=locale, channel="sms", recipient="x",
                                 payload={"tracking_no": "T", "unit": "U", "reply": "R", "due": "D", "level": 1})
            assert "T" in notify.render(fake)


def test_failing_backend_loses_nothing_retries_with_backoff_then_delivers_once(make_ticket, now):
    t = make_ticket(Status.SUBMITTED, citizen_email="a@example.com")
    ids = [m.id for m in pending(ticket_id=t.id)]
    assert len(ids) == 2
    gateway = Recorder(down=True)
    clock = now
    waits = []
    for attempt in range(1, 4):
        assert notify.deliver(clock, gateway) == 0
        rows = pending(ticket_id=t.id)
        assert [m.status for m in rows] == ["pending", "pending"] and all(m.attempts == attempt for m in rows)
        assert all("gateway unreachable" in m.last_error for m in rows)
        waits.append(rows[0].next_attempt_at - clock)
        assert notify.deliver(clock, gateway) == 0          # not due yet: not even tried
        assert gateway.calls == 2 * attempt
        clock = rows[0].next_attempt_at
    assert waits == [timedelta(minutes=1), timedelta(minutes=2), timedelta(minutes=4)]
    gateway.down = False
    assert notify.deliver(clock, gateway) == 2
    assert notify.deliver(clock + timedelta(hours=1), gateway) == 0     # the job runs again: nothing more
    assert sorted(m_id for m_id, _, _ in gateway.sent) == ids
    rows = pending(ticket_id=t.id)
    assert [m.status for m in rows] == ["sent", "sent"] and all(m.sent_at == clock for m in rows)


def test_dead_letters_and_the_admins_retry(make_ticket, now):
    t = make_ticket(Status.SUBMITTED)
    gateway = Recorder(down=True)
    clock = now
    for _ in range(notify.MAX_ATTEMPTS):
        notify.deliver(clock, gateway)
        clock += notify.BACKOFF_CAP
    (msg,) = pending(ticket_id=t.id)
    assert msg.status == "dead" and msg.attempts == notify.MAX_ATTEMPTS and msg.dead_at is not None
    assert [m.id for m in notify.dead_letters()] == [msg.id]
    assert notify.deliver(clock + timedelta(days=1), gateway) == 0 and gateway.calls == notify.MAX_ATTEMPTS
    gateway.down = False
    assert notify.retry_dead(clock, [msg.id]) == 1
    db.session.commit()
    assert notify.deliver(clock, gateway) == 1
    assert pending(ticket_id=t.id)[0].status == "sent" and len(gateway.sent) == 1


def test_two_runs_that_overlap_never_send_a_row_twice(app, make_ticket, now):
    """Run A claims and starts sending; in the middle of its first send, run B (another thread,
    its own app context, session and connection) runs completely. B must take nothing A holds."""
    for _ in range(3):
        make_ticket(Status.SUBMITTED, citizen_email="a@example.com")
    total = len(pending())
    sends: list[tuple[str, int]] = []
    b_result = {}

    def run_b():
        with app.app_context():
            b_result["sent"] = notify.deliver(now, lambda msg, text: sends.append(("B", msg.id)), worker="B")
            db.session.remove()

    def backend_a(msg, text):
        if not b_result:                 # first send of A: let B run to the end meanwhile
            thread = threading.Thread(target=run_b)
            thread.start()
            thread.join()
        sends.append(("A", msg.id))

    a_sent = notify.deliver(now, backend_a, worker="A")
    assert b_result["sent"] == 0 and a_sent == total
    ids = [m_id for _, m_id in sends]
    assert len(ids) == len(set(ids)) == total
    assert all(m.status == "sent" for m in pending())


def test_a_run_that_died_leaves_its_rows_to_the_next_after_the_lease(make_ticket, now):
    make_ticket(Status.SUBMITTED)
    claimed = notify.claim(now, "crashed-run")
    assert len(claimed) == 1
    gateway = Recorder()
    assert notify.deliver(now + timedelta(minutes=1), gateway) == 0            # still leased
    assert notify.deliver(now + notify.LEASE + timedelta(seconds=1), gateway) == 1
    assert len(gateway.sent) == 1


@pytest.mark.parametrize("backend", ["postgresql"], indirect=False)
def test_claim_skips_rows_locked_by_a_concurrent_claim_on_postgresql(backend, make_ticket, now):
    """FOR UPDATE SKIP LOCKED: while another transaction holds some rows (a claim in progress),
    a claim takes the others at once instead of waiting or taking them twice."""
    assert db.engine.dialect.name == "postgresql"     # skipped without PORTAL_TEST_DATABASE_URL
    for _ in range(2):
        make_ticket(Status.SUBMITTED, citizen_email="a@example.com")
    ids = [m.id for m in pending()]
    with Session(bind=db.engine) as other:
        other.execute(text("SET lock_timeout = '10s'"))
        locked = [r[0] for r in other.execute(text(
            "SELECT id FROM outbox WHERE id = ANY(:ids) ORDER BY id FOR UPDATE"), {"ids": ids[:2]})]
        db.session.execute(text("SET lock_timeout = '10s'"))
        got = notify.claim(now, "B")
        other.rollback()
    assert set(got) == set(ids) - set(locked) and not set(got) & set(locked)


def test_warn_deadlines_is_idempotent_per_deadline(make_ticket, users, contacts, now):
    t = make_ticket(Status.HANDLING)
    due = t.feedback_due_at
    assert notify.warn_deadlines(due - timedelta(days=3)) == 0           # not due soon yet
    assert notify.warn_deadlines(due - timedelta(hours=2)) == 2           # due soon: both contacts
    db.session.commit()
    assert notify.warn_deadlines(due - timedelta(hours=1)) == 0           # runs again: nothing new
    assert notify.warn_deadlines(due + timedelta(minutes=5)) == 2         # overdue: once
    db.session.commit()
    assert notify.warn_deadlines(due + timedelta(hours=5)) == 0
    topics = sorted((m.topic, m.channel) for m in pending(ticket_id=t.id, audience="unit")
                    if m.topic in ("due_soon", "overdue"))
    assert topics == [("due_soon", "email"), ("due_soon", "sms"), ("overdue", "email"), ("overdue", "sms")]
    # an extension is a new deadline: it warns again, once
    handler = users.actor("jianwai")
    at = due + timedelta(hours=6)
    perform(t, Action.REQUEST_EXTENSION, handler, at, due=due + timedelta(days=5), reason="需要协调")
    perform(t, Action.APPROVE_EXTENSION, users.actor("dispatcher"), at)
    db.session.commit()
    new_due = t.feedback_due_at
    assert notify.warn_deadlines(new_due - timedelta(hours=1)) == 2
    db.session.commit()
    assert notify.warn_deadlines(new_due - timedelta(minutes=30)) == 0
    # closed or fed-back requests are not warned
    other = make_ticket(Status.FED_BACK)
    notify.warn_deadlines(other.feedback_due_at + timedelta(days=1))
    assert pending(ticket_id=other.id, audience="unit", topic="overdue") == []


def test_the_sla_scan_warns(app, make_ticket, contacts):
    from portal.jobs import run_job
    t = make_ticket(Status.HANDLING)
    assert run_job(app, "supervise_overdue", t.feedback_due_at + timedelta(minutes=1))["warned"] == 2
    assert run_job(app, "supervise_overdue", t.feedback_due_at + timedelta(minutes=2))["warned"] == 0


def test_console_backend_masks_the_recipient(make_ticket, now, caplog, monkeypatch):
    # alembic's fileConfig (run by the migrations) disables loggers that existed before it
    monkeypatch.setattr(logging.getLogger("portal.notify"), "disabled", False)
    make_ticket(Status.SUBMITTED, citizen_phone="13812345678", citizen_email="zhang.san@example.com")
    with caplog.at_level(logging.INFO, logger="portal.notify"):
        assert notify.deliver(now) == 2
    log = caplog.text
    assert "138****5678" in log and "***@example.com" in log
    assert "13812345678" not in log and "zhang.san" not in log


# --- the real backends ---------------------------------------------------------------------------

@pytest.fixture
def smtp_server():
    from aiosmtpd.controller import Controller
    from aiosmtpd.handlers import Message

    class Inbox(Message):
        def __init__(self):
            super().__init__()
            self.mails = []

        def handle_message(self, message):
            self.mails.append(message)

    inbox = Inbox()
    with socket.socket() as probe:                 # a free port (the controller checks it can connect)
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield controller, inbox
    controller.stop()


def test_smtp_backend_against_a_real_server(make_ticket, now, smtp_server):
    controller, inbox = smtp_server
    port = controller.port
    t = make_ticket(Status.SUBMITTED, citizen_email="zhang@example.com", citizen_phone="")
    backend = notify.SmtpBackend("127.0.0.1", port, "noreply@12345.example")
    assert notify.deliver(now, {"email": backend}) == 1
    assert len(inbox.mails) == 1
    mail = inbox.mails[0]
    assert mail["To"] == "zhang@example.com"
    from email.header import decode_header, make_header
    assert str(make_header(decode_header(mail["Subject"]))) == "12345 · 诉求已受理"
    body = mail.get_payload(decode=True).decode("utf-8")
    assert t.tracking_no in body and t.query_code in body


def test_smtp_backend_down_then_up_delivers_exactly_once(make_ticket, now, smtp_server):
    controller, inbox = smtp_server
    port = controller.port
    make_ticket(Status.SUBMITTED, citizen_email="li@example.com", citizen_phone="")
    dead_port = notify.SmtpBackend("127.0.0.1", 1, timeout=5)            # nothing listens on port 1
    assert notify.deliver(now, {"email": dead_port}) == 0
    (msg,) = pending()
    assert msg.status == "pending" and msg.attempts == 1 and "smtp" in msg.last_error
    later = msg.next_attempt_at
    up = notify.SmtpBackend("127.0.0.1", port)
    assert notify.deliver(later, {"email": up}) == 1
    assert notify.deliver(later + timedelta(hours=1), {"email": up}) == 0
    assert len(inbox.mails) == 1


class Gateway(BaseHTTPRequestHandler):
    """A local SMS gateway: answers 503 while ``down``, else 200; records every POST."""
    down = True
    received: list = []

    def do_POST(self):
        length = int(self.headers["Content-Length"])
        payload = json.loads(self.rfile.read(length))
        type(self).received.append((dict(self.headers), payload))
        self.send_response(503 if type(self).down else 200)
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args):      # keep phone numbers out of the test log
        pass


@pytest.fixture
def sms_gateway():
    handler = type("G", (Gateway,), {"down": True, "received": []})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/send", handler
    server.shutdown()
    server.server_close()


def test_sms_gateway_down_then_up_delivers_exactly_once(make_ticket, now, sms_gateway):
    url, handler = sms_gateway
    t = make_ticket(Status.SUBMITTED, citizen_phone="13812345678")
    backend = notify.HttpSmsBackend(url, token="secret-token")
    assert notify.deliver(now, {"sms": backend}) == 0
    (msg,) = pending()
    assert msg.status == "pending" and "HTTP 503" in msg.last_error
    handler.down = False
    assert notify.deliver(msg.next_attempt_at, {"sms": backend}) == 1
    assert notify.deliver(msg.next_attempt_at + timedelta(hours=1), {"sms": backend}) == 0
    assert len(handler.received) == 2          # one refused, one accepted
    headers, payload = handler.received[-1]
    assert payload["to"] == "13812345678" and t.tracking_no in payload["text"]
    assert headers["Idempotency-Key"] == f"outbox-{msg.id}" and headers["Authorization"] == "Bearer secret-token"


def test_backends_from_config(app):
    backends = notify.backends_from_config({"NOTIFY_EMAIL_BACKEND": "smtp", "NOTIFY_SMTP_HOST": "mail.example",
                                            "NOTIFY_SMS_BACKEND": "http", "NOTIFY_SMS_URL": "http://gw/send"})
    assert isinstance(backends["email"], notify.SmtpBackend) and backends["email"].host == "mail.example"
    assert isinstance(backends["sms"], notify.HttpSmsBackend)
    assert notify.backends_from_config({}) == {"email": notify.console_backend, "sms": notify.console_backend}

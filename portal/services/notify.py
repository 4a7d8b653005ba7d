"""Notifications through a transactional outbox.

Writing: ``on_event`` runs inside ``perform`` (and ``create_ticket``), so a message row is
written in the same transaction as the event that causes it; ``warn_deadlines`` (a job)
writes "due soon" and "overdue" warnings, at most one of each per deadline and contact
(``dedupe_key`` is unique).

Delivering: ``deliver`` (a job) claims due rows with a lease — one UPDATE that only takes
rows nobody holds (``FOR UPDATE SKIP LOCKED`` on PostgreSQL; SQLite serialises writers) —
commits the claim, sends each row through the backend for its channel and commits each
result. A failed send is retried with exponential backoff; after ``MAX_ATTEMPTS`` the row is
``dead`` until an admin retries it. Two runs at once never take the same row; a run that
dies mid-send leaves its rows to be taken again when the lease ends (at-least-once: a row
is sent twice only if a process dies between a send and its commit).

Recipients (phones, addresses) are never logged: the console backend masks them.
"""
from __future__ import annotations

import json
import logging
import smtplib
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from email.message import EmailMessage

from flask import current_app, has_app_context
from sqlalchemy import and_, func, or_, select, update

from ..domain.deadlines import to_local
from ..domain.lifecycle import WITH_UNIT, Action
from ..domain.privacy import mask_phone
from ..extensions import db
from ..models import OutboxMessage, Ticket, UnitContact

log = logging.getLogger("portal.notify")
A = Action
MAX_ATTEMPTS = 6
BACKOFF_BASE = timedelta(minutes=1)          # 1, 2, 4, 8, 16 minutes …
BACKOFF_CAP = timedelta(hours=2)
LEASE = timedelta(minutes=5)                 # longer than any one send may take (backends time out at 30 s)
DUE_SOON = timedelta(hours=24)
SEND_TIMEOUT = 30

#: topic → {locale: text}; fields: tracking_no, query_code, unit, reply, due
TEMPLATES: dict[str, dict[str, str]] = {
    # to the citizen
    "receipt": {
        "zh": "【12345】您的诉求已收到，受理编号 {tracking_no}，查询码 {query_code}。可在网站凭编号和查询码查询办理进度。",
        "en": "[12345] We have received your request. Tracking number {tracking_no}, query code {query_code}.",
    },
    "dispatched": {
        "zh": "【12345】您的诉求 {tracking_no} 已转交 {unit} 办理。",
        "en": "[12345] Your request {tracking_no} has been passed to {unit}.",
    },
    "feedback": {
        "zh": "【12345】您的诉求 {tracking_no} 已有办理结果：{reply}",
        "en": "[12345] Your request {tracking_no} has a reply: {reply}",
    },
    "rate_prompt": {
        "zh": "【12345】您的诉求 {tracking_no} 已办结。请在网站凭受理编号和查询码对办理结果进行评价，您的评价将计入承办单位考核。",
        "en": "[12345] Your request {tracking_no} is closed. Please rate the handling on the website with your "
              "tracking number and query code; your rating counts in the unit's assessment.",
    },
    # to the handling unit's contacts
    "new_in_queue": {
        "zh": "【12345】{unit}：新诉求 {tracking_no} 已派至本单位，请及时签收。签收时限 {sign_due}，办理时限 {due}。",
        "en": "[12345] {unit}: new request {tracking_no} is in your queue; please sign for it by {sign_due}. "
              "Feedback due {due}.",
    },
    "due_soon": {
        "zh": "【12345】{unit}：诉求 {tracking_no} 将于 {due} 到期，请抓紧办理并反馈。",
        "en": "[12345] {unit}: request {tracking_no} is due at {due}; please finish and feed back.",
    },
    "overdue": {
        "zh": "【12345】{unit}：诉求 {tracking_no} 已于 {due} 超期，请立即办理并反馈。",
        "en": "[12345] {unit}: request {tracking_no} was due at {due} and is overdue; please act now.",
    },
    "supervised": {
        "zh": "【12345】{unit}：诉求 {tracking_no} 已被督办（{level}），请优先办理。",
        "en": "[12345] {unit}: request {tracking_no} is now under supervision ({level}); please give it priority.",
    },
}
SUBJECTS = {
    "receipt": {"zh": "诉求已受理", "en": "Request received"},
    "dispatched": {"zh": "诉求已转交承办单位", "en": "Request passed to a unit"},
    "feedback": {"zh": "诉求办理结果", "en": "Reply to your request"},
    "rate_prompt": {"zh": "请评价办理结果", "en": "Please rate the handling"},
    "new_in_queue": {"zh": "新派诉求待签收", "en": "New request in your queue"},
    "due_soon": {"zh": "诉求即将到期", "en": "Request due soon"},
    "overdue": {"zh": "诉求已超期", "en": "Request overdue"},
    "supervised": {"zh": "诉求被督办", "en": "Request under supervision"},
}
LEVELS = {1: {"zh": "电话督办", "en": "by phone"}, 2: {"zh": "书面督办", "en": "in writing"},
          3: {"zh": "会议督办", "en": "in a meeting"}, 4: {"zh": "领导批示督办", "en": "by a leader's instruction"}}
CITIZEN_TOPIC = {
    A.SUBMIT: "receipt",
    A.DISPATCH: "dispatched",
    A.REDISPATCH: "dispatched",
    A.FEEDBACK: "feedback",
    A.APPROVE_FEEDBACK: "feedback",
    A.ANSWER: "feedback",
    A.CLOSE: "rate_prompt",
}
UNIT_TOPIC = {
    A.DISPATCH: "new_in_queue",
    A.REDISPATCH: "new_in_queue",
    A.SUPERVISE: "supervised",
}


def _when(dt: datetime | None) -> str:
    local = to_local(dt)
    return local.strftime("%Y-%m-%d %H:%M") if local else ""


def _payload(ticket: Ticket) -> dict:
    return {"tracking_no": ticket.tracking_no,
            "unit": ticket.handling_unit.name if ticket.handling_unit is not None else "",
            "reply": (ticket.reply or ticket.answer or "")[:300],
            "due": _when(ticket.feedback_due_at), "sign_due": _when(ticket.sign_due_at),
            "level": ticket.supervision_level}


def _message(now: datetime, *, topic: str, channel: str, recipient: str, ticket: Ticket, payload: dict,
             locale: str = "zh", audience: str = "citizen", unit_id: int | None = None,
             dedupe_key: str | None = None) -> OutboxMessage:
    msg = OutboxMessage(topic=topic, channel=channel, recipient=recipient, locale=locale, ticket_id=ticket.id,
                        payload=payload, status="pending", attempts=0, next_attempt_at=now, created_at=now,
                        last_error="", audience=audience, unit_id=unit_id, dedupe_key=dedupe_key)
    db.session.add(msg)
    return msg


def unit_contacts(unit_id: int | None) -> list[UnitContact]:
    if unit_id is None:
        return []
    return list(db.session.scalars(select(UnitContact).where(UnitContact.unit_id == unit_id, UnitContact.active)
                                   .order_by(UnitContact.id)))


def on_event(ticket: Ticket, action: Action, now: datetime) -> list[OutboxMessage]:
    """The messages an action causes, added to the session (same transaction as the event)."""
    messages: list[OutboxMessage] = []
    payload = _payload(ticket)
    topic = CITIZEN_TOPIC.get(action)
    if topic == "rate_prompt" and ticket.rated_at is not None:
        topic = None                       # already rated online: no need to ask
    if topic is not None:
        citizen_payload = dict(payload)
        if topic == "receipt":
            citizen_payload["query_code"] = ticket.query_code
        for channel, recipient in (("sms", ticket.citizen_phone), ("email", ticket.citizen_email)):
            if recipient:
                messages.append(_message(now, topic=topic, channel=channel, recipient=recipient, ticket=ticket,
                                         payload=citizen_payload, locale=ticket.locale or "zh"))
    topic = UNIT_TOPIC.get(action)
    if topic is not None:
        for contact in unit_contacts(ticket.handling_unit_id):
            messages.append(_message(now, topic=topic, channel=contact.channel, recipient=contact.address,
                                     ticket=ticket, payload=payload, audience="unit", unit_id=contact.unit_id))
    return messages


def warn_deadlines(now: datetime) -> int:
    """"Due soon" (within ``DUE_SOON``) and "overdue" messages to the handling unit's contacts.

    Idempotent: each ticket gets at most one of each per feedback deadline and contact (an
    extension is a new deadline and warns again). Returns how many messages it wrote.
    """
    written = 0
    for topic, window in (("overdue", Ticket.feedback_due_at < now),
                          ("due_soon", and_(Ticket.feedback_due_at >= now, Ticket.feedback_due_at < now + DUE_SOON))):
        rows = db.session.execute(
            select(Ticket, UnitContact)
            .join(UnitContact, and_(UnitContact.unit_id == Ticket.handling_unit_id, UnitContact.active))
            .where(Ticket.status.in_(list(WITH_UNIT)), window)
            .order_by(Ticket.id, UnitContact.id)).all()
        if not rows:
            continue
        keys = {f"{topic}:{t.id}:{t.feedback_due_at:%Y%m%d%H%M}:{c.id}": (t, c) for t, c in rows}
        taken = set(db.session.scalars(select(OutboxMessage.dedupe_key)
                                       .where(OutboxMessage.dedupe_key.in_(list(keys)))))
        for key, (ticket, contact) in keys.items():
            if key in taken:
                continue
            _message(now, topic=topic, channel=contact.channel, recipient=contact.address, ticket=ticket,
                     payload=_payload(ticket), audience="unit", unit_id=contact.unit_id, dedupe_key=key)
            written += 1
    db.session.flush()
    return written


# --- rendering --------------------------------------------------------------------------

def render(msg: OutboxMessage) -> str:
    templates = TEMPLATES[msg.topic]
    locale = msg.locale if msg.locale in templates else "zh"
    fields = dict(msg.payload)
    level = LEVELS.get(fields.get("level") or 1, LEVELS[1])
    fields["level"] = level[locale]
    fields.setdefault("query_code", "")
    fields.setdefault("sign_due", "")
    fields.setdefault("due", "")
    return templates[locale].format(**fields)


def subject(msg: OutboxMessage) -> str:
    subjects = SUBJECTS.get(msg.topic, {"zh": "12345", "en": "12345"})
    return "12345 · " + subjects.get(msg.locale, subjects["zh"])


def masked(msg: OutboxMessage) -> str:
    if msg.channel == "sms":
        return mask_phone(msg.recipient)
    return "***@" + msg.recipient.rsplit("@", 1)[-1]


# --- backends ---------------------------------------------------------------------------

class DeliveryError(Exception):
    """The backend could not hand the message over; it will be retried."""


Backend = Callable[[OutboxMessage, str], None]


def console_backend(msg: OutboxMessage, text: str) -> None:
    """Default backend: a log line, with the recipient masked (never a full phone in a log)."""
    log.info("notify #%s %s via %s to %s: %s", msg.id, msg.topic, msg.channel, masked(msg), text)


class SmtpBackend:
    """E-mail through an SMTP server (smtplib): ``NOTIFY_SMTP_HOST``/``PORT``/``FROM``, optional
    ``NOTIFY_SMTP_STARTTLS``, ``NOTIFY_SMTP_USER``/``PASSWORD``."""

    def __init__(self, host: str, port: int = 25, sender: str = "noreply@12345.example", starttls: bool = False,
                 user: str = "", password: str = "", timeout: float = SEND_TIMEOUT):
        self.host, self.port, self.sender = host, int(port), sender
        self.starttls, self.user, self.password, self.timeout = starttls, user, password, timeout

    def __call__(self, msg: OutboxMessage, text: str) -> None:
        mail = EmailMessage()
        mail["From"] = self.sender
        mail["To"] = msg.recipient
        mail["Subject"] = subject(msg)
        mail["Message-ID"] = f"<outbox-{msg.id}@{self.sender.rsplit('@', 1)[-1]}>"
        mail.set_content(text)
        try:
            with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
                if self.starttls:
                    smtp.starttls()
                if self.user:
                    smtp.login(self.user, self.password)
                smtp.send_message(mail)
        except (OSError, smtplib.SMTPException) as exc:
            raise DeliveryError(f"smtp: {type(exc).__name__}") from exc


class HttpSmsBackend:
    """An SMS gateway adapter: a JSON POST ``{"to", "text", "id"}`` to ``NOTIFY_SMS_URL`` with an
    ``Idempotency-Key`` header (so a gateway can drop a repeat) and an optional bearer token.
    Any answer but 2xx is a failure to retry."""

    def __init__(self, url: str, token: str = "", timeout: float = SEND_TIMEOUT):
        self.url, self.token, self.timeout = url, token, timeout

    def __call__(self, msg: OutboxMessage, text: str) -> None:
        body = json.dumps({"to": msg.recipient, "text": text, "id": f"outbox-{msg.id}"}).encode("utf-8")
        req = urllib.request.Request(self.url, data=body, method="POST", headers={
            "Content-Type": "application/json; charset=utf-8", "Idempotency-Key": f"outbox-{msg.id}"})
        if self.token:
            req.add_header("Authorization", f"Bearer {self.token}")
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                if not 200 <= resp.status < 300:
                    raise DeliveryError(f"sms gateway: HTTP {resp.status}")
        except urllib.error.HTTPError as exc:
            raise DeliveryError(f"sms gateway: HTTP {exc.code}") from exc
        except (OSError, urllib.error.URLError) as exc:
            raise DeliveryError(f"sms gateway: {type(exc).__name__}") from exc


def backends_from_config(config) -> dict[str, Backend]:
    """channel → backend, from ``NOTIFY_EMAIL_BACKEND`` (console | smtp) and ``NOTIFY_SMS_BACKEND``
    (console | http)."""
    result: dict[str, Backend] = {"email": console_backend, "sms": console_backend}
    if config.get("NOTIFY_EMAIL_BACKEND") == "smtp":
        result["email"] = SmtpBackend(config.get("NOTIFY_SMTP_HOST", "localhost"), config.get("NOTIFY_SMTP_PORT", 25),
                                      config.get("NOTIFY_SMTP_FROM", "noreply@12345.example"),
                                      bool(config.get("NOTIFY_SMTP_STARTTLS")), config.get("NOTIFY_SMTP_USER", ""),
                                      config.get("NOTIFY_SMTP_PASSWORD", ""))
    if config.get("NOTIFY_SMS_BACKEND") == "http":
        result["sms"] = HttpSmsBackend(config["NOTIFY_SMS_URL"], config.get("NOTIFY_SMS_TOKEN", ""))
    return result


# --- delivery ---------------------------------------------------------------------------

def backoff(attempts: int) -> timedelta:
    """Wait before the next try after ``attempts`` failures: 1, 2, 4 … minutes, at most two hours."""
    return min(BACKOFF_BASE * (2 ** max(0, attempts - 1)), BACKOFF_CAP)


def claim(now: datetime, worker: str, limit: int = 100) -> list[int]:
    """Take up to ``limit`` due rows for ``worker`` with a lease, and commit the claim.

    One UPDATE whose subquery skips rows another run holds: on PostgreSQL ``FOR UPDATE SKIP
    LOCKED`` (and the outer WHERE is re-checked on the locked row); on SQLite the statement
    runs under the database's single writer lock.
    """
    o = OutboxMessage
    free = and_(o.status == "pending", o.next_attempt_at <= now, or_(o.lease_until.is_(None), o.lease_until < now))
    pick = select(o.id).where(free).order_by(o.next_attempt_at, o.id).limit(limit)
    if db.engine.dialect.name == "postgresql":
        pick = pick.with_for_update(skip_locked=True)
    db.session.execute(update(o).where(o.id.in_(pick.scalar_subquery()), free)
                       .values(claimed_by=worker, lease_until=now + LEASE)
                       .execution_options(synchronize_session=False))
    db.session.commit()
    return list(db.session.scalars(select(o.id).where(o.claimed_by == worker, o.status == "pending")
                                   .order_by(o.id)))


def deliver(now: datetime, backends: dict[str, Backend] | Backend | None = None, limit: int = 500,
            worker: str | None = None) -> int:
    """Send due pending messages; returns how many were sent. Safe to run twice, or twice at once.

    Commits the claim, then each result (the one place a service commits: a send cannot be
    rolled back, so its outcome must be recorded before the next one).
    """
    if backends is None:
        backends = backends_from_config(current_app.config) if has_app_context() else {}
    if callable(backends):
        backends = {"email": backends, "sms": backends}
    worker = worker or uuid.uuid4().hex
    db.session.flush()
    db.session.commit()            # what the caller wrote is not ours to hold back
    sent = 0
    for msg_id in claim(now, worker, limit):
        msg = db.session.get(OutboxMessage, msg_id)
        if msg is None or msg.claimed_by != worker or msg.status != "pending":
            continue
        backend = backends.get(msg.channel, console_backend)
        try:
            backend(msg, render(msg))
        except Exception as exc:   # any failure of a gateway: record it, retry later
            msg.attempts += 1
            msg.last_error = (type(exc).__name__ + ": " + str(exc))[:300]
            msg.claimed_by, msg.lease_until = None, None
            if msg.attempts >= MAX_ATTEMPTS:
                msg.status, msg.dead_at = "dead", now
                log.warning("notify #%s %s dead after %s attempts: %s", msg.id, msg.topic, msg.attempts,
                            msg.last_error)
            else:
                msg.next_attempt_at = now + backoff(msg.attempts)
                log.info("notify #%s %s failed (attempt %s), next at %s", msg.id, msg.topic, msg.attempts,
                         msg.next_attempt_at)
            db.session.commit()
            continue
        msg.attempts += 1
        msg.status, msg.sent_at = "sent", now
        msg.claimed_by, msg.lease_until = None, None
        db.session.commit()
        sent += 1
    return sent


def retry_dead(now: datetime, ids: list[int] | None = None) -> int:
    """An admin's retry: dead rows (all, or these ids) go back to pending with fresh attempts."""
    o = OutboxMessage
    stmt = update(o).where(o.status == "dead")
    if ids is not None:
        stmt = stmt.where(o.id.in_(ids))
    result = db.session.execute(stmt.values(status="pending", attempts=0, next_attempt_at=now, dead_at=None,
                                            claimed_by=None, lease_until=None)
                                .execution_options(synchronize_session=False))
    db.session.flush()
    return result.rowcount


def status_counts() -> dict[str, int]:
    return {status: n for status, n in db.session.execute(
        select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status))}


def dead_letters(limit: int = 200) -> list[OutboxMessage]:
    return list(db.session.scalars(select(OutboxMessage).where(OutboxMessage.status == "dead")
                                   .order_by(OutboxMessage.dead_at.desc(), OutboxMessage.id.desc()).limit(limit)))

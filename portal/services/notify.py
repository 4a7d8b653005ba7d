"""Notifications through a transactional outbox.

``on_event`` runs inside ``perform`` (and ``create_ticket``): the message row is written in
the same transaction as the event that causes it. ``deliver`` (a job) sends pending rows
after commit through a backend; the default backend writes a log line with the
recipient masked. A failed send is retried with backoff, then parked as ``dead``.
"""
from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import select

from ..domain.lifecycle import Action
from ..domain.privacy import mask_phone
from ..extensions import db
from ..models import OutboxMessage, Ticket

log = logging.getLogger("portal.notify")
A = Action
MAX_ATTEMPTS = 6

#: topic → {locale: template}; fields: tracking_no, unit, reply, due
TEMPLATES: dict[str, dict[str, str]] = {
    "receipt": {
        "zh": "【12345】您的诉求已收到，受理编号 {tracking_no}，查询码 {query_code}。可在网站凭编号和查询码查询办理进度。",
        "en": "[12345] We have received your request. Tracking number {tracking_no}, query code {query_code}.",
    },
    "dispatched": {
        "zh": "【12345】您的诉求 {tracking_no} 已转交 {unit} 办理。",
        "en": "[12345] Your request {tracking_no} has been passed to {unit}.",
    },
    "feedback": {
        "zh": "【12345】您的诉求 {tracking_no} 已有办理结果：{reply} 欢迎在网站对办理结果进行评价。",
        "en": "[12345] Your request {tracking_no} has a reply: {reply} You can rate it on the website.",
    },
}
TOPIC_BY_ACTION = {
    A.SUBMIT: "receipt",
    A.DISPATCH: "dispatched",
    A.REDISPATCH: "dispatched",
    A.FEEDBACK: "feedback",
    A.APPROVE_FEEDBACK: "feedback",
}


def on_event(ticket: Ticket, action: Action, now: datetime) -> list[OutboxMessage]:
    topic = TOPIC_BY_ACTION.get(action)
    if topic is None:
        return []
    payload = {"tracking_no": ticket.tracking_no,
               "unit": ticket.handling_unit.name if ticket.handling_unit is not None else "",
               "reply": ticket.reply[:200]}
    if topic == "receipt":
        payload["query_code"] = ticket.query_code
    messages = []
    for channel, recipient in (("sms", ticket.citizen_phone), ("email", ticket.citizen_email)):
        if recipient:
            msg = OutboxMessage(topic=topic, channel=channel, recipient=recipient, locale=ticket.locale or "zh",
                                ticket_id=ticket.id, payload=payload, status="pending", attempts=0,
                                next_attempt_at=now, created_at=now)
            db.session.add(msg)
            messages.append(msg)
    return messages


def render(msg: OutboxMessage) -> str:
    templates = TEMPLATES[msg.topic]
    return templates.get(msg.locale, templates["zh"]).format(**msg.payload)


def console_backend(msg: OutboxMessage, text: str) -> None:
    """Default backend: a log line, with the recipient masked (never a full phone in a log)."""
    to = mask_phone(msg.recipient) if msg.channel == "sms" else "***@" + msg.recipient.rsplit("@", 1)[-1]
    log.info("notify #%s %s via %s to %s: %s", msg.id, msg.topic, msg.channel, to, text)


def deliver(now: datetime, backend=console_backend, limit: int = 500) -> int:
    """Send due pending messages; returns how many were sent. Safe to run twice."""
    stmt = (select(OutboxMessage).where(OutboxMessage.status == "pending", OutboxMessage.next_attempt_at <= now)
            .order_by(OutboxMessage.id).limit(limit))
    if db.engine.dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True)
    sent = 0
    for msg in db.session.scalars(stmt).all():
        msg.attempts += 1
        try:
            backend(msg, render(msg))
        except Exception as exc:  # a gateway error: retry later with backoff
            msg.last_error = type(exc).__name__ + ": " + str(exc)[:200]
            if msg.attempts >= MAX_ATTEMPTS:
                msg.status = "dead"
            else:
                msg.next_attempt_at = now + timedelta(minutes=2 ** msg.attempts)
            continue
        msg.status, msg.sent_at = "sent", now
        sent += 1
    db.session.flush()
    return sent

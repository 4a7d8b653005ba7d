"""Demo data for the board: requests dispatched and called back last month and this month in
a dozen streets, a few departments and an enterprise — all through ``create_ticket`` and
``perform`` — then last month frozen (and the month before, so "change against last month"
has something to show) and this month's provisional ranking computed.

Called from ``services.seed.seed_all`` when demo requests are wanted.
"""
from __future__ import annotations

import random
from datetime import datetime, timedelta

from sqlalchemy import select

from ..domain import months
from ..domain.access import Actor, Role
from ..domain.intake import Channel, RequestKind
from ..domain.lifecycle import Action
from ..extensions import db
from ..models import Category, Unit
from . import ranking
from .tickets import create_ticket, perform

A = Action
#: unit code → how well it works (share signed on time / resolved / satisfied)
DEMO_UNITS = {
    "110105001": 0.93, "110105003": 0.78, "110105004": 0.88, "110105005": 0.70, "110105006": 0.95,
    "110105007": 0.83, "110101001": 0.90, "110101002": 0.74, "110101003": 0.86, "110101004": 0.97,
    "110101005": 0.66, "110101006": 0.80,
    "D-SCJGJ": 0.85, "D-ZJW": 0.72, "D-JTW": 0.91, "E-ZLS": 0.89, "E-DL": 0.79,
}
TEXTS = {
    "SZSS-LD": "小区门口路灯连续多天不亮，夜间出行不便，请尽快维修。",
    "SRHW-LJQY": "楼下垃圾桶满了两天没有清运，气味很大，请安排清运。",
    "JSGL-YJSG": "附近工地夜间施工噪声很大，影响休息，请查处。",
    "WYGL-TCLX": "小区消防通道被车辆占用，物业不管理，存在安全隐患。",
    "SCGL-WLXF": "网购商品质量有问题，商家拒绝退货，请帮助维权。",
    "JTGL-XHD": "路口信号灯故障，早高峰拥堵严重，请尽快修复。",
}
REPLY = "经核实，已安排人员现场处理，问题已解决，感谢您的监督。"
NAMES = ["张先生", "李女士", "王先生", "刘女士"]


def seed_demo_rankings(now: datetime, rng_seed: int = 5) -> None:
    rng = random.Random(rng_seed)
    units = {u.code: u for u in db.session.scalars(select(Unit).where(Unit.code.in_(list(DEMO_UNITS))))}
    cats = {c.code: c for c in db.session.scalars(select(Category).where(Category.code.in_(list(TEXTS))))}
    if not units or not cats:
        return
    operator = Actor(Role.OPERATOR, _center_id(), 1)
    dispatcher = Actor(Role.DISPATCHER, _center_id(), 1)
    this = months.current(now)
    last = months.previous(this)
    for month, per_unit in ((last, (10, 15)), (this, (10, 14))):
        start, end = months.bounds(month)
        end = min(end, now - timedelta(minutes=5))
        for code, quality in DEMO_UNITS.items():
            unit = units.get(code)
            if unit is None or unit.requires_leader_approval:
                continue
            for _ in range(rng.randint(*per_unit)):
                _one(rng, unit, quality, cats, start, end, operator, dispatcher)
    for month in (months.previous(last), last):
        ranking.freeze(month, now)
    ranking.refresh_provisional(now)


def _center_id() -> int:
    return db.session.scalar(select(Unit.id).where(Unit.tier == 1).order_by(Unit.id).limit(1))


def _one(rng, unit: Unit, quality: float, cats, start: datetime, end: datetime, operator, dispatcher) -> None:
    span = end - start
    t = start + span * rng.uniform(0.0, 0.55)

    def later(share: float) -> datetime:
        nonlocal t
        t = min(end - timedelta(seconds=1), t + max(timedelta(seconds=30), (end - t) * share * rng.uniform(0.2, 1)))
        return t

    code = rng.choice(list(TEXTS))
    street = unit if unit.tier == 3 else None
    ticket = create_ticket(operator, t, category=cats[code], kind=RequestKind.COMPLAINT, content=TEXTS[code],
                           channel=rng.choice([Channel.PHONE, Channel.WEB]),
                           district=street.parent if street else None, street=street, address="演示地址",
                           citizen_name=rng.choice(NAMES),
                           citizen_phone=f"139{rng.randint(10_000_000, 99_999_999)}",
                           consent_publish=rng.random() < 0.7)
    perform(ticket, A.ACCEPT, operator, later(0.01))
    perform(ticket, A.DISPATCH, dispatcher, later(0.01), unit=unit)
    handler = Actor(Role.HANDLER, unit.id, unit.tier)
    window = ticket.sign_due_at - ticket.dispatched_at
    on_time = rng.random() < quality
    sign_at = ticket.dispatched_at + window * (rng.uniform(0.05, 0.9) if on_time else rng.uniform(1.2, 3.0))
    if sign_at >= end:
        return
    t = sign_at
    perform(ticket, A.SIGN, handler, sign_at)
    if rng.random() < 0.15:
        return                                # still being handled
    perform(ticket, A.FEEDBACK, handler, later(0.2), reply=REPLY, report=REPLY)
    if rng.random() < 0.1:
        return                                # waiting for the callback
    good = rng.random() < quality
    perform(ticket, A.CALLBACK, operator, later(0.2), contacted=True, resolved=good or rng.random() < 0.4,
            satisfied=good, note="演示回访")
    perform(ticket, A.CLOSE, operator, later(0.05), reason="" if good else "已依法依规答复")

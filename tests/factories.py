"""Test factories: requests driven to any status through the real service (never by setting fields)."""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import event, select

from portal.domain.access import Actor, Role
from portal.domain.deadlines import Urgency
from portal.domain.intake import Channel, RequestKind
from portal.domain.lifecycle import Action, Status
from portal.extensions import db
from portal.models import Category, Ticket, Unit
from portal.services.tickets import create_ticket, perform

A = Action
CITIZEN = Actor(Role.CITIZEN)
CONTENT = "街道主路一排路灯已经连续一周不亮，晚上出行很不方便，请尽快维修。"


class TicketFactory:
    def __init__(self, units, users, now: datetime):
        self.units, self.users, self.now = units, users, now

    def actor_for(self, unit: Unit, leader: bool = False) -> Actor:
        role = Role.LEADER if leader else Role.HANDLER
        for user in self._demo_users():
            if user.unit_id == unit.id and user.role is role:
                return user.actor()
        return Actor(role, unit.id, unit.tier)

    def _demo_users(self):
        from portal.models import User
        return db.session.scalars(select(User))

    @property
    def operator(self) -> Actor:
        return self.users.actor("operator")

    @property
    def dispatcher(self) -> Actor:
        return self.users.actor("dispatcher")

    def __call__(self, status: Status = Status.SUBMITTED, unit: str = "110105001", via: str | None = None,
                 category: str = "SZSS-LD", urgency: Urgency = Urgency.NORMAL, street: str | None = None,
                 commit: bool = True, start: datetime | None = None, **fields) -> Ticket:
        clock = [start or self.now - timedelta(days=1)]

        def t() -> datetime:
            clock[0] += timedelta(minutes=10)
            return clock[0]

        target = self.units[unit]
        place = self.units[street] if street else (target if target.tier == 3 else None)
        cat = db.session.scalar(select(Category).where(Category.code == category))
        fields.setdefault("citizen_name", "张三")
        fields.setdefault("citizen_phone", "13812345678")
        ticket = create_ticket(CITIZEN, t(), category=cat, kind=fields.pop("kind", RequestKind.COMPLAINT),
                               content=fields.pop("content", CONTENT), channel=fields.pop("channel", Channel.WEB),
                               urgency=urgency, district=place.parent if place else None, street=place,
                               address=fields.pop("address", "建国门外大街1号"), **fields)
        self._drive(ticket, status, target, via, t)
        if commit:
            db.session.commit()
        return ticket

    def _drive(self, ticket: Ticket, status: Status, target: Unit, via: str | None, t) -> None:
        S = Status
        if status is S.SUBMITTED:
            return
        if status is S.ANSWERED:
            perform(ticket, A.ANSWER, self.operator, t(), answer="可通过政务服务网在线办理。")
            return
        if status is S.INVALID:
            perform(ticket, A.INVALIDATE, self.operator, t(), reason="测试无效")
            return
        if status is S.MERGED:
            other = self(S.ACCEPTED, commit=False)
            perform(ticket, A.MERGE, self.operator, t(), into=other)
            return
        perform(ticket, A.ACCEPT, self.operator, t())
        if status is S.ACCEPTED:
            return
        if via:
            middle = self.units[via]
            perform(ticket, A.DISPATCH, self.dispatcher, t(), unit=middle)
            perform(ticket, A.REDISPATCH, self.actor_for(middle), t(), unit=target)
        else:
            perform(ticket, A.DISPATCH, self.dispatcher, t(), unit=target)
        if status is S.DISPATCHED:
            return
        handler = self.actor_for(target)
        if status is S.RETURN_PENDING:
            perform(ticket, A.REQUEST_RETURN, handler, t(), reason="不属于本单位职责")
            return
        perform(ticket, A.SIGN, handler, t())
        if status is S.HANDLING:
            return
        if status is S.EXTENSION_PENDING:
            perform(ticket, A.REQUEST_EXTENSION, handler, t(), due=ticket.feedback_due_at + timedelta(days=3),
                    reason="需要协调其他部门")
            return
        if status is S.FEEDBACK_REVIEW:
            target.requires_leader_approval = True
            db.session.flush()
            perform(ticket, A.SUBMIT_FEEDBACK, handler, t(), reply="已修复路灯。")
            return
        if target.requires_leader_approval:
            perform(ticket, A.SUBMIT_FEEDBACK, handler, t(), reply="已修复路灯。")
            perform(ticket, A.APPROVE_FEEDBACK, self.actor_for(target, leader=True), t())
        else:
            perform(ticket, A.FEEDBACK, handler, t(), reply="已修复路灯。", report="已修复路灯，附照片。")
        if status is S.FED_BACK:
            return
        good = status is S.CLOSED
        perform(ticket, A.CALLBACK, self.operator, t(), contacted=True, resolved=good, satisfied=good)
        if status is S.CALLED_BACK:
            return
        perform(ticket, A.CLOSE, self.operator, t())
        assert ticket.status is S.CLOSED


def statements_of(client, url) -> int:
    """How many SQL statements a GET of ``url`` runs (it must answer 200)."""
    seen = []
    listener = lambda *args: seen.append(args[2])          # noqa: E731
    event.listen(db.engine, "before_cursor_execute", listener)
    try:
        assert client.get(url).status_code == 200
    finally:
        event.remove(db.engine, "before_cursor_execute", listener)
    return len(seen)

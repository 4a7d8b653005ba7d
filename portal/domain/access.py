"""The one permission rule: ``can(actor, action, facts)``.

Called in three places: the route guard, the service (a second check) and the
template (which buttons appear). Facts are a frozen snapshot of what the rule
needs to know about a request, built by ``portal.services.tickets.facts_for``.

Scope: a unit's staff see a request when its handling path (every unit it was
dispatched to, as primary or assisting unit) crosses their unit or a unit below
it, so a district sees its streets' work. The center sees everything. Anything
else is "not found" to the caller, never "forbidden", so ids do not leak.
"""
from __future__ import annotations

import enum
from dataclasses import dataclass, field

from .lifecycle import TRANSITIONS, Action, Status, N_

A = Action


class NotPermitted(Exception):
    """The actor may not take this action on this request."""


class Role(str, enum.Enum):
    OPERATOR = "operator"        # 话务员/接诉员 (center)
    DISPATCHER = "dispatcher"    # 派单/督办 (center)
    HANDLER = "handler"          # 承办人 (any unit)
    LEADER = "leader"            # 一把手 (any unit)
    ADMIN = "admin"              # 系统管理员
    CITIZEN = "citizen"          # 市民 (holds the tracking credentials)
    SYSTEM = "system"            # 定时任务

    @property
    def label(self) -> str:
        return ROLE_LABELS[self]


class Tier(enum.IntEnum):
    CENTER = 1   # 市热线中心
    UNIT = 2     # 区 / 委办局 / 公共服务企业
    STREET = 3   # 街道 / 乡镇 / 地区办事处


#: unit kinds allowed at each tier (the CSV's ``kind`` column)
KINDS_BY_TIER: dict[int, frozenset[str]] = {
    1: frozenset({"center"}),
    2: frozenset({"district", "department", "enterprise"}),
    3: frozenset({"street", "township", "area", "other"}),   # other: development zones (经济开发区)
}
STAFF_ROLES = frozenset({Role.OPERATOR, Role.DISPATCHER, Role.HANDLER, Role.LEADER, Role.ADMIN})
CENTER_ROLES = frozenset({Role.OPERATOR, Role.DISPATCHER})
UNIT_ROLES = frozenset({Role.HANDLER, Role.LEADER})

OPERATOR_ACTIONS = frozenset({
    A.SUBMIT, A.ACCEPT, A.ANSWER, A.INVALIDATE, A.MERGE, A.DISPATCH,
    A.CALLBACK, A.REHANDLE, A.CLOSE, A.SEND_BACK, A.SUPPLEMENT,
})
DISPATCHER_ACTIONS = OPERATOR_ACTIONS | frozenset({
    A.APPROVE_RETURN, A.REJECT_RETURN, A.APPROVE_EXTENSION, A.REJECT_EXTENSION,
    A.SUPERVISE, A.TRANSFER_DISCIPLINE,
})
#: what the staff of the unit currently holding the request may do
HOLDER_ACTIONS = frozenset({
    A.SIGN, A.NOTE, A.REQUEST_RETURN, A.REQUEST_EXTENSION, A.FEEDBACK, A.SUBMIT_FEEDBACK, A.REDISPATCH,
})
CITIZEN_ACTIONS = frozenset({A.SUBMIT, A.SUPPLEMENT, A.RATE})
SYSTEM_ACTIONS = frozenset({A.SUPERVISE})
#: an admin acts on a request only to move it off a unit being deactivated (it never sees its content)
ADMIN_ACTIONS = frozenset({A.TRANSFER})


@dataclass(frozen=True)
class Actor:
    role: Role
    unit_id: int | None = None
    tier: int | None = None
    user_id: int | None = None


@dataclass(frozen=True)
class UnitRef:
    """What the rule needs to know about a unit a request is sent to."""
    id: int
    tier: int
    active: bool
    ancestors: frozenset[int]   # ids of the unit and every unit above it


@dataclass(frozen=True)
class Facts:
    status: Status | None
    handling_unit_id: int | None = None
    handling_tier: int | None = None
    #: the unit and its ancestors, for every unit on the handling path
    path_ancestors: frozenset[int] = field(default_factory=frozenset)
    assisting_unit_ids: frozenset[int] = field(default_factory=frozenset)
    #: who must approve this unit's feedback before it goes out, if anyone
    review_unit_id: int | None = None
    review_by_leader: bool = False
    #: a citizen who proved the tracking number and query code / phone digits
    is_requester: bool = False


def can_view(actor: Actor, facts: Facts) -> bool:
    if actor.role in CENTER_ROLES:
        return actor.tier == Tier.CENTER
    if actor.role in UNIT_ROLES:
        return actor.unit_id is not None and actor.unit_id in facts.path_ancestors
    if actor.role is Role.CITIZEN:
        return facts.is_requester
    return actor.role is Role.SYSTEM


def _role_allows(actor: Actor, action: Action, facts: Facts) -> bool:
    role = actor.role
    if role in CENTER_ROLES:
        allowed = DISPATCHER_ACTIONS if role is Role.DISPATCHER else OPERATOR_ACTIONS
        return actor.tier == Tier.CENTER and action in allowed
    if role in UNIT_ROLES:
        if action in (A.APPROVE_FEEDBACK, A.REJECT_FEEDBACK):
            if facts.review_unit_id is None or actor.unit_id != facts.review_unit_id:
                return False
            return role is Role.LEADER or not facts.review_by_leader
        holds = actor.unit_id is not None and actor.unit_id == facts.handling_unit_id
        if action is A.NOTE:
            return holds or actor.unit_id in facts.assisting_unit_ids
        if not holds or action not in HOLDER_ACTIONS:
            return False
        if action is A.REDISPATCH:
            return actor.tier == Tier.UNIT
        if action is A.FEEDBACK:
            return facts.review_unit_id is None
        if action is A.SUBMIT_FEEDBACK:
            return facts.review_unit_id is not None
        return True
    if role is Role.CITIZEN:
        return action in CITIZEN_ACTIONS and (action is A.SUBMIT or facts.is_requester)
    if role is Role.SYSTEM:
        return action in SYSTEM_ACTIONS
    if role is Role.ADMIN:
        return action in ADMIN_ACTIONS
    return False


def can(actor: Actor, action: Action, facts: Facts) -> bool:
    """May ``actor`` take ``action`` on a request described by ``facts`` now?"""
    if action is A.SUBMIT:
        return facts.status is None and _role_allows(actor, action, facts)
    if facts.status is None or (facts.status, action) not in TRANSITIONS:
        return False
    # an admin sees no request's content, but may transfer one (``ADMIN_ACTIONS``)
    return (can_view(actor, facts) or actor.role is Role.ADMIN) and _role_allows(actor, action, facts)


def permitted_actions(actor: Actor, facts: Facts) -> list[Action]:
    return [a for a in Action if a is not A.SUBMIT and can(actor, a, facts)]


def can_send_to(actor: Actor, action: Action, target: UnitRef) -> bool:
    """May ``actor`` dispatch (center) or re-dispatch (tier 2) a request to ``target``?

    The center dispatches to any active tier-2 or tier-3 unit (直派街乡 or via a
    district/department/enterprise). A tier-2 unit re-dispatches only to an
    active street/township below it.
    """
    if not target.active:
        return False
    if action is A.DISPATCH:
        return actor.tier == Tier.CENTER and target.tier in (Tier.UNIT, Tier.STREET)
    if action is A.TRANSFER:
        return actor.role is Role.ADMIN and target.tier in (Tier.UNIT, Tier.STREET)
    if action is A.REDISPATCH:
        return (actor.tier == Tier.UNIT and target.tier == Tier.STREET
                and actor.unit_id in target.ancestors and target.id != actor.unit_id)
    return False


ROLE_LABELS = {
    Role.OPERATOR: N_("话务员"), Role.DISPATCHER: N_("派单督办员"), Role.HANDLER: N_("承办人"),
    Role.LEADER: N_("单位负责人"), Role.ADMIN: N_("系统管理员"), Role.CITIZEN: N_("市民"),
    Role.SYSTEM: N_("系统"),
}

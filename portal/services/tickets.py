"""The one service that changes requests.

``create_ticket`` starts one; ``perform(ticket, action, actor, now, **details)`` does
everything after that. Both check the permission rule, apply the lifecycle, set the
fields the action implies, append a ``TicketEvent`` and flush — never commit: the
caller (a route, a job, the seed) commits once, so the change and its event land
together or not at all.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, exists, false, select, true
from sqlalchemy.orm import selectinload
from sqlalchemy.orm.exc import StaleDataError

from ..domain.access import Actor, Facts, NotPermitted, Role, Tier, can, can_send_to
from ..domain.deadlines import DEFAULT_RULES, BadExtension, DeadlineRule, Urgency, check_extension, due_times, to_local
from ..domain.intake import Channel, RequesterType, RequestKind
from ..domain.lifecycle import OPEN, TERMINAL, Action, IllegalTransition, N_, Status, apply
from ..domain.tracking import new_query_code, new_tracking_number
from ..extensions import db
from . import notify
from .settings import calendar
from ..models import Callback, Category, CategoryDeadline, Ticket, TicketEvent, TicketOpenText, TicketUnit, Unit

A = Action
MAX_TEXT = 2000
MAX_NOTE = 1000
SUPERVISION_LEVELS = {1: N_("电话督办"), 2: N_("书面督办"), 3: N_("会议督办"), 4: N_("领导批示督办")}
__all__ = ["Conflict", "InvalidInput", "NotPermitted", "IllegalTransition", "create_ticket", "perform",
           "facts_for", "visible_clause", "load_ticket_for", "deadline_rule"]


class Conflict(Exception):
    """Someone else acted on this request since it was loaded."""


class InvalidInput(ValueError):
    """Bad details for an action; the message names the problem and is shown to the user."""


# --- facts and scope ---------------------------------------------------------------

def facts_for(ticket: Ticket, *, requester: bool = False) -> Facts:
    path: set[int] = set()
    for tu in ticket.units:
        path |= tu.unit.ancestor_ids
    unit = ticket.handling_unit
    if ticket.status is Status.FEEDBACK_REVIEW:
        # the reviewer was fixed when the feedback was submitted
        review_unit_id, by_leader = ticket.review_unit_id, ticket.review_by_leader
    else:
        review_unit_id, by_leader = reviewer_for(unit)
    return Facts(
        status=ticket.status,
        handling_unit_id=ticket.handling_unit_id,
        handling_tier=unit.tier if unit is not None else None,
        path_ancestors=frozenset(path),
        assisting_unit_ids=ticket.assisting_unit_ids,
        review_unit_id=review_unit_id,
        review_by_leader=by_leader,
        is_requester=requester,
    )


def reviewer_for(unit: Unit | None) -> tuple[int | None, bool]:
    """Who must approve this unit's feedback under the current settings: its leader (一把手审核),
    else its district when the district reviews its streets' feedback, else nobody."""
    if unit is None:
        return None, False
    if unit.requires_leader_approval:
        return unit.id, True
    if unit.parent is not None and unit.parent.reviews_child_feedback and unit.tier == Tier.STREET:
        return unit.parent.id, False
    return None, False


def visible_clause(actor: Actor, unit_path: str | None = None):
    """A WHERE clause on ``Ticket``: the requests this actor may see (SQL, no Python filtering)."""
    if actor.role in (Role.OPERATOR, Role.DISPATCHER) and actor.tier == Tier.CENTER:
        return true()
    if actor.role in (Role.HANDLER, Role.LEADER) and actor.unit_id is not None:
        if unit_path is None:
            unit_path = db.session.get(Unit, actor.unit_id).path
        return exists(
            select(TicketUnit.ticket_id).join(Unit, Unit.id == TicketUnit.unit_id)
            .where(TicketUnit.ticket_id == Ticket.id, Unit.path.startswith(unit_path, autoescape=True))
        )
    return false()


def load_ticket_for(actor: Actor, ticket_id: int) -> Ticket | None:
    """The request if this actor may see it, else None (the route answers 404, never 403)."""
    stmt = (select(Ticket).where(Ticket.id == ticket_id, visible_clause(actor))
            .options(selectinload(Ticket.units).selectinload(TicketUnit.unit)))
    return db.session.scalars(stmt).first()


def deadline_rule(category: Category, urgency: Urgency) -> DeadlineRule:
    """The category's own rule, else its parent's, else the city default."""
    cat: Category | None = category
    while cat is not None:
        row = db.session.scalar(select(CategoryDeadline).where(
            CategoryDeadline.category_id == cat.id, CategoryDeadline.urgency == urgency))
        if row is not None:
            return DeadlineRule(row.sign_minutes, row.feedback_hours)
        cat = cat.parent
    return DEFAULT_RULES[urgency]


# --- intake ----------------------------------------------------------------------------

def _unique_tracking_number(now: datetime) -> str:
    for _ in range(20):
        number = new_tracking_number(to_local(now))
        if not db.session.scalar(select(exists().where(Ticket.tracking_no == number))):
            return number
    raise RuntimeError("could not draw a free tracking number")


def create_ticket(actor: Actor, now: datetime, *, category: Category, kind: RequestKind, content: str,
                  channel: Channel = Channel.WEB, urgency: Urgency = Urgency.NORMAL,
                  district: Unit | None = None, street: Unit | None = None, address: str = "",
                  title: str = "", citizen_name: str = "", citizen_phone: str = "", citizen_email: str = "",
                  requester_type: RequesterType = RequesterType.CITIZEN, enterprise_name: str = "",
                  credit_code: str = "", consent_publish: bool = False, locale: str = "zh",
                  max_content: int = MAX_TEXT) -> Ticket:
    """受理入口: a new request from any channel, in the center's intake queue.

    ``max_content``: the Open311 API accepts descriptions of up to 4,000 characters (its spec's
    limit) and checks that length itself; every other channel keeps ``MAX_TEXT``."""
    if not can(actor, A.SUBMIT, Facts(status=None)):
        raise NotPermitted(A.SUBMIT)
    content = (content or "").strip()
    if not 10 <= len(content) <= max_content:
        raise InvalidInput(N_("诉求内容应为 10 至 2000 字"))
    if category is None or category.parent_id is None:
        raise InvalidInput(N_("请选择二级诉求分类"))
    _check_place(district, street)
    status = apply(None, A.SUBMIT)
    ticket = Ticket(
        tracking_no=_unique_tracking_number(now), query_code=new_query_code(), channel=channel, kind=kind,
        urgency=urgency, category=category, district=district, street=street, address=address.strip(),
        title=title.strip() or content[:30], content=content, requester_type=requester_type,
        citizen_name=citizen_name.strip(), citizen_phone=citizen_phone.strip(), citizen_email=citizen_email.strip(),
        enterprise_name=enterprise_name.strip(), credit_code=credit_code.strip(), consent_publish=consent_publish,
        locale=locale if locale in ("zh", "en") else "zh", status=status, created_at=now, updated_at=now,
    )
    from . import repeats, search      # issue 7: repeat link and search text, in this transaction
    earlier = repeats.find_repeat_of(ticket.citizen_phone, category.id, street.id if street else None, now)
    db.session.add(ticket)
    data = {"channel": channel.value}
    if earlier is not None:
        data["repeat_of"] = earlier.tracking_no
    _event(ticket, A.SUBMIT, None, status, actor, now, note="", public=True, seq=1, data=data)
    db.session.flush()
    search.index_ticket(ticket)
    if earlier is not None:
        repeats.link_repeat(ticket, earlier, now)
    db.session.flush()
    notify.on_event(ticket, A.SUBMIT, now)
    from .queues import forget_counts
    forget_counts()
    return ticket


def _check_place(district: Unit | None, street: Unit | None) -> None:
    if district is not None and (district.kind != "district" or not district.active):
        raise InvalidInput(N_("所选区不存在"))
    if street is not None:
        if street.tier != Tier.STREET or not street.active:
            raise InvalidInput(N_("所选街道（乡镇）不存在"))
        if district is None or street.parent_id != district.id:
            raise InvalidInput(N_("所选街道（乡镇）不属于所选的区"))


# --- perform -----------------------------------------------------------------------------

@dataclass
class Outcome:
    """What an action handler tells ``perform`` to record on the event."""
    note: str = ""
    unit: Unit | None = None
    public: bool = False
    data: dict | None = None


Handler = Callable[[Ticket, Actor, datetime, dict], Outcome]
_HANDLERS: dict[Action, Handler] = {}


def handles(*actions: Action):
    def register(fn: Handler) -> Handler:
        for a in actions:
            _HANDLERS[a] = fn
        return fn
    return register


def perform(ticket: Ticket, action: Action, actor: Actor, now: datetime, *,
            expected_version: int | None = None, requester: bool = False, **details) -> TicketEvent:
    """Take ``action`` on ``ticket`` for ``actor`` at ``now``; returns the event it recorded.

    Raises ``Conflict`` if the request changed since ``expected_version`` was read (or
    changes under us before the flush), ``NotPermitted``, ``IllegalTransition`` or
    ``InvalidInput``; in every case nothing is changed.
    """
    if action is A.SUBMIT:
        raise IllegalTransition(ticket.status, action)
    if expected_version is not None and ticket.version != int(expected_version):
        raise Conflict()
    facts = facts_for(ticket, requester=requester)
    if not can(actor, action, facts):
        if (ticket.status, action) not in _legal(ticket.status):
            raise IllegalTransition(ticket.status, action)
        raise NotPermitted(action)
    from_status = ticket.status
    to_status = apply(from_status, action)
    # No autoflush until the one flush below: a lazy load in a handler or in _event (say
    # ticket.events) would otherwise write the half-changed row early, and a concurrent change
    # would surface there as a raw StaleDataError instead of Conflict.
    with db.session.no_autoflush:
        outcome = _HANDLERS[action](ticket, actor, now, details)
        ticket.status = to_status
        ticket.updated_at = now
        is_open = to_status in OPEN
        for tu in ticket.units:                  # the queues' scope index (TicketUnit.ticket_open)
            if tu.ticket_open is not is_open:
                tu.ticket_open = is_open
        if from_status in OPEN and not is_open:  # the open requests' words (TicketOpenText), written at
            # intake; no action leads from a closed status back to an open one (lifecycle's table)
            db.session.execute(delete(TicketOpenText).where(TicketOpenText.ticket_id == ticket.id)
                               .execution_options(synchronize_session=False))
        if to_status in TERMINAL and ticket.closed_at is None:
            ticket.closed_at = now
        event = _event(ticket, action, from_status, to_status, actor, now, note=outcome.note,
                       unit=outcome.unit if outcome.unit is not None else ticket.handling_unit,
                       public=outcome.public, data=outcome.data or {})
        notify.on_event(ticket, action, now)
    try:
        db.session.flush()
    except StaleDataError:
        raise Conflict() from None
    from .queues import forget_counts      # (queues imports this module)
    forget_counts()                          # this process's kept tab counts may be wrong now
    return event


def _legal(status: Status) -> set[tuple[Status, Action]]:
    from ..domain.lifecycle import TRANSITIONS
    return {k for k in TRANSITIONS if k[0] is status}


def _event(ticket: Ticket, action: Action, from_status: Status | None, to_status: Status, actor: Actor,
           now: datetime, *, note: str, public: bool, unit: Unit | None = None, data: dict | None = None,
           seq: int | None = None) -> TicketEvent:
    if seq is None:
        seq = (max((e.seq for e in ticket.events), default=0)) + 1
    event = TicketEvent(seq=seq, action=action, from_status=from_status, to_status=to_status,
                        actor_role=actor.role, actor_user_id=actor.user_id, actor_unit_id=actor.unit_id,
                        unit=unit, note=note, public=public, data=data or {}, at=now)
    ticket.events.append(event)
    return event


# --- detail helpers ------------------------------------------------------------------------

def _text(details: dict, key: str, message: str, limit: int = MAX_NOTE, required: bool = True) -> str:
    value = str(details.get(key) or "").strip()
    if required and not value:
        raise InvalidInput(message)
    if len(value) > limit:
        raise InvalidInput(N_("内容过长"))
    return value


def _bool(details: dict, key: str, message: str) -> bool:
    value = details.get(key)
    if not isinstance(value, bool):
        raise InvalidInput(message)
    return value


def _assign(ticket: Ticket, unit: Unit, now: datetime, role: str = "primary") -> None:
    for tu in ticket.units:
        if tu.unit_id == unit.id:
            tu.role, tu.current, tu.assigned_at = role, True, now
            return
    ticket.units.append(TicketUnit(unit=unit, unit_id=unit.id, role=role, current=True, assigned_at=now))


def _release_primary(ticket: Ticket) -> None:
    for tu in ticket.units:
        if tu.role == "primary":
            tu.current = False


def _target(actor: Actor, action: Action, details: dict) -> Unit:
    unit = details.get("unit")
    if not isinstance(unit, Unit):
        raise InvalidInput(N_("请选择承办单位"))
    if not can_send_to(actor, action, unit.ref()):
        raise InvalidInput(N_("不能派往该单位：单位已停用或不在可派范围内"))
    return unit


# --- the actions -------------------------------------------------------------------------------

@handles(A.ACCEPT)
def _accept(ticket, actor, now, d):
    if d.get("category") is not None:
        cat = d["category"]
        if not isinstance(cat, Category) or cat.parent_id is None:
            raise InvalidInput(N_("请选择二级诉求分类"))
        ticket.category = cat
    if d.get("kind") is not None:
        ticket.kind = RequestKind(d["kind"])
    if d.get("urgency") is not None:
        ticket.urgency = Urgency(d["urgency"])
    if "district" in d or "street" in d:
        _check_place(d.get("district"), d.get("street"))
        ticket.district, ticket.street = d.get("district"), d.get("street")
    if d.get("address") is not None:
        ticket.address = str(d["address"]).strip()[:200]
    return Outcome(note=_text(d, "note", "", required=False), public=True)


@handles(A.ANSWER)
def _answer(ticket, actor, now, d):
    ticket.answer = _text(d, "answer", N_("请填写答复内容"), MAX_TEXT)
    ticket.closed_at = now
    ticket.close_reason = N_("直接答复")
    return Outcome(note=ticket.answer, public=True, data={"article_id": d.get("article_id")})


@handles(A.INVALIDATE)
def _invalidate(ticket, actor, now, d):
    ticket.close_reason = _text(d, "reason", N_("请填写无效原因"), 200)
    ticket.closed_at = now
    return Outcome(note=ticket.close_reason, public=True)


@handles(A.MERGE)
def _merge(ticket, actor, now, d):
    into = d.get("into")
    if not isinstance(into, Ticket) or into.id == ticket.id:
        raise InvalidInput(N_("请选择要合并到的另一件诉求"))
    if into.status in TERMINAL:
        raise InvalidInput(N_("只能合并到未办结的诉求"))
    ticket.merged_into_id = into.id
    ticket.closed_at = now
    ticket.close_reason = N_("合并办理")
    return Outcome(note=_text(d, "note", "", required=False), public=True, data={"into": into.tracking_no})


@handles(A.DISPATCH)
def _dispatch(ticket, actor, now, d):
    unit = _target(actor, A.DISPATCH, d)
    assists = list(d.get("assist") or [])
    for a in assists:
        if not isinstance(a, Unit) or a.id == unit.id or not can_send_to(actor, A.DISPATCH, a.ref()):
            raise InvalidInput(N_("协办单位无效"))
    dues = due_times(now, deadline_rule(ticket.category, ticket.urgency), calendar())
    _release_primary(ticket)
    for tu in ticket.units:
        if tu.role == "assist":
            tu.current = False
    ticket.handling_unit = unit
    ticket.handling_unit_id = unit.id
    _assign(ticket, unit, now)
    for a in assists:
        _assign(ticket, a, now, role="assist")
    ticket.dispatched_at, ticket.signed_at, ticket.fed_back_at = now, None, None
    ticket.sign_due_at, ticket.feedback_due_at = dues.sign_due, dues.feedback_due
    return Outcome(unit=unit, public=True, note=_text(d, "note", "", required=False),
                   data={"assist": [a.code for a in assists]})


@handles(A.REDISPATCH)
def _redispatch(ticket, actor, now, d):
    unit = _target(actor, A.REDISPATCH, d)
    rule = deadline_rule(ticket.category, ticket.urgency)
    _release_primary(ticket)
    ticket.handling_unit = unit
    ticket.handling_unit_id = unit.id
    _assign(ticket, unit, now)
    ticket.redispatch_count += 1
    # the street gets its own sign-for clock; the feedback due time stays the city's
    ticket.dispatched_at, ticket.signed_at = now, None
    ticket.sign_due_at = calendar().add(now, timedelta(minutes=rule.sign_minutes))
    return Outcome(unit=unit, public=True, note=_text(d, "note", "", required=False))


@handles(A.TRANSFER)
def _transfer(ticket, actor, now, d):
    """移交: an admin moves work off a unit being deactivated. The new unit signs anew (a fresh
    sign-for clock); the feedback due time stays; a pending return, extension or review lapses."""
    unit = _target(actor, A.TRANSFER, d)
    if unit.id == ticket.handling_unit_id:
        raise InvalidInput(N_("请选择另一个承办单位"))
    old = ticket.handling_unit
    rule = deadline_rule(ticket.category, ticket.urgency)
    _release_primary(ticket)
    ticket.handling_unit = unit
    ticket.handling_unit_id = unit.id
    _assign(ticket, unit, now)
    ticket.dispatched_at, ticket.signed_at = now, None
    ticket.sign_due_at = calendar().add(now, timedelta(minutes=rule.sign_minutes))
    ticket.pending_due_at = None
    ticket.review_unit_id, ticket.review_by_leader = None, False
    return Outcome(unit=unit, note=_text(d, "note", "", required=False),
                   data={"from": old.code if old is not None else None, "to": unit.code})


@handles(A.SIGN)
def _sign(ticket, actor, now, d):
    if ticket.signed_at is None:
        ticket.signed_at = now
    return Outcome(public=True, data={"on_time": now <= ticket.sign_due_at})


@handles(A.NOTE)
def _note(ticket, actor, now, d):
    return Outcome(note=_text(d, "note", N_("请填写办理进展")))


@handles(A.REQUEST_RETURN)
def _request_return(ticket, actor, now, d):
    return Outcome(note=_text(d, "reason", N_("申请退单必须说明理由")))


@handles(A.APPROVE_RETURN)
def _approve_return(ticket, actor, now, d):
    unit = ticket.handling_unit
    _release_primary(ticket)
    ticket.return_count += 1
    ticket.handling_unit = None
    ticket.handling_unit_id = None
    ticket.sign_due_at = ticket.feedback_due_at = ticket.signed_at = ticket.dispatched_at = None
    return Outcome(unit=unit, note=_text(d, "note", "", required=False), data={"returned_by": unit.code})


@handles(A.REJECT_RETURN)
def _reject_return(ticket, actor, now, d):
    reason = _text(d, "reason", N_("驳回退单必须说明理由"))
    rule = deadline_rule(ticket.category, ticket.urgency)
    ticket.sign_due_at = calendar().add(now, timedelta(minutes=rule.sign_minutes))
    return Outcome(note=reason)


@handles(A.REQUEST_EXTENSION)
def _request_extension(ticket, actor, now, d):
    due = d.get("due")
    if not isinstance(due, datetime):
        raise InvalidInput(N_("请填写延期后的办理时限"))
    try:
        ticket.pending_due_at = check_extension(now, ticket.feedback_due_at, due, calendar())
    except BadExtension as exc:
        raise InvalidInput(str(exc)) from None
    return Outcome(note=_text(d, "reason", N_("申请延期必须说明理由")), data={"due": due.isoformat()})


@handles(A.APPROVE_EXTENSION)
def _approve_extension(ticket, actor, now, d):
    old = ticket.feedback_due_at
    ticket.feedback_due_at = ticket.pending_due_at
    ticket.pending_due_at = None
    ticket.extension_count += 1
    return Outcome(public=True, note=_text(d, "note", "", required=False),
                   data={"from": old.isoformat(), "due": ticket.feedback_due_at.isoformat()})


@handles(A.REJECT_EXTENSION)
def _reject_extension(ticket, actor, now, d):
    ticket.pending_due_at = None
    return Outcome(note=_text(d, "reason", N_("驳回延期必须说明理由")))


def _write_feedback(ticket: Ticket, d: dict) -> None:
    ticket.reply = _text(d, "reply", N_("请填写给市民的答复"), MAX_TEXT)
    ticket.report = _text(d, "report", "", MAX_TEXT, required=False) or ticket.reply


@handles(A.FEEDBACK)
def _feedback(ticket, actor, now, d):
    """双反馈: the reply reaches the citizen and the center at the same moment."""
    _write_feedback(ticket, d)
    ticket.fed_back_at = now
    return Outcome(note=ticket.reply, public=True)


@handles(A.SUBMIT_FEEDBACK)
def _submit_feedback(ticket, actor, now, d):
    """The unit's leader (or its district) approves before the reply goes out."""
    _write_feedback(ticket, d)
    ticket.review_unit_id, ticket.review_by_leader = reviewer_for(ticket.handling_unit)
    return Outcome(note=ticket.reply, data={"reviewer": ticket.review_unit_id, "by_leader": ticket.review_by_leader})


@handles(A.APPROVE_FEEDBACK)
def _approve_feedback(ticket, actor, now, d):
    ticket.fed_back_at = now
    ticket.review_unit_id, ticket.review_by_leader = None, False
    return Outcome(note=ticket.reply, public=True)


@handles(A.REJECT_FEEDBACK, A.SEND_BACK)
def _send_back(ticket, actor, now, d):
    ticket.fed_back_at = None
    ticket.review_unit_id, ticket.review_by_leader = None, False
    return Outcome(note=_text(d, "reason", N_("退回必须说明理由")))


@handles(A.CALLBACK)
def _callback(ticket, actor, now, d):
    contacted = _bool(d, "contacted", N_("请选择是否联系上市民"))
    resolved = satisfied = None
    if contacted:
        resolved = _bool(d, "resolved", N_("请选择是否解决"))
        satisfied = _bool(d, "satisfied", N_("请选择是否满意"))
    note = _text(d, "note", "", required=False)
    ticket.callbacks.append(Callback(unit_id=ticket.handling_unit_id, user_id=actor.user_id, source="center",
                                     contacted=contacted, resolved=resolved, satisfied=satisfied, note=note, at=now))
    return Outcome(note=note, public=True,
                   data={"contacted": contacted, "resolved": resolved, "satisfied": satisfied})


def rated_callback(ticket: Ticket) -> Callback | None:
    """The answer the rates use: the latest center callback that reached the citizen, else the
    citizen's own rating, else the latest center attempt."""
    center = [c for c in ticket.callbacks if c.source == "center"]
    reached = [c for c in center if c.contacted]
    citizen = [c for c in ticket.callbacks if c.source == "citizen"]
    for group in (reached, citizen, center):
        if group:
            return group[-1]
    return None


def _last_callback_good(ticket: Ticket) -> bool:
    cb = rated_callback(ticket)
    return bool(cb and cb.contacted and cb.resolved and cb.satisfied)


@handles(A.REHANDLE)
def _rehandle(ticket, actor, now, d):
    if _last_callback_good(ticket):
        raise InvalidInput(N_("回访已解决且满意，无需重办"))
    reason = _text(d, "reason", N_("重办必须说明理由"))
    due = d.get("due") or calendar().add(
        now, timedelta(hours=deadline_rule(ticket.category, ticket.urgency).feedback_hours))
    if due <= now:
        raise InvalidInput(N_("重办时限必须晚于当前时间"))
    ticket.feedback_due_at = due
    ticket.fed_back_at = None
    ticket.rehandle_count += 1
    return Outcome(note=reason, public=True, data={"due": due.isoformat()})


@handles(A.CLOSE)
def _close(ticket, actor, now, d):
    reason = _text(d, "reason", N_("回访未解决或不满意，办结必须说明理由"), 200,
                   required=not _last_callback_good(ticket))
    ticket.closed_at = now
    ticket.close_reason = reason
    return Outcome(note=reason, public=True)


@handles(A.SUPERVISE)
def _supervise(ticket, actor, now, d):
    level = d.get("level", 1)
    if level not in SUPERVISION_LEVELS:
        raise InvalidInput(N_("督办方式无效"))
    ticket.supervision_level = max(ticket.supervision_level, level)
    ticket.supervised_at = now
    return Outcome(note=_text(d, "note", "", required=False), data={"level": level})


@handles(A.TRANSFER_DISCIPLINE)
def _discipline(ticket, actor, now, d):
    return Outcome(note=_text(d, "note", N_("请填写移送纪检的情况说明")))


@handles(A.SUPPLEMENT)
def _supplement(ticket, actor, now, d):
    return Outcome(note=_text(d, "text", N_("请填写补充内容"), MAX_TEXT), public=True)


@handles(A.RATE)
def _rate(ticket, actor, now, d):
    """The citizen's online rating; it counts as a callback answer. "Not resolved" asks the
    center to order re-handling (the center decides)."""
    if ticket.rated_at is not None:
        raise InvalidInput(N_("该诉求已经评价过"))
    ticket.rating_resolved = _bool(d, "resolved", N_("请选择是否解决"))
    ticket.rating_satisfied = _bool(d, "satisfied", N_("请选择是否满意"))
    ticket.rating_comment = _text(d, "comment", "", 500, required=False)
    ticket.rated_at = now
    ticket.callbacks.append(Callback(unit_id=ticket.handling_unit_id, source="citizen", contacted=True,
                                     resolved=ticket.rating_resolved, satisfied=ticket.rating_satisfied,
                                     note=ticket.rating_comment, at=now))
    return Outcome(note=ticket.rating_comment, public=True,
                   data={"resolved": ticket.rating_resolved, "satisfied": ticket.rating_satisfied})

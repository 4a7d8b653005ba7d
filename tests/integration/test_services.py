"""Every action of ``perform()`` against the real database (SQLite and PostgreSQL).

For each action: the fields it sets, the event it appends, and — for every way it can be
refused — that the ticket row, its units, events and callbacks are exactly as before
(re-read from the database after ``db.session.rollback()``).
"""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from portal.domain.access import Actor, Role, can, can_view
from portal.domain.deadlines import Urgency
from portal.domain.intake import RequestKind
from portal.domain.lifecycle import Action as A
from portal.domain.lifecycle import Status as S
from portal.extensions import db
from portal.models import Category, Ticket, Unit
from portal.services.tickets import (IllegalTransition, InvalidInput, NotPermitted, create_ticket, facts_for,
                                     load_ticket_for, visible_clause)
from tests.conftest import CITIZEN
from tests.factories import CONTENT
from tests.integration.support import act, counts, refuse, reload

SYSTEM = Actor(Role.SYSTEM)
REPLY = "经核实，路灯线路老化，已更换线路并恢复照明。"


def category(code: str) -> Category:
    return db.session.scalar(select(Category).where(Category.code == code))


def unit_rows(ticket: Ticket) -> dict[str, tuple[str, bool]]:
    """{unit code: (role, current)} for the request's handling path."""
    return {tu.unit.code: (tu.role, tu.current) for tu in ticket.units}


@pytest.fixture
def at(now):
    """at(m): m minutes after the fixed ``now`` (factory requests are built in the day before it)."""
    return lambda minutes: now + timedelta(minutes=minutes)


@pytest.fixture
def who(users, units):
    """who("jianwai") → the demo user's Actor; who("110108") → an unnamed handler of that unit."""
    def _who(name: str, role: Role = Role.HANDLER) -> Actor:
        if name[:1].isdigit() or name.startswith(("D-", "E-")):
            unit = units[name]
            return Actor(role, unit.id, unit.tier)
        return users.actor(name)
    return _who


# --- intake ------------------------------------------------------------------------------------------------------

def test_create_ticket_stores_the_request_and_a_submit_event(app, units, now):
    t = create_ticket(CITIZEN, now, category=category("SZSS-LD"), kind=RequestKind.COMPLAINT,
                      content="  " + CONTENT + "  ", district=units["110105"], street=units["110105001"],
                      citizen_name=" 张三 ", citizen_phone="13812345678", address=" 建国门外大街1号 ")
    db.session.commit()
    t = reload(t.id)
    assert t.status is S.SUBMITTED and t.version == 1
    assert (t.content, t.citizen_name, t.address, t.title) == (CONTENT, "张三", "建国门外大街1号", CONTENT[:30])
    assert t.created_at == t.updated_at == now
    assert (t.district.code, t.street.code, t.handling_unit_id, t.closed_at) == ("110105", "110105001", None, None)
    assert t.units == [] and t.callbacks == []
    [e] = t.events
    assert (e.seq, e.action, e.from_status, e.to_status, e.public) == (1, A.SUBMIT, None, S.SUBMITTED, True)
    assert (e.actor_role, e.actor_unit_id, e.unit_id, e.data) == (Role.CITIZEN, None, None, {"channel": "web"})


@pytest.mark.parametrize("case", ["content_9_chars", "content_blank", "content_too_long", "street_of_other_district",
                                  "street_without_district", "top_level_category", "department_as_district",
                                  "inactive_street", "district_as_street"])
def test_create_ticket_refuses_bad_input_and_stores_nothing(app, units, now, case):
    kwargs = dict(category=category("SZSS-LD"), kind=RequestKind.COMPLAINT, content=CONTENT,
                  district=units["110105"], street=units["110105001"])
    if case == "content_9_chars":
        kwargs["content"] = "  路灯坏了请修一下呀  "          # 9 characters once stripped
    elif case == "content_blank":
        kwargs["content"] = " " * 20
    elif case == "content_too_long":
        kwargs["content"] = "路" * 2001
    elif case == "street_of_other_district":
        kwargs["district"] = units["110108"]
    elif case == "street_without_district":
        kwargs["district"] = None
    elif case == "top_level_category":
        kwargs["category"] = category("SZSS")
    elif case == "department_as_district":
        kwargs.update(district=units["D-SCJGJ"], street=None)
    elif case == "inactive_street":
        units["110105001"].active = False
        db.session.commit()
    elif case == "district_as_street":
        kwargs["street"] = units["110105"]
    before = counts()
    with pytest.raises(InvalidInput):
        create_ticket(CITIZEN, now, **kwargs)
    db.session.rollback()
    assert counts() == before


def test_create_ticket_content_boundary_is_10_chars(app, units, now):
    t = create_ticket(CITIZEN, now, category=category("SZSS-LD"), kind=RequestKind.HELP, content="路灯坏了请尽快修一下")
    assert len(t.content) == 10 and t.status is S.SUBMITTED


def test_submit_is_not_an_action_of_perform(make_ticket, who, at):
    t = make_ticket(S.SUBMITTED)
    refuse(IllegalTransition, t, A.SUBMIT, who("operator"), at(1))


# --- at the center -----------------------------------------------------------------------------------------------

def test_accept_can_correct_category_urgency_and_place(make_ticket, who, units, at):
    t = make_ticket(S.SUBMITTED)
    refuse(NotPermitted, t, A.ACCEPT, who("jianwai"), at(1))
    refuse(NotPermitted, t, A.ACCEPT, who("admin"), at(1))
    refuse(NotPermitted, t, A.ACCEPT, CITIZEN, at(1), requester=True)
    refuse(InvalidInput, t, A.ACCEPT, who("operator"), at(1), category=category("JTGL"))
    refuse(InvalidInput, t, A.ACCEPT, who("operator"), at(1), district=units["110108"], street=units["110105002"])
    t, e = act(t, A.ACCEPT, who("operator"), at(2), category=category("JTGL-XHD"), urgency="urgent",
               district=units["110105"], street=units["110105002"], address=" 光华路 ", note="已核实地址")
    assert t.status is S.ACCEPTED
    assert (t.category.code, t.urgency, t.street.code, t.address) == ("JTGL-XHD", Urgency.URGENT, "110105002", "光华路")
    assert (e.public, e.note, e.unit_id) == (True, "已核实地址", None)
    refuse(IllegalTransition, t, A.ACCEPT, who("operator"), at(3))


def test_answer_closes_directly(make_ticket, who, at):
    t = make_ticket(S.ACCEPTED)
    refuse(InvalidInput, t, A.ANSWER, who("operator"), at(1), answer="   ")
    refuse(InvalidInput, t, A.ANSWER, who("operator"), at(1), answer="答" * 2001)
    refuse(NotPermitted, t, A.ANSWER, who("jianwai"), at(1), answer="可以在线办理。")
    t, e = act(t, A.ANSWER, who("operator"), at(2), answer=" 可以在线办理。 ")
    assert (t.status, t.answer, t.closed_at, t.close_reason) == (S.ANSWERED, "可以在线办理。", at(2), "直接答复")
    assert (e.public, e.note, e.data) == (True, "可以在线办理。", {"article_id": None})
    refuse(IllegalTransition, t, A.ANSWER, who("operator"), at(3), answer="再答一次。")
    d = make_ticket(S.DISPATCHED)
    refuse(IllegalTransition, d, A.ANSWER, who("operator"), at(4), answer="可以在线办理。")


def test_invalidate(make_ticket, who, at):
    t = make_ticket(S.SUBMITTED)
    refuse(InvalidInput, t, A.INVALIDATE, who("operator"), at(1), reason="")
    refuse(NotPermitted, t, A.INVALIDATE, CITIZEN, at(1), requester=True, reason="不需要了")
    t, e = act(t, A.INVALIDATE, who("operator"), at(2), reason="骚扰电话")
    assert (t.status, t.closed_at, t.close_reason) == (S.INVALID, at(2), "骚扰电话")
    assert (e.public, e.note) == (True, "骚扰电话")


def test_merge(make_ticket, who, at):
    a, b = make_ticket(S.SUBMITTED), make_ticket(S.ACCEPTED)
    closed, merged = make_ticket(S.ANSWERED), make_ticket(S.MERGED)
    op = who("operator")
    refuse(InvalidInput, a, A.MERGE, op, at(1), into=a)
    refuse(InvalidInput, a, A.MERGE, op, at(1), into=closed)
    refuse(InvalidInput, a, A.MERGE, op, at(1), into=merged)
    refuse(InvalidInput, a, A.MERGE, op, at(1), into=b.id)
    refuse(InvalidInput, a, A.MERGE, op, at(1))
    refuse(NotPermitted, a, A.MERGE, who("chaoyang"), at(1), into=b)
    a, e = act(a, A.MERGE, op, at(2), into=b, note="同一路段")
    assert (a.status, a.merged_into_id, a.closed_at, a.close_reason) == (S.MERGED, b.id, at(2), "合并办理")
    assert (e.public, e.note, e.data) == (True, "同一路段", {"into": b.tracking_no})
    assert reload(b.id).status is S.ACCEPTED
    d = make_ticket(S.DISPATCHED)
    refuse(IllegalTransition, d, A.MERGE, op, at(3), into=b)


# --- dispatch ------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("code, urgency, sign_minutes, feedback_hours", [
    ("SZSS-LD", Urgency.NORMAL, 120, 7 * 24),     # city default
    ("SZSS-LD", Urgency.URGENT, 30, 24),
    ("JTGL-XHD", Urgency.NORMAL, 60, 72),         # the category's own rule
    ("JTGL-XHD", Urgency.URGENT, 30, 24),         # no urgent rule of its own (nor its parent's): default
])
def test_dispatch_straight_to_a_street_sets_the_clock(make_ticket, who, units, at, code, urgency, sign_minutes,
                                                       feedback_hours):
    t = make_ticket(S.ACCEPTED, category=code, urgency=urgency)
    street, center = units["110105001"], units["BJ12345"]
    t, e = act(t, A.DISPATCH, who("dispatcher"), at(5), unit=street, note="请尽快处理")
    assert t.status is S.DISPATCHED and t.handling_unit_id == street.id
    assert t.dispatched_at == at(5)
    assert t.sign_due_at == at(5) + timedelta(minutes=sign_minutes)
    assert t.feedback_due_at == at(5) + timedelta(hours=feedback_hours)
    assert t.signed_at is None and t.fed_back_at is None
    assert unit_rows(t) == {"110105001": ("primary", True)}
    assert (e.unit_id, e.actor_unit_id, e.public, e.note, e.data) == (street.id, center.id, True, "请尽快处理",
                                                                       {"assist": []})


def test_dispatch_from_submitted_with_an_assisting_unit(make_ticket, who, units, at):
    t = make_ticket(S.SUBMITTED)
    street = units["110105001"]
    refuse(InvalidInput, t, A.DISPATCH, who("operator"), at(1), unit=street, assist=[street])
    refuse(InvalidInput, t, A.DISPATCH, who("operator"), at(1), unit=street, assist=[units["BJ12345"]])
    refuse(InvalidInput, t, A.DISPATCH, who("operator"), at(1), unit=street, assist=["D-SCJGJ"])
    t, e = act(t, A.DISPATCH, who("operator"), at(2), unit=street, assist=[units["D-SCJGJ"]])
    assert unit_rows(t) == {"110105001": ("primary", True), "D-SCJGJ": ("assist", True)}
    assert t.assisting_unit_ids == {units["D-SCJGJ"].id}
    assert e.data == {"assist": ["D-SCJGJ"]}
    # the assisting unit sees it and may write progress notes, but does not hold it
    assert load_ticket_for(who("scjgj"), t.id) is not None
    t, e = act(t, A.NOTE, who("scjgj"), at(3), note="已派执法人员协助")
    assert (e.public, e.actor_unit_id, e.unit_id) == (False, units["D-SCJGJ"].id, street.id)
    refuse(NotPermitted, t, A.SIGN, who("scjgj"), at(4))
    refuse(NotPermitted, t, A.NOTE, who("water"), at(4), note="无关单位")


@pytest.mark.parametrize("case", ["inactive", "center", "missing", "code_string"])
def test_dispatch_refuses_a_bad_target(make_ticket, who, units, at, case):
    t = make_ticket(S.ACCEPTED)
    if case == "inactive":
        units["110105003"].active = False
        db.session.commit()
        target = {"unit": units["110105003"]}
    elif case == "center":
        target = {"unit": units["BJ12345"]}
    elif case == "missing":
        target = {}
    else:
        target = {"unit": "110105001"}
    refuse(InvalidInput, t, A.DISPATCH, who("dispatcher"), at(1), **target)


def test_dispatch_refused_to_others_and_in_the_wrong_status(make_ticket, who, units, at):
    t = make_ticket(S.ACCEPTED)
    for name in ("jianwai", "chaoyang", "admin"):
        refuse(NotPermitted, t, A.DISPATCH, who(name), at(1), unit=units["110105001"])
    refuse(NotPermitted, t, A.DISPATCH, CITIZEN, at(1), requester=True, unit=units["110105001"])
    h = make_ticket(S.HANDLING)
    refuse(IllegalTransition, h, A.DISPATCH, who("dispatcher"), at(1), unit=units["110105002"])


def test_dispatch_to_district_then_redispatch_to_street(make_ticket, who, units, at):
    district, street = units["110105"], units["110105001"]
    t = make_ticket(S.ACCEPTED)
    t, e = act(t, A.DISPATCH, who("dispatcher"), at(1), unit=district)
    assert (t.handling_unit_id, e.unit_id) == (district.id, district.id)
    feedback_due = t.feedback_due_at
    assert feedback_due == at(1) + timedelta(days=7)
    refuse(NotPermitted, t, A.SIGN, who("jianwai"), at(2))       # not theirs yet

    t, e = act(t, A.REDISPATCH, who("chaoyang"), at(30), unit=street, note="属建外街道辖区")
    assert t.status is S.DISPATCHED and t.handling_unit_id == street.id
    assert t.redispatch_count == 1
    assert t.dispatched_at == at(30) and t.signed_at is None
    assert t.sign_due_at == at(30) + timedelta(hours=2)          # the street's own sign-for clock
    assert t.feedback_due_at == feedback_due                     # the city's feedback due time stays
    assert unit_rows(t) == {"110105": ("primary", False), "110105001": ("primary", True)}
    assert (e.from_status, e.to_status) == (S.DISPATCHED, S.DISPATCHED)
    assert (e.unit_id, e.actor_unit_id, e.public, e.note) == (street.id, district.id, True, "属建外街道辖区")

    refuse(NotPermitted, t, A.SIGN, who("chaoyang"), at(31))     # the district no longer holds it
    refuse(NotPermitted, t, A.REDISPATCH, who("chaoyang"), at(31), unit=units["110105002"])
    t, e = act(t, A.SIGN, who("jianwai"), at(40))
    assert (t.status, t.signed_at, e.unit_id, e.public, e.data) == (S.HANDLING, at(40), street.id, True,
                                                                    {"on_time": True})
    assert load_ticket_for(who("chaoyang"), t.id) is not None


def test_redispatch_after_the_district_signed(make_ticket, who, units, at):
    t = make_ticket(S.HANDLING, unit="110105")
    assert t.signed_at is not None
    t, e = act(t, A.REDISPATCH, who("chaoyang.leader"), at(1), unit=units["110105002"])
    assert (e.from_status, e.to_status) == (S.HANDLING, S.DISPATCHED)
    assert (t.handling_unit_id, t.signed_at, t.redispatch_count) == (units["110105002"].id, None, 1)


@pytest.mark.parametrize("case", ["other_district_street", "itself", "inactive_street", "tier_2_unit", "center",
                                  "missing"])
def test_redispatch_refuses_a_bad_target(make_ticket, who, units, at, case):
    t = make_ticket(S.DISPATCHED, unit="110105")
    if case == "inactive_street":
        units["110105003"].active = False
        db.session.commit()
    target = {"other_district_street": "110108001", "itself": "110105", "inactive_street": "110105003",
              "tier_2_unit": "D-SCJGJ", "center": "BJ12345"}.get(case)
    details = {"unit": units[target]} if target else {}
    refuse(InvalidInput, t, A.REDISPATCH, who("chaoyang"), at(1), **details)


def test_redispatch_refused_to_streets_and_others(make_ticket, who, units, at):
    # a street holds it: a street never re-dispatches (the permission rule refuses before the target is looked at)
    t = make_ticket(S.HANDLING)
    refuse(NotPermitted, t, A.REDISPATCH, who("jianwai"), at(1), unit=units["110105002"])
    refuse(NotPermitted, t, A.REDISPATCH, who("jianwai.leader"), at(1), unit=units["110105002"])
    d = make_ticket(S.DISPATCHED, unit="110105")
    refuse(NotPermitted, d, A.REDISPATCH, who("dispatcher"), at(1), unit=units["110105001"])
    refuse(NotPermitted, d, A.REDISPATCH, who("110108"), at(1), unit=units["110108001"])
    refuse(NotPermitted, d, A.REDISPATCH, who("scjgj"), at(1), unit=units["110105001"])
    r = make_ticket(S.RETURN_PENDING, unit="110105")
    refuse(IllegalTransition, r, A.REDISPATCH, who("chaoyang"), at(1), unit=units["110105001"])


# --- the unit's work ---------------------------------------------------------------------------------------------

def test_sign_on_time_late_and_refused(make_ticket, who, at):
    t = make_ticket(S.DISPATCHED)
    refuse(NotPermitted, t, A.SIGN, who("chaowai"), at(1))
    refuse(NotPermitted, t, A.SIGN, who("chaoyang"), at(1))      # the district sees it but does not hold it
    refuse(NotPermitted, t, A.SIGN, who("dispatcher"), at(1))
    late = t.sign_due_at + timedelta(minutes=1)
    t, e = act(t, A.SIGN, who("jianwai.leader"), late)
    assert (t.status, t.signed_at, e.data, e.public) == (S.HANDLING, late, {"on_time": False}, True)
    refuse(IllegalTransition, t, A.SIGN, who("jianwai"), late + timedelta(minutes=1))
    r = make_ticket(S.RETURN_PENDING)
    refuse(IllegalTransition, r, A.SIGN, who("jianwai"), at(2))


def test_note(make_ticket, who, units, at):
    t = make_ticket(S.DISPATCHED)
    refuse(InvalidInput, t, A.NOTE, who("jianwai"), at(1), note=" ")
    refuse(InvalidInput, t, A.NOTE, who("jianwai"), at(1), note="进" * 1001)
    refuse(NotPermitted, t, A.NOTE, who("chaoyang"), at(1), note="区里看一下")
    refuse(NotPermitted, t, A.NOTE, who("operator"), at(1), note="中心备注")
    t, e = act(t, A.NOTE, who("jianwai"), at(2), note="已安排网格员核实")
    assert (t.status, e.from_status, e.public, e.note, e.unit_id) == (S.DISPATCHED, S.DISPATCHED, False,
                                                                       "已安排网格员核实", units["110105001"].id)
    f = make_ticket(S.FED_BACK)
    refuse(IllegalTransition, f, A.NOTE, who("jianwai"), at(3), note="补充进展")


def test_return_approved_then_dispatched_again(make_ticket, who, units, at):
    street, other = units["110105001"], units["110105002"]
    t = make_ticket(S.HANDLING)
    refuse(InvalidInput, t, A.REQUEST_RETURN, who("jianwai"), at(1), reason="  ")
    refuse(NotPermitted, t, A.REQUEST_RETURN, who("chaoyang"), at(1), reason="不归我们")
    t, e = act(t, A.REQUEST_RETURN, who("jianwai"), at(2), reason="地址属朝外街道")
    assert (t.status, t.handling_unit_id) == (S.RETURN_PENDING, street.id)
    assert (e.from_status, e.public, e.note, e.unit_id) == (S.HANDLING, False, "地址属朝外街道", street.id)

    refuse(NotPermitted, t, A.APPROVE_RETURN, who("operator"), at(3))     # only the dispatcher decides
    refuse(NotPermitted, t, A.APPROVE_RETURN, who("jianwai.leader"), at(3))
    refuse(NotPermitted, t, A.APPROVE_RETURN, who("chaoyang.leader"), at(3))
    t, e = act(t, A.APPROVE_RETURN, who("dispatcher"), at(4), note="同意退回")
    assert t.status is S.ACCEPTED and t.return_count == 1
    assert (t.handling_unit_id, t.dispatched_at, t.signed_at, t.sign_due_at, t.feedback_due_at) == (None,) * 5
    assert unit_rows(t) == {"110105001": ("primary", False)}
    assert (e.unit_id, e.public, e.note, e.data) == (street.id, False, "同意退回", {"returned_by": "110105001"})
    # still on the handling path: the street (and its district) keep seeing it; a sibling street does not
    assert load_ticket_for(who("jianwai"), t.id) is not None
    assert load_ticket_for(who("chaoyang"), t.id) is not None
    assert load_ticket_for(who("chaowai"), t.id) is None
    refuse(IllegalTransition, t, A.SIGN, who("jianwai"), at(5))

    t, e = act(t, A.DISPATCH, who("dispatcher"), at(6), unit=other)
    assert (t.status, t.handling_unit_id, t.return_count) == (S.DISPATCHED, other.id, 1)
    assert t.sign_due_at == at(6) + timedelta(hours=2)
    assert unit_rows(t) == {"110105001": ("primary", False), "110105002": ("primary", True)}
    assert load_ticket_for(who("jianwai"), t.id) is not None
    assert load_ticket_for(who("chaowai"), t.id) is not None


def test_return_requested_before_signing_then_rejected(make_ticket, who, units, at):
    t = make_ticket(S.RETURN_PENDING)
    feedback_due = t.feedback_due_at
    assert t.events[-1].from_status is S.DISPATCHED
    refuse(InvalidInput, t, A.REJECT_RETURN, who("dispatcher"), at(1), reason="")
    refuse(NotPermitted, t, A.REJECT_RETURN, who("operator"), at(1), reason="属于你街道")
    t, e = act(t, A.REJECT_RETURN, who("dispatcher"), at(2), reason="经核实属于建外街道")
    assert (t.status, t.handling_unit_id, t.return_count) == (S.DISPATCHED, units["110105001"].id, 0)
    assert t.sign_due_at == at(2) + timedelta(hours=2) and t.feedback_due_at == feedback_due
    assert (e.public, e.note, e.unit_id) == (False, "经核实属于建外街道", units["110105001"].id)
    assert unit_rows(t) == {"110105001": ("primary", True)}
    t, _ = act(t, A.SIGN, who("jianwai"), at(3))
    assert t.status is S.HANDLING


def test_extension_refusals(make_ticket, who, at, now):
    t = make_ticket(S.HANDLING)
    due = t.feedback_due_at
    h = who("jianwai")
    refuse(InvalidInput, t, A.REQUEST_EXTENSION, h, at(1), due=now - timedelta(hours=1), reason="需协调",
           match="当前时间")
    refuse(InvalidInput, t, A.REQUEST_EXTENSION, h, at(1), due=due, reason="需协调", match="原办理时限")
    refuse(InvalidInput, t, A.REQUEST_EXTENSION, h, at(1), due=due + timedelta(days=15, minutes=1), reason="需协调",
           match="15")
    refuse(InvalidInput, t, A.REQUEST_EXTENSION, h, at(1), due=(due + timedelta(days=1)).isoformat(), reason="需协调")
    refuse(InvalidInput, t, A.REQUEST_EXTENSION, h, at(1), reason="需协调")
    refuse(InvalidInput, t, A.REQUEST_EXTENSION, h, at(1), due=due + timedelta(days=1), reason=" ")
    refuse(NotPermitted, t, A.REQUEST_EXTENSION, who("chaoyang"), at(1), due=due + timedelta(days=1), reason="需协调")
    d = make_ticket(S.DISPATCHED)
    refuse(IllegalTransition, d, A.REQUEST_EXTENSION, h, at(1), due=d.feedback_due_at + timedelta(days=1),
           reason="需协调")


def test_extension_requested_then_approved(make_ticket, who, at):
    t = make_ticket(S.HANDLING)
    due = t.feedback_due_at
    wanted = due + timedelta(days=15)                      # the longest allowed
    t, e = act(t, A.REQUEST_EXTENSION, who("jianwai"), at(1), due=wanted, reason="需协调燃气公司")
    assert (t.status, t.pending_due_at, t.feedback_due_at, t.extension_count) == (S.EXTENSION_PENDING, wanted, due, 0)
    assert (e.public, e.note, e.data) == (False, "需协调燃气公司", {"due": wanted.isoformat()})
    refuse(NotPermitted, t, A.APPROVE_EXTENSION, who("operator"), at(2))
    refuse(NotPermitted, t, A.APPROVE_EXTENSION, who("jianwai.leader"), at(2))
    refuse(IllegalTransition, t, A.FEEDBACK, who("jianwai"), at(2), reply=REPLY)
    t, e = act(t, A.APPROVE_EXTENSION, who("dispatcher"), at(3))
    assert (t.status, t.feedback_due_at, t.pending_due_at, t.extension_count) == (S.HANDLING, wanted, None, 1)
    assert (e.public, e.data) == (True, {"from": due.isoformat(), "due": wanted.isoformat()})


def test_extension_requested_then_rejected(make_ticket, who, at):
    t = make_ticket(S.EXTENSION_PENDING)
    due = t.feedback_due_at
    assert t.pending_due_at == due + timedelta(days=3)
    refuse(InvalidInput, t, A.REJECT_EXTENSION, who("dispatcher"), at(1), reason="")
    t, e = act(t, A.REJECT_EXTENSION, who("dispatcher"), at(2), reason="时限内可以完成")
    assert (t.status, t.feedback_due_at, t.pending_due_at, t.extension_count) == (S.HANDLING, due, None, 0)
    assert (e.public, e.note) == (False, "时限内可以完成")


def test_feedback_goes_straight_out_without_review(make_ticket, who, units, at):
    t = make_ticket(S.HANDLING)
    h = who("jianwai")
    refuse(InvalidInput, t, A.FEEDBACK, h, at(1), reply="  ", report="报告")
    refuse(InvalidInput, t, A.FEEDBACK, h, at(1), reply="答" * 2001)
    refuse(InvalidInput, t, A.FEEDBACK, h, at(1), reply=REPLY, report="报" * 2001)
    refuse(NotPermitted, t, A.SUBMIT_FEEDBACK, h, at(1), reply=REPLY)     # nobody reviews this street
    refuse(NotPermitted, t, A.FEEDBACK, who("chaoyang"), at(1), reply=REPLY)
    t, e = act(t, A.FEEDBACK, h, at(2), reply=REPLY)
    assert (t.status, t.reply, t.report, t.fed_back_at) == (S.FED_BACK, REPLY, REPLY, at(2))   # report defaults
    assert (e.public, e.note, e.unit_id) == (True, REPLY, units["110105001"].id)
    t2 = make_ticket(S.HANDLING)
    t2, _ = act(t2, A.FEEDBACK, h, at(3), reply=REPLY, report="附现场照片三张")
    assert (t2.reply, t2.report) == (REPLY, "附现场照片三张")


def test_leader_approval_of_feedback(make_ticket, who, units, at):
    assert units["110105002"].requires_leader_approval         # seeded so
    t = make_ticket(S.HANDLING, unit="110105002")
    refuse(NotPermitted, t, A.FEEDBACK, who("chaowai"), at(1), reply=REPLY)
    t, e = act(t, A.SUBMIT_FEEDBACK, who("chaowai"), at(2), reply=REPLY, report="内部报告")
    assert (t.status, t.reply, t.report, t.fed_back_at) == (S.FEEDBACK_REVIEW, REPLY, "内部报告", None)
    assert (t.review_unit_id, t.review_by_leader) == (units["110105002"].id, True)
    assert (e.public, e.note, e.data) == (False, REPLY, {"reviewer": units["110105002"].id, "by_leader": True})
    for name in ("chaowai", "chaoyang", "chaoyang.leader", "dispatcher", "jianwai.leader"):
        refuse(NotPermitted, t, A.APPROVE_FEEDBACK, who(name), at(3))
    refuse(InvalidInput, t, A.REJECT_FEEDBACK, who("chaowai.leader"), at(3), reason="")
    t, e = act(t, A.REJECT_FEEDBACK, who("chaowai.leader"), at(4), reason="答复没有说明整改时间")
    assert (t.status, t.fed_back_at, e.public, e.note) == (S.HANDLING, None, False, "答复没有说明整改时间")
    assert (t.review_unit_id, t.review_by_leader) == (None, False)
    t, _ = act(t, A.SUBMIT_FEEDBACK, who("chaowai"), at(5), reply=REPLY + "本周内完成。")
    t, e = act(t, A.APPROVE_FEEDBACK, who("chaowai.leader"), at(6))
    assert (t.status, t.fed_back_at, t.reply) == (S.FED_BACK, at(6), REPLY + "本周内完成。")
    assert (t.review_unit_id, t.review_by_leader) == (None, False)
    assert (e.public, e.note, e.actor_unit_id, e.unit_id) == (True, t.reply, units["110105002"].id,
                                                              units["110105002"].id)


def test_district_review_of_street_feedback(make_ticket, who, units, at):
    units["110105"].reviews_child_feedback = True
    db.session.commit()
    t = make_ticket(S.HANDLING)
    refuse(NotPermitted, t, A.FEEDBACK, who("jianwai"), at(1), reply=REPLY)
    t, e = act(t, A.SUBMIT_FEEDBACK, who("jianwai"), at(2), reply=REPLY)
    assert (t.status, t.review_unit_id, t.review_by_leader) == (S.FEEDBACK_REVIEW, units["110105"].id, False)
    assert e.data == {"reviewer": units["110105"].id, "by_leader": False}
    for name in ("jianwai", "jianwai.leader", "chaowai.leader", "dispatcher", "110108"):
        refuse(NotPermitted, t, A.APPROVE_FEEDBACK, who(name), at(3))
    t, e = act(t, A.REJECT_FEEDBACK, who("chaoyang"), at(4), reason="请补充处理结果")
    assert (t.status, e.actor_unit_id) == (S.HANDLING, units["110105"].id)
    t, _ = act(t, A.SUBMIT_FEEDBACK, who("jianwai"), at(5), reply=REPLY)
    t, e = act(t, A.APPROVE_FEEDBACK, who("chaoyang"), at(6))   # the district's handler may approve
    assert (t.status, t.fed_back_at, e.public, e.actor_unit_id) == (S.FED_BACK, at(6), True, units["110105"].id)
    # the district's own requests are not reviewed by itself
    d = make_ticket(S.HANDLING, unit="110105")
    d, _ = act(d, A.FEEDBACK, who("chaoyang"), at(7), reply=REPLY)
    assert d.status is S.FED_BACK


def test_leader_approval_wins_over_district_review(make_ticket, who, units, at):
    units["110105"].reviews_child_feedback = True
    units["110105001"].requires_leader_approval = True
    db.session.commit()
    t = make_ticket(S.HANDLING)
    t, _ = act(t, A.SUBMIT_FEEDBACK, who("jianwai"), at(1), reply=REPLY)
    refuse(NotPermitted, t, A.APPROVE_FEEDBACK, who("chaoyang"), at(2))
    refuse(NotPermitted, t, A.APPROVE_FEEDBACK, who("chaoyang.leader"), at(2))
    t, _ = act(t, A.APPROVE_FEEDBACK, who("jianwai.leader"), at(3))
    assert t.status is S.FED_BACK


def test_feedback_under_review_can_still_be_decided_after_the_setting_changes(make_ticket, who, units, at):
    units["110105001"].requires_leader_approval = True
    db.session.commit()
    t = make_ticket(S.HANDLING)
    t, _ = act(t, A.SUBMIT_FEEDBACK, who("jianwai"), at(1), reply=REPLY)
    units["110105001"].requires_leader_approval = False          # switched off while the feedback waits
    db.session.commit()
    t = reload(t.id)
    facts = facts_for(t)
    deciders = [(name, a) for name in ("jianwai", "jianwai.leader", "chaoyang", "chaoyang.leader", "operator",
                                       "dispatcher") for a in (A.APPROVE_FEEDBACK, A.REJECT_FEEDBACK)
                if can(who(name), a, facts)]
    assert deciders == [("jianwai.leader", A.APPROVE_FEEDBACK), ("jianwai.leader", A.REJECT_FEEDBACK)]
    t, _ = act(t, A.APPROVE_FEEDBACK, who("jianwai.leader"), at(2))
    assert (t.status, t.review_unit_id) == (S.FED_BACK, None)


def test_send_back_by_the_center(make_ticket, who, at):
    t = make_ticket(S.FED_BACK)
    refuse(InvalidInput, t, A.SEND_BACK, who("operator"), at(1), reason="")
    refuse(NotPermitted, t, A.SEND_BACK, who("jianwai"), at(1), reason="再办一下")
    t, e = act(t, A.SEND_BACK, who("operator"), at(2), reason="答复没有回应诉求")
    assert (t.status, t.fed_back_at, t.reply) == (S.HANDLING, None, "已修复路灯。")
    assert (e.public, e.note) == (False, "答复没有回应诉求")


# --- callback, re-handling, closing --------------------------------------------------------------------------------

@pytest.mark.parametrize("details", [
    {"contacted": True},                                   # contacted but no "resolved" answer
    {"contacted": True, "resolved": True},                 # … or no "satisfied" answer
    {"contacted": True, "resolved": "yes", "satisfied": True},
    {"contacted": "yes"},
    {},
], ids=["no_resolved", "no_satisfied", "resolved_not_bool", "contacted_not_bool", "nothing"])
def test_callback_refuses_incomplete_answers(make_ticket, who, at, details):
    t = make_ticket(S.FED_BACK)
    refuse(InvalidInput, t, A.CALLBACK, who("operator"), at(1), **details)


def test_callback_records_a_callback_row(make_ticket, who, units, users, at):
    t = make_ticket(S.FED_BACK)
    refuse(NotPermitted, t, A.CALLBACK, who("jianwai"), at(1), contacted=False)
    refuse(NotPermitted, t, A.CALLBACK, CITIZEN, at(1), requester=True, contacted=False)
    t, e = act(t, A.CALLBACK, who("operator"), at(2), contacted=False, note="电话无人接听")
    [cb] = t.callbacks
    assert t.status is S.CALLED_BACK
    assert (cb.contacted, cb.resolved, cb.satisfied, cb.note, cb.at) == (False, None, None, "电话无人接听", at(2))
    assert (cb.unit_id, cb.user_id, cb.source) == (units["110105001"].id, users["operator"].id, "center")
    assert (e.public, e.data) == (True, {"contacted": False, "resolved": None, "satisfied": None})
    refuse(InvalidInput, t, A.CLOSE, who("operator"), at(3))         # nobody reached: closing needs a reason
    # a later call is kept beside the first one
    t, e = act(t, A.CALLBACK, who("operator"), at(4), contacted=True, resolved=True, satisfied=True)
    assert (e.from_status, e.to_status) == (S.CALLED_BACK, S.CALLED_BACK)
    assert [(c.contacted, c.satisfied, c.at) for c in t.callbacks] == [(False, None, at(2)), (True, True, at(4))]
    t, _ = act(t, A.CLOSE, who("operator"), at(5))                    # reached and satisfied: no reason needed
    assert t.status is S.CLOSED
    refuse(IllegalTransition, t, A.CALLBACK, who("operator"), at(6), contacted=False)
    h = make_ticket(S.HANDLING)
    refuse(IllegalTransition, h, A.CALLBACK, who("operator"), at(3), contacted=False)


def test_rehandle_after_an_unsatisfied_callback_then_close(make_ticket, who, at):
    t = make_ticket(S.CALLED_BACK)
    [cb] = t.callbacks
    assert (cb.contacted, cb.resolved, cb.satisfied) == (True, False, False)
    signed = t.signed_at
    refuse(InvalidInput, t, A.CLOSE, who("operator"), at(1), reason="")   # unsatisfied: a reason is needed
    refuse(InvalidInput, t, A.REHANDLE, who("dispatcher"), at(1), reason="")
    refuse(InvalidInput, t, A.REHANDLE, who("dispatcher"), at(1), reason="市民不满意", due=at(0))
    refuse(NotPermitted, t, A.REHANDLE, who("jianwai"), at(1), reason="市民不满意")
    t, e = act(t, A.REHANDLE, who("operator"), at(2), reason="市民不满意，请重新办理")
    assert (t.status, t.rehandle_count, t.fed_back_at, t.signed_at) == (S.HANDLING, 1, None, signed)
    assert t.feedback_due_at == at(2) + timedelta(days=7)
    assert (e.public, e.note, e.data) == (True, "市民不满意，请重新办理", {"due": (at(2) + timedelta(days=7)).isoformat()})

    t, _ = act(t, A.FEEDBACK, who("jianwai"), at(3), reply="二次办理：" + REPLY)
    t, _ = act(t, A.CALLBACK, who("operator"), at(4), contacted=True, resolved=True, satisfied=True)
    refuse(InvalidInput, t, A.REHANDLE, who("dispatcher"), at(5), reason="再办一次")   # resolved and satisfied
    refuse(NotPermitted, t, A.CLOSE, who("jianwai"), at(5))
    t, e = act(t, A.CLOSE, who("operator"), at(6))                                     # no reason needed now
    assert (t.status, t.closed_at, t.close_reason) == (S.CLOSED, at(6), "")
    assert [c.satisfied for c in t.callbacks] == [False, True]
    assert (e.public, e.note) == (True, "")
    refuse(IllegalTransition, t, A.REHANDLE, who("dispatcher"), at(7), reason="再办一次")


def test_rehandle_with_its_own_due_time(make_ticket, who, at):
    t = make_ticket(S.CALLED_BACK)
    t, _ = act(t, A.REHANDLE, who("dispatcher"), at(1), reason="市民不满意", due=at(1) + timedelta(days=3))
    assert t.feedback_due_at == at(1) + timedelta(days=3)


def test_close_after_an_unsatisfied_callback_needs_a_reason(make_ticket, who, at):
    t = make_ticket(S.CALLED_BACK)
    refuse(InvalidInput, t, A.CLOSE, who("operator"), at(1), reason="理" * 201)
    t, e = act(t, A.CLOSE, who("operator"), at(2), reason="已依法依规答复")
    assert (t.status, t.closed_at, t.close_reason, e.note) == (S.CLOSED, at(2), "已依法依规答复", "已依法依规答复")
    f = make_ticket(S.FED_BACK)
    refuse(IllegalTransition, f, A.CLOSE, who("operator"), at(3), reason="直接办结")


# --- supervision, discipline, the citizen ---------------------------------------------------------------------------

def test_supervise_keeps_the_highest_level(make_ticket, who, at):
    t = make_ticket(S.HANDLING)
    refuse(InvalidInput, t, A.SUPERVISE, who("dispatcher"), at(1), level=5)
    refuse(InvalidInput, t, A.SUPERVISE, who("dispatcher"), at(1), level="2")
    refuse(NotPermitted, t, A.SUPERVISE, who("operator"), at(1), level=1)
    refuse(NotPermitted, t, A.SUPERVISE, who("jianwai.leader"), at(1), level=1)
    refuse(NotPermitted, t, A.SUPERVISE, who("admin"), at(1), level=1)
    t, e = act(t, A.SUPERVISE, who("dispatcher"), at(2), level=3, note="请本周内办结")
    assert (t.status, t.supervision_level, t.supervised_at) == (S.HANDLING, 3, at(2))
    assert (e.public, e.note, e.data, e.from_status, e.to_status) == (False, "请本周内办结", {"level": 3},
                                                                      S.HANDLING, S.HANDLING)
    t, e = act(t, A.SUPERVISE, SYSTEM, at(3))                       # level defaults to 1
    assert (t.supervision_level, t.supervised_at, e.data) == (3, at(3), {"level": 1})
    c = make_ticket(S.CLOSED)
    refuse(IllegalTransition, c, A.SUPERVISE, who("dispatcher"), at(4), level=1)


def test_transfer_discipline(make_ticket, who, at):
    t = make_ticket(S.CLOSED)
    refuse(InvalidInput, t, A.TRANSFER_DISCIPLINE, who("dispatcher"), at(1), note="")
    refuse(NotPermitted, t, A.TRANSFER_DISCIPLINE, who("operator"), at(1), note="推诿扯皮")
    t, e = act(t, A.TRANSFER_DISCIPLINE, who("dispatcher"), at(2), note="多次推诿，移送纪检")
    assert (t.status, e.public, e.note) == (S.CLOSED, False, "多次推诿，移送纪检")
    a = make_ticket(S.ANSWERED)
    refuse(IllegalTransition, a, A.TRANSFER_DISCIPLINE, who("dispatcher"), at(3), note="移送")


def test_supplement_by_the_requester(make_ticket, who, at):
    t = make_ticket(S.HANDLING)
    refuse(NotPermitted, t, A.SUPPLEMENT, CITIZEN, at(1), text="路灯位置在小区南门")   # not proven the requester
    refuse(InvalidInput, t, A.SUPPLEMENT, CITIZEN, at(1), requester=True, text=" ")
    refuse(NotPermitted, t, A.SUPPLEMENT, who("jianwai"), at(1), text="街道补充")
    t, e = act(t, A.SUPPLEMENT, CITIZEN, at(2), requester=True, text="路灯位置在小区南门")
    assert (t.status, e.public, e.note, e.actor_role, e.actor_unit_id) == (S.HANDLING, True, "路灯位置在小区南门",
                                                                           Role.CITIZEN, None)
    t, e = act(t, A.SUPPLEMENT, who("operator"), at(3), text="市民来电补充：南门东侧")
    assert e.actor_role is Role.OPERATOR
    c = make_ticket(S.CLOSED)
    refuse(IllegalTransition, c, A.SUPPLEMENT, CITIZEN, at(4), requester=True, text="再补充一点内容")


def test_rate_once(make_ticket, who, units, at):
    t = make_ticket(S.CLOSED)
    refuse(NotPermitted, t, A.RATE, CITIZEN, at(1), resolved=True, satisfied=True)
    refuse(NotPermitted, t, A.RATE, who("operator"), at(1), resolved=True, satisfied=True)
    refuse(InvalidInput, t, A.RATE, CITIZEN, at(1), requester=True, resolved=True)
    refuse(InvalidInput, t, A.RATE, CITIZEN, at(1), requester=True, resolved="1", satisfied=True)
    t, e = act(t, A.RATE, CITIZEN, at(2), requester=True, resolved=True, satisfied=False, comment="修好了但太慢")
    assert t.status is S.CLOSED
    assert (t.rating_resolved, t.rating_satisfied, t.rating_comment, t.rated_at) == (True, False, "修好了但太慢", at(2))
    assert (e.public, e.data) == (True, {"resolved": True, "satisfied": False})
    # the rating is kept as a callback answer beside the center's call
    center, citizen = t.callbacks
    assert (center.source, citizen.source) == ("center", "citizen")
    assert (citizen.contacted, citizen.resolved, citizen.satisfied, citizen.note, citizen.at, citizen.unit_id,
            citizen.user_id) == (True, True, False, "修好了但太慢", at(2), units["110105001"].id, None)
    refuse(InvalidInput, t, A.RATE, CITIZEN, at(3), requester=True, resolved=True, satisfied=True)   # rating twice
    h = make_ticket(S.HANDLING)
    refuse(IllegalTransition, h, A.RATE, CITIZEN, at(3), requester=True, resolved=True, satisfied=True)


def test_rating_before_the_callback_counts_as_the_callback(make_ticket, who, at):
    good = make_ticket(S.FED_BACK)
    good, e = act(good, A.RATE, CITIZEN, at(1), requester=True, resolved=True, satisfied=True)
    assert (good.status, e.to_status, len(good.callbacks)) == (S.CALLED_BACK, S.CALLED_BACK, 1)
    refuse(InvalidInput, good, A.REHANDLE, who("dispatcher"), at(2), reason="再办一次")   # the citizen is satisfied
    good, _ = act(good, A.CLOSE, who("operator"), at(3))
    assert good.status is S.CLOSED

    bad = make_ticket(S.FED_BACK)
    bad, _ = act(bad, A.RATE, CITIZEN, at(4), requester=True, resolved=False, satisfied=False)
    refuse(InvalidInput, bad, A.CLOSE, who("operator"), at(5))
    # a center call that reaches the citizen wins over the citizen's own rating
    bad, _ = act(bad, A.CALLBACK, who("operator"), at(6), contacted=True, resolved=True, satisfied=True)
    refuse(InvalidInput, bad, A.REHANDLE, who("dispatcher"), at(7), reason="再办一次")
    bad, _ = act(bad, A.CLOSE, who("operator"), at(8))
    assert bad.status is S.CLOSED and bad.rating_satisfied is False


# --- scope ----------------------------------------------------------------------------------------------------------

def test_scope_by_handling_path(make_ticket, who, units, now):
    chaoyang_street = make_ticket(S.HANDLING)                      # 110105001
    via_district = make_ticket(S.HANDLING, unit="110105002", via="110105")
    haidian_street = make_ticket(S.DISPATCHED, unit="110108001")
    department = make_ticket(S.HANDLING, unit="D-SCJGJ")
    at_center = make_ticket(S.SUBMITTED, street="110105001")       # a place, but not on anyone's path yet
    all_ids = {t.id for t in (chaoyang_street, via_district, haidian_street, department, at_center)}
    expected = {
        "operator": all_ids,
        "dispatcher": all_ids,
        "chaoyang": {chaoyang_street.id, via_district.id},
        "chaoyang.leader": {chaoyang_street.id, via_district.id},
        "jianwai": {chaoyang_street.id},
        "chaowai": {via_district.id},
        "110105003": set(),
        "110108": {haidian_street.id},
        "110108001": {haidian_street.id},
        "110108002": set(),
        "scjgj": {department.id},
        "water": set(),
        "admin": set(),
    }
    for name, ids in expected.items():
        actor = who(name)
        seen = set(db.session.scalars(select(Ticket.id).where(Ticket.id.in_(all_ids), visible_clause(actor))))
        assert seen == ids, name
        for tid in all_ids:
            loaded = load_ticket_for(actor, tid)
            assert (loaded is not None) == (tid in ids), (name, tid)
            # the SQL scope and the permission rule agree
            assert can_view(actor, facts_for(db.session.get(Ticket, tid))) == (tid in ids), (name, tid)
    for actor in (CITIZEN, SYSTEM):
        assert set(db.session.scalars(select(Ticket.id).where(visible_clause(actor)))) == set()
        assert load_ticket_for(actor, chaoyang_street.id) is None


def test_scope_is_a_subtree_not_a_string_prefix(make_ticket):
    # "/1/2/" must not match "/1/20/": units whose ids share a decimal prefix do not see each other's requests
    tier2 = {u.id: u for u in db.session.scalars(select(Unit).where(Unit.tier == 2))}
    pairs = [(a, b) for a in tier2 for b in tier2 if a != b and str(b).startswith(str(a))]
    assert pairs, "the seeded hierarchy has tier-2 ids that are decimal prefixes of others"
    for a, b in pairs[:3]:
        t = make_ticket(S.DISPATCHED, unit=tier2[b].code)
        assert load_ticket_for(Actor(Role.HANDLER, b, 2), t.id) is not None
        assert load_ticket_for(Actor(Role.HANDLER, a, 2), t.id) is None


def test_perform_refuses_hidden_requests_as_not_permitted(make_ticket, who, at):
    t = make_ticket(S.DISPATCHED, unit="110108001")
    refuse(NotPermitted, t, A.NOTE, who("chaoyang"), at(1), note="看看")
    refuse(NotPermitted, t, A.SIGN, who("jianwai"), at(1))

"""The three-tier queues driven through the web routes, as the center, a district and a street work."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import event, func, select

from portal.domain.deadlines import to_local, utcnow
from portal.domain.lifecycle import Action, Status
from portal.extensions import db
from portal.models import AuditEntry, Ticket, TicketEvent
from tests.conftest import TEST_PASSWORD
from tests.factories import statements_of

A = Action


def act(client, ticket, action, **data):
    """POST one action with the version the page was drawn from (as the form does)."""
    db.session.refresh(ticket)
    form = {f"{action.value}-version": str(ticket.version)}
    form.update({f"{action.value}-{k}": v for k, v in data.items()})
    return client.post(f"/staff/tickets/{ticket.id}/actions/{action.value}", data=form)


def status_of(ticket) -> Status:
    db.session.expire_all()
    return db.session.get(Ticket, ticket.id).status


def events_of(ticket) -> int:
    return db.session.scalar(select(func.count()).select_from(TicketEvent).where(TicketEvent.ticket_id == ticket.id))


def local_input(dt) -> str:
    return to_local(dt).strftime("%Y-%m-%dT%H:%M")


# --- the whole life of a request, through the routes ---------------------------------

def test_straight_to_a_street_until_closed(client, login_as, make_ticket, units):
    t = make_ticket(Status.SUBMITTED, unit="110105001")
    login_as("operator")
    assert act(client, t, A.ACCEPT, kind="complaint", urgency="normal", category=str(t.category_id),
               street=str(units["110105001"].id), address="建国门外大街1号").status_code == 303
    assert act(client, t, A.DISPATCH, unit=str(units["110105001"].id)).status_code == 303
    assert status_of(t) is Status.DISPATCHED
    login_as("jianwai")
    assert act(client, t, A.SIGN).status_code == 303
    assert act(client, t, A.NOTE, note="已到现场核实").status_code == 303
    assert act(client, t, A.FEEDBACK, reply="路灯已修复。", report="已修复，附照片。").status_code == 303
    assert status_of(t) is Status.FED_BACK
    login_as("operator")
    assert act(client, t, A.CALLBACK, contacted="yes", resolved="yes", satisfied="yes").status_code == 303
    assert act(client, t, A.CLOSE).status_code == 303
    assert status_of(t) is Status.CLOSED
    actions = db.session.scalars(select(TicketEvent.action).where(TicketEvent.ticket_id == t.id)
                                 .order_by(TicketEvent.seq)).all()
    assert actions == [A.SUBMIT, A.ACCEPT, A.DISPATCH, A.SIGN, A.NOTE, A.FEEDBACK, A.CALLBACK, A.CLOSE]


def test_via_a_district_redispatch(client, login_as, make_ticket, units):
    t = make_ticket(Status.ACCEPTED, unit="110105001")
    login_as("dispatcher")
    act(client, t, A.DISPATCH, unit=str(units["110105"].id))
    login_as("chaoyang")
    html = client.get(f"/staff/tickets/{t.id}").get_data(as_text=True)
    assert "转派" in html and "建外街道" in html             # its streets are offered
    assert act(client, t, A.REDISPATCH, unit=str(units["110105001"].id)).status_code == 303
    db.session.expire_all()
    assert t.handling_unit_id == units["110105001"].id and t.redispatch_count == 1
    login_as("jianwai")
    act(client, t, A.SIGN)
    assert status_of(t) is Status.HANDLING


def test_return_then_dispatch_again_is_counted(client, login_as, make_ticket, units):
    t = make_ticket(Status.DISPATCHED, unit="110105001")
    login_as("jianwai")
    assert act(client, t, A.REQUEST_RETURN, reason="不在本街道辖区").status_code == 303
    login_as("dispatcher")
    assert "不在本街道辖区" in client.get(f"/staff/tickets/{t.id}").get_data(as_text=True)
    assert act(client, t, A.APPROVE_RETURN).status_code == 303
    assert status_of(t) is Status.ACCEPTED
    act(client, t, A.DISPATCH, unit=str(units["110105002"].id))
    db.session.expire_all()
    assert t.return_count == 1 and t.handling_unit_id == units["110105002"].id


def test_returned_twice_is_flagged_to_supervisors(client, login_as, make_ticket, units):
    t = make_ticket(Status.DISPATCHED, unit="110105001")
    for street, user in (("110105001", "jianwai"), ("110105002", "chaowai")):
        login_as(user)
        act(client, t, A.REQUEST_RETURN, reason="不属于本单位")
        login_as("dispatcher")
        act(client, t, A.APPROVE_RETURN)
        act(client, t, A.DISPATCH, unit=str(units["110105003"].id if street == "110105002" else units["110105002"].id))
    html = client.get("/staff/", query_string={"tab": "pingpong"}).get_data(as_text=True)
    assert t.tracking_no in html and "多次退单" in html


def test_extension_request_and_approval(client, login_as, make_ticket):
    # the route checks the new due time against the real clock: start the request just now
    t = make_ticket(Status.HANDLING, start=utcnow() - timedelta(hours=1))
    login_as("jianwai")
    due = t.feedback_due_at + timedelta(days=3)
    assert act(client, t, A.REQUEST_EXTENSION, due=local_input(due), reason="需协调燃气公司").status_code == 303
    login_as("dispatcher")
    assert t.tracking_no in client.get("/staff/", query_string={"tab": "extensions"}).get_data(as_text=True)
    act(client, t, A.APPROVE_EXTENSION)
    db.session.expire_all()
    assert t.status is Status.HANDLING and t.feedback_due_at == due.replace(second=0, microsecond=0)


def test_rehandle_after_unsatisfied_callback(client, login_as, make_ticket):
    t = make_ticket(Status.FED_BACK)
    login_as("operator")
    act(client, t, A.CALLBACK, contacted="yes", resolved="no", satisfied="no", note="路灯仍不亮")
    resp = act(client, t, A.CLOSE)                      # closing an unsatisfied one needs a reason
    assert resp.status_code == 400 and "办结必须说明理由" in resp.get_data(as_text=True)
    assert act(client, t, A.REHANDLE, reason="市民反映仍未解决").status_code == 303
    assert status_of(t) is Status.HANDLING
    login_as("jianwai")
    act(client, t, A.FEEDBACK, reply="已更换灯具，经市民确认已亮。")
    assert status_of(t) is Status.FED_BACK
    db.session.expire_all()
    assert t.rehandle_count == 1


def test_leader_approves_feedback(client, login_as, make_ticket, units):
    units["110105001"].requires_leader_approval = True
    db.session.commit()
    t = make_ticket(Status.HANDLING)
    login_as("jianwai")
    html = client.get(f"/staff/tickets/{t.id}").get_data(as_text=True)
    assert "提交反馈待审核" in html
    act(client, t, A.SUBMIT_FEEDBACK, reply="已处理。")
    assert status_of(t) is Status.FEEDBACK_REVIEW
    assert act(client, t, A.APPROVE_FEEDBACK).status_code == 404 or status_of(t) is Status.FEEDBACK_REVIEW
    login_as("jianwai.leader")
    assert t.tracking_no in client.get("/staff/", query_string={"tab": "to_review"}).get_data(as_text=True)
    act(client, t, A.APPROVE_FEEDBACK)
    assert status_of(t) is Status.FED_BACK


def test_district_reviews_its_streets_feedback(client, login_as, make_ticket, units):
    units["110105"].reviews_child_feedback = True
    db.session.commit()
    t = make_ticket(Status.HANDLING)
    login_as("jianwai")
    act(client, t, A.SUBMIT_FEEDBACK, reply="已处理。")
    login_as("chaoyang")
    assert t.tracking_no in client.get("/staff/", query_string={"tab": "to_review"}).get_data(as_text=True)
    act(client, t, A.REJECT_FEEDBACK, reason="答复过于简单，请补充处理过程")
    assert status_of(t) is Status.HANDLING


def test_htmx_action_returns_the_panel_fragment(client, login_as, make_ticket):
    t = make_ticket(Status.DISPATCHED)
    login_as("jianwai")
    db.session.refresh(t)
    resp = client.post(f"/staff/tickets/{t.id}/actions/sign", data={"sign-version": str(t.version)},
                       headers={"HX-Request": "true"})
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200
    assert "<html" not in html and 'id="ticket-body"' in html and "已完成" in html
    assert status_of(t) is Status.HANDLING


# --- bad input: a clear message, nothing applied -----------------------------------------

def test_stale_version_is_a_conflict(client, login_as, make_ticket):
    t = make_ticket(Status.DISPATCHED)
    old = t.version
    login_as("jianwai")
    act(client, t, A.NOTE, note="第一条进展")                # someone acted since the page was drawn
    n = events_of(t)
    resp = client.post(f"/staff/tickets/{t.id}/actions/sign", data={"sign-version": str(old)})
    assert resp.status_code == 409
    assert "其他人刚刚处理了这件诉求" in resp.get_data(as_text=True)
    assert status_of(t) is Status.DISPATCHED and events_of(t) == n


@pytest.mark.parametrize("action,data,message", [
    (A.FEEDBACK, {"reply": ""}, "请填写给市民的答复"),
    (A.REQUEST_RETURN, {"reason": "  "}, "请填写理由"),
    (A.REQUEST_EXTENSION, {"due": "2020-01-01T10:00", "reason": "需要时间"}, "延期后的时限必须晚于当前时间"),
    (A.REQUEST_EXTENSION, {"due": "+40d", "reason": "需要时间"}, "延期不得超过15天"),
    (A.REQUEST_EXTENSION, {"due": "not-a-date", "reason": "需要时间"}, "不是有效的日期与时间值"),
])
def test_bad_street_input_changes_nothing(client, login_as, make_ticket, action, data, message, now):
    t = make_ticket(Status.HANDLING)
    if data.get("due") == "+40d":
        data = dict(data, due=local_input(t.feedback_due_at + timedelta(days=40)))
    login_as("jianwai")
    n, version = events_of(t), t.version
    resp = act(client, t, action, **data)
    assert resp.status_code == 400
    assert message in resp.get_data(as_text=True)
    db.session.expire_all()
    assert events_of(t) == n and db.session.get(Ticket, t.id).version == version


def test_dispatch_to_inactive_unit_or_the_center_is_refused(client, login_as, make_ticket, units):
    t = make_ticket(Status.ACCEPTED)
    units["110105002"].active = False
    db.session.commit()
    login_as("dispatcher")
    for target in (units["110105002"], units["BJ12345"]):
        resp = act(client, t, A.DISPATCH, unit=str(target.id))
        assert resp.status_code == 400
        assert status_of(t) is Status.ACCEPTED


def test_street_cannot_redispatch_and_other_units_get_404(client, login_as, make_ticket, units):
    t = make_ticket(Status.HANDLING, unit="110105001")
    login_as("jianwai")
    resp = act(client, t, A.REDISPATCH, unit=str(units["110105002"].id))
    assert resp.status_code == 403
    login_as("chaowai")                                         # a forged post against another unit's request
    assert act(client, t, A.SIGN).status_code == 404
    assert act(client, t, A.FEEDBACK, reply="伪造").status_code == 404
    assert status_of(t) is Status.HANDLING


def test_district_cannot_redispatch_outside_its_streets(client, login_as, make_ticket, units):
    t = make_ticket(Status.DISPATCHED, unit="110105")
    login_as("chaoyang")
    resp = act(client, t, A.REDISPATCH, unit=str(units["110108001"].id))    # a 海淀区 street
    assert resp.status_code == 400
    assert status_of(t) is Status.DISPATCHED


def test_unknown_action_is_404(client, login_as, make_ticket):
    t = make_ticket(Status.DISPATCHED)
    login_as("jianwai")
    assert client.post(f"/staff/tickets/{t.id}/actions/explode", data={}).status_code == 404
    assert client.post(f"/staff/tickets/{t.id}/actions/rate", data={}).status_code == 404


class TestCsrfOnActions:
    @pytest.fixture
    def app_config(self):
        return {"WTF_CSRF_ENABLED": True}

    def test_action_without_token_is_refused(self, client, make_ticket):
        t = make_ticket(Status.DISPATCHED)
        page = client.get("/login").get_data(as_text=True)
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
        client.post("/login", data={"username": "jianwai", "password": TEST_PASSWORD, "csrf_token": token})
        resp = client.post(f"/staff/tickets/{t.id}/actions/sign", data={"sign-version": str(t.version)})
        assert resp.status_code == 400
        assert status_of(t) is Status.DISPATCHED
        html = client.get(f"/staff/tickets/{t.id}").get_data(as_text=True)
        token = re.search(r'name="sign-csrf_token" type="hidden" value="([^"]+)"', html).group(1)
        resp = client.post(f"/staff/tickets/{t.id}/actions/sign",
                           data={"sign-version": str(t.version), "sign-csrf_token": token})
        assert resp.status_code == 303 and status_of(t) is Status.HANDLING


# --- queues -----------------------------------------------------------------------------------

def test_bulk_sign(client, login_as, make_ticket):
    a, b, c = (make_ticket(Status.DISPATCHED) for _ in range(3))
    other = make_ticket(Status.DISPATCHED, unit="110105002")
    login_as("jianwai")
    resp = client.post("/staff/bulk-sign", data={"ids": [a.id, b.id, other.id]})
    assert resp.status_code == 303
    assert (status_of(a), status_of(b), status_of(c)) == (Status.HANDLING, Status.HANDLING, Status.DISPATCHED)
    assert status_of(other) is Status.DISPATCHED             # not theirs: refused, not signed
    html = client.get("/staff/").get_data(as_text=True)
    assert "已签收 2 件" in html and "1 件未能签收" in html


def test_queue_rows_show_place_and_unit_and_a_checkbox_only_where_signing_is_allowed(client, login_as, make_ticket,
                                                                                     units):
    waiting = make_ticket(Status.DISPATCHED)
    working = make_ticket(Status.HANDLING)
    fresh = make_ticket(Status.SUBMITTED)
    street = units["110105001"]

    def row(html, ticket):
        return re.search(r"<tr[^>]*>(?:(?!</tr>).)*?%s.*?</tr>" % re.escape(ticket.tracking_no), html, re.S).group(0)

    login_as("jianwai")
    html = client.get("/staff/", query_string={"tab": "all"}).get_data(as_text=True)
    assert f'id="pick-{waiting.id}"' in row(html, waiting) and "pick-" not in row(html, working)
    assert row(html, working).count(street.name) == 2                       # the place and the handling unit
    assert "签收所选" in html
    login_as("chaoyang")                                  # the district sees its street's work but does not hold it
    html = client.get("/staff/", query_string={"tab": "all"}).get_data(as_text=True)
    assert waiting.tracking_no in html and "pick-" not in html and "签收所选" not in html
    login_as("dispatcher")
    html = client.get("/staff/", query_string={"tab": "intake"}).get_data(as_text=True)
    assert "市热线中心" in row(html, fresh) and "pick-" not in html       # not dispatched yet: with the center


def test_countdown_colours(client, login_as, make_ticket, now):
    from portal.domain.deadlines import utcnow
    late = make_ticket(Status.HANDLING, start=utcnow() - timedelta(days=10))      # feedback due 3 days ago
    soon = make_ticket(Status.HANDLING, start=utcnow() - timedelta(days=6, hours=12))
    fine = make_ticket(Status.HANDLING, start=utcnow() - timedelta(hours=2))
    login_as("jianwai")
    html = client.get("/staff/", query_string={"tab": "handling"}).get_data(as_text=True)
    rows = {m.group(2): m.group(1) for m in re.finditer(r'<tr class="due-(\w+)">.*?>(\d{6}-\d{7}-\d)<', html, re.S)}
    assert rows[late.tracking_no] == "red" and rows[soon.tracking_no] == "amber" and rows[fine.tracking_no] == "ok"
    assert "已超期" in html and "剩余" in html
    # most urgent first
    assert html.index(late.tracking_no) < html.index(soon.tracking_no) < html.index(fine.tracking_no)


def test_filters(client, login_as, make_ticket):
    lamp = make_ticket(Status.DISPATCHED, content="建国路路灯坏了很久了请尽快修理")
    noise = make_ticket(Status.DISPATCHED, category="JSGL-YJSG", content="夜间施工噪声扰民严重影响休息")
    login_as("jianwai")
    html = client.get("/staff/", query_string={"tab": "to_sign", "q": "路灯"}).get_data(as_text=True)
    assert lamp.tracking_no in html and noise.tracking_no not in html
    html = client.get("/staff/", query_string={"tab": "to_sign", "q": "%_"}).get_data(as_text=True)
    assert lamp.tracking_no not in html                            # LIKE syntax is escaped, not a wildcard
    html = client.get("/staff/", query_string={"tab": "to_sign", "category": str(noise.category.parent_id)}
                      ).get_data(as_text=True)
    assert noise.tracking_no in html and lamp.tracking_no not in html
    resp = client.get("/staff/", query_string={"tab": "to_sign", "from": "yesterday", "page": "x"})
    assert resp.status_code == 200 and "部分筛选条件格式不正确" in resp.get_data(as_text=True)


def test_counts_fragment_for_polling(client, login_as, make_ticket):
    make_ticket(Status.DISPATCHED)
    login_as("jianwai")
    html = client.get("/staff/counts", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "<html" not in html and 'hx-trigger="every 30s"' in html and "待签收" in html


@pytest.mark.parametrize("username,url", [
    ("jianwai", "/staff/?tab=all"), ("chaoyang", "/staff/?tab=all"), ("dispatcher", "/staff/?tab=all"),
])
def test_queue_pages_have_no_n_plus_one(app, client, login_as, make_ticket, username, url):
    for _ in range(2):
        make_ticket(Status.HANDLING)
    login_as(username)
    statements_of(client, url)              # the first view fills what the process keeps (the filter lists)
    app.config["QUEUE_COUNTS_SECONDS"] = 0   # both views count their tabs, in the page's own thread
    few = statements_of(client, url)
    for _ in range(8):
        make_ticket(Status.HANDLING, via="110105")
    many = statements_of(client, url)
    assert many == few, (few, many)


# --- phone intake, full phone, sign-in rules ----------------------------------------------------

def test_phone_intake_creates_an_accepted_phone_request(client, login_as, units, category_id=None):
    from portal.models import Category
    cat = db.session.scalar(select(Category).where(Category.code == "SZSS-LD"))
    login_as("operator")
    assert client.get("/staff/intake/phone").status_code == 200
    resp = client.post("/staff/intake/phone", data={
        "citizen_phone": "13900001111", "citizen_name": "王女士", "kind": "complaint", "category": str(cat.id),
        "street": str(units["110105001"].id), "address": "建外大街", "content": "小区门口路灯坏了一周没人修理",
        "urgency": "normal"})
    assert resp.status_code == 303
    t = db.session.scalar(select(Ticket).order_by(Ticket.id.desc()))
    assert t.channel.value == "phone" and t.status is Status.ACCEPTED and t.district_id == units["110105"].id
    bad = client.post("/staff/intake/phone", data={"citizen_phone": "", "kind": "complaint", "category": "",
                                                   "content": "短", "urgency": "normal"})
    assert bad.status_code == 400 and "请填写来电号码" in bad.get_data(as_text=True)
    assert t.citizen_phone == "+8613900001111"                    # stored as E.164
    n = db.session.scalar(select(func.count()).select_from(Ticket))
    bad = client.post("/staff/intake/phone", data={
        "citizen_phone": "12345", "kind": "complaint", "category": str(cat.id),
        "content": "小区门口路灯坏了一周没人修理", "urgency": "normal"})
    assert bad.status_code == 400 and "请填写正确的手机号码" in bad.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(Ticket)) == n


@pytest.mark.parametrize("username", ["jianwai", "chaoyang", "admin"])
def test_phone_intake_is_for_the_center_only(client, login_as, username):
    login_as(username)
    assert client.get("/staff/intake/phone").status_code == 404


def test_full_phone_only_for_the_handling_unit_and_audited(client, login_as, make_ticket):
    t = make_ticket(Status.HANDLING, citizen_phone="13912345678")
    login_as("chaoyang")
    assert client.post(f"/staff/tickets/{t.id}/phone").status_code == 404
    login_as("jianwai")
    html = client.get(f"/staff/tickets/{t.id}").get_data(as_text=True)
    assert "13912345678" not in html and "139****5678" in html
    resp = client.post(f"/staff/tickets/{t.id}/phone", headers={"HX-Request": "true"})
    assert "13912345678" in resp.get_data(as_text=True)
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "view_phone"))
    assert entry is not None and entry.target_id == t.id


def test_repeated_failures_lock_the_account(client, users):
    for _ in range(5):
        assert client.post("/login", data={"username": "jianwai", "password": "wrong"}).status_code == 401
    resp = client.post("/login", data={"username": "jianwai", "password": TEST_PASSWORD})
    assert resp.status_code == 401 and "临时锁定" in resp.get_data(as_text=True)
    db.session.expire_all()
    assert users["jianwai"].locked_until is not None


def test_idle_timeout(app, client, login_as):
    login_as("jianwai")
    with client.session_transaction() as s:
        s["_seen"] -= 31 * 60
    resp = client.get("/staff/")
    assert resp.status_code == 303 and "/login" in resp.headers["Location"]
    assert client.get("/staff/").status_code == 302


def test_logout_ends_the_session_even_for_a_copied_cookie(client, login_as):
    login_as("jianwai")
    cookie = client.get_cookie("session").value
    client.post("/logout")
    client.set_cookie("session", cookie)                 # replay the old cookie
    assert client.get("/staff/").status_code == 302


@pytest.mark.parametrize("username,landing", [
    ("operator", "待受理/派单"), ("dispatcher", "退单审核"), ("jianwai", "待签收"), ("chaoyang", "待签收"),
    ("admin", "系统管理员不处理诉求"),
])
def test_home_page_per_role(client, login_as, username, landing):
    login_as(username)
    assert landing in client.get("/staff/").get_data(as_text=True)


def test_tab_counts_are_kept_then_counted_again_behind_the_pages_and_at_once_after_ones_own_change(
        app, client, login_as, make_ticket, monkeypatch):
    """services.queues.counts: kept per scope for QUEUE_COUNTS_SECONDS; once old (by time, or
    changed in this process) a page is served the kept counts while a thread counts them again;
    the user's own change, kept too long or TTL 0: counted at once, in the page."""
    import time as real_time

    from portal.services import queues
    first = make_ticket(Status.DISPATCHED)
    login_as("jianwai")

    def to_sign():
        html = client.get("/staff/counts", query_string={"tab": "to_sign"}).get_data(as_text=True)
        return int(re.search(r'tab=to_sign".*?<span class="count">(\d+)</span>', html, re.S).group(1))

    def elsewhere(ticket, status):
        db.session.execute(Ticket.__table__.update().where(Ticket.id == ticket.id).values(status=status))
        db.session.commit()

    assert to_sign() == 1
    elsewhere(first, "handling")
    assert to_sign() == 1                                  # kept: another process's change is not seen yet
    clock = [real_time.monotonic() + app.config["QUEUE_COUNTS_SECONDS"] + 1]
    monkeypatch.setattr(queues.time, "monotonic", lambda: clock[0])
    assert to_sign() == 1                                  # old: served as kept, while counted behind the page
    queues.settle_counts()
    assert to_sign() == 0                                  # ... and the next page has the new count
    second, third = make_ticket(Status.DISPATCHED), make_ticket(Status.DISPATCHED)
    assert to_sign() == 0                                  # changed in this process (not by this user): the same
    queues.settle_counts()
    assert to_sign() == 2
    resp = client.post("/staff/bulk-sign", data={"ids": [second.id]})
    assert resp.status_code == 303
    assert to_sign() == 1                                  # the user's own change: counted at once
    elsewhere(third, "handling")
    assert to_sign() == 1                                  # (the mark is used once: kept again)
    clock[0] += queues.STALE_AT_MOST_SECONDS + 1
    assert to_sign() == 0                                  # kept too long: counted at once
    app.config["QUEUE_COUNTS_SECONDS"] = 0
    elsewhere(third, "dispatched")
    assert to_sign() == 1                                  # nothing kept: counted every time


def test_a_failed_count_behind_the_pages_keeps_the_old_counts(app, client, login_as, make_ticket, monkeypatch,
                                                               caplog):
    """A count in the background thread that fails is logged; pages go on with the kept counts
    and the next old page tries again."""
    import time as real_time

    from portal.services import queues
    make_ticket(Status.DISPATCHED)
    login_as("jianwai")
    url = "/staff/counts?tab=to_sign"
    assert 'tab=to_sign' in client.get(url).get_data(as_text=True)
    real_monotonic = real_time.monotonic
    monkeypatch.setattr(queues.time, "monotonic", lambda: real_monotonic() + 11)
    real_count = queues._count
    monkeypatch.setattr(queues, "_count", lambda *a, **k: (_ for _ in ()).throw(RuntimeError("database gone")))
    assert client.get(url).status_code == 200           # kept counts served; the thread fails
    queues.settle_counts()
    assert "counting a queue's tabs again failed" in caplog.text
    monkeypatch.setattr(queues, "_count", real_count)
    assert client.get(url).status_code == 200
    queues.settle_counts()
    kept = app.extensions["queue_counts"]
    assert not kept.counting and all(hit[1] > real_monotonic() + 5 for hit in kept.entries.values())


@pytest.mark.parametrize("backend", ["postgresql"])
def test_a_count_behind_the_pages_runs_on_one_postgresql_process(app, client, login_as, make_ticket, monkeypatch):
    """The thread counting tabs again turns parallel query off for its own transaction (nobody
    waits for it; on a busy server the parallel workers' CPU is what the pages lack), and the
    pooled connection it used is back to the server's default afterwards."""
    import threading
    import time as real_time

    from portal.services import queues
    make_ticket(Status.DISPATCHED)
    login_as("jianwai")
    url = "/staff/counts?tab=to_sign"
    seen: list[tuple[str, str, int]] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        seen.append((threading.current_thread().name, statement, id(conn.connection.dbapi_connection)))

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        assert client.get(url).status_code == 200          # counted in the page: parallel as usual
        in_page = [s for name, s, _ in seen if name != "queue-counts"]
        assert not any("max_parallel_workers_per_gather" in s for s in in_page)
        real_monotonic = real_time.monotonic
        monkeypatch.setattr(queues.time, "monotonic", lambda: real_monotonic() + 11)
        assert client.get(url).status_code == 200          # old: counted again behind the page
        queues.settle_counts()
    finally:
        event.remove(db.engine, "before_cursor_execute", record)
    behind = [(s, conn) for name, s, conn in seen if name == "queue-counts"]
    assert behind, "no count ran behind the page"
    assert behind[0][0].startswith("SET LOCAL max_parallel_workers_per_gather = 0")
    assert "count(*) FILTER" in behind[1][0] and behind[1][1] == behind[0][1]   # the same transaction's connection
    with db.engine.connect() as conn:                      # SET LOCAL: the pooled connection is as it was
        assert conn.exec_driver_sql("SHOW max_parallel_workers_per_gather").scalar() != "0"


def test_the_filter_lists_follow_a_change_made_elsewhere(client, login_as, units, database_url):
    """The filter form's categories, districts and streets are kept per process until a unit or
    category changes anywhere (services.reference): renamed in another process, shown renamed."""
    from sqlalchemy import create_engine
    from sqlalchemy.orm import Session
    from portal.models import Category, Unit
    login_as("dispatcher")
    html = client.get("/staff/").get_data(as_text=True)
    assert ">东城区</option>" in html and ">市场管理</option>" in html
    engine = create_engine(database_url)
    with Session(engine) as other:
        other.get(Unit, units["110101"].id).name = "东城区（新）"
        other.scalar(select(Category).where(Category.name == "市场管理")).name = "市场监管"
        other.commit()
    engine.dispose()
    html = client.get("/staff/").get_data(as_text=True)
    assert ">东城区（新）</option>" in html and ">市场监管</option>" in html
    login_as("chaoyang")                                  # a district's own streets
    html = client.get("/staff/?tab=all").get_data(as_text=True)
    street = db.session.scalar(select(Unit).where(Unit.parent_id == units["110105"].id).order_by(Unit.code))
    assert f">{street.name}</option>" in html

"""/track: the lookup (POST, never credentials in a URL), the public timeline, supplements,
the online rating, photos for those allowed only, rate limits, privacy."""
from __future__ import annotations

import io
import logging
import re

import pytest
from PIL import Image
from sqlalchemy import func, select

from portal.domain.lifecycle import Action, Status
from portal.extensions import db
from portal.models import Callback, Ticket, TicketEvent
from portal.services import notify
from portal.services.tickets import perform


@pytest.fixture
def app_config(tmp_path):
    return {"UPLOAD_DIR": str(tmp_path / "uploads")}


def count(model=Ticket) -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(model))


def lookup(client, number, secret):
    return client.post("/track", data={"tracking_no": number, "secret": secret})


def other_number(number: str) -> str:
    """A well-formed tracking number (check digit right) that is not ``number``."""
    from portal.domain.tracking import damm, format_tracking_number
    body = number.replace("-", "")[:13]
    body = body[:-1] + str((int(body[-1]) + 1) % 10)
    return format_tracking_number(body + str(damm(body)))


# --- the lookup -----------------------------------------------------------------------------------

def test_lookup_form_posts(client):
    html = client.get("/track").get_data(as_text=True)
    assert 'method="post"' in html and 'for="tracking_no"' in html and 'for="secret"' in html


def test_lookup_with_query_code(client, make_ticket):
    t = make_ticket(Status.SUBMITTED)
    resp = lookup(client, t.tracking_no, t.query_code.lower())
    assert resp.status_code == 303
    assert resp.headers["Location"].endswith(f"/track/{t.tracking_no}")
    assert t.query_code not in resp.headers["Location"]
    html = client.get(f"/track/{t.tracking_no}").get_data(as_text=True)
    assert "待受理" in html and t.content in html
    assert client.get(f"/track/{t.tracking_no}").headers["Cache-Control"] == "no-store"


def test_lookup_with_phone_tail_and_loose_number(client, make_ticket):
    t = make_ticket(Status.SUBMITTED, citizen_phone="+8613812345678")
    loose = t.tracking_no.replace("-", " ")
    assert lookup(client, loose, "5678").status_code == 303
    assert client.get(f"/track/{t.tracking_no}").status_code == 200


def test_page_without_proof_sends_to_the_lookup(client, make_ticket):
    t = make_ticket(Status.HANDLING)
    resp = client.get(f"/track/{t.tracking_no}")
    assert resp.status_code == 303
    assert resp.headers["Location"].endswith(f"/track?n={t.tracking_no}")
    assert t.tracking_no in client.get(resp.headers["Location"]).get_data(as_text=True)   # prefilled


def test_wrong_check_digit_is_named(client, make_ticket):
    t = make_ticket(Status.SUBMITTED)
    wrong = t.tracking_no[:-1] + str((int(t.tracking_no[-1]) + 1) % 10)
    resp = lookup(client, wrong, t.query_code)
    assert resp.status_code == 400
    assert "受理编号有误" in resp.get_data(as_text=True)


def test_query_code_of_another_request_and_unknown_number_get_the_same_answer(client, make_ticket):
    a = make_ticket(Status.SUBMITTED)
    b = make_ticket(Status.SUBMITTED)
    wrong_code = lookup(client, a.tracking_no, b.query_code)
    unknown = lookup(client, other_number(a.tracking_no), b.query_code)
    wrong_tail = lookup(client, a.tracking_no, "0000")
    assert wrong_code.status_code == unknown.status_code == wrong_tail.status_code == 400
    # the echoed input, and the CSRF token (it carries a timestamp, so it differs second to second)
    scrub = lambda r: re.sub(r'value="[^"]*"|"X-CSRFToken": "[^"]*"', "", r.get_data(as_text=True))  # noqa: E731
    assert scrub(wrong_code) == scrub(unknown) == scrub(wrong_tail)
    assert "不匹配" in scrub(unknown)
    assert client.get(f"/track/{a.tracking_no}").status_code == 303        # nothing proven


def test_empty_lookup(client):
    html = lookup(client, "", "").get_data(as_text=True)
    assert "请填写受理编号" in html and "请填写查询码或联系电话后 4 位" in html


def test_forget(client, make_ticket):
    t = make_ticket(Status.SUBMITTED)
    lookup(client, t.tracking_no, t.query_code)
    assert client.post(f"/track/{t.tracking_no}/forget").status_code == 303
    assert client.get(f"/track/{t.tracking_no}").status_code == 303


# --- the public timeline --------------------------------------------------------------------------

def test_timeline_shows_public_steps_and_the_reply_only(client, make_ticket, units, users, now):
    t = make_ticket(Status.HANDLING, unit="110105001")
    perform(t, Action.NOTE, users.actor("jianwai"), now, note="内部备注：联系了物业")
    perform(t, Action.FEEDBACK, users.actor("jianwai"), now, reply="已更换灯泡，路灯恢复照明。",
            report="给中心的报告：耗时两小时")
    db.session.commit()
    lookup(client, t.tracking_no, t.query_code)
    html = client.get(f"/track/{t.tracking_no}").get_data(as_text=True)
    assert "已更换灯泡，路灯恢复照明。" in html                      # the unit's reply
    assert "建外街道" in html and "已签收" in html and "热线中心已受理" in html
    assert "内部备注" not in html and "给中心的报告" not in html       # not public
    assert "已反馈待回访" in html
    assert "评价办理结果" in html                                    # the rating form
    events = db.session.scalars(select(TicketEvent).where(TicketEvent.ticket_id == t.id)).all()
    assert any(not e.public for e in events)


def test_due_times_are_shown_while_handling(client, make_ticket):
    t = make_ticket(Status.HANDLING)
    lookup(client, t.tracking_no, t.query_code)
    html = client.get(f"/track/{t.tracking_no}").get_data(as_text=True)
    assert "答复时限" in html and "正在办理" in html


def test_page_never_shows_full_name_or_phone(client, make_ticket):
    t = make_ticket(Status.FED_BACK, citizen_name="欧阳娜娜", citizen_phone="+8613987654321")
    lookup(client, t.tracking_no, "4321")
    html = client.get(f"/track/{t.tracking_no}").get_data(as_text=True)
    assert "欧阳娜娜" not in html and "13987654321" not in html and "139****4321" in html


# --- supplement -----------------------------------------------------------------------------------

def test_supplement_while_open(client, make_ticket):
    t = make_ticket(Status.HANDLING)
    lookup(client, t.tracking_no, t.query_code)
    resp = client.post(f"/track/{t.tracking_no}/supplement", data={"text": "补充：晚上八点以后最黑。"})
    assert resp.status_code == 303
    html = client.get(f"/track/{t.tracking_no}").get_data(as_text=True)
    assert "补充：晚上八点以后最黑。" in html and "补充内容已提交" in html
    events_before = count(TicketEvent)
    resp = client.post(f"/track/{t.tracking_no}/supplement", data={"text": "  "})
    assert resp.status_code == 400 and "请填写补充内容" in resp.get_data(as_text=True)
    assert count(TicketEvent) == events_before


def test_supplement_needs_proof(client, make_ticket):
    t = make_ticket(Status.HANDLING)
    events = count(TicketEvent)
    resp = client.post(f"/track/{t.tracking_no}/supplement", data={"text": "冒充的补充内容"})
    assert resp.status_code == 303 and "/track?n=" in resp.headers["Location"]
    assert count(TicketEvent) == events


def test_no_supplement_once_closed(client, make_ticket):
    t = make_ticket(Status.CLOSED)
    lookup(client, t.tracking_no, t.query_code)
    html = client.get(f"/track/{t.tracking_no}").get_data(as_text=True)
    assert "提交补充" not in html
    events = count(TicketEvent)
    resp = client.post(f"/track/{t.tracking_no}/supplement", data={"text": "还想补充一点"})
    assert resp.status_code == 409 and "不能再补充" in resp.get_data(as_text=True)
    assert count(TicketEvent) == events


# --- rating ---------------------------------------------------------------------------------------

def test_rate_not_resolved_goes_to_the_center(client, make_ticket):
    t = make_ticket(Status.FED_BACK)
    lookup(client, t.tracking_no, t.query_code)
    resp = client.post(f"/track/{t.tracking_no}/rate", data={"resolved": "no", "satisfied": "no",
                                                            "comment": "路灯还是不亮"})
    assert resp.status_code == 303
    db.session.expire_all()
    t = db.session.get(Ticket, t.id)
    assert t.status is Status.CALLED_BACK
    assert t.rating_resolved is False and t.rating_satisfied is False
    cb = db.session.scalar(select(Callback).where(Callback.ticket_id == t.id, Callback.source == "citizen"))
    assert cb is not None and cb.contacted and cb.resolved is False
    html = client.get(f"/track/{t.tracking_no}").get_data(as_text=True)
    assert "您的评价" in html and "未解决" in html and "路灯还是不亮" in html
    assert "热线中心将研判是否要求承办单位重新办理" in html
    assert "提交评价" not in html                       # no second form


def test_rate_twice_is_refused(client, make_ticket):
    t = make_ticket(Status.FED_BACK)
    lookup(client, t.tracking_no, t.query_code)
    data = {"resolved": "yes", "satisfied": "yes"}
    assert client.post(f"/track/{t.tracking_no}/rate", data=data).status_code == 303
    callbacks = count(Callback)
    resp = client.post(f"/track/{t.tracking_no}/rate", data=data)
    assert resp.status_code == 400 and "该诉求已经评价过" in resp.get_data(as_text=True)
    assert count(Callback) == callbacks


def test_rate_needs_both_answers(client, make_ticket):
    t = make_ticket(Status.FED_BACK)
    lookup(client, t.tracking_no, t.query_code)
    resp = client.post(f"/track/{t.tracking_no}/rate", data={"resolved": "yes"})
    assert resp.status_code == 400 and "请选择是否满意" in resp.get_data(as_text=True)
    assert count(Callback) == 0


def test_rate_before_feedback_is_not_offered_nor_accepted(client, make_ticket):
    t = make_ticket(Status.HANDLING)
    lookup(client, t.tracking_no, t.query_code)
    assert "评价办理结果" not in client.get(f"/track/{t.tracking_no}").get_data(as_text=True)
    resp = client.post(f"/track/{t.tracking_no}/rate", data={"resolved": "yes", "satisfied": "yes"})
    assert resp.status_code == 409
    assert count(Callback) == 0


# --- photos ---------------------------------------------------------------------------------------

def _submit_with_photo(client, units):
    from portal.models import Category
    buf = io.BytesIO()
    Image.new("RGB", (32, 32), (0, 128, 0)).save(buf, "JPEG")
    cat = db.session.scalar(select(Category).where(Category.code == "SZSS-LD"))
    resp = client.post("/submit", content_type="multipart/form-data", data={
        "requester_type": "citizen", "kind": "complaint", "urgency": "normal", "category": str(cat.id),
        "district": str(units["110105"].id), "street": str(units["110105001"].id),
        "content": "路灯不亮已经一周了，请尽快维修。", "phone": "13912345678",
        "photos": [(io.BytesIO(buf.getvalue()), "p.jpg")]})
    assert resp.status_code == 303
    return db.session.scalar(select(Ticket).order_by(Ticket.id.desc()))


def test_photos_are_served_only_to_those_allowed(app, client, units, users, login_as, now):
    t = _submit_with_photo(client, units)
    url = f"/photos/{t.attachments[0].stored_name}"
    resp = client.get(url)                                # the submitting session proved it
    assert resp.status_code == 200 and resp.mimetype == "image/jpeg"
    assert "no-store" in resp.headers["Cache-Control"]
    assert url in client.get(f"/track/{t.tracking_no}").get_data(as_text=True)
    stranger = app.test_client()
    assert stranger.get(url).status_code == 404
    assert stranger.get("/photos/nonexistent.jpg").status_code == 404
    # staff: by scope
    staff = app.test_client()
    from tests.conftest import TEST_PASSWORD

    def sign_in(name):
        staff.post("/logout")
        assert staff.post("/login", data={"username": name, "password": TEST_PASSWORD}).status_code == 303
    sign_in("jianwai")
    assert staff.get(url).status_code == 404            # not dispatched to the street yet
    sign_in("operator")
    assert staff.get(url).status_code == 200
    perform(t, Action.ACCEPT, users.actor("operator"), now)
    perform(t, Action.DISPATCH, users.actor("dispatcher"), now, unit=units["110105001"])
    db.session.commit()
    sign_in("jianwai")
    assert staff.get(url).status_code == 200
    sign_in("chaowai")
    assert staff.get(url).status_code == 404


# --- rate limits ----------------------------------------------------------------------------------

class TestTrackLimits:
    @pytest.fixture
    def app_config(self, tmp_path):
        return {"RATELIMIT_TRACK_IP": "4 per hour", "RATELIMIT_TRACK_NUMBER": "2 per hour",
                "UPLOAD_DIR": str(tmp_path / "uploads")}

    def test_failed_lookups_per_number_then_even_the_right_code_waits(self, client, make_ticket):
        t = make_ticket(Status.SUBMITTED)
        assert lookup(client, t.tracking_no, "0000").status_code == 400
        assert lookup(client, t.tracking_no, "1111").status_code == 400
        resp = lookup(client, t.tracking_no, t.query_code)
        assert resp.status_code == 429 and "操作过于频繁" in resp.get_data(as_text=True)

    def test_an_unknown_number_is_limited_the_same_way(self, client, make_ticket):
        unknown = other_number(make_ticket(Status.SUBMITTED).tracking_no)
        assert lookup(client, unknown, "0000").status_code == 400
        assert lookup(client, unknown, "ABCDEF").status_code == 400
        assert lookup(client, unknown, "0000").status_code == 429

    def test_per_ip(self, client, make_ticket):
        t = make_ticket(Status.SUBMITTED)
        for _ in range(3):
            assert lookup(client, t.tracking_no, t.query_code).status_code == 303
        assert lookup(client, t.tracking_no, t.query_code).status_code == 303
        resp = lookup(client, t.tracking_no, t.query_code)
        assert resp.status_code == 429
        client.get("/lang/en")
        resp = lookup(client, t.tracking_no, t.query_code)
        assert resp.status_code == 429 and '<html lang="en">' in resp.get_data(as_text=True)


# --- privacy ----------------------------------------------------------------------------------------

class _Capture(logging.Handler):
    def __init__(self):
        super().__init__(level=logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record):
        self.lines.append(self.format(record))


def test_name_and_phone_never_on_a_public_page_or_in_a_log(app, client, units, users, now):
    name, phone = "诸葛明亮", "13566667777"
    capture = _Capture()
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(capture)
    root.setLevel(logging.DEBUG)
    # alembic's fileConfig (run when the test database was migrated) disables existing loggers
    loggers = [lg for lg in logging.root.manager.loggerDict.values() if isinstance(lg, logging.Logger)]
    disabled = [lg for lg in loggers if lg.disabled]
    for lg in disabled:
        lg.disabled = False
    try:
        from portal.models import Category
        cat = db.session.scalar(select(Category).where(Category.code == "SZSS-LD"))
        pages = []
        resp = client.post("/submit", content_type="multipart/form-data", data={
            "requester_type": "citizen", "kind": "complaint", "urgency": "normal", "category": str(cat.id),
            "district": str(units["110105"].id), "street": str(units["110105001"].id),
            "content": "路灯不亮已经一周了，请尽快维修。", "name": name, "phone": phone, "consent_publish": "y"})
        assert resp.status_code == 303
        t = db.session.scalar(select(Ticket).order_by(Ticket.id.desc()))
        assert t.citizen_name == name
        pages.append(client.get("/submit/receipt"))
        lookup(client, t.tracking_no, phone[-4:])
        perform(t, Action.ACCEPT, users.actor("operator"), now)
        perform(t, Action.DISPATCH, users.actor("dispatcher"), now, unit=units["110105001"])
        perform(t, Action.SIGN, users.actor("jianwai"), now)
        perform(t, Action.FEEDBACK, users.actor("jianwai"), now, reply="已修复。")
        db.session.commit()
        pages.append(client.get(f"/track/{t.tracking_no}"))
        pages.append(client.get("/"))
        pages.append(client.get("/track"))
        pages.append(client.post("/submit/suggestions", headers={"HX-Request": "true"},
                                 data={"content": "路灯不亮已经一周了", "street": str(units["110105001"].id)}))
        from datetime import timedelta
        from portal.domain.deadlines import utcnow
        assert notify.deliver(utcnow() + timedelta(hours=1)) >= 2   # the console backend logs each one
        db.session.commit()
    finally:
        root.removeHandler(capture)
        root.setLevel(old_level)
        for lg in disabled:
            lg.disabled = True
    forms = (name, phone, "+86" + phone, "135 6666 7777", "135-6666-7777")
    for page in pages:
        html = page.get_data(as_text=True)
        assert page.status_code == 200
        for f in forms:
            assert f not in html, (page.request.path, f)
    log = "\n".join(capture.lines)
    assert "notify" in log                    # the log was captured
    for f in forms:
        assert f not in log, f

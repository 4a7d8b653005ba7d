"""Open311 GeoReport v2 (issue 8): every endpoint and error case in JSON and XML, the bad
input the issue lists, privacy, paging, the rate limit per key, and a request posted through
the API followed to closed through the staff services and read back through the API."""
from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from portal.domain.deadlines import utcnow
from portal.domain.intake import Channel
from portal.domain.lifecycle import Action, Status
from portal.extensions import db
from portal.models import ApiKey, Open311Request, OutboxMessage, Ticket
from portal.services import apikeys
from portal.services.tickets import perform

BASE = "/open311/v2"
FORMATS = ["json", "xml"]
LONG_OK = "路灯不亮，" * 800            # 4,000 characters: the spec's limit
NAME, PHONE = "欧阳娜娜", "13912345678"


@pytest.fixture
def key(app, now):
    new = apikeys.create_key(now, name="微信公众号", channel=Channel.WECHAT, rate_per_minute=1000)
    db.session.commit()
    return new.secret


@pytest.fixture
def other_key(app, now):
    new = apikeys.create_key(now, name="人民网留言板", channel=Channel.MESSAGE_BOARD, rate_per_minute=1000)
    db.session.commit()
    return new.secret


def parse(resp, fmt):
    """JSON as is; XML turned into the same shape (lists of dicts of text) for the assertions."""
    if fmt == "json":
        assert resp.content_type == "application/json; charset=utf-8"
        return resp.get_json()
    assert resp.content_type == "text/xml; charset=utf-8"
    raw = resp.get_data()
    assert raw.startswith(b'<?xml version="1.0" encoding="utf-8"?>')
    root = ET.fromstring(raw)

    def conv(el):
        children = list(el)
        if not children:
            return el.text or ""
        if len({c.tag for c in children}) == 1 and len(children) > 1 or el.tag in (
                "services", "service_requests", "errors", "endpoints", "formats", "attributes", "values"):
            return [conv(c) for c in children]
        return {c.tag: conv(c) for c in children}
    return root.tag, conv(root)


def body(resp, fmt):
    data = parse(resp, fmt)
    return data if fmt == "json" else data[1]


def assert_error(resp, fmt, status):
    """The spec's error body: a list of {code, description}; <errors><error>… in XML."""
    assert resp.status_code == status, resp.get_data(as_text=True)
    if fmt == "json":
        data = parse(resp, fmt)
        assert isinstance(data, list) and len(data) == 1
        assert set(data[0]) == {"code", "description"}
        assert data[0]["code"] == status and data[0]["description"]
    else:
        root, data = parse(resp, fmt)
        assert root == "errors"
        assert data[0]["code"] == str(status) and data[0]["description"]


def form(key=None, **fields):
    data = {"service_code": "SZSS-LD", "lat": "39.9087", "long": "116.4605",
            "description": "建国门外大街路灯连续一周不亮，晚上出行很不方便。", "first_name": "娜娜", "last_name": "欧阳",
            "phone": PHONE, "email": "nana@example.com"}
    if key is not None:
        data["api_key"] = key
    data.update(fields)
    return {k: v for k, v in data.items() if v is not None}


def counts():
    return (db.session.scalar(select(func.count()).select_from(Ticket)),
            db.session.scalar(select(func.count()).select_from(OutboxMessage)),
            db.session.scalar(select(func.count()).select_from(Open311Request)))


# --- discovery and services ----------------------------------------------------------

@pytest.mark.parametrize("fmt", FORMATS)
def test_discovery(client, fmt):
    resp = client.get(f"{BASE}/discovery.{fmt}")
    assert resp.status_code == 200
    data = body(resp, fmt)
    endpoint = data["endpoints"][0]
    assert endpoint["specification"] == "http://wiki.open311.org/GeoReport_v2"
    assert endpoint["url"].endswith("/open311/v2")
    assert set(endpoint["formats"]) == {"text/xml", "application/json"}


@pytest.mark.parametrize("fmt", FORMATS)
def test_services_are_second_level_categories_with_groups(client, fmt):
    resp = client.get(f"{BASE}/services.{fmt}")
    assert resp.status_code == 200
    data = body(resp, fmt)
    if fmt == "xml":
        assert parse(resp, fmt)[0] == "services"
    by_code = {s["service_code"]: s for s in data}
    lamp = by_code["SZSS-LD"]
    assert lamp["group"] == "市政设施" and lamp["type"] == "realtime"
    assert lamp["metadata"] in (True, "true")
    assert "SZSS" not in by_code        # first-level categories are groups, not services


def test_services_in_english(client):
    data = client.get(f"{BASE}/services.json", headers={"Accept-Language": "en"}).get_json()
    lamp = next(s for s in data if s["service_code"] == "SZSS-LD")
    assert lamp["service_name"].isascii() and lamp["group"].isascii()


@pytest.mark.parametrize("fmt", FORMATS)
def test_service_definition(client, fmt):
    resp = client.get(f"{BASE}/services/SZSS-LD.{fmt}")
    assert resp.status_code == 200
    data = body(resp, fmt)
    assert data["service_code"] == "SZSS-LD"
    attrs = {a["code"]: a for a in data["attributes"]}
    assert attrs["kind"]["datatype"] == "singlevaluelist"
    assert {v["key"] for v in attrs["kind"]["values"]} >= {"complaint", "help", "consultation"}
    assert any(v["key"] == "110105" for v in attrs["district"]["values"])


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("code", ["NOPE", "SZSS"])
def test_unknown_service_definition_is_404(client, fmt, code):
    assert_error(client.get(f"{BASE}/services/{code}.{fmt}"), fmt, 404)


def test_unknown_format_is_404_with_an_error_body(client):
    assert_error(client.get(f"{BASE}/services.csv"), "json", 404)


# --- POST requests ----------------------------------------------------------------------

@pytest.mark.parametrize("fmt", FORMATS)
def test_post_creates_a_request_in_the_keys_channel(client, key, fmt):
    before = counts()
    resp = client.post(f"{BASE}/requests.{fmt}", data=form(key, **{"attribute[kind]": "help",
                                                                    "attribute[district]": "110105"}))
    assert resp.status_code == 200, resp.get_data(as_text=True)
    data = body(resp, fmt)
    assert len(data) == 1 and data[0]["service_request_id"]
    assert "token" not in data[0]     # realtime: the id, never both
    text = resp.get_data(as_text=True)
    assert NAME not in text and PHONE not in text and "nana@" not in text
    t = db.session.scalar(select(Ticket).where(Ticket.tracking_no == data[0]["service_request_id"]))
    assert t.channel is Channel.WECHAT and t.status is Status.SUBMITTED
    assert t.category.code == "SZSS-LD" and t.kind.value == "help" and t.district.code == "110105"
    assert t.citizen_name == NAME and t.citizen_phone == "+86" + PHONE
    extra = db.session.get(Open311Request, t.id)
    assert (extra.lat, extra.long) == (39.9087, 116.4605)
    assert resp.headers["X-Open311-Token"] == extra.token
    assert t.events[0].action is Action.SUBMIT and t.events[0].data == {"channel": "wechat"}
    receipts = db.session.scalars(select(OutboxMessage).where(OutboxMessage.ticket_id == t.id)).all()
    assert {(m.topic, m.channel) for m in receipts} == {("receipt", "sms"), ("receipt", "email")}
    assert counts() == (before[0] + 1, before[1] + 2, before[2] + 1)


def test_post_with_address_only_and_the_longest_description(client, key):
    resp = client.post(f"{BASE}/requests.json", data=form(key, lat=None, long=None, address_string="建国门外大街1号",
                                                          description=LONG_OK, phone=None, email=None))
    assert resp.status_code == 200, resp.get_data(as_text=True)
    t = db.session.scalar(select(Ticket).order_by(Ticket.id.desc()))
    assert t.content == LONG_OK.strip() and t.address == "建国门外大街1号"


@pytest.mark.parametrize("fmt", FORMATS)
def test_html_in_the_description_is_stored_and_returned_as_text(client, key, fmt, login_as):
    html = "<script>alert(1)</script><b>路灯</b>不亮已经一周了 & 没人管"
    resp = client.post(f"{BASE}/requests.{fmt}", data=form(key, description=html))
    assert resp.status_code == 200
    rid = body(resp, fmt)[0]["service_request_id"]
    t = db.session.scalar(select(Ticket).where(Ticket.tracking_no == rid))
    assert t.content == html                       # stored as the text it is, not stripped or rendered
    back = client.get(f"{BASE}/requests/{rid}.{fmt}", query_string={"api_key": key})
    assert body(back, fmt)[0]["description"] == html
    if fmt == "xml":
        assert b"&lt;script&gt;" in back.get_data() and b"<script>" not in back.get_data()
    login_as("operator")
    page = client.get(f"/staff/tickets/{t.id}").get_data(as_text=True)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "<script>alert(1)" not in page


REVOKED = object()
BAD_INPUT = {
    # case: (form overrides, which key, expected status)
    "missing key": ({}, None, 403),
    "unknown key": ({}, "k12345_not-a-key", 403),
    "revoked key": ({}, REVOKED, 403),
    "missing service_code": ({"service_code": ""}, "ok", 400),
    "unknown service_code": ({"service_code": "NOPE"}, "ok", 404),
    "a group, not a service": ({"service_code": "SZSS"}, "ok", 404),
    "no location": ({"lat": None, "long": None}, "ok", 400),
    "lat without long": ({"long": None}, "ok", 400),
    "lat out of range": ({"lat": "91"}, "ok", 400),
    "lat not a number": ({"lat": "north"}, "ok", 400),
    "address_id only": ({"lat": None, "long": None, "address_id": "545483"}, "ok", 400),
    "description over 4000": ({"description": LONG_OK + "灯"}, "ok", 400),
    "description missing": ({"description": None}, "ok", 400),
    "bad phone": ({"phone": "12345"}, "ok", 400),
    "bad email": ({"email": "not-an-address"}, "ok", 400),
    "media_url not http": ({"media_url": "javascript:alert(1)"}, "ok", 400),
    "unknown attribute": ({"attribute[colour]": "red"}, "ok", 400),
    "bad attribute value": ({"attribute[kind]": "party"}, "ok", 400),
    "bad district": ({"attribute[district]": "110105001"}, "ok", 400),
}


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("case", list(BAD_INPUT))
def test_bad_input_gets_the_spec_error_and_creates_nothing(client, key, now, fmt, case):
    overrides, which, status = BAD_INPUT[case]
    secret = key if which == "ok" else which
    if which is REVOKED:
        secret = apikeys.create_key(now, name="旧系统", channel=Channel.HOTLINE).secret
        apikeys.revoke_key(now, apikeys.find_key(secret))
        db.session.commit()
    before = counts()
    resp = client.post(f"{BASE}/requests.{fmt}", data=form(secret, **overrides))
    assert_error(resp, fmt, status)
    assert counts() == before
    assert NAME not in resp.get_data(as_text=True) and PHONE not in resp.get_data(as_text=True)


def test_error_descriptions_follow_accept_language(client):
    zh = client.post(f"{BASE}/requests.json", data=form()).get_json()[0]["description"]
    en = client.post(f"{BASE}/requests.json", data=form(), headers={"Accept-Language": "en"}).get_json()
    assert zh != en[0]["description"] and en[0]["description"].isascii()


class TestRateLimit:
    @pytest.fixture
    def app_config(self):
        return {"RATELIMIT_ENABLED": True}

    def test_each_key_has_its_own_limit(self, client, now):
        slow = apikeys.create_key(now, name="慢速接入方", channel=Channel.APP, rate_per_minute=2).secret
        fast = apikeys.create_key(now, name="快速接入方", channel=Channel.WEIBO, rate_per_minute=100).secret
        db.session.commit()
        for _ in range(2):
            assert client.post(f"{BASE}/requests.json", data=form(slow)).status_code == 200
        before = counts()
        assert_error(client.post(f"{BASE}/requests.json", data=form(slow)), "json", 429)
        assert_error(client.post(f"{BASE}/requests.xml", data=form(slow)), "xml", 429)
        assert counts() == before
        assert client.post(f"{BASE}/requests.json", data=form(fast)).status_code == 200


# --- GET requests -----------------------------------------------------------------------------

def post(client, key, **fields) -> str:
    resp = client.post(f"{BASE}/requests.json", data=form(key, **fields))
    assert resp.status_code == 200, resp.get_data(as_text=True)
    return resp.get_json()[0]["service_request_id"]


@pytest.mark.parametrize("fmt", FORMATS)
def test_get_one_request_and_token(client, key, fmt):
    resp = client.post(f"{BASE}/requests.json", data=form(key))
    rid, token = resp.get_json()[0]["service_request_id"], resp.headers["X-Open311-Token"]
    data = body(client.get(f"{BASE}/requests/{rid}.{fmt}"), fmt)
    assert data[0]["service_request_id"] == rid and data[0]["status"] == "open"
    assert data[0]["service_code"] == "SZSS-LD"
    tok = body(client.get(f"{BASE}/tokens/{token}.{fmt}"), fmt)
    assert tok == [{"service_request_id": rid, "token": token}]
    assert_error(client.get(f"{BASE}/requests/999999-0000000-0.{fmt}"), fmt, 404)
    assert_error(client.get(f"{BASE}/tokens/nope.{fmt}"), fmt, 404)
    assert_error(client.get(f"{BASE}/requests/{rid}.{fmt}", query_string={"api_key": "wrong"}), fmt, 403)


@pytest.mark.parametrize("fmt", FORMATS)
def test_names_and_phones_never_appear_and_other_channels_see_less(client, key, other_key, fmt):
    rid = post(client, key, description=f"我是{NAME}，电话{PHONE}，路灯坏了一周了请修理。")
    for k in (key, other_key, None):
        resp = client.get(f"{BASE}/requests.{fmt}", query_string={"api_key": k} if k else {})
        text = resp.get_data(as_text=True)
        assert resp.status_code == 200 and rid in text
        assert NAME not in text and PHONE not in text and "nana@example.com" not in text
    own = body(client.get(f"{BASE}/requests/{rid}.{fmt}", query_string={"api_key": key}), fmt)[0]
    assert "路灯坏了" in own["description"] and own["lat"] not in (None, "")
    other = body(client.get(f"{BASE}/requests/{rid}.{fmt}", query_string={"api_key": other_key}), fmt)[0]
    assert other["description"] in (None, "") and other["lat"] in (None, "")
    assert other["address"] in (None, "") or "建国门" not in other["address"]


def test_default_window_is_90_days_and_filters(client, key, make_ticket, now):
    old = make_ticket(Status.SUBMITTED, start=utcnow() - timedelta(days=100))
    closed = make_ticket(Status.CLOSED, start=utcnow() - timedelta(days=2))
    rid = post(client, key)
    ids = [r["service_request_id"] for r in client.get(f"{BASE}/requests.json").get_json()]
    assert rid in ids and closed.tracking_no in ids and old.tracking_no not in ids
    assert ids.index(rid) < ids.index(closed.tracking_no)          # newest first
    get = lambda **q: [r["service_request_id"] for r in client.get(f"{BASE}/requests.json", query_string=q).get_json()]
    assert get(status="closed") == [closed.tracking_no]
    assert rid in get(status="open") and closed.tracking_no not in get(status="open")
    assert set(get(status="open,closed")) == set(ids)
    assert get(service_code="SRHW-LJQY") == []
    assert rid in get(service_code="SZSS-LD,SRHW-LJQY")
    start = (old.created_at - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    end = (old.created_at + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%S+00:00")
    assert get(start_date=start, end_date=end) == [old.tracking_no]
    # service_request_id overrides every other filter (even the window), comma-delimited
    assert set(get(service_request_id=f"{old.tracking_no},{rid}", status="closed")) == {old.tracking_no, rid}
    row = next(r for r in client.get(f"{BASE}/requests.json").get_json() if r["service_request_id"] == closed.tracking_no)
    assert row["status"] == "closed" and row["agency_responsible"] == "建外街道"
    assert row["requested_datetime"].endswith("+08:00")


BAD_FILTERS = {
    "malformed start": {"start_date": "2026-11-01"},
    "no zone": {"start_date": "2026-11-01T00:00:00"},
    "garbage end": {"end_date": "yesterday"},
    "over 90 days": {"start_date": "2026-01-01T00:00:00Z", "end_date": "2026-06-01T00:00:00Z"},
    "start only, long ago": {"start_date": "2020-01-01T00:00:00Z", "end_date": "2026-01-01T00:00:00Z"},
    "end before start": {"start_date": "2026-11-10T00:00:00Z", "end_date": "2026-11-01T00:00:00Z"},
    "bad status": {"status": "pending"},
    "page_size over 1000": {"page_size": "1001"},
    "page zero": {"page": "0"},
    "before year 1 in UTC": {"end_date": "0001-01-01T00:00:00+08:00"},
    "start in year 9999": {"start_date": "9999-12-31T23:00:00Z"},      # its window's end: now, before it
}


def test_an_end_date_in_year_1_answers_an_empty_list(client):
    """Found by schemathesis: the window's start computed before year 1 was a 500 (and one after
    9999 for a start in year 9999: BAD_FILTERS)."""
    resp = client.get(f"{BASE}/requests.json", query_string={"end_date": "0001-01-01T00:04:03Z"})
    assert resp.status_code == 200 and resp.get_json() == []


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("case", list(BAD_FILTERS))
def test_bad_filters(client, fmt, case):
    assert_error(client.get(f"{BASE}/requests.{fmt}", query_string=BAD_FILTERS[case]), fmt, 400)


@pytest.mark.parametrize("fmt", FORMATS)
def test_paging_extension(client, key, fmt):
    rids = [post(client, key) for _ in range(3)]
    first = client.get(f"{BASE}/requests.{fmt}", query_string={"page_size": "2", "api_key": key})
    assert [r["service_request_id"] for r in body(first, fmt)] == rids[::-1][:2]
    link = first.headers["Link"]
    assert 'rel="next"' in link and "page=2" in link and key not in link
    second = client.get(f"{BASE}/requests.{fmt}", query_string={"page_size": "2", "page": "2"})
    assert [r["service_request_id"] for r in body(second, fmt)] == rids[::-1][2:]
    assert "Link" not in second.headers


def test_defaults_are_90_days_and_1000_records(client, key, monkeypatch, now):
    from portal.services import open311
    q = open311.check_query({}, now)
    assert (q.end - q.start, q.end, q.page_size, q.page) == (timedelta(days=90), now, 1000, 1)
    monkeypatch.setattr(open311, "MAX_RECORDS", 2)      # the same code path as 1000, with three rows
    for _ in range(3):
        post(client, key)
    resp = client.get(f"{BASE}/requests.json")
    assert len(resp.get_json()) == 2 and 'rel="next"' in resp.headers["Link"]


# --- the whole way: API → staff services → API ---------------------------------------------

@pytest.mark.parametrize("fmt", FORMATS)
def test_posted_through_the_api_followed_to_closed(client, key, users, units, fmt):
    rid = post(client, key, **{"attribute[district]": "110105"})
    t = db.session.scalar(select(Ticket).where(Ticket.tracking_no == rid))
    now = utcnow()
    step = iter(range(1, 100))
    at = lambda: now + timedelta(minutes=next(step))

    def status():
        return body(client.get(f"{BASE}/requests/{rid}.{fmt}", query_string={"api_key": key}), fmt)[0]

    perform(t, Action.ACCEPT, users.actor("operator"), at())
    perform(t, Action.DISPATCH, users.actor("dispatcher"), at(), unit=units["110105001"])
    db.session.commit()
    row = status()
    assert row["status"] == "open" and row["agency_responsible"] == "建外街道"
    assert row["status_notes"] == "待签收" and row["expected_datetime"]
    perform(t, Action.SIGN, users.actor("jianwai"), at())
    perform(t, Action.FEEDBACK, users.actor("jianwai"), at(), reply=f"已修复路灯。联系人{NAME}。")
    db.session.commit()
    row = status()
    assert row["status"] == "open" and "已修复路灯" in row["status_notes"] and NAME not in row["status_notes"]
    perform(t, Action.CALLBACK, users.actor("operator"), at(), contacted=True, resolved=True, satisfied=True)
    perform(t, Action.CLOSE, users.actor("operator"), at())
    db.session.commit()
    row = status()
    assert row["status"] == "closed" and row["status_notes"].startswith("已办结")
    assert row["updated_datetime"] == row["updated_datetime"] and row["updated_datetime"] >= row["requested_datetime"]
    closed_ids = [r["service_request_id"] for r in body(
        client.get(f"{BASE}/requests.{fmt}", query_string={"status": "closed"}), fmt)]
    assert rid in closed_ids
    topics = [m.topic for m in db.session.scalars(select(OutboxMessage).where(OutboxMessage.ticket_id == t.id)
                                                 .where(OutboxMessage.channel == "sms").order_by(OutboxMessage.id))]
    assert topics == ["receipt", "dispatched", "feedback", "rate_prompt"]   # told at every step


# --- the OpenAPI document, run by schemathesis -------------------------------------------------

def test_openapi_document(client):
    doc = client.get(f"{BASE}/openapi.json").get_json()
    assert doc["openapi"].startswith("3.0")
    assert set(doc["paths"]) == {"/discovery.json", "/services.json", "/services/{service_code}.json",
                                 "/requests.json", "/requests/{service_request_id}.json", "/tokens/{token}.json"}


@pytest.mark.parametrize("value", ["\x1f", " ", "\t"])
def test_a_date_of_blanks_or_control_characters_is_refused_not_ignored(client, value):
    """Found by schemathesis in CI: start_date=%1F was stripped to nothing and answered 200."""
    assert client.get("/open311/v2/requests.json", query_string={"start_date": value}).status_code == 400
    assert client.get("/open311/v2/requests.json", query_string={"end_date": value}).status_code == 400

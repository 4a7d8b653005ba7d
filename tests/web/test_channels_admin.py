"""Admin pages for channels (issue 8): the access table, API keys created (shown once, stored
hashed) and revoked, counts by channel, unit contacts, dead letters and their retry, and the
``flask portal apikey`` commands."""
from __future__ import annotations

import hashlib
import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from portal.domain.intake import Channel
from portal.domain.lifecycle import Status
from portal.extensions import db
from portal.models import ApiKey, AuditEntry, OutboxMessage, UnitContact
from portal.services import apikeys, notify

USERS = [None, "operator", "dispatcher", "chaoyang", "jianwai", "jianwai.leader", "scjgj", "admin"]


def expected(user, admin_status):
    if user is None:
        return 302
    return admin_status if user == "admin" else 404


ROUTES = [
    # (method, url, data, status for admin)
    ("GET", "/admin/channels", None, 200),
    ("POST", "/admin/channels/keys", {"name": "微博", "channel": "weibo", "rate_per_minute": "30"}, 201),
    ("POST", "/admin/channels/keys/{key}/revoke", {}, 303),
    ("POST", "/admin/channels/contacts", {"unit_code": "110105001", "channel": "email",
                                          "address": "duty@jianwai.example.org"}, 303),
    ("POST", "/admin/channels/contacts/{contact}/delete", {}, 303),
    ("GET", "/admin/outbox", None, 200),
    ("POST", "/admin/outbox/{message}/retry", {}, 303),
    ("POST", "/admin/outbox/retry", {}, 303),
]
CASES = [(m, u, d, s, user) for m, u, d, s in ROUTES for user in USERS]


@pytest.fixture
def fixtures(app, now, units, make_ticket):
    key = apikeys.create_key(now, name="测试", channel=Channel.APP).key
    contact = UnitContact(unit_id=units["110105001"].id, channel="sms", address="+8613700001111", active=True,
                          created_at=now)
    db.session.add(contact)
    t = make_ticket(Status.SUBMITTED)
    msg = db.session.scalars(select(OutboxMessage).where(OutboxMessage.ticket_id == t.id)).first()
    msg.status, msg.dead_at, msg.attempts = "dead", now, notify.MAX_ATTEMPTS
    db.session.commit()
    return {"key": key.id, "contact": contact.id, "message": msg.id}


@pytest.mark.parametrize("method,url,data,admin_status,user", CASES,
                         ids=[f"{m}-{u}-{user}" for m, u, _, _, user in CASES])
def test_access_table(client, login_as, fixtures, method, url, data, admin_status, user):
    if user:
        login_as(user)
    resp = client.open(url.format(**fixtures), method=method, data=data)
    assert resp.status_code == expected(user, admin_status), (user, resp.status_code)
    if user is None:
        assert "/login" in resp.headers["Location"]


def test_create_key_shows_it_once_and_stores_only_its_hash(client, login_as):
    login_as("admin")
    resp = client.post("/admin/channels/keys", data={"name": "微信公众号", "channel": "wechat",
                                                      "rate_per_minute": "120"})
    assert resp.status_code == 201 and resp.headers["Cache-Control"] == "no-store"
    html = resp.get_data(as_text=True)
    secret = re.search(r'value="(k12345_[^"]+)"', html).group(1)
    key = db.session.scalar(select(ApiKey).where(ApiKey.name == "微信公众号"))
    assert key.channel is Channel.WECHAT and key.rate_per_minute == 120
    assert key.key_hash == hashlib.sha256(secret.encode()).hexdigest() and secret not in (key.prefix, key.key_hash)
    assert secret.startswith("k12345_" + key.prefix)
    listing = client.get("/admin/channels").get_data(as_text=True)
    assert "微信公众号" in listing and key.prefix in listing and secret not in listing
    audit = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "apikey.create"))
    assert audit.target_id == key.id and secret not in str(audit.detail)
    # the key works, then the admin revokes it and it stops working
    ok = client.post("/open311/v2/requests.json", data={"api_key": secret, "service_code": "SZSS-LD",
                                                          "address_string": "建国门外大街1号",
                                                          "description": "路灯不亮已经一周了，请修理。"})
    assert ok.status_code == 200
    assert client.post(f"/admin/channels/keys/{key.id}/revoke").status_code == 303
    refused = client.post("/open311/v2/requests.json", data={"api_key": secret, "service_code": "SZSS-LD",
                                                               "address_string": "建国门外大街1号",
                                                               "description": "路灯不亮已经一周了，请修理。"})
    assert refused.status_code == 403


@pytest.mark.parametrize("data", [
    {"name": "", "channel": "wechat", "rate_per_minute": "60"},
    {"name": "x", "channel": "web", "rate_per_minute": "60"},
    {"name": "x", "channel": "wechat", "rate_per_minute": "0"},
    {"name": "x", "channel": "wechat", "rate_per_minute": "lots"},
])
def test_bad_key_forms_are_refused(client, login_as, data):
    login_as("admin")
    resp = client.post("/admin/channels/keys", data=data)
    assert resp.status_code == 400
    assert db.session.scalar(select(func.count()).select_from(ApiKey)) == 0
    assert 'class="error"' in resp.get_data(as_text=True)


def test_counts_by_channel(client, login_as, make_ticket, now):
    make_ticket(Status.SUBMITTED, channel=Channel.WEIBO)
    make_ticket(Status.SUBMITTED, channel=Channel.WEIBO)
    make_ticket(Status.SUBMITTED, channel=Channel.PHONE, start=now - timedelta(days=60))
    assert apikeys.counts_by_channel() == {Channel.WEIBO: 2, Channel.PHONE: 1}
    login_as("admin")
    html = client.get("/admin/channels").get_data(as_text=True)
    row = re.search(r"<th scope=\"row\">微博</th><td>(\d+)</td><td>(\d+)</td>", html)
    assert row.groups() == ("2", "2")
    phone = re.search(r"<th scope=\"row\">电话</th><td>(\d+)</td><td>(\d+)</td>", html)
    assert phone.groups() == ("1", "0")


def test_contacts_are_checked(client, login_as, units):
    login_as("admin")
    bad = client.post("/admin/channels/contacts", data={"unit_code": "nope", "channel": "email",
                                                         "address": "a@b.example"})
    assert bad.status_code == 400
    bad = client.post("/admin/channels/contacts", data={"unit_code": "110105001", "channel": "sms",
                                                         "address": "12345"})
    assert bad.status_code == 400
    ok = client.post("/admin/channels/contacts", data={"unit_code": "110105001", "channel": "sms",
                                                        "address": "137 0000 1111"})
    assert ok.status_code == 303
    contact = db.session.scalar(select(UnitContact))
    assert contact.address == "+8613700001111" and contact.unit_id == units["110105001"].id
    html = client.get("/admin/channels").get_data(as_text=True)
    assert "137****1111" in html and "13700001111" not in html


def test_dead_letters_page_and_retry(client, login_as, fixtures):
    login_as("admin")
    html = client.get("/admin/outbox").get_data(as_text=True)
    msg = db.session.get(OutboxMessage, fixtures["message"])
    assert f"<th scope=\"row\">{msg.id}</th>" in html and "138****5678" in html and "13812345678" not in html
    assert client.post(f"/admin/outbox/{msg.id}/retry").status_code == 303
    db.session.expire_all()
    msg = db.session.get(OutboxMessage, fixtures["message"])
    assert msg.status == "pending" and msg.attempts == 0
    assert client.post(f"/admin/outbox/{msg.id}/retry").status_code == 404      # no longer dead


def test_apikey_cli(app):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["portal", "apikey", "create", "--name", "其他热线", "--channel", "hotline",
                                 "--rate", "30"])
    assert result.exit_code == 0, result.output
    secret = result.output.strip().splitlines()[-1]
    assert secret.startswith("k12345_")
    key = apikeys.active_key(secret)
    assert key is not None and key.channel is Channel.HOTLINE and key.rate_per_minute == 30
    listing = runner.invoke(args=["portal", "apikey", "list"]).output
    assert key.prefix in listing and secret not in listing and "active" in listing
    assert runner.invoke(args=["portal", "apikey", "revoke", key.prefix]).exit_code == 0
    db.session.expire_all()
    assert apikeys.active_key(secret) is None
    assert "revoked" in runner.invoke(args=["portal", "apikey", "list"]).output
    bad = runner.invoke(args=["portal", "apikey", "create", "--name", "x", "--channel", "web"])
    assert bad.exit_code != 0
    assert runner.invoke(args=["portal", "apikey", "revoke", "nope"]).exit_code != 0

"""Access (issue 9): a street handler (建外街道's ``jianwai``) attacks every staff route.

The routes come from ``app.url_map``, so a route added later is attacked too. Every route that
names an object is tried against requests held by other units (the street next door, the
district above, another district's street) with every action and with forged role/unit/user
fields in the form; routes without an object must not show or change those requests. Forged
session cookies and replayed CSRF tokens are refused. Afterwards the other units' requests are
exactly as they were: same status, version, events, phone views.
"""
from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from portal.domain.lifecycle import Action, Status
from portal.extensions import db
from portal.models import AuditEntry, Ticket, TicketEvent
from tests.conftest import TEST_PASSWORD

#: blueprints (and endpoints) open to everyone: not staff routes
PUBLIC = {"public", "static", "health", "set_language", "auth", "open311", "board"}
ATTACKER = "jianwai"                 # handler at 建外街道 110105001
VICTIM_UNITS = ("110105002", "110105", "110108001")   # street next door, its district, another district


def staff_rules(app):
    for rule in app.url_map.iter_rules():
        blueprint = rule.endpoint.split(".")[0]
        if blueprint not in PUBLIC and rule.endpoint not in PUBLIC:
            yield rule


def forged_fields(victim: Ticket, admin_id: int) -> dict:
    """Everything an attacker might add to a form to look more powerful than they are."""
    v = str(victim.version)
    fields = {"role": "admin", "actor_role": "dispatcher", "user_id": str(admin_id), "unit_id": str(victim.handling_unit_id),
              "unit": str(victim.handling_unit_id), "handling_unit_id": str(victim.handling_unit_id),
              "tier": "1", "is_admin": "1", "version": v, "ids": str(victim.id),
              "reply": "攻击者的答复内容，长度足够通过校验。", "report": "攻击者的报告内容，长度足够。",
              "reason": "攻击者填写的理由，长度足够。", "note": "攻击", "answer": "攻击者的答复内容。",
              "contacted": "y", "resolved": "y", "satisfied": "y", "level": "3"}
    for action in Action:
        fields[f"{action.value}-version"] = v
    return fields


@pytest.fixture
def victims(app, make_ticket):
    out = []
    for code in VICTIM_UNITS:
        for status in (Status.DISPATCHED, Status.HANDLING, Status.FED_BACK):
            out.append(make_ticket(status, unit=code))
    return out


def snapshot(tickets) -> list[tuple]:
    db.session.expire_all()
    rows = []
    for t in tickets:
        t = db.session.get(Ticket, t.id)
        events = db.session.scalar(select(func.count()).select_from(TicketEvent).where(TicketEvent.ticket_id == t.id))
        views = db.session.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.target_id == t.id))
        rows.append((t.id, t.status, t.version, t.handling_unit_id, events, views, t.reply, t.supervision_level))
    return rows


def test_a_street_handler_gets_nothing_of_other_units(app, client, login_as, victims, users):
    before = snapshot(victims)
    login_as(ATTACKER)
    admin_id = users["admin"].id
    tried = 0
    leaked = []
    for rule in staff_rules(app):
        methods = sorted(rule.methods - {"HEAD", "OPTIONS"})
        if not rule.arguments:
            for method in methods:
                for victim in victims:
                    resp = client.open(rule.rule, method=method, data=forged_fields(victim, admin_id))
                    tried += 1
                    assert resp.status_code != 500, rule.rule
                    body = resp.get_data(as_text=True)
                    if any(v.tracking_no in body for v in victims):
                        leaked.append((method, rule.rule))
            continue
        for victim in victims:
            values_list = [{}]
            for arg in sorted(rule.arguments):
                choices = getattr(rule._converters.get(arg), "items", None)    # <any(a, b):arg>
                if choices:
                    values_list = [{**v, arg: c} for v in values_list for c in sorted(choices)]
                elif arg == "action":
                    values_list = [{**v, arg: a.value} for v in values_list for a in Action]
                elif arg in ("tracking_no", "number"):
                    values_list = [{**v, arg: victim.tracking_no} for v in values_list]
                else:   # every other argument names an object: the victim's id
                    values_list = [{**v, arg: victim.id} for v in values_list]
            for values in values_list:
                with app.test_request_context():
                    from flask import url_for
                    url = url_for(rule.endpoint, **values)
                for method in methods:
                    resp = client.open(url, method=method, data=forged_fields(victim, admin_id))
                    tried += 1
                    assert resp.status_code in (403, 404), (method, url, resp.status_code)
                    if victim.tracking_no in resp.get_data(as_text=True):
                        leaked.append((method, url))
    assert tried > 100
    assert leaked == []
    assert snapshot(victims) == before


def test_forged_session_cookie_is_not_signed_in(client, login_as, victims):
    login_as(ATTACKER)
    cookie = client.get_cookie("session")
    assert client.get("/staff/").status_code == 200
    payload, _, rest = cookie.value.partition(".")
    client.set_cookie("session", payload[:-2] + ("AA" if payload[-2:] != "AA" else "BB") + "." + rest)
    resp = client.get("/staff/")
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]


class TestCsrf:
    """With CSRF on (as in production): a token from another session, a token from before the
    sign-in, and no token at all are refused; the fresh token of this session works."""

    @pytest.fixture
    def app_config(self):
        return {"WTF_CSRF_ENABLED": True}

    @staticmethod
    def token(client, path="/login") -> str:
        html = client.get(path).get_data(as_text=True)
        return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html).group(1)

    @staticmethod
    def sign_in(client, username):
        resp = client.post("/login", data={"username": username, "password": TEST_PASSWORD,
                                           "csrf_token": TestCsrf.token(client)})
        assert resp.status_code == 303

    def test_replayed_and_foreign_tokens_are_refused(self, app, client, make_ticket):
        t = make_ticket(Status.DISPATCHED, unit="110105001")
        other = app.test_client()                        # the `client` fixture made these fresh per request
        self.sign_in(other, "chaowai")
        foreign = self.token(other, "/staff/")

        attacker = app.test_client()
        old = self.token(attacker)                       # before signing in
        self.sign_in(attacker, ATTACKER)
        url = f"/staff/tickets/{t.id}/actions/sign"
        for bad in (foreign, old, "", "forged." + old[7:]):
            resp = attacker.post(url, data={"csrf_token": bad, "sign-version": str(t.version)})
            assert resp.status_code == 400, bad
        resp = attacker.post(url, data={"sign-version": str(t.version)}, headers={"X-CSRFToken": foreign})
        assert resp.status_code == 400
        db.session.expire_all()
        assert db.session.get(Ticket, t.id).status is Status.DISPATCHED

        # a token captured before the sign-out is dead after signing in again
        captured = self.token(attacker, "/staff/")
        attacker.post("/logout", data={"csrf_token": captured})
        self.sign_in(attacker, ATTACKER)
        resp = attacker.post(url, data={"csrf_token": captured, "sign-version": str(t.version)})
        assert resp.status_code == 400

        # the control: this session's own fresh token works, so the refusals above were the CSRF check
        resp = attacker.post(url, data={"csrf_token": self.token(attacker, "/staff/"), "sign-version": str(t.version)})
        assert resp.status_code == 303
        db.session.expire_all()
        assert db.session.get(Ticket, t.id).status is Status.HANDLING


def test_the_route_list_covers_the_staff_blueprint(app):
    endpoints = {r.endpoint for r in staff_rules(app)}
    assert {"staff.ticket", "staff.ticket_action", "staff.reveal_phone", "staff.bulk_sign",
            "staff.phone_intake", "staff.home"} <= endpoints
    assert not any(e.startswith("public.") for e in endpoints)


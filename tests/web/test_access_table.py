"""Every staff route × every role and unit relation → 200 / 303 / 403 / 404 / redirect to login.

The request is held by street 建外街道 (110105001) under 朝阳区 (110105), unless the row says
it is held by the district itself (for the "child" relation: a street must not see its
district's own work).
"""
import pytest
from sqlalchemy import select

from portal.domain.access import Role
from portal.domain.lifecycle import Status
from portal.extensions import db
from portal.models import Unit
from portal.services.users import create_user
from tests.conftest import TEST_PASSWORD

# relation → (username, who holds the request)
RELATIONS = {
    "anonymous": (None, "110105001"),
    "own unit": ("jianwai", "110105001"),
    "own unit leader": ("jianwai.leader", "110105001"),
    "parent": ("chaoyang", "110105001"),
    "child": ("jianwai", "110105"),
    "sibling": ("chaowai", "110105002_holder"),
    "another district": ("haidian", "110105001"),
    "department": ("scjgj", "110105001"),
    "operator": ("operator", "110105001"),
    "dispatcher": ("dispatcher", "110105001"),
    "admin": ("admin", "110105001"),
}

# (route, method) → {relation: expected status}
TABLE = {
    ("ticket", "GET"): {"anonymous": 302, "own unit": 200, "own unit leader": 200, "parent": 200, "child": 404,
                        "sibling": 404, "another district": 404, "department": 404, "operator": 200,
                        "dispatcher": 200, "admin": 404},
    ("sign", "POST"): {"anonymous": 302, "own unit": 303, "own unit leader": 303, "parent": 403, "child": 404,
                       "sibling": 404, "another district": 404, "department": 404, "operator": 403,
                       "dispatcher": 403, "admin": 404},
    ("phone", "POST"): {"anonymous": 302, "own unit": 200, "own unit leader": 200, "parent": 404, "child": 404,
                        "sibling": 404, "another district": 404, "department": 404, "operator": 404,
                        "dispatcher": 404, "admin": 404},
    ("queue", "GET"): {"anonymous": 302, **{r: 200 for r in RELATIONS if r != "anonymous"}},
    ("counts", "GET"): {"anonymous": 302, **{r: 200 for r in RELATIONS if r != "anonymous"}},
    ("phone_intake", "GET"): {"anonymous": 302, "operator": 200, "dispatcher": 200,
                              **{r: 404 for r in RELATIONS if r not in ("anonymous", "operator", "dispatcher")}},
}
CASES = [(route, method, rel, expected) for (route, method), row in TABLE.items() for rel, expected in row.items()]


@pytest.fixture
def haidian_user(app, now):
    unit = db.session.scalar(select(Unit).where(Unit.code == "110108"))
    create_user(now, username="haidian", display_name="海淀区承办人", role=Role.HANDLER, unit=unit,
                password=TEST_PASSWORD)
    db.session.commit()


@pytest.mark.parametrize("route,method,relation,expected", CASES,
                         ids=[f"{r}-{m}-{rel}" for r, m, rel, _ in CASES])
def test_access_table(client, login_as, make_ticket, haidian_user, route, method, relation, expected):
    username, holder = RELATIONS[relation]
    if holder == "110105002_holder":          # sibling: jianwai's request, seen by the street next door
        holder = "110105001"
    t = make_ticket(Status.DISPATCHED, unit=holder)
    if username:
        login_as(username)
    url = {
        "ticket": f"/staff/tickets/{t.id}",
        "sign": f"/staff/tickets/{t.id}/actions/sign",
        "phone": f"/staff/tickets/{t.id}/phone",
        "queue": "/staff/",
        "counts": "/staff/counts",
        "phone_intake": "/staff/intake/phone",
    }[route]
    data = {"sign-version": str(t.version)} if route == "sign" else {}
    resp = client.open(url, method=method, data=data)
    assert resp.status_code == expected, (relation, resp.status_code)
    if expected == 302:
        assert "/login" in resp.headers["Location"]

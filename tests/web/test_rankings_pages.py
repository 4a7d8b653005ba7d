"""Admin job runs and ranking settings, a unit's own rates; the access table for these routes."""
from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import func, select

from portal.domain.lifecycle import Status
from portal.extensions import db
from portal.jobs import run_job
from portal.models import RankingSettings

USERS = {"anonymous": None, "street handler": "jianwai", "street leader": "jianwai.leader",
         "district": "chaoyang", "operator": "operator", "dispatcher": "dispatcher", "admin": "admin"}
TABLE = {
    ("/admin/jobs", "GET"): {"anonymous": 302, "admin": 200, **{r: 404 for r in USERS if r not in ("anonymous", "admin")}},
    ("/admin/ranking", "GET"): {"anonymous": 302, "admin": 200,
                                **{r: 404 for r in USERS if r not in ("anonymous", "admin")}},
    ("/admin/ranking", "POST"): {"anonymous": 302, "admin": 400,
                                 **{r: 404 for r in USERS if r not in ("anonymous", "admin")}},
    ("/staff/rates", "GET"): {"anonymous": 302, "street handler": 200, "street leader": 200, "district": 200,
                              "operator": 404, "dispatcher": 404, "admin": 404},
    ("/board", "GET"): {r: 200 for r in USERS},
}
CASES = [(url, m, rel, exp) for (url, m), row in TABLE.items() for rel, exp in row.items()]


@pytest.mark.parametrize("url,method,relation,expected", CASES, ids=[f"{u}-{m}-{r}" for u, m, r, _ in CASES])
def test_access_table(client, login_as, url, method, relation, expected):
    if USERS[relation]:
        login_as(USERS[relation])
    resp = client.open(url, method=method, data={})
    assert resp.status_code == expected, (relation, resp.status_code)
    if expected == 302:
        assert "/login" in resp.headers["Location"]


def test_jobs_page_lists_runs(client, login_as, app, now):
    run_job(app, "rank_freeze", now=now)
    login_as("admin")
    html = client.get("/admin/jobs").get_data(as_text=True)
    assert "rank_freeze" in html and "2026-10" in html and "成功" in html
    assert "还没有任务运行记录" in client.get("/admin/jobs?job=supervise_overdue").get_data(as_text=True)

GOOD = dict(effective_from="2099-01", w_response="20", w_resolution="40", w_satisfaction="40", min_volume="5",
            advanced_n="3", progress_n="3", rectification_n="3", governance_n="10")


def test_settings_saved(client, login_as):
    login_as("admin")
    resp = client.post("/admin/ranking", data=GOOD)
    assert resp.status_code == 303
    row = db.session.scalar(select(RankingSettings))
    assert (row.effective_from, row.w_response, row.min_volume) == ("2099-01", 20, 5)
    assert "2099-01" in client.get("/admin/ranking").get_data(as_text=True)


@pytest.mark.parametrize("change,message", [({"w_response": "30"}, "100%"), ({"effective_from": "2026-13"}, "月份"),
                                            ({"effective_from": "2020-01"}, "本月或以后"),
                                            ({"min_volume": "-1"}, "0 到 10000")])
def test_bad_settings_refused(client, login_as, change, message):
    login_as("admin")
    resp = client.post("/admin/ranking", data={**GOOD, **change})
    assert resp.status_code == 400 and message in resp.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(RankingSettings)) == 0


def test_unit_rates_list_the_requests_behind_them(client, login_as, make_ticket, monkeypatch):
    import portal.web.rankings.routes as routes
    monkeypatch.setattr(routes, "utcnow", lambda: datetime(2026, 11, 16, 2))
    good = make_ticket(Status.CLOSED, unit="110105001", start=datetime(2026, 11, 2))
    bad = make_ticket(Status.CALLED_BACK, unit="110105001", start=datetime(2026, 11, 3))
    other = make_ticket(Status.CLOSED, unit="110105002", start=datetime(2026, 11, 3))
    login_as("jianwai")
    html = client.get("/staff/rates?month=2026-11").get_data(as_text=True)
    assert good.tracking_no in html and bad.tracking_no in html and other.tracking_no not in html
    assert "2 / 2 件" in html and "50.0%" in html
    assert client.get("/staff/rates?month=2026-13").status_code == 400

"""Admin job runs and ranking settings, a unit's own rates; the access table for these routes."""
from __future__ import annotations

import re
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


REPORT_ACCESS = {"anonymous": 302, "street handler": 404, "street leader": 404, "district": 404, "operator": 200,
                 "dispatcher": 200, "admin": 200}


@pytest.mark.parametrize("relation,expected", REPORT_ACCESS.items())
def test_reports_access(client, login_as, relation, expected):
    if USERS[relation]:
        login_as(USERS[relation])
    assert client.get("/staff/reports").status_code == expected


@pytest.fixture
def report_data(make_ticket, monkeypatch):
    import portal.web.rankings.routes as routes
    monkeypatch.setattr(routes, "utcnow", lambda: datetime(2026, 11, 20, 2))
    for _ in range(3):
        make_ticket(Status.CLOSED, unit="110105001", start=datetime(2026, 11, 16, 1))
    make_ticket(Status.HANDLING, unit="110105003", start=datetime(2026, 11, 2, 1), category="SRHW-LJQY")
    make_ticket(Status.HANDLING, unit="110101001", start=datetime(2026, 11, 16, 1))


def test_report_page_figures(client, login_as, report_data):
    login_as("dispatcher")
    html = client.get("/staff/reports?period=weekly&date=2026-11-18").get_data(as_text=True)
    assert "2026-11-16 — 2026-11-22" in html
    top = html.split('id="r1"')[1].split("</section>")[0]
    assert top.index("建外街道") < top.index("东华门街道") and ">3<" in top
    overdue = html.split('id="r4"')[1].split("</section>")[0]
    assert "呼家楼街道" in overdue                # handled since 2 Nov, overdue by the 20th
    rates = html.split('id="r5"')[1].split("</section>")[0]
    assert "朝阳区" in rates and "100.0%" in rates
    channels = html.split('id="r6"')[1].split("</section>")[0]     # issue 8: counted by channel
    assert re.search(r"网站</th><td class=\"num\">4<", channels) and "电话" not in channels
    monthly = client.get("/staff/reports?period=monthly&date=2026-11-18").get_data(as_text=True)
    assert "2026-11-01 — 2026-11-30" in monthly and "垃圾" in monthly


@pytest.mark.parametrize("date,message", [("2026-02-30", "日期格式不正确"), ("2099-01-01", "尚未到来")])
def test_report_bad_date(client, login_as, report_data, date, message):
    login_as("operator")
    resp = client.get(f"/staff/reports?period=daily&date={date}")
    assert resp.status_code == 400 and message in resp.get_data(as_text=True)


def test_report_downloads_have_chinese_headers(client, login_as, report_data):
    import io

    from openpyxl import load_workbook
    login_as("dispatcher")
    csv_resp = client.get("/staff/reports?period=weekly&date=2026-11-18&format=csv")
    text = csv_resp.data.decode("utf-8-sig")
    assert csv_resp.mimetype == "text/csv" and "街道（乡镇）,所属区,诉求量" in text and "建外街道,朝阳区,3" in text
    x = client.get("/staff/reports?period=weekly&date=2026-11-18&format=xlsx")
    wb = load_workbook(io.BytesIO(x.data))
    assert wb.sheetnames == ["街道诉求量前十", "各区前三街道", "诉求问题前十", "超期诉求", "各区三率", "各渠道诉求量"]
    assert [[c.value for c in row] for row in wb["各渠道诉求量"].iter_rows()] == [["渠道", "诉求量"], ["网站", 4]]
    ws = wb["街道诉求量前十"]
    assert [c.value for c in ws[1]] == ["名次", "街道（乡镇）", "所属区", "诉求量"]
    assert [c.value for c in ws[2]] == [1, "建外街道", "朝阳区", 3]


def test_report_download_links_work_without_a_date(client, login_as, report_data):
    import re
    login_as("dispatcher")
    for period in ("daily", "weekly", "monthly"):
        html = client.get(f"/staff/reports?period={period}").get_data(as_text=True)
        href = re.search(r'href="([^"]*format=xlsx[^"]*)"', html).group(1).replace("&amp;", "&")
        assert client.get(href).status_code == 200, (period, href)

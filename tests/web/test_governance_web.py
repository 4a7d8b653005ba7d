"""Governance pages through the test client: the access table (every route × every role and
unit relation), thresholds, recording an action, topics and their lists, the dashboard, and
the public topic page (no names, no phones)."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from portal.domain.intake import Channel, RequestKind
from portal.domain.lifecycle import Status
from portal.extensions import db
from portal.jobs import JOBS, run_job
from portal.models import HotspotAlert, HotspotRule, Topic, TopicTask
from portal.services import governance as gov

S = Status
RELATIONS = ["anonymous", "operator", "dispatcher", "jianwai", "jianwai.leader", "chaoyang", "chaowai", "scjgj",
             "admin"]
CENTER_ONLY = {"anonymous": 302, "operator": 200, "dispatcher": 200, "jianwai": 404, "jianwai.leader": 404,
               "chaoyang": 404, "chaowai": 404, "scjgj": 404, "admin": 404}
EVERYONE = {r: 200 for r in RELATIONS}
# the alert is at 建外街道 (jianwai) under 朝阳区 (chaoyang); 朝外街道 (chaowai) is its sibling
TABLE = {
    ("dashboard", "GET"): CENTER_ONLY,
    ("rules", "GET"): CENTER_ONLY,
    ("rules", "POST"): {**CENTER_ONLY, "operator": 303, "dispatcher": 303},
    ("run", "POST"): {**CENTER_ONLY, "operator": 303, "dispatcher": 303},
    ("topics", "GET"): CENTER_ONLY,
    ("topic", "GET"): CENTER_ONLY,
    ("topic_new", "GET"): CENTER_ONLY,
    ("topic_edit", "GET"): CENTER_ONLY,
    ("task_add", "POST"): {**CENTER_ONLY, "operator": 303, "dispatcher": 303},
    ("task_status", "POST"): {**CENTER_ONLY, "operator": 303, "dispatcher": 303},
    ("index", "GET"): {**{r: 303 for r in RELATIONS}, "anonymous": 302, "admin": 404},
    ("hotspots", "GET"): {**{r: 200 for r in RELATIONS}, "anonymous": 302, "admin": 404},
    ("hotspot", "GET"): {"anonymous": 302, "operator": 200, "dispatcher": 200, "jianwai": 200, "jianwai.leader": 200,
                         "chaoyang": 200, "chaowai": 404, "scjgj": 404, "admin": 404},
    ("hotspot_action", "POST"): {"anonymous": 302, "operator": 403, "dispatcher": 403, "jianwai": 303,
                                 "jianwai.leader": 303, "chaoyang": 303, "chaowai": 404, "scjgj": 404, "admin": 404},
    ("public_index", "GET"): EVERYONE,
    ("public_topic", "GET"): EVERYONE,
    ("public_unpublished", "GET"): {r: 404 for r in RELATIONS},
}
CASES = [(route, method, rel, code) for (route, method), row in TABLE.items() for rel, code in row.items()]


@pytest.fixture
def alert(app, make_ticket, now):
    """Five 路灯不亮 requests at 建外街道 in a week (the default threshold) → one open alert."""
    for d in range(5):
        make_ticket(S.SUBMITTED, unit="110105001", category="SZSS-LD", start=now - timedelta(days=d + 1),
                    address=f"光华路{d}号", citizen_name="张三丰", citizen_phone="13912345678")
    result = run_job(app, "detect_hotspots", now)
    assert result.raised == 1
    return db.session.scalar(select(HotspotAlert))


@pytest.fixture
def demo_topic(app):
    return db.session.scalar(select(Topic).where(Topic.slug == gov.DEMO_TOPIC_SLUG))


@pytest.mark.parametrize("route,method,relation,expected", CASES, ids=[f"{r}-{m}-{rel}" for r, m, rel, _ in CASES])
def test_access_table(client, login_as, alert, demo_topic, now, route, method, relation, expected):
    hidden = gov.save_topic(None, now, slug="not-yet", title="未发布", year=2026,
                            lead_unit=demo_topic.lead_unit, keywords="测试")
    db.session.commit()
    if relation != "anonymous":
        login_as(relation)
    task = demo_topic.tasks[0]
    url, data = {
        "dashboard": ("/staff/governance/dashboard", {}),
        "rules": ("/staff/governance/hotspots/rules", {
            "street_category-min_count": "4", "street_category-window_days": "7", "street_category-active": "y",
            "address-min_count": "3", "address-window_days": "30", "address-active": "y"}),
        "run": ("/staff/governance/hotspots/run", {}),
        "topics": ("/staff/governance/topics", {}),
        "topic": (f"/staff/governance/topics/{demo_topic.id}", {}),
        "topic_new": ("/staff/governance/topics/new", {}),
        "topic_edit": (f"/staff/governance/topics/{demo_topic.id}/edit", {}),
        "task_add": (f"/staff/governance/topics/{demo_topic.id}/tasks", {
            "task-title": "复核", "task-owner_unit": str(demo_topic.lead_unit_id), "task-status": "todo"}),
        "task_status": (f"/staff/governance/topics/{demo_topic.id}/tasks/{task.id}/status",
                        {f"t{task.id}-status": "done"}),
        "index": ("/staff/governance/", {}),
        "hotspots": ("/staff/governance/hotspots", {}),
        "hotspot": (f"/staff/governance/hotspots/{alert.id}", {}),
        "hotspot_action": (f"/staff/governance/hotspots/{alert.id}/action",
                           {"note": "已对辖区路灯线路全面排查，更换老化线缆三处。"}),
        "public_index": ("/topics/", {}),
        "public_topic": (f"/topics/{demo_topic.slug}", {}),
        "public_unpublished": (f"/topics/{hidden.slug}", {}),
    }[route]
    resp = client.open(url, method=method, data=data)
    assert resp.status_code == expected, (relation, resp.status_code, resp.get_data(as_text=True)[:300])
    if expected == 302:
        assert "/login" in resp.headers["Location"]


def test_thresholds_zero_or_negative_are_refused_on_the_page(client, login_as):
    login_as("dispatcher")
    for n, days in (("0", "7"), ("-3", "7"), ("5", "0"), ("5", "-1"), ("", "7"), ("x", "7")):
        resp = client.post("/staff/governance/hotspots/rules", data={
            "street_category-min_count": n, "street_category-window_days": days, "street_category-active": "y",
            "address-min_count": "3", "address-window_days": "30", "address-active": "y"})
        assert resp.status_code == 400, (n, days)
        assert 'aria-invalid="true"' in resp.get_data(as_text=True)
    rule = db.session.get(HotspotRule, gov.STREET_CATEGORY)
    assert (rule.min_count, rule.window_days) == gov.DEFAULT_RULES[gov.STREET_CATEGORY]
    resp = client.post("/staff/governance/hotspots/rules", data={
        "street_category-min_count": "8", "street_category-window_days": "14", "street_category-active": "y",
        "address-min_count": "3", "address-window_days": "30"})
    assert resp.status_code == 303
    db.session.expire_all()
    assert (db.session.get(HotspotRule, gov.STREET_CATEGORY).min_count,
            db.session.get(HotspotRule, gov.STREET_CATEGORY).window_days) == (8, 14)
    assert db.session.get(HotspotRule, gov.ADDRESS).active is False


def test_unit_records_what_it_did_and_the_center_reads_it(client, login_as, alert):
    login_as("chaowai")
    assert "光华路" not in client.get("/staff/governance/hotspots").get_data(as_text=True)
    login_as("jianwai")
    page = client.get("/staff/governance/hotspots").get_data(as_text=True)
    assert f"/staff/governance/hotspots/{alert.id}" in page
    detail = client.get(f"/staff/governance/hotspots/{alert.id}").get_data(as_text=True)
    assert detail.count("光华路") == 5 and "张三丰" not in detail and "13912345678" not in detail
    short = client.post(f"/staff/governance/hotspots/{alert.id}/action", data={"note": "已处理"})
    assert short.status_code == 400 and 'aria-invalid="true"' in short.get_data(as_text=True)
    ok = client.post(f"/staff/governance/hotspots/{alert.id}/action",
                     data={"note": "已对辖区路灯线路全面排查，更换老化线缆三处。"})
    assert ok.status_code == 303
    again = client.post(f"/staff/governance/hotspots/{alert.id}/action",
                        data={"note": "再记录一次处置情况，应当被拒绝。"})
    assert again.status_code == 400
    login_as("operator")
    page = client.get(f"/staff/governance/hotspots/{alert.id}").get_data(as_text=True)
    assert "更换老化线缆三处" in page and "已处置" in page


def test_the_job_is_registered_and_idempotent(app, alert, now):
    assert "detect_hotspots" in JOBS
    again = run_job(app, "detect_hotspots", now)
    assert (again.raised, again.updated) == (0, 0)


def test_center_creates_a_topic_and_fills_its_lists(client, login_as, units):
    login_as("dispatcher")
    bad = client.post("/staff/governance/topics/new", data={"title": "停车难", "slug": "Bad Slug!", "year": "2026",
                                                           "lead_unit": str(units["110105"].id), "keywords": "停车"})
    assert bad.status_code == 400 and "网址标识" in bad.get_data(as_text=True)
    none = client.post("/staff/governance/topics/new", data={"title": "停车难", "slug": "parking", "year": "2026",
                                                            "lead_unit": str(units["110105"].id)})
    assert none.status_code == 400 and "至少选择一个分类" in none.get_data(as_text=True)
    resp = client.post("/staff/governance/topics/new", data={
        "title": "停车难", "slug": "parking", "year": "2026", "month": "5", "lead_unit": str(units["110105"].id),
        "keywords": "停车 车位", "plan": "一区一策。", "published": "y"})
    assert resp.status_code == 303
    topic = db.session.scalar(select(Topic).where(Topic.slug == "parking"))
    base = f"/staff/governance/topics/{topic.id}"
    for title, status in (("摸底", "done"), ("新增车位", "doing")):
        assert client.post(base + "/tasks", data={"task-title": title, "task-owner_unit": str(units["110105001"].id),
                                                  "task-due": "2026-12-31", "task-status": status}).status_code == 303
    assert client.post(base + "/tasks", data={"task-title": "", "task-owner_unit": ""}).status_code == 400
    assert client.post(base + "/responsibilities", data={"resp-unit": str(units["110105"].id),
                                                         "resp-duty": "统筹"}).status_code == 303
    assert client.post(base + "/policies", data={"policy-title": "停车管理办法", "policy-status": "issued",
                                                 "policy-issued_on": "2026-06-01"}).status_code == 303
    assert client.post(base + "/policies", data={"policy-title": "x", "policy-status": "nonsense"}).status_code == 400
    page = client.get(base).get_data(as_text=True)
    assert "已完成 1 项，共 2 项（50%）" in page and "停车管理办法" in page and "统筹" in page
    task = db.session.scalar(select(TopicTask).where(TopicTask.title == "新增车位"))
    assert client.post(f"{base}/tasks/{task.id}/status", data={f"t{task.id}-status": "done"}).status_code == 303
    assert client.post(f"{base}/tasks/{task.id}/status", data={f"t{task.id}-status": "bogus"}).status_code == 400
    assert "已完成 2 项，共 2 项（100%）" in client.get("/topics/parking").get_data(as_text=True)


def test_public_topic_page_shows_figures_never_names_or_phones(client, demo_topic, make_ticket, now):
    for d in range(3):
        make_ticket(S.SUBMITTED, unit="110105001", category="FDCKF-BZ", start=now - timedelta(days=40 * d + 1),
                    citizen_name="李四光", citizen_phone="13700001111", address="幸福小区3号楼")
    html = client.get(f"/topics/{demo_topic.slug}").get_data(as_text=True)
    assert demo_topic.title in html and "<svg" in html and "查看数据表" in html
    assert "已完成 2 项，共 4 项（50%）" in html
    for secret in ("李四光", "13700001111", "幸福小区", "137****1111"):
        assert secret not in html
    # the trend table lists twelve months and the three requests
    rows = re.findall(r'<tr><th scope="row">(\d\d)</th><td class="num">(\d+)</td></tr>', html)
    assert len(rows) == 12 and sum(int(n) for _, n in rows) == 3


def test_dashboard_page_shows_the_hand_counted_figures(client, login_as, make_ticket, now):
    make_ticket(S.ANSWERED, unit="110105001", kind=RequestKind.CONSULTATION, channel=Channel.PHONE)
    make_ticket(S.SUBMITTED, unit="110105001")
    make_ticket(S.SUBMITTED, unit="110105002")
    make_ticket(S.INVALID, unit="110105002")
    login_as("operator")
    html = client.get("/staff/governance/dashboard?days=7&end=2026-11-16").get_data(as_text=True)
    assert "直接答复率" in html and "33.3%" in html          # 1 answered of 3 valid
    assert "直接答复办结 1 件 ÷ 有效诉求 3 件" in html
    # one caller, one category: the 2nd request at each street repeats the 1st (issue 7)
    assert "重复诉求率" in html and "50.0%" in html and "再次反映 2 件 ÷ 受理 4 件" in html
    assert html.count('class="district-tile') == 16
    assert re.search(r'map-110105"><span class="district-name">朝阳区</span> <span class="district-count">4 件', html)
    for name in ("by-day", "by-week", "by-month", "by-channel", "by-category", "by-street"):
        assert f'id="{name}-caption"' in html
    assert client.get("/staff/governance/dashboard?days=abc").status_code == 200


@pytest.mark.parametrize("path", ["/staff/governance/dashboard", "/staff/governance/hotspots",
                                  "/staff/governance/hotspots/rules", "/staff/governance/topics",
                                  "/staff/governance/topics/new", "/topics/", "/topics/property-deeds"])
def test_no_inline_styles_scripts_or_handlers(client, login_as, path):
    login_as("dispatcher")
    html = client.get(path).get_data(as_text=True)
    assert " style=" not in html
    assert not re.search(r"<script(?![^>]*\bsrc=)", html)
    assert not re.search(r"\son[a-z]+=", html)


def test_english_pages_render(client, login_as, demo_topic):
    client.get("/lang/en")
    login_as("dispatcher")
    assert "Data dashboard" in client.get("/staff/governance/dashboard").get_data(as_text=True)
    assert "Task list" in client.get(f"/topics/{demo_topic.slug}").get_data(as_text=True)

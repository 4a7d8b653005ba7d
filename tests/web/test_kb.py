"""Knowledge base editor, direct answers from the search, repeats and merge suggestions on the
staff page, the repeat-rate page, and who may open each route."""
from __future__ import annotations

from datetime import datetime, timedelta

import re

import pytest
from sqlalchemy import event, select

from portal.domain.lifecycle import Action, Status
from portal.extensions import db
from portal.models import AuditEntry, Category, KbArticle, Ticket, TicketEvent, Unit
from portal.services import search
from tests.conftest import TEST_PASSWORD
from tests.factories import statements_of

A = Action
HX = {"HX-Request": "true"}
PARKING = {"question": "小区停车收费不合理怎么投诉", "answer": "小区停车收费标准应公示；有异议可向所在区市场监督管理局反映。",
           "keywords": "停车费，乱收费"}


def _new(client, **overrides):
    return client.post("/staff/kb/new", data={**PARKING, **overrides})


def _find(question) -> KbArticle:
    db.session.expire_all()
    return db.session.scalar(select(KbArticle).where(KbArticle.question == question))


# --- who may open what ------------------------------------------------------------------------

ROUTES = [("/staff/kb/", "GET"), ("/staff/kb/new", "GET"), ("/staff/kb/{id}/edit", "GET"),
          ("/staff/kb/{id}/retire", "POST"), ("/staff/repeats", "GET")]
ROLES = {None: 302, "operator": 200, "dispatcher": 200, "jianwai": 404, "chaoyang.leader": 404, "scjgj": 404,
         "admin": 404}


@pytest.mark.parametrize("route,method", ROUTES)
@pytest.mark.parametrize("username,expected", list(ROLES.items()))
def test_access_table(client, login_as, route, method, username, expected):
    article = db.session.scalar(select(KbArticle).limit(1))
    if username:
        login_as(username)
    resp = client.open(route.format(id=article.id), method=method)
    if expected == 200 and method == "POST":
        expected = 303
    assert resp.status_code == expected, (route, username, resp.status_code)
    if expected == 302:
        assert "/login" in resp.headers["Location"]


def test_unknown_article_is_404(client, login_as):
    login_as("operator")
    assert client.get("/staff/kb/999999/edit").status_code == 404
    assert client.post("/staff/kb/999999/retire").status_code == 404


# --- the editor ----------------------------------------------------------------------------------

def test_create_search_edit_retire_restore(client, login_as, users):
    login_as("operator")
    resp = _new(client, valid_from="2026-01-01")
    assert resp.status_code == 303
    a = _find(PARKING["question"])
    assert a.keywords == "停车费，乱收费" and a.active and a.valid_from.isoformat() == "2026-01-01"
    assert "停车" in a.search_title.split()
    html = client.get("/staff/kb/", query_string={"q": "停车收费"}).get_data(as_text=True)
    assert PARKING["question"] in html
    assert client.post(f"/staff/kb/{a.id}/edit", data={**PARKING, "question": "电动车充电桩收费标准"}).status_code == 303
    assert a.id not in [x.id for x in search.search_kb("投诉")]         # only the old question had it
    assert a.id in [x.id for x in search.search_kb("充电桩")]
    assert client.post(f"/staff/kb/{a.id}/retire").status_code == 303
    assert not _find("电动车充电桩收费标准").active
    row = "<strong>电动车充电桩收费标准</strong>"
    assert row not in client.get("/staff/kb/").get_data(as_text=True)
    assert row in client.get("/staff/kb/", query_string={"retired": "1"}).get_data(as_text=True)
    assert client.post(f"/staff/kb/{a.id}/restore").status_code == 303
    assert _find("电动车充电桩收费标准").active
    actions = db.session.scalars(select(AuditEntry.action).where(AuditEntry.target_type == "kb_article",
                                                                 AuditEntry.target_id == a.id).order_by(AuditEntry.id)).all()
    assert actions == ["kb_create", "kb_update", "kb_retire", "kb_restore"]
    assert {e.user_id for e in db.session.scalars(select(AuditEntry).where(AuditEntry.target_id == a.id))} == \
        {users["operator"].id}


@pytest.mark.parametrize("overrides,message", [
    ({"question": "停车"}, "4"),
    ({"answer": "太短"}, "10"),
    ({"valid_from": "2026-12-01", "valid_to": "2026-11-01"}, "有效期止不能早于有效期起"),
    ({"valid_from": "not-a-date"}, "id=\"valid_from-error\""),
    ({"category": "999999"}, "id=\"category-error\""),
    ({"keywords": "词" * 201}, "200"),
])
def test_bad_input_is_refused_and_nothing_is_stored(client, login_as, overrides, message):
    login_as("operator")
    before = db.session.scalar(select(KbArticle.id).order_by(KbArticle.id.desc()).limit(1))
    resp = _new(client, **overrides)
    assert resp.status_code == 400 and message in resp.get_data(as_text=True)
    assert db.session.scalar(select(KbArticle.id).order_by(KbArticle.id.desc()).limit(1)) == before


@pytest.mark.parametrize("q", ["，。！", "\"", "NEAR(a b) OR *", "'; DROP TABLE kb_articles; --", "停车" * 300])
def test_editor_search_never_errors(client, login_as, q):
    login_as("operator")
    assert client.get("/staff/kb/", query_string={"q": q}).status_code == 200


def test_retired_article_is_not_suggested_to_citizens(client, login_as):
    login_as("operator")
    _new(client)
    typed = {"content": "我们小区停车收费不合理，乱收费", "street": "", "category": ""}
    assert PARKING["question"] in client.post("/submit/suggestions", headers=HX, data=typed).get_data(as_text=True)
    client.post(f"/staff/kb/{_find(PARKING['question']).id}/retire")
    assert PARKING["question"] not in client.post("/submit/suggestions", headers=HX, data=typed).get_data(as_text=True)


@pytest.mark.parametrize("url", ["/staff/kb/", "/staff/kb/?q=政策咨询"])
def test_list_statements_do_not_grow_with_its_categories_and_units(client, login_as, url, now):
    """What a row shows (the category with its parent, the owner unit) loads with the list, not row by row."""
    login_as("operator")
    cats = db.session.scalars(select(Category).where(Category.parent_id.isnot(None)).limit(12)).all()
    owners = db.session.scalars(select(Unit).where(Unit.tier == 2).limit(12)).all()

    def add(rows):
        for i, cat, unit in rows:
            db.session.add(KbArticle(question=f"政策咨询第{i}号问题怎么办理", answer="按照有关政策规定办理，详见政务服务网。",
                                     keywords="政策咨询", category_id=cat.id, owner_unit_id=unit.id,
                                     created_at=now + timedelta(minutes=i), updated_at=now + timedelta(minutes=i)))
        db.session.commit()
        db.session.expire_all()

    rows = list(zip(range(12), cats, owners))
    add(rows[:1])
    few = statements_of(client, url)
    add(rows[1:])
    html = client.get(url).get_data(as_text=True)
    assert "政策咨询第11号问题怎么办理" in html and cats[11].name in html and owners[11].name in html
    assert statements_of(client, url) == few, "a statement per row"
    seen = []
    listener = lambda *args: seen.append(args[2])           # noqa: E731
    event.listen(db.engine, "before_cursor_execute", listener)
    try:
        client.get(url)
    finally:
        event.remove(db.engine, "before_cursor_execute", listener)
    lists = [s for s in seen if "kb_articles.question" in s]
    assert len(lists) == 1 and "JOIN categories" in lists[0] and "JOIN units" in lists[0], lists    # one statement
    assert "kb_articles.answer" not in lists[0] and "search_body" not in lists[0].split("FROM")[0]   # no long column


def test_a_search_cut_at_the_limit_says_so(client, login_as, monkeypatch):
    from portal.web.kb import routes
    login_as("operator")
    html = client.get("/staff/kb/", query_string={"q": "停车"}).get_data(as_text=True)
    n = html.count("<strong>")
    assert n >= 2 and f"共 {n} 条" in html
    monkeypatch.setattr(routes, "LIST_LIMIT", n - 1)
    html = client.get("/staff/kb/", query_string={"q": "停车"}).get_data(as_text=True)
    assert html.count("<strong>") == n - 1 and f"显示最相关的 {n - 1} 条" in html and "共 " not in html


class TestRetireFromTheList:
    @pytest.fixture
    def app_config(self):
        return {"WTF_CSRF_ENABLED": True}

    def test_every_row_posts_a_valid_token_and_no_id_repeats(self, client):
        page = client.get("/login").get_data(as_text=True)
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
        client.post("/login", data={"username": "operator", "password": TEST_PASSWORD, "csrf_token": token})
        html = client.get("/staff/kb/").get_data(as_text=True)
        ids = re.findall(r'\bid="([^"]+)"', html)
        assert len(ids) == len(set(ids)), [i for i in ids if ids.count(i) > 1][:3]
        forms = re.findall(r'action="/staff/kb/(\d+)/retire"[^>]*>\s*<input type="hidden" name="csrf_token" '
                           r'value="([^"]+)"', html)
        assert len(forms) > 1
        article_id, row_token = forms[-1]
        assert client.post(f"/staff/kb/{article_id}/retire").status_code == 400      # no token: refused
        assert db.session.get(KbArticle, int(article_id)).active
        assert client.post(f"/staff/kb/{article_id}/retire", data={"csrf_token": row_token}).status_code == 303
        db.session.expire_all()
        assert not db.session.get(KbArticle, int(article_id)).active


# --- direct answers from the knowledge base ---------------------------------------------------------

def test_operator_searches_and_answers_with_an_article(client, login_as, make_ticket):
    t = make_ticket(Status.ACCEPTED, kind="consultation", category="ZFGJJ-TQ",
                    content="想咨询一下租房的话怎么提取住房公积金，需要带什么材料？")
    login_as("operator")
    html = client.get(f"/staff/tickets/{t.id}").get_data(as_text=True)
    article = db.session.scalar(select(KbArticle).where(KbArticle.question.contains("租房提取住房公积金")))
    assert "搜索知识库" in html and article.question in html           # found from the request's own text
    html = client.get(f"/staff/tickets/{t.id}", query_string={"kbq": "幼儿园 入园"}).get_data(as_text=True)
    assert "幼儿园入园报名" in html and "<details class=\"action\" open>" in html
    resp = client.post(f"/staff/tickets/{t.id}/actions/answer",
                       data={"answer-version": str(t.version), "answer-article": str(article.id), "answer-answer": ""})
    assert resp.status_code == 303
    db.session.expire_all()
    t = db.session.get(Ticket, t.id)
    assert t.status is Status.ANSWERED and t.answer == article.answer
    event = db.session.scalars(select(TicketEvent).where(TicketEvent.ticket_id == t.id)
                               .order_by(TicketEvent.seq.desc())).first()
    assert event.action is A.ANSWER and event.data == {"article_id": article.id}


def test_answer_search_with_syntax_characters(client, login_as, make_ticket):
    t = make_ticket(Status.ACCEPTED)
    login_as("operator")
    for q in ["\"*", "（）", "a OR NOT b"]:
        assert client.get(f"/staff/tickets/{t.id}", query_string={"kbq": q}).status_code == 200


# --- repeats and merge suggestions on the request page ---------------------------------------------

def test_staff_see_the_repeat_link_both_ways(client, login_as, make_ticket, now):
    first = make_ticket(Status.HANDLING, start=now - timedelta(days=10))
    again = make_ticket(Status.DISPATCHED, start=now - timedelta(days=2))
    login_as("jianwai")
    html = client.get(f"/staff/tickets/{again.id}").get_data(as_text=True)
    assert "重复诉求" in html and first.tracking_no in html
    html = client.get(f"/staff/tickets/{first.id}").get_data(as_text=True)
    assert "被重复反映 1 次" in html and again.tracking_no in html


def test_near_duplicate_is_offered_for_one_click_merge(client, login_as, make_ticket):
    target = make_ticket(Status.ACCEPTED, category="SRHW-LJQY", citizen_phone="13900000021",
                         content="小区门口垃圾桶已经满了三天没有清运，气味很大，招来很多蚊蝇。")
    near = make_ticket(Status.HANDLING, category="SRHW-LJQY", citizen_phone="13900000022",
                       content="我们小区门口的垃圾桶满了三天了还没有清运，气味很大。")
    login_as("operator")
    html = client.get(f"/staff/tickets/{target.id}").get_data(as_text=True)
    assert "内容相近" in html and f'name="merge-into" value="{near.tracking_no}"' in html
    resp = client.post(f"/staff/tickets/{target.id}/actions/merge",
                       data={"merge-version": str(target.version), "merge-into": near.tracking_no})
    assert resp.status_code == 303
    db.session.expire_all()
    assert db.session.get(Ticket, target.id).merged_into_id == near.id


# --- the repeat-rate page -------------------------------------------------------------------------

def test_repeat_rate_page_shows_known_numbers(client, login_as, make_ticket):
    nov = datetime(2026, 10, 31, 16)          # 1 November, Beijing
    make_ticket(Status.HANDLING, start=nov + timedelta(days=1))
    make_ticket(Status.HANDLING, start=nov + timedelta(days=2))             # a repeat
    make_ticket(Status.HANDLING, start=nov + timedelta(days=3), citizen_phone="13900000031")
    make_ticket(Status.HANDLING, start=nov + timedelta(days=3), unit="110105002", citizen_phone="13900000032")
    login_as("dispatcher")
    html = client.get("/staff/repeats", query_string={"month": "2026-11"}).get_data(as_text=True)
    assert "建外街道" in html and "33.3%" in html and "朝外街道" in html and "0.0%" in html
    assert "合计：1 / 4 件" in html
    assert html.index("建外街道") < html.index("朝外街道")            # highest rate first
    resp = client.get("/staff/repeats", query_string={"month": "2026-13"})
    assert resp.status_code == 200 and "月份格式应为" in resp.get_data(as_text=True)


# --- the queue's text filter is the same search ---------------------------------------------------------

def test_queue_filter_uses_the_chinese_search(client, login_as, make_ticket):
    fee = make_ticket(Status.DISPATCHED, category="JTGL-TCSF", content="医院周边的停车场收费明显高于公示标准，希望核查。",
                      citizen_phone="13900000041")
    lamp = make_ticket(Status.DISPATCHED, content="建国路路灯坏了很久了请尽快修理", citizen_phone="13900000042")
    login_as("jianwai")
    html = client.get("/staff/", query_string={"tab": "to_sign", "q": "停车 收费"}).get_data(as_text=True)
    assert fee.tracking_no in html and lamp.tracking_no not in html
    html = client.get("/staff/", query_string={"tab": "to_sign", "q": fee.tracking_no[:8]}).get_data(as_text=True)
    assert fee.tracking_no in html                                    # the start of a tracking number
    for q in ["NEAR(", "\"", "*", "，，", "停车" * 200]:
        assert client.get("/staff/", query_string={"tab": "to_sign", "q": q}).status_code == 200

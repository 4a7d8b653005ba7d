"""The public board: months, tables, "—", unit pages, htmx refresh, no personal data."""
from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from portal.domain.lifecycle import Status
from portal.extensions import db
from portal.models import RankingSnapshot, Ticket
from portal.services import ranking

NOW = datetime(2026, 11, 16, 2)


@pytest.fixture
def ranked(app, make_ticket, now):
    """Two October requests at 建外 (one good), one November request; October frozen, November provisional."""
    make_ticket(Status.CLOSED, unit="110105001", start=datetime(2026, 10, 10))
    make_ticket(Status.CALLED_BACK, unit="110105001", start=datetime(2026, 10, 12), citizen_name="王秘密",
                citizen_phone="13900001111")
    make_ticket(Status.HANDLING, unit="110105003", start=datetime(2026, 11, 3))
    ranking.freeze("2026-10", now)
    ranking.refresh_provisional(now)
    db.session.commit()


def test_home_links_to_the_board(client):
    assert 'href="/board"' in client.get("/").get_data(as_text=True)


def test_board_shows_provisional_month_by_default(client, ranked, freeze_now):
    html = client.get("/board").get_data(as_text=True)
    assert "临时排名" in html and "2026-11" in html
    assert "三里屯街道" in html or "建外街道" in html


@pytest.fixture
def freeze_now(monkeypatch):
    """The board asks utcnow(); pin it to the fixtures' clock (no database involved)."""
    import portal.web.board.routes as routes
    monkeypatch.setattr(routes, "utcnow", lambda: NOW)


def test_frozen_month_and_its_numbers(client, ranked, freeze_now):
    html = client.get("/board?month=2026-10").get_data(as_text=True)
    assert "已定榜" in html
    # 建外: 2 dispatched, both signed on time; 1 of 2 resolved and satisfied
    assert "100.0%" in html and "50.0%" in html
    assert "—" in html                       # units with nothing
    assert "王秘密" not in html and "13900001111" not in html


@pytest.mark.parametrize("month,message", [("2026-13", "月份格式不正确"), ("abc", "月份格式不正确"),
                                           ("2027-01", "尚未到来")])
def test_bad_or_future_month_gets_a_message(client, ranked, freeze_now, month, message):
    resp = client.get(f"/board?month={month}")
    assert resp.status_code == 400
    assert message in resp.get_data(as_text=True)
    resp = client.get(f"/board/units/110105001?month={month}")
    assert resp.status_code == 400 and message in resp.get_data(as_text=True)


def test_month_without_data(client, ranked, freeze_now):
    resp = client.get("/board?month=2025-01")
    assert resp.status_code == 200 and "暂无排名数据" in resp.get_data(as_text=True)


def test_unit_page_trend_and_categories(client, ranked, freeze_now):
    resp = client.get("/board/units/110105001?month=2026-10")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200
    assert "<svg" in html and "<polyline" in html and "style=" not in html
    assert "路灯" in html                    # its top category
    assert client.get("/board/units/nope").status_code == 404
    assert client.get("/board/units/BJ12345").status_code == 404     # the center is not ranked


def test_no_inline_styles_or_scripts(client, ranked, freeze_now):
    html = client.get("/board?month=2026-10").get_data(as_text=True)
    assert "style=" not in html and "<script>" not in html and " onclick" not in html


def test_htmx_refresh_only_when_a_refresh_lands(client, ranked, freeze_now):
    snap = ranking.snapshot("2026-11")
    since = snap.computed_at.isoformat()
    assert client.get(f"/board/tables?month=2026-11&since={since}").status_code == 204
    ranking.refresh_provisional(NOW + timedelta(hours=1))
    db.session.commit()
    resp = client.get(f"/board/tables?month=2026-11&since={since}", headers={"HX-Request": "true"})
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200 and "<html" not in html and 'id="board-tables"' in html
    partial = client.get("/board?month=2026-10", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "<html" not in partial and 'id="board-tables"' in partial


def test_publicity_list_consented_closed_cases_without_names_or_phones(client, make_ticket):
    make_ticket(Status.CLOSED, unit="110105001", consent_publish=True, citizen_name="王秘密",
                        citizen_phone="13900001111",
                        content="我是王秘密，电话13900001111，小区门口路灯坏了一周，晚上很黑。")
    make_ticket(Status.CLOSED, unit="110105001", consent_publish=False,
                         content="不同意公开的诉求内容：电梯故障三天没人修。")
    make_ticket(Status.HANDLING, unit="110105001", consent_publish=True,
                        content="尚未办结的诉求内容：楼道灯不亮。")
    html = client.get("/board/cases").get_data(as_text=True)
    assert "小区门口路灯坏了一周" in html and "已修复路灯" in html and "建外街道" in html
    assert "王秘密" not in html and "13900001111" not in html and "王**" in html
    assert "电梯故障" not in html and "楼道灯不亮" not in html
    assert "已解决" in html and "满意" in html
    assert "路灯坏了" in client.get("/board/cases?q=路灯").get_data(as_text=True)
    assert "共 0 件" in client.get("/board/cases?q=100%_").get_data(as_text=True)
    part = client.get("/board/cases?q=路灯", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "<html" not in part and 'id="cases"' in part
    assert client.get("/board/cases?page=abc").status_code == 200


def test_publicity_pages(client, make_ticket):
    for i in range(21):
        make_ticket(Status.CLOSED, unit="110105001", consent_publish=True, commit=(i == 20))
    first = client.get("/board/cases").get_data(as_text=True)
    assert "第 1 / 2 页" in first and "page=2" in first
    assert "第 2 / 2 页" in client.get("/board/cases?page=2").get_data(as_text=True)


def test_publicity_page_reads_a_fixed_number_of_statements(client, make_ticket):
    """A page of cases loads their categories with their parents at once: 2 cases or 6, each in
    its own subcategory, the same statements (each category's parent was a lazy load before)."""
    from sqlalchemy import event, select

    from portal.models import Category
    codes = db.session.scalars(select(Category.code).where(Category.parent_id.is_not(None))
                               .order_by(Category.id).limit(6)).all()
    assert len(codes) == 6

    def statements() -> int:
        seen = []
        listener = lambda *args: seen.append(args[2])          # noqa: E731
        event.listen(db.engine, "before_cursor_execute", listener)
        try:
            assert client.get("/board/cases").status_code == 200
        finally:
            event.remove(db.engine, "before_cursor_execute", listener)
        return len(seen)

    for code in codes[:2]:
        make_ticket(Status.CLOSED, unit="110105001", consent_publish=True, category=code)
    few = statements()
    for code in codes[2:]:
        make_ticket(Status.CLOSED, unit="110105001", consent_publish=True, category=code)
    assert statements() == few


def test_publicity_counts_up_to_a_cap_and_searches_the_newest_cases(app, client, make_ticket, monkeypatch):
    """services.publicity: the number is counted up to COUNT_AT_MOST ("more than"), pages go as
    far as it reaches (a page past them shows the last), and a word search reads only the newest
    SEARCH_WITHIN published cases."""
    from datetime import timedelta

    from portal.services import publicity
    made = [make_ticket(Status.CLOSED, unit="110105001", consent_publish=True, content=f"第{i}号案例的诉求内容",
                        commit=False) for i in range(7)]
    for i, t in enumerate(made):                         # closed one day apart: the last one newest
        t.closed_at = t.closed_at - timedelta(days=10 - i)
    db.session.commit()
    monkeypatch.setattr(publicity, "PAGE_SIZE", 2)
    monkeypatch.setattr(publicity, "COUNT_AT_MOST", 5)
    monkeypatch.setattr(publicity, "SEARCH_WITHIN", 3)
    app.config["PUBLIC_CASES_SECONDS"] = 0               # the limits change within the test: nothing kept
    html = client.get("/board/cases").get_data(as_text=True)
    assert "超过 5 件，显示最近的 5 件" in html and "第 1 / 3 页" in html
    assert "第6号案例" in html and "第5号案例" in html and "第4号案例" not in html
    last = client.get("/board/cases?page=99").get_data(as_text=True)
    assert "第 3 / 3 页" in last and "第2号案例" in last and "第1号案例" not in last
    assert "在最近的 3 件公示案例中搜索" in html
    assert "第6号案例" in client.get("/board/cases?q=第6号").get_data(as_text=True)
    assert "第4号案例" in client.get("/board/cases?q=第4号").get_data(as_text=True)
    old = client.get("/board/cases?q=第3号").get_data(as_text=True)   # the 4th newest: outside the window
    assert "第3号案例" not in old and "共 0 件" in old
    monkeypatch.setattr(publicity, "COUNT_AT_MOST", 10)
    assert "共 7 件" in client.get("/board/cases").get_data(as_text=True)
    client.get("/lang/en")
    english = client.get("/board/cases").get_data(as_text=True)
    assert "Searches the latest 3 published cases." in english


def test_a_page_of_cases_is_kept_until_a_newer_case_is_published_or_its_time_is_up(app, client, make_ticket,
                                                                                   monkeypatch):
    """routes.cases_html: an unsearched page is kept per page and language for
    PUBLIC_CASES_SECONDS; a newly published case shows at once; a change to an older case once the
    time is up; a word search and the pages past the kept ones are never kept."""
    import time as real_time

    from portal.web.board import routes
    older = make_ticket(Status.CLOSED, unit="110105001", consent_publish=True, content="老旧小区的路灯一直不亮")

    def page(url="/board/cases") -> str:
        return client.get(url).get_data(as_text=True)

    def changed_elsewhere(ticket, reply):
        db.session.execute(Ticket.__table__.update().where(Ticket.id == ticket.id).values(reply=reply))
        db.session.commit()

    assert "老旧小区的路灯" in page() and "共 1 件" in page()
    changed_elsewhere(older, "路灯已于本周更换完毕。")
    assert "路灯已于本周更换完毕" not in page()                       # kept: an older case's change waits
    assert "路灯已于本周更换完毕" in page("/board/cases?q=路灯")        # a search is never kept
    assert "路灯已于本周更换完毕" in page("/board/cases?page=11")       # nor a page past the kept ones
    make_ticket(Status.CLOSED, unit="110105001", consent_publish=True, content="公园的健身器材损坏了")
    fresh = page()
    assert "公园的健身器材" in fresh and "共 2 件" in fresh          # a newer case: at once
    assert "路灯已于本周更换完毕" in fresh                              # (rendered again, with the change)
    changed_elsewhere(older, "路灯已修好，感谢反映。")
    assert "路灯已修好" not in page()
    later = real_time.monotonic() + app.config["PUBLIC_CASES_SECONDS"] + 1
    monkeypatch.setattr(routes.time, "monotonic", lambda: later)
    assert "路灯已修好" in page()                                      # its time is up
    client.get("/lang/en")
    english = page()
    assert "2 in total" in english and "共 2 件" not in english       # kept per language


def test_repeat_rate_beside_the_three_rates(client, app, make_ticket, now, freeze_now):
    """Three October requests from one caller, one category, one street: the 2nd and 3rd are
    repeats (issue 7), so 建外's repeat rate is 2 / 3 on the board and on its page."""
    for day in (5, 9, 20):
        make_ticket(Status.HANDLING, unit="110105001", start=datetime(2026, 10, day))
    ranking.freeze("2026-10", now)
    db.session.commit()
    html = client.get("/board?month=2026-10").get_data(as_text=True)
    assert "重复诉求率" in html and "66.7%" in html
    page = client.get("/board/units/110105001?month=2026-10").get_data(as_text=True)
    assert "重复诉求率" in page and "66.7%" in page and "2 / 3" in page


def test_the_repeat_rate_is_the_snapshots_and_an_older_snapshot_counts_it_on_the_view(client, app, make_ticket, now,
                                                                                       freeze_now):
    """The repeat rate is counted when the snapshot is written (services.ranking.figures), like
    the board's other figures, not on every view (half a second at 10,000,000 requests, on every
    unit page); a snapshot written before that has it counted on the view."""
    for day in (5, 9, 20):
        make_ticket(Status.HANDLING, unit="110105001", start=datetime(2026, 10, day))
    snap = ranking.freeze("2026-10", now)
    db.session.commit()
    assert snap.figures["repeats"] and ranking.snapshot_repeats(snap)[_unit_id(app, "110105001")] == (2, 3)
    make_ticket(Status.HANDLING, unit="110105001", start=datetime(2026, 10, 25))   # after the freeze
    page = client.get("/board/units/110105001?month=2026-10").get_data(as_text=True)
    assert "66.7%" in page and "2 / 3" in page                      # the snapshot's, not 3 / 4
    assert "66.7%" in client.get("/board?month=2026-10").get_data(as_text=True)
    older = dict(snap.figures)
    del older["repeats"]                                            # as an earlier version wrote it
    db.session.execute(RankingSnapshot.__table__.update().where(RankingSnapshot.id == snap.id).values(figures=older))
    db.session.commit()
    page = client.get("/board/units/110105001?month=2026-10").get_data(as_text=True)
    assert "75.0%" in page and "3 / 4" in page                      # counted now


def test_a_units_top_categories_are_the_snapshots(client, app, make_ticket, now, freeze_now):
    """A unit's page lists its month's most frequent categories as the snapshot counted them (one
    statement for every unit when it is written), and counts them on the view for a snapshot
    written before that (or a month without one)."""
    from portal.models import Category
    from sqlalchemy import select
    cats = db.session.scalars(select(Category).where(Category.parent_id.isnot(None)).order_by(Category.id)).all()[:6]
    for i, cat in enumerate(cats):                       # category i: i + 1 requests
        for day in range(i + 1):
            make_ticket(Status.HANDLING, unit="110105001", start=datetime(2026, 10, 2 + day), category=cat.code)
    snap = ranking.freeze("2026-10", now)
    db.session.commit()
    uid = _unit_id(app, "110105001")
    kept = snap.figures["unit_categories"][str(uid)]
    assert kept == [[cats[i].id, i + 1] for i in (5, 4, 3, 2, 1)]        # the five most, most first
    assert ranking.unit_top_categories(uid, "2026-10", snap=snap) == [(c, n) for c, n in kept]
    make_ticket(Status.HANDLING, unit="110105001", start=datetime(2026, 10, 25), category=cats[0].code)
    make_ticket(Status.HANDLING, unit="110105001", start=datetime(2026, 10, 26), category=cats[0].code)
    assert ranking.unit_top_categories(uid, "2026-10", snap=snap)[-1] == (cats[1].id, 2)   # the snapshot's
    assert ranking.unit_top_categories(uid, "2026-10") == [(cats[i].id, n) for i, n in           # counted now
                                                          ((5, 6), (4, 5), (3, 4), (0, 3), (2, 3))]
    page = client.get("/board/units/110105001?month=2026-10", headers={"Accept-Language": "zh"})
    assert page.status_code == 200 and cats[5].name in page.get_data(as_text=True)


def test_the_figures_around_the_tables_are_kept_until_a_snapshot_or_a_name_changes(client, app, make_ticket, now,
                                                                                      freeze_now):
    """routes._figures: the totals, trend, top categories and month list are read from the
    snapshots, kept per month and language until a snapshot is written or removed or a unit or
    category changes (ranking.snapshots_stamp)."""
    from sqlalchemy import select

    from portal.models import Category, RankingRow
    make_ticket(Status.HANDLING, unit="110105001", start=datetime(2026, 10, 5))
    snap = ranking.freeze("2026-10", now)
    db.session.commit()

    def board() -> str:
        return client.get("/board?month=2026-10", headers={"Accept-Language": "zh"}).get_data(as_text=True)

    def dispatched(html: str) -> str:
        import re
        return re.search(r'派单量</dt><dd><span class="rate-value">(\d+)<', html).group(1)

    assert dispatched(board()) == "1"
    # a row changed behind the snapshots' back (never done by the portal): the kept figures stay
    db.session.execute(RankingRow.__table__.update().where(RankingRow.snapshot_id == snap.id,
                                                           RankingRow.unit_id == _unit_id(app, "110105001"))
                       .values(dispatched=RankingRow.dispatched + 5))
    db.session.commit()
    assert dispatched(board()) == "1"
    category = db.session.scalar(select(Category).where(Category.code == "SZSS-LD"))
    category.name = "路灯照明设施"                                    # a name changes: counted again
    db.session.commit()
    html = board()
    assert "路灯照明设施" in html and dispatched(html) == "6"
    assert '<option value="2026-09"' not in html
    ranking.freeze("2026-09", now)                                   # a snapshot written: the month list
    db.session.commit()
    assert '<option value="2026-09"' in board()


def _unit_id(app, code: str) -> int:
    from sqlalchemy import select

    from portal.models import Unit
    return db.session.scalar(select(Unit.id).where(Unit.code == code))


@pytest.mark.parametrize("backend", ["postgresql"])
def test_published_cases_are_read_through_their_partial_index(app, make_ticket, backend):
    """The page's statements can use ix_tickets_published (migration 0014): their condition
    implies the index's (PostgreSQL does not prove ``consent_publish`` from ``IS true``, and then
    sorted every published request for a page at 10,000,000). SQLite's planner picks by its own
    statistics on a test's few rows, so only PostgreSQL's plan is asserted."""
    from sqlalchemy import event, text

    from portal.services import publicity
    make_ticket(Status.CLOSED, unit="110105001", consent_publish=True)
    seen = []
    listener = lambda conn, cur, stmt, params, *rest: seen.append((stmt, params))   # noqa: E731
    event.listen(db.engine, "before_cursor_execute", listener)
    try:
        publicity.cases("", 1)
    finally:
        event.remove(db.engine, "before_cursor_execute", listener)
    count, page = [s for s in seen if "FROM tickets" in s[0]][:2]
    conn = db.session.connection()
    for stmt, params in (count, page):
        conn.exec_driver_sql("SET LOCAL enable_seqscan = off")
        plan = "\n".join(r[0] for r in conn.exec_driver_sql("EXPLAIN " + stmt, params))
        assert "ix_tickets_published" in plan, plan

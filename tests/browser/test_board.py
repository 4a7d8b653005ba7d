"""The board, a unit's page, the admin and unit pages of issue 5 in Chromium, with axe."""
import pytest

from portal.domain.deadlines import utcnow
from portal.extensions import db
from portal.services.ranking_seed import seed_demo_rankings
from tests.browser.conftest import axe_violations
from tests.browser.test_queues import sign_in

pytestmark = pytest.mark.browser


@pytest.fixture
def demo(app):
    seed_demo_rankings(utcnow())
    db.session.commit()


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_board_and_unit_page(live_server, page, demo, lang):
    page.goto(f"{live_server}/lang/{lang}")
    page.goto(live_server + "/")
    with page.expect_navigation():
        page.locator("main a[href='/board']").click()
    assert page.locator("table.board-table").count() >= 3
    assert axe_violations(page) == []
    # the month picker, with the keyboard alone
    page.locator("#month").focus()
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Tab")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert "month=" in page.url
    assert page.locator("table.board-table").count() >= 1
    with page.expect_navigation():
        page.locator("table.board-table th[scope=row] a").first.click()
    assert page.locator("svg polyline").count() >= 1
    assert axe_violations(page) == []


def test_bad_month_message(live_server, page, demo):
    resp = page.goto(live_server + "/board?month=2026-13")
    assert resp.status == 400
    assert page.get_by_role("alert").inner_text().startswith("月份格式不正确")
    assert axe_violations(page) == []


def test_admin_and_unit_pages(live_server, page, demo):
    sign_in(page, live_server, "admin")
    for path in ("/admin/jobs", "/admin/ranking"):
        page.goto(live_server + path)
        assert axe_violations(page) == [], path
    page.fill("#w_response", "50")
    with page.expect_navigation():
        page.click("main button[type=submit]")
    assert "100%" in page.locator(".error").inner_text()
    page.context.clear_cookies()
    sign_in(page, live_server, "jianwai")
    page.goto(live_server + "/staff/rates")
    assert page.locator("h2").first.is_visible()
    assert axe_violations(page) == []


def test_reports_and_publicity(live_server, page, demo):
    page.goto(live_server + "/board/cases")
    assert page.locator("article.case").count() >= 1
    assert axe_violations(page) == []
    sign_in(page, live_server, "dispatcher")
    for period in ("daily", "weekly", "monthly"):
        page.goto(f"{live_server}/staff/reports?period={period}")
        assert page.locator("#r5").is_visible()
        assert axe_violations(page) == [], period
    href = page.get_by_role("link", name="下载 Excel").get_attribute("href")
    resp = page.request.get(live_server + href)     # with the signed-in session's cookies
    assert resp.ok and resp.headers["content-type"].startswith("application/vnd.openxmlformats")
    assert resp.body()[:2] == b"PK"

"""The knowledge base in Chromium: an operator writes an article, finds it from a consultation's
answer panel (htmx) and answers with it; the editor and repeat-rate pages pass axe."""
import pytest

from portal.domain.lifecycle import Status
from portal.extensions import db
from portal.models import Ticket
from tests.browser.conftest import axe_violations
from tests.conftest import TEST_PASSWORD

pytestmark = pytest.mark.browser


def _sign_in(page, live_server, username="operator"):
    page.goto(live_server + "/login")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(TEST_PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url("**/staff/")


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_editor_and_repeat_pages_have_no_axe_violations(live_server, page, lang):
    _sign_in(page, live_server)
    page.goto(f"{live_server}/lang/{lang}")
    for path in ("/staff/kb/", "/staff/kb/?q=停车收费", "/staff/kb/new", "/staff/repeats?month=2026-11"):
        page.goto(live_server + path)
        assert axe_violations(page) == [], path


def test_operator_writes_an_article_and_answers_with_it(live_server, page, make_ticket):
    t = make_ticket(Status.ACCEPTED, kind="consultation", content="想问一下家门口的共享单车停放点在哪里可以查到？")
    _sign_in(page, live_server)
    page.get_by_role("link", name="知识库").first.click()
    page.get_by_role("link", name="新建条目").click()
    page.get_by_label("问题").fill("共享单车停放点在哪里查询")
    page.get_by_label("答案").fill("可以在各共享单车企业的App地图上查看规划的停放区，违规停放可拨打12345反映。")
    page.get_by_label("关键词（用逗号分隔，可选）").fill("共享单车，停放点")
    page.get_by_role("button", name="保存").click()
    page.wait_for_url("**/staff/kb/**")
    assert page.get_by_text("共享单车停放点在哪里查询").first.is_visible()

    page.goto(f"{live_server}/staff/tickets/{t.id}")
    page.locator("summary", has_text="直接答复").click()
    page.get_by_label("搜索知识库").fill("单车 停放")
    page.get_by_role("button", name="搜索", exact=True).click()          # htmx swaps the body in place
    page.wait_for_selector(".kb-results >> text=共享单车停放点在哪里查询")
    assert axe_violations(page) == []
    page.locator("details[open] form.action-form button[type=submit]").click()
    page.wait_for_selector("text=已完成")
    db.session.expire_all()
    ticket = db.session.get(Ticket, t.id)
    assert ticket.status is Status.ANSWERED and "App地图" in ticket.answer


def test_the_list_scrolls_sideways_on_a_phone_instead_of_squeezing_its_columns(live_server, page):
    page.set_viewport_size({"width": 390, "height": 844})
    _sign_in(page, live_server)
    page.goto(live_server + "/staff/kb/?q=停车")
    widths = page.eval_on_selector_all("table.kb-table tbody tr:first-child td",
                                       "cells => cells.map(c => c.getBoundingClientRect().width)")
    assert len(widths) == 6 and min(widths[:4]) >= 48, widths          # no column one character wide
    wrap = page.eval_on_selector(".table-wrap", "w => [w.scrollWidth, w.clientWidth]")
    assert wrap[0] > wrap[1]                                              # the table scrolls in its wrapper...
    assert page.evaluate("document.documentElement.scrollWidth") <= 390   # ...not the page
    assert axe_violations(page) == []

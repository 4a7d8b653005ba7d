"""A street handler's morning and the center's dispatch, in Chromium, with htmx."""
import pytest

from portal.domain.lifecycle import Status
from portal.extensions import db
from portal.models import Ticket
from tests.browser.conftest import axe_violations

pytestmark = pytest.mark.browser


def sign_in(page, live_server, username):
    from tests.browser.conftest import sign_in as real_sign_in
    real_sign_in(page, live_server, username)


def fresh(ticket):
    db.session.expire_all()
    return db.session.get(Ticket, ticket.id)


def test_street_handler_morning(live_server, page, make_ticket):
    a = make_ticket(Status.DISPATCHED)
    b = make_ticket(Status.DISPATCHED)
    sign_in(page, live_server, "jianwai")
    assert axe_violations(page) == []
    # sign two from the queue at once
    page.get_by_label(f"选择 {a.tracking_no}").check()
    page.get_by_label(f"选择 {b.tracking_no}").check()
    page.get_by_role("button", name="签收所选").click()
    page.wait_for_load_state()
    assert "已签收 2 件" in page.locator(".flashes").inner_text()
    assert fresh(a).status is Status.HANDLING and fresh(b).status is Status.HANDLING

    # open one and give feedback; htmx swaps the panel in place (no full reload)
    page.goto(f"{live_server}/staff/tickets/{a.id}")
    page.evaluate("window.__marker = 1")
    page.locator("summary", has_text="反馈").first.click()
    page.get_by_label("答复市民").fill("经现场核实，路灯线路老化，已更换，目前恢复照明。")
    page.locator("details.action[open] button[type=submit]").click()
    page.locator("#ticket-body .flash-success").wait_for()
    assert page.evaluate("window.__marker") == 1                  # same page: swapped by htmx
    assert "已反馈待回访" in page.locator("#ticket-body h1").inner_text()
    assert fresh(a).status is Status.FED_BACK
    assert axe_violations(page) == []


def test_center_dispatch(live_server, page, make_ticket, units):
    t = make_ticket(Status.ACCEPTED, unit="110105001")
    sign_in(page, live_server, "dispatcher")
    page.get_by_role("link", name=t.tracking_no).click()
    page.wait_for_load_state()
    assert axe_violations(page) == []
    page.get_by_role("button", name="派往 建外街道").click()        # the suggestion: the request's own street
    page.locator("#ticket-body .flash-success").wait_for()
    t2 = fresh(t)
    assert t2.status is Status.DISPATCHED and t2.handling_unit_id == units["110105001"].id


def test_center_dispatch_without_javascript(live_server, browser, make_ticket, units):
    t = make_ticket(Status.ACCEPTED, unit="110105001")
    context = browser.new_context(java_script_enabled=False, viewport={"width": 390, "height": 844})
    page = context.new_page()
    sign_in(page, live_server, "dispatcher")
    page.goto(f"{live_server}/staff/tickets/{t.id}")
    page.locator("summary", has_text="派单").click()
    page.get_by_label("主办单位").select_option(label="朝阳区")
    page.locator("details.action[open] button[type=submit]").click()
    page.wait_for_load_state()
    assert "已完成" in page.content()
    assert fresh(t).handling_unit_id == units["110105"].id
    context.close()


def test_three_browsers_work_a_request_to_closed(live_server, browser, make_ticket, units):
    """Center, district and street, each in its own browser, take one request from intake to closed."""
    t = make_ticket(Status.SUBMITTED, unit="110105001")
    pages = {}
    for who in ("dispatcher", "chaoyang", "jianwai"):
        ctx = browser.new_context(viewport={"width": 1200, "height": 900})
        pages[who] = ctx.new_page()
        pages[who].set_default_timeout(10_000)
        sign_in(pages[who], live_server, who)

    def do(who, summary, fill=None, button=None):
        pg = pages[who]
        pg.goto(f"{live_server}/staff/tickets/{t.id}")
        if summary:
            pg.locator("details.action > summary", has_text=summary).first.click()
            for label, value in (fill or {}).items():
                target = pg.locator("details.action[open]").get_by_label(label, exact=True)
                if target.evaluate("e => e.tagName") == "SELECT":
                    target.select_option(label=value)
                else:
                    target.fill(value)
            pg.locator("details.action[open] button[type=submit]").click()
        else:
            pg.get_by_role("button", name=button, exact=True).click()
        pg.locator("#ticket-body .flash-success").wait_for()

    do("dispatcher", "受理")
    do("dispatcher", "派单", {"主办单位": "朝阳区"})
    do("chaoyang", None, button="签收")
    do("chaoyang", "转派", {"转派至街道（乡镇）": "建外街道"})
    do("jianwai", None, button="签收")
    do("jianwai", "反馈", {"答复市民": "已联系物业更换路灯，今晚起恢复照明。"})
    pg = pages["dispatcher"]
    assert fresh(t).status is Status.FED_BACK
    # the callback form: radios, then submit
    pg.goto(f"{live_server}/staff/tickets/{t.id}")
    pg.locator("details.action > summary", has_text="回访").first.click()
    form = pg.locator("details.action[open]")
    form.get_by_role("group", name="是否联系上市民").get_by_label("是").check()
    form.get_by_role("group", name="是否解决").get_by_label("是").check()
    form.get_by_role("group", name="是否满意").get_by_label("是").check()
    form.locator("button[type=submit]").click()
    pg.locator("#ticket-body .flash-success").wait_for()
    do("dispatcher", "办结")
    final = fresh(t)
    assert final.status is Status.CLOSED and final.redispatch_count == 1
    assert [e.action.value for e in final.events] == [
        "submit", "accept", "dispatch", "sign", "redispatch", "sign", "feedback", "callback", "close"]
    for pg in pages.values():
        pg.context.close()

"""The center's dashboard, the public topic page and a unit acting on a hot-spot alert, in Chromium
on a phone-sized screen, with the axe check."""
from datetime import timedelta

import pytest

from portal.domain.intake import Channel, RequestKind
from portal.domain.lifecycle import Status
from portal.extensions import db
from portal.services import governance as gov
from tests.browser.conftest import axe_violations
from tests.conftest import TEST_PASSWORD

pytestmark = pytest.mark.browser
S = Status


def sign_in(page, live_server, username):
    page.goto(live_server + "/login")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(TEST_PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url("**/staff/**")


def no_horizontal_scroll(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")


def test_dashboard_figures_charts_and_tables(live_server, page, make_ticket):
    make_ticket(S.ANSWERED, unit="110105001", kind=RequestKind.CONSULTATION, channel=Channel.PHONE)
    make_ticket(S.SUBMITTED, unit="110105001")
    make_ticket(S.SUBMITTED, unit="110105002")
    sign_in(page, live_server, "dispatcher")
    page.goto(live_server + "/staff/governance/dashboard?days=7&end=2026-11-16")
    assert page.get_by_role("heading", level=1).inner_text().startswith("数据看板")
    assert "33.3%" in page.locator(".kpis").inner_text()          # 1 answered of 3
    chart = page.get_by_role("img", name="按渠道")
    assert chart.is_visible()
    # the figures behind a chart open from the keyboard
    summary = page.locator("#by-channel-caption ~ details summary")
    summary.focus()
    page.keyboard.press("Enter")
    table = page.locator("#by-channel-caption ~ details table")
    assert table.is_visible() and "电话" in table.inner_text()
    assert page.locator(".district-tile").count() == 16
    assert no_horizontal_scroll(page)
    assert axe_violations(page) == []


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_public_topic_page_is_accessible(live_server, page, lang):
    page.goto(f"{live_server}/lang/{lang}")
    page.goto(live_server + "/topics/")
    link = page.get_by_role("link", name="房产证办理难")
    link.click()
    page.wait_for_url(f"**/topics/{gov.DEMO_TOPIC_SLUG}")
    assert page.locator("progress").get_attribute("value") == "2"
    assert page.locator("svg[role=img]").count() == 1
    assert no_horizontal_scroll(page)
    assert axe_violations(page) == []


def test_unit_records_its_action_on_an_alert(live_server, page, make_ticket, now, app):
    for d in range(5):
        make_ticket(S.SUBMITTED, unit="110105001", category="SZSS-LD", start=now - timedelta(days=d + 1))
    gov.detect_hotspots(now)
    db.session.commit()
    sign_in(page, live_server, "jianwai")
    page.goto(live_server + "/staff/governance/hotspots")
    page.get_by_role("link", name="市政设施 > 路灯不亮").click()
    page.wait_for_load_state()
    assert axe_violations(page) == []
    page.get_by_role("textbox", name="对这一类问题的处置情况").fill("已对辖区路灯线路全面排查，更换老化线缆三处，建立每周巡查。")
    page.get_by_role("button", name="提交处置情况").click()
    page.wait_for_load_state()
    assert "已记录处置情况" in page.locator(".flashes").inner_text()
    assert "建立每周巡查" in page.locator("main").inner_text()
    assert axe_violations(page) == []

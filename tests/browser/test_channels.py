"""The channel admin pages in Chromium (issue 8): an admin creates an API key with the
keyboard alone, sees it once, the key works against the API, the admin revokes it; axe finds
nothing on the pages in either language."""
import urllib.parse
import urllib.request

import pytest

from tests.browser.conftest import axe_violations

pytestmark = pytest.mark.browser


def sign_in_as_admin(page, live_server):
    from tests.browser.conftest import sign_in
    sign_in(page, live_server, "admin")


def post_request(live_server, key) -> int:
    data = urllib.parse.urlencode({"api_key": key, "service_code": "SZSS-LD", "address_string": "建国门外大街1号",
                                   "description": "路灯不亮已经一周了，请尽快修理。"}).encode()
    try:
        with urllib.request.urlopen(live_server + "/open311/v2/requests.json", data=data, timeout=10) as resp:
            return resp.status
    except urllib.error.HTTPError as exc:
        return exc.code


def test_admin_creates_a_key_with_the_keyboard_and_revokes_it(live_server, page):
    sign_in_as_admin(page, live_server)
    page.goto(live_server + "/admin/channels")
    assert axe_violations(page) == []
    page.get_by_label("接入方名称").focus()
    page.keyboard.type("微博政务号")
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    page.keyboard.press("Control+A")
    page.keyboard.type("30")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.get_by_role("heading", name="接口密钥已创建").is_visible()
    key = page.get_by_label("接口密钥").input_value()
    assert key.startswith("k12345_")
    assert axe_violations(page) == []
    assert post_request(live_server, key) == 200
    with page.expect_navigation():
        page.get_by_role("link", name="返回渠道管理").click()
    assert key not in page.content()
    with page.expect_navigation():
        page.get_by_role("button", name="吊销 微博政务号").click()
    assert page.get_by_text("已吊销").first.is_visible()
    assert post_request(live_server, key) == 403


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_channel_pages_have_no_axe_violations(live_server, page, lang):
    sign_in_as_admin(page, live_server)
    page.goto(f"{live_server}/lang/{lang}")
    for path in ("/admin/channels", "/admin/outbox"):
        page.goto(live_server + path)
        assert axe_violations(page) == [], path

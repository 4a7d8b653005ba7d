"""The admin's unit tree and CSV import preview in Chromium, with htmx and an axe check."""
from pathlib import Path

import pyotp
import pytest
from sqlalchemy import select

from portal.domain.access import Role
from portal.extensions import db
from portal.models import Unit
from portal.services.users import create_user
from tests.browser.conftest import axe_violations
from tests.conftest import TEST_PASSWORD, TEST_TOTP_SECRET

pytestmark = pytest.mark.browser
DATA = Path(__file__).resolve().parents[1] / "data"


def sign_in_admin(page, live_server):
    page.goto(live_server + "/login")
    page.get_by_label("用户名").fill("admin")
    page.get_by_label("密码").fill(TEST_PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url("**/login/code")
    assert axe_violations(page) == []
    page.get_by_label("6 位验证码").fill(pyotp.TOTP(TEST_TOTP_SECRET).now())
    page.get_by_role("button", name="验证并登录").click()
    page.wait_for_url("**/staff/")


def test_unit_tree_expands_collapses_and_searches_with_htmx(live_server, page):
    sign_in_admin(page, live_server)
    page.goto(live_server + "/admin/units")
    assert axe_violations(page) == []
    page.evaluate("window.__marker = 1")
    chaoyang = db.session.scalar(select(Unit).where(Unit.code == "110105"))
    node = page.locator(f"#node-{chaoyang.id}")
    toggle = node.locator("> a.tree-toggle")
    assert toggle.get_attribute("aria-expanded") == "false"
    toggle.click()
    node.get_by_role("link", name="建外街道").wait_for()
    assert page.locator(f"#node-{chaoyang.id} > a.tree-toggle").get_attribute("aria-expanded") == "true"
    assert page.evaluate("window.__marker") == 1                  # swapped in place, no reload
    assert axe_violations(page) == []
    page.locator(f"#node-{chaoyang.id} > a.tree-toggle").click()
    page.locator(f"#node-{chaoyang.id} > a.tree-toggle[aria-expanded=false]").wait_for()
    assert page.get_by_role("link", name="建外街道").count() == 0
    # live search (htmx) by name
    page.get_by_label("按名称或编码搜索").fill("朝外")
    page.locator("#unit-search-results").get_by_role("link", name="朝外街道").wait_for()
    assert page.evaluate("window.__marker") == 1
    # keyboard only: the toggle is a link, Enter opens it
    page.locator(f"#node-{chaoyang.id} > a.tree-toggle").focus()
    page.keyboard.press("Enter")
    page.locator(f"#node-{chaoyang.id}").get_by_role("link", name="建外街道").wait_for()


def test_import_preview_then_apply_another_city(live_server, page):
    sign_in_admin(page, live_server)
    page.goto(live_server + "/admin/units/import")
    assert axe_violations(page) == []
    page.get_by_label("CSV 文件").set_input_files(str(DATA / "haibin_units.csv"))
    page.get_by_label("停用文件中没有的单位（用于整体替换为新城市的层级）").check()
    page.get_by_role("button", name="预览").click()
    page.wait_for_url("**/admin/units/import")
    assert "新增 14" in page.locator(".summary").inner_text()
    assert page.get_by_role("heading", name="停用").count() == 1
    assert axe_violations(page) == []
    page.get_by_role("button", name="确认导入").click()
    page.wait_for_url("**/admin/units")
    assert "导入完成" in page.locator(".flashes").inner_text()
    assert page.get_by_role("link", name="海滨市东港区").count() == 1
    db.session.expire_all()
    assert db.session.scalar(select(Unit).where(Unit.code == "HB01001")).active


def test_import_preview_names_the_bad_lines(live_server, page, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_bytes("code,name,tier,kind,parent_code\nA1,甲,3,street,B1\nB1,乙,3,street,A1\nX2,新区,2,district,110105001\n"
                    .encode("gbk"))
    sign_in_admin(page, live_server)
    page.goto(live_server + "/admin/units/import")
    page.get_by_label("CSV 文件").set_input_files(str(bad))
    page.get_by_role("button", name="预览").click()
    problems = page.locator(".problems").inner_text()
    assert "第 2 行" in problems and "循环" in problems and "第 4 行" in problems and "层级不符" in problems
    assert page.get_by_role("button", name="确认导入").count() == 0
    assert axe_violations(page) == []


def test_admin_enrolment_page(live_server, page, users, now):
    create_user(now, username="admin2", display_name="新管理员", role=Role.ADMIN, unit=users["admin"].unit,
                password=TEST_PASSWORD)
    db.session.commit()
    page.goto(live_server + "/login")
    page.get_by_label("用户名").fill("admin2")
    page.get_by_label("密码").fill(TEST_PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url("**/account/two-factor")
    assert page.locator(".qr svg").count() == 1
    assert axe_violations(page) == []
    secret = page.locator("code.secret").inner_text()
    page.get_by_label("6 位验证码").fill(pyotp.TOTP(secret).now())
    page.get_by_role("button", name="完成设置").click()
    page.wait_for_url("**/staff/")
    page.goto(live_server + "/admin/")
    assert page.get_by_role("heading", name="系统管理").count() == 1

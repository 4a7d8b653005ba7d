"""Home page, language switch, errors."""
import pytest


def test_home_is_chinese_by_default(client):
    resp = client.get("/")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200
    assert '<html lang="zh-CN">' in html
    assert "12345 市民服务热线" in html
    assert "紧急情况请直接拨打" in html
    assert 'href="/lang/en' in html            # the visible switch


def test_language_switch_sticks(client):
    resp = client.get("/lang/en?next=/")
    assert resp.status_code == 303
    assert resp.headers["Location"].endswith("/")
    assert "lang=en" in resp.headers["Set-Cookie"]
    html = client.get("/").get_data(as_text=True)
    assert '<html lang="en">' in html
    assert "12345 Citizen Hotline" in html
    assert "市民服务热线" not in html.split("<main")[1].split("</main>")[0]
    assert 'href="/lang/zh' in html
    client.get("/lang/zh")
    assert '<html lang="zh-CN">' in client.get("/").get_data(as_text=True)


@pytest.mark.parametrize("target", ["//evil.example/", "https://evil.example/x", "javascript:alert(1)"])
def test_language_switch_refuses_open_redirect(client, target):
    resp = client.get("/lang/en", query_string={"next": target})
    assert resp.status_code == 303
    assert resp.headers["Location"] in ("/", "http://localhost/")


def test_unknown_language_is_ignored(client):
    resp = client.get("/lang/xx")
    assert resp.status_code == 303
    assert "lang=" not in resp.headers.get("Set-Cookie", "")


def test_not_found_page_is_translated(client):
    resp = client.get("/no-such-page")
    assert resp.status_code == 404
    assert "页面不存在" in resp.get_data(as_text=True)
    client.get("/lang/en")
    assert "Page not found" in client.get("/no-such-page").get_data(as_text=True)


def test_security_headers(client):
    resp = client.get("/")
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    assert resp.headers["X-Frame-Options"] == "DENY"


def test_no_cdn(client):
    html = client.get("/").get_data(as_text=True)
    assert "/static/js/htmx.min.js" in html
    assert "//cdn" not in html and "unpkg" not in html and "jsdelivr" not in html

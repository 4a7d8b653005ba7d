"""The home page: what the hotline does and does not do, the two actions, this month's three rates
and top categories (SQL aggregates), the board link only when the board exists."""
from __future__ import annotations

from datetime import timedelta

import pytest

from portal.domain.lifecycle import Status
from portal.web.public import queries


@pytest.fixture
def frozen(monkeypatch, now):
    """The home page reads the clock; pin it to the tests' ``now``."""
    import portal.web.public.routes as routes
    monkeypatch.setattr(routes, "utcnow", lambda: now)
    return now


def test_home_explains_and_offers_the_two_actions(client, frozen):
    html = client.get("/").get_data(as_text=True)
    assert "热线受理什么" in html and "热线不受理什么" in html
    assert "110" in html and "119" in html and "120" in html
    assert 'href="/submit"' in html and 'href="/track"' in html
    assert "本月全市三率" in html and "本月暂无数据" in html          # an empty month says so


def test_rates_and_top_categories(client, make_ticket, frozen, now):
    make_ticket(Status.CLOSED)                    # signed on time, called back resolved + satisfied
    make_ticket(Status.CALLED_BACK)               # signed on time, called back not resolved, not satisfied
    make_ticket(Status.DISPATCHED)                # not signed
    make_ticket(Status.SUBMITTED, category="HJBH-LTSK")
    rates = queries.city_rates(now)
    assert (rates.response.numerator, rates.response.denominator) == (2, 3)
    assert (rates.resolution.numerator, rates.resolution.denominator) == (1, 2)
    assert (rates.satisfaction.numerator, rates.satisfaction.denominator) == (1, 2)
    top = queries.top_categories(now)
    assert [(c.name, c.count) for c in top] == [("市政设施", 3), ("环境保护", 1)]
    html = client.get("/").get_data(as_text=True)
    assert "66.7%" in html and "50.0%" in html
    assert "市政设施" in html and "3 件" in html


def test_last_month_does_not_count(make_ticket, now):
    make_ticket(Status.CLOSED, start=now - timedelta(days=40))
    rates = queries.city_rates(now)
    assert rates.response.denominator == 0 and rates.resolution.denominator == 0
    assert queries.top_categories(now) == []


def test_month_is_beijing_time():
    from datetime import datetime
    start, end = queries.month_bounds(datetime(2026, 11, 30, 17, 0))    # 1 December, 01:00 in Beijing
    assert start == datetime(2026, 11, 30, 16, 0) and end == datetime(2026, 12, 31, 16, 0)


def test_board_link_only_when_the_board_exists(app, client, frozen):
    html = client.get("/").get_data(as_text=True)
    if "board.index" in app.view_functions:
        assert "公示栏" in html
    else:
        assert "/board" not in html and "公示栏" not in html


def test_home_in_english(client, frozen):
    client.get("/lang/en")
    html = client.get("/").get_data(as_text=True)
    assert '<html lang="en">' in html and "12345 Citizen Hotline" in html

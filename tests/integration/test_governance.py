"""Hot spots, topics and the dashboard against a real database (SQLite, and PostgreSQL when
PORTAL_TEST_DATABASE_URL is set), on fixtures whose answers are counted by hand."""
from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from portal.domain.access import NotPermitted
from portal.domain.intake import Channel, RequestKind
from portal.domain.lifecycle import Status
from portal.extensions import db
from portal.models import Category, HotspotAlert, HotspotRule, Ticket, Topic
from portal.services import governance as gov
from portal.services.tickets import InvalidInput

S = Status
JIANWAI, CHAOWAI, JIANWAI_LABEL = "110105001", "110105002", "建外街道"


def cat(code: str) -> Category:
    return db.session.scalar(select(Category).where(Category.code == code))


@pytest.fixture
def at(make_ticket, now):
    """at(days_ago, street, category, address, status=...) makes one request received then
    (make_ticket's clock adds ten minutes to ``start``)."""
    def _make(days_ago: float, street: str = JIANWAI, category: str = "SZSS-LD", address: str = "",
              status: Status = S.SUBMITTED, **fields) -> Ticket:
        start = now - timedelta(days=days_ago) - timedelta(minutes=10)
        return make_ticket(status, unit=street, category=category, address=address, start=start, **fields)
    return _make


def alerts() -> list[tuple]:
    rows = db.session.scalars(select(HotspotAlert).order_by(HotspotAlert.kind, HotspotAlert.id))
    return [(a.kind, a.street.code, a.category_id and db.session.get(Category, a.category_id).code, a.address,
             a.count, a.status) for a in rows]


@pytest.fixture
def cluster_fixture(app, at, now):
    """Known answer with N=3 in 7 days (street+category) and N=3 in 30 days (address):
    exactly one street+category cluster (建外, 路灯不亮, 3) and one address cluster (朝外, 朝阳门外大街8号, 3)."""
    gov.set_hotspot_rule(gov.STREET_CATEGORY, 3, 7, True, None, now)
    gov.set_hotspot_rule(gov.ADDRESS, 3, 30, True, None, now)
    for d in (1, 2, 3):                                   # yes: 3 in 7 days
        at(d, JIANWAI, "SZSS-LD", address=f"光华路{d}号")
    for d in (1, 2):                                      # no: only 2
        at(d, JIANWAI, "JTGL-TCSF", address=f"东大桥路{d}号")
    for d in (1, 2, 10):                                  # no: the third is outside the 7 days
        at(d, CHAOWAI, "SZSS-LD", address=f"工体北路{d}号")
    at(1, JIANWAI, "SZSS-DLJS", address="建华南路1号")      # no: one of the three is invalid
    at(2, JIANWAI, "SZSS-DLJS", address="建华南路2号", status=S.INVALID)
    at(3, JIANWAI, "SZSS-DLJS", address="建华南路3号")
    for d, c in ((5, "HJBH-LTSK"), (15, "SRHW-LJQY"), (25, "JSGL-YJSG")):   # yes: same address, 3 in 30 days
        at(d, CHAOWAI, c, address="朝阳门外大街8号")
    at(40, CHAOWAI, "HJBH-LTSK", address="朝阳门外大街8号")  # outside the 30 days
    for d in (2, 4):                                     # no: same address, only 2
        at(d, CHAOWAI, "WYGL-FWC", address="吉庆里5号")
    db.session.commit()


def test_detects_exactly_the_known_clusters(cluster_fixture, now):
    result = gov.detect_hotspots(now)
    db.session.commit()
    assert (result.raised, result.updated) == (2, 0)
    assert alerts() == [("address", CHAOWAI, 0, "朝阳门外大街8号", 3, "open"),
                        ("street_category", JIANWAI, "SZSS-LD", "", 3, "open")]
    sc = db.session.scalar(select(HotspotAlert).where(HotspotAlert.kind == gov.STREET_CATEGORY))
    listed = db.session.scalars(gov.alert_requests_stmt(sc)).all()
    assert sorted(t.address for t in listed) == ["光华路1号", "光华路2号", "光华路3号"]
    assert sc.unit.code == JIANWAI and (sc.min_count, sc.window_days) == (3, 7)


def test_detection_is_idempotent_and_open_alerts_grow(cluster_fixture, at, now):
    gov.detect_hotspots(now)
    db.session.commit()
    again = gov.detect_hotspots(now)
    db.session.commit()
    assert (again.raised, again.updated) == (0, 0)
    assert db.session.scalar(select(func.count()).select_from(HotspotAlert)) == 2
    at(0.1, JIANWAI, "SZSS-LD", address="光华路9号")      # a fourth of the same class
    db.session.commit()
    later = gov.detect_hotspots(now)
    db.session.commit()
    assert (later.raised, later.updated) == (0, 1)
    assert ("street_category", JIANWAI, "SZSS-LD", "", 4, "open") in alerts()


def test_after_action_a_new_alert_needs_n_new_requests(cluster_fixture, at, now, users):
    gov.detect_hotspots(now)
    alert = db.session.scalar(select(HotspotAlert).where(HotspotAlert.kind == gov.STREET_CATEGORY))
    gov.record_alert_action(alert, users.actor("jianwai"), users["jianwai"],
                            "已对辖区全部路灯线路排查，更换老化线缆三处。", now)
    db.session.commit()
    later = now + timedelta(days=1)
    at(-0.5, JIANWAI, "SZSS-LD", address="光华路21号")
    at(-0.6, JIANWAI, "SZSS-LD", address="光华路22号")
    db.session.commit()
    assert gov.detect_hotspots(later).raised == 0        # 5 in the window, but only 2 since the action
    at(-0.7, JIANWAI, "SZSS-LD", address="光华路23号")
    db.session.commit()
    assert gov.detect_hotspots(later).raised == 1
    db.session.commit()
    assert alerts().count(("street_category", JIANWAI, "SZSS-LD", "", 3, "open")) == 1
    assert ("street_category", JIANWAI, "SZSS-LD", "", 3, "acted") in alerts()


def test_inactive_rule_raises_nothing(cluster_fixture, now):
    gov.set_hotspot_rule(gov.ADDRESS, 3, 30, False, None, now)
    assert gov.detect_hotspots(now).raised == 1
    assert [a[0] for a in alerts()] == ["street_category"]


def test_recording_an_action_needs_words_and_an_open_alert(cluster_fixture, now, users):
    gov.detect_hotspots(now)
    alert = db.session.scalar(select(HotspotAlert).where(HotspotAlert.kind == gov.STREET_CATEGORY))
    with pytest.raises(InvalidInput):
        gov.record_alert_action(alert, users.actor("jianwai"), users["jianwai"], "  短  ", now)
    with pytest.raises(NotPermitted):
        gov.record_alert_action(alert, users.actor("dispatcher"), users["dispatcher"], "中心不能替单位填写处置情况。", now)
    gov.record_alert_action(alert, users.actor("jianwai"), users["jianwai"], "已对辖区全部路灯线路排查。", now)
    with pytest.raises(InvalidInput):
        gov.record_alert_action(alert, users.actor("jianwai"), users["jianwai"], "再记录一次处置情况试试。", now)


@pytest.mark.parametrize("n,days", [(0, 7), (-1, 7), (1, 7), (3, 0), (3, -5), (3, 367), ("x", 7), (3, None)])
def test_thresholds_zero_negative_or_junk_are_refused(app, now, n, days):
    before = (db.session.get(HotspotRule, gov.STREET_CATEGORY).min_count,
              db.session.get(HotspotRule, gov.STREET_CATEGORY).window_days)
    with pytest.raises(InvalidInput):
        gov.set_hotspot_rule(gov.STREET_CATEGORY, n, days, True, None, now)
    db.session.rollback()
    rule = db.session.get(HotspotRule, gov.STREET_CATEGORY)
    assert (rule.min_count, rule.window_days) == before == gov.DEFAULT_RULES[gov.STREET_CATEGORY]


def test_thresholds_are_also_checked_by_the_database(app):
    from sqlalchemy.exc import IntegrityError
    rule = db.session.get(HotspotRule, gov.ADDRESS)
    rule.min_count = 0
    with pytest.raises(IntegrityError):
        db.session.flush()
    db.session.rollback()


# --- topics -------------------------------------------------------------------------------------

@pytest.fixture
def topic(app, now, units):
    t = gov.save_topic(None, now, slug="parking-fees", title="停车收费不合理", year=2026, lead_unit=units["110105"],
                       keywords="停车费，100%", categories=[cat("JTGL-TCSF")], published=True)
    for title, status in (("排查", "done"), ("整改", "doing"), ("复查", "todo"), ("通报", "todo")):
        gov.add_task(t, now, title=title, owner_unit=units["110105001"], due=date(2026, 12, 1), status=status)
    db.session.commit()
    return t


def test_topic_progress_counts_done_of_total(topic, now):
    assert gov.topic_progress(topic.id) == gov.Progress(1, 4)
    assert gov.topic_progress(topic.id).percent == 25
    gov.set_task_status(topic.tasks[2], "done", now)
    assert gov.topic_progress(topic.id) == gov.Progress(2, 4)
    assert gov.topics_progress([topic.id]) == {topic.id: gov.Progress(2, 4)}
    with pytest.raises(InvalidInput):
        gov.set_task_status(topic.tasks[0], "finished", now)


def test_empty_topic_progress_is_zero_of_zero(app, now, units):
    t = gov.save_topic(None, now, slug="empty-one", title="空", year=2026, lead_unit=units["110105"],
                       keywords="空调")
    assert gov.topic_progress(t.id) == gov.Progress(0, 0) and gov.topic_progress(t.id).percent == 0


def test_topic_monthly_volume_by_category_or_keyword_in_beijing_months(topic, make_ticket):
    def on(utc: datetime, status: Status = S.SUBMITTED, **kw):
        return make_ticket(status, unit=JIANWAI, start=utc - timedelta(minutes=10), **kw)
    on(datetime(2026, 3, 5, 2), category="JTGL-TCSF")                         # March: category
    on(datetime(2026, 3, 6, 2), category="JTGL-TCSF", status=S.INVALID)     # invalid: not counted
    on(datetime(2026, 3, 7, 2), category="WYGL-TCLX", content="小区停车费一年涨了两次，物业不给说法。")  # March: keyword
    on(datetime(2026, 10, 31, 17), category="JTGL-TCSF")   # 2026-11-01 01:00 in Beijing: November
    on(datetime(2026, 10, 31, 15), category="JTGL-TCSF")   # 2026-10-31 23:00 in Beijing: October
    on(datetime(2026, 11, 2, 2), category="SZSS-LD", content="路灯亮度只有原来的100%的一半，晚上看不清路。")  # keyword "100%"
    on(datetime(2026, 11, 3, 2), category="SZSS-LD", content="路灯亮度只有原来的100分之一，晚上看不清路面。")  # no: "100" without "%"
    on(datetime(2025, 12, 31, 15), category="JTGL-TCSF")   # 2025-12-31 23:00 in Beijing: last year
    on(datetime(2026, 6, 1, 2), category="JTGL-TCSF", status=S.MERGED)  # a merged duplicate: not counted
    db.session.commit()
    volume = dict(gov.topic_monthly_volume(topic))
    assert len(volume) == 12 and list(volume)[0] == "2026-01"
    assert {k: v for k, v in volume.items() if v} == {"2026-03": 2, "2026-10": 1, "2026-11": 2}


def test_top_level_category_covers_its_subcategories(app, now, units, make_ticket):
    t = gov.save_topic(None, now, slug="traffic", title="交通", year=2026, lead_unit=units["110105"],
                       categories=[cat("JTGL")])
    make_ticket(S.SUBMITTED, unit=JIANWAI, category="JTGL-XHD", start=datetime(2026, 5, 1))
    make_ticket(S.SUBMITTED, unit=JIANWAI, category="SZSS-LD", start=datetime(2026, 5, 1))
    assert dict(gov.topic_monthly_volume(t))["2026-05"] == 1


@pytest.mark.parametrize("change,message", [
    ({"slug": "Bad Slug"}, "网址标识"), ({"title": "  "}, "题目"), ({"year": 1999}, "年度"),
    ({"lead_unit": None}, "牵头单位"), ({"keywords": "", "categories": []}, "分类或"), ({"month": 13}, "月份"),
])
def test_topic_bad_input_is_refused(app, now, units, change, message):
    args = dict(slug="good-slug", title="题目", year=2026, lead_unit=units["110105"], keywords="停车", categories=[])
    args.update(change)
    with pytest.raises(InvalidInput, match=message):
        gov.save_topic(None, now, **args)


def test_topic_slug_is_unique(topic, now, units):
    with pytest.raises(InvalidInput, match="已被使用"):
        gov.save_topic(None, now, slug="parking-fees", title="又一个", year=2026, lead_unit=units["110105"],
                       keywords="停车")


def test_demo_topic_is_seeded_once(app, now):
    assert db.session.scalar(select(func.count()).select_from(Topic).where(Topic.slug == gov.DEMO_TOPIC_SLUG)) == 1
    assert gov.seed_demo_topic(now) is None
    demo = db.session.scalar(select(Topic).where(Topic.slug == gov.DEMO_TOPIC_SLUG))
    assert gov.topic_progress(demo.id) == gov.Progress(2, 4) and demo.published


# --- the dashboard --------------------------------------------------------------------------------

@pytest.fixture
def dashboard_fixture(app, at, now):
    """Seven Beijing days ending 2026-11-16 (NOW is 10:00 that day), counted by hand:

    current period: 2026-11-10 .. 11-16 → 6 requests; previous period 11-03 .. 11-09 → 3.
    """
    at(0, JIANWAI, "SZSS-LD", channel=Channel.PHONE)                          # 11-16
    at(0.2, JIANWAI, "SZSS-LD", channel=Channel.PHONE)                        # 11-16 (05:12 Beijing)
    at(1, CHAOWAI, "SZSS-LD", channel=Channel.WEB)                            # 11-15
    at(2, JIANWAI, "JTGL-TCSF", channel=Channel.PHONE, status=S.ANSWERED,
       kind=RequestKind.CONSULTATION)                                        # 11-14, answered on the spot
    at(3, "110108001", "JTGL-TCSF", channel=Channel.WECHAT)                   # 11-13, 海淀区
    at(6, JIANWAI, "SZSS-LD", channel=Channel.WEB, status=S.INVALID)          # 11-10, invalid
    at(7, JIANWAI, "JTGL-TCSF")                                               # 11-09: previous period
    at(8, JIANWAI, "JTGL-TCSF")                                               # 11-08
    at(9, CHAOWAI, "HJBH-LTSK")                                               # 11-07
    db.session.commit()


def test_dashboard_figures_match_the_hand_count(dashboard_fixture, now):
    d = gov.dashboard(now, days=7)
    assert d["total"] == 6
    assert d["by_day"] == [("2026-11-10", 1), ("2026-11-11", 0), ("2026-11-12", 0), ("2026-11-13", 1),
                           ("2026-11-14", 1), ("2026-11-15", 1), ("2026-11-16", 2)]
    assert dict(d["by_channel"]) == {Channel.PHONE: 3, Channel.WEB: 2, Channel.WECHAT: 1}
    assert [(c.code, n) for c, n in d["by_category"]] == [("SZSS", 4), ("JTGL", 2)]
    districts = {u.code: n for u, n in d["by_district"]}
    assert len(districts) == 16 and districts["110105"] == 5 and districts["110108"] == 1
    assert sum(districts.values()) == 6
    assert [(u.code, n) for u, n in d["top_streets"]] == [(JIANWAI, 4), (CHAOWAI, 1), ("110108001", 1)]
    assert (d["direct_answer"].numerator, d["direct_answer"].denominator) == (1, 5)   # the invalid one left out
    assert d["direct_answer"].percent == 20.0
    # 路灯不亮 4 now vs 0 before: +4; 停车收费 2 vs 2: not rising; 露天烧烤 0 vs 1: falling
    assert [(r.category.code, r.current, r.previous) for r in d["rising"]] == [("SZSS-LD", 4, 0)]


def test_dashboard_weeks_and_months_are_beijing_calendar(dashboard_fixture, now):
    weeks = dict(gov.volume_by_week(now, weeks=3))
    # Monday-based weeks: 11-16 (Mon) has 2; week of 11-09 has 11-09 .. 11-15 = 5; week of 11-02 has 2
    assert weeks == {"2026-11-02": 2, "2026-11-09": 5, "2026-11-16": 2}
    months = gov.volume_by_month(now, months=2)
    assert months == [("2026-10", 0), ("2026-11", 9)]


def test_empty_dashboard_has_no_rate(app, now):
    d = gov.dashboard(now, days=30)
    assert d["total"] == 0 and d["direct_answer"].percent is None and d["rising"] == []
    assert len(d["by_day"]) == 30 and all(n == 0 for _, n in d["by_day"])

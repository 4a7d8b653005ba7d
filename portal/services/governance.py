"""Proactive governance (issue 7, points 3–5): hot spots (举一反三), 每月一题 topics, the data dashboard.

Everything here is SQL: clusters, progress, monthly volumes and the dashboard's figures are
``GROUP BY``s; Python only walks the aggregated rows. Services flush, never commit.

Times are naive UTC; calendar buckets (day, week, month) are Beijing's (UTC+8, no daylight
saving), computed in SQL by shifting the column eight hours.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import and_, case, false, func, insert, literal_column, or_, select, true, update

from ..domain.access import CENTER_ROLES, UNIT_ROLES, Actor, NotPermitted, Tier
from ..domain.deadlines import from_local, to_local
from ..domain.lifecycle import N_, Status
from ..extensions import db
from ..models import (Category, HotspotAlert, HotspotRule, Ticket, Topic, TopicPolicy,
                      TopicResponsibility, TopicTask, Unit, User)
from .tickets import InvalidInput

S = Status
STREET_CATEGORY, ADDRESS = "street_category", "address"
KINDS = (STREET_CATEGORY, ADDRESS)
KIND_LABELS = {STREET_CATEGORY: N_("同一街道同类诉求"), ADDRESS: N_("同一地址")}
#: thresholds used until the center changes them (the migration writes these rows)
DEFAULT_RULES = {STREET_CATEGORY: (5, 7), ADDRESS: (3, 30)}
MIN_COUNT, MAX_WINDOW = 2, 366
#: requests that do not count towards a cluster: invalid ones and merged duplicates
NOT_COUNTED = [S.INVALID, S.MERGED]
ALERT_STATUS_LABELS = {"open": N_("待处置"), "acted": N_("已处置")}
TASK_STATUS_LABELS = {"todo": N_("未开始"), "doing": N_("推进中"), "done": N_("已完成")}
POLICY_STATUS_LABELS = {"drafting": N_("起草中"), "issued": N_("已印发"), "in_force": N_("已施行")}
SLUG_RE = re.compile(r"^[a-z0-9][a-z0-9-]{1,38}[a-z0-9]$")
LOCAL_OFFSET_HOURS = 8


# --- calendar buckets in SQL ----------------------------------------------------------------

def _dialect() -> str:
    return db.session.get_bind().dialect.name


def local_bucket(col, unit: str):
    """The Beijing day ('YYYY-MM-DD'), week (its Monday, 'YYYY-MM-DD') or month ('YYYY-MM') of a
    UTC timestamp column, as a SQL expression. Literals, not bound parameters, so the same
    expression can be grouped by on PostgreSQL."""
    if _dialect() == "postgresql":
        shifted = col + literal_column(f"interval '{LOCAL_OFFSET_HOURS} hours'")
        if unit == "day":
            return func.to_char(shifted, literal_column("'YYYY-MM-DD'"))
        if unit == "week":
            return func.to_char(func.date_trunc(literal_column("'week'"), shifted), literal_column("'YYYY-MM-DD'"))
        return func.to_char(shifted, literal_column("'YYYY-MM'"))
    shift = literal_column(f"'+{LOCAL_OFFSET_HOURS} hours'")
    if unit == "day":
        return func.strftime(literal_column("'%Y-%m-%d'"), col, shift)
    if unit == "week":
        return func.date(col, shift, literal_column("'weekday 0'"), literal_column("'-6 days'"))
    return func.strftime(literal_column("'%Y-%m'"), col, shift)


def local_midnight_utc(day: date) -> datetime:
    return from_local(datetime(day.year, day.month, day.day))


# --- hot spots: thresholds ---------------------------------------------------------------------

def hotspot_rules() -> dict[str, HotspotRule]:
    """The center's thresholds, one per kind (the defaults where a row is missing)."""
    rows = {r.kind: r for r in db.session.scalars(select(HotspotRule))}
    for kind in KINDS:
        if kind not in rows:
            n, days = DEFAULT_RULES[kind]
            rows[kind] = HotspotRule(kind=kind, min_count=n, window_days=days, active=True)
    return rows


def check_thresholds(min_count, window_days) -> tuple[int, int]:
    """N requests in M days: N at least 2 (one request is not a cluster), M from 1 to 366 days.
    Zero, negative and non-numbers are refused."""
    try:
        n, days = int(min_count), int(window_days)
    except (TypeError, ValueError):
        raise InvalidInput(N_("阈值必须是整数")) from None
    if n < MIN_COUNT:
        raise InvalidInput(N_("件数阈值至少为 2"))
    if not 1 <= days <= MAX_WINDOW:
        raise InvalidInput(N_("天数阈值应在 1 至 366 天之间"))
    return n, days


def set_hotspot_rule(kind: str, min_count, window_days, active: bool, user: User | None,
                     now: datetime) -> HotspotRule:
    if kind not in KINDS:
        raise InvalidInput(N_("未知的热点类型"))
    n, days = check_thresholds(min_count, window_days)
    rule = db.session.get(HotspotRule, kind)
    if rule is None:
        rule = HotspotRule(kind=kind)
        db.session.add(rule)
    rule.min_count, rule.window_days, rule.active = n, days, bool(active)
    rule.updated_at, rule.updated_by_id = now, user.id if user is not None else None
    db.session.flush()
    return rule


# --- hot spots: detection ------------------------------------------------------------------------

@dataclass(frozen=True)
class DetectionResult:
    raised: int
    updated: int

    def __str__(self) -> str:
        return f"raised={self.raised} updated={self.updated}"


def _key_columns(kind: str):
    """(street, category, address) of a request's class for this kind of cluster, as SQL, and the
    real columns to group by (PostgreSQL refuses a constant in GROUP BY)."""
    if kind == STREET_CATEGORY:
        return (Ticket.street_id, Ticket.category_id, literal_column("''")), (Ticket.street_id, Ticket.category_id)
    return (Ticket.street_id, literal_column("0"), Ticket.address), (Ticket.street_id, Ticket.address)


def _kind_filter(kind: str):
    base = and_(Ticket.street_id.isnot(None), Ticket.status.not_in(NOT_COUNTED))
    if kind == ADDRESS:
        return and_(base, Ticket.address != "")
    return base


def _alert_matches(kind: str, alert=HotspotAlert):
    """Join condition: a request belongs to an alert's class."""
    cond = and_(Ticket.street_id == alert.street_id)
    if kind == STREET_CATEGORY:
        return and_(cond, Ticket.category_id == alert.category_id)
    # category_id = 0 on address alerts: stated so the join uses the whole (kind, street, category, address) index
    return and_(cond, alert.category_id == 0, Ticket.address == alert.address)


def detect_hotspots(now: datetime) -> DetectionResult:
    """举一反三: find classes of requests with N or more in the last M days and raise one alert each.

    Idempotent: a class with an open alert gets no second one (its alert's count and latest time
    move forward instead); a class whose last alert was acted on needs N new requests received
    after that action. A few SQL aggregates per kind, whatever the number of requests; Python
    only compares the aggregated keys.
    """
    raised = updated = 0
    rules = hotspot_rules()
    for kind in KINDS:
        rule = rules[kind]
        if not rule.active:
            continue
        updated += _refresh_open_alerts(kind, now)
        raised += _raise_alerts(kind, rule, now)
    db.session.flush()
    return DetectionResult(raised, updated)


def _alert_key(kind: str, street_id, category_id, address) -> tuple:
    return (street_id, int(category_id or 0), address or "") if kind == STREET_CATEGORY else (street_id, 0, address or "")


def _raise_alerts(kind: str, rule: HotspotRule, now: datetime) -> int:
    A = HotspotAlert
    (street_col, cat_col, addr_col), group_cols = _key_columns(kind)
    since = now - timedelta(days=rule.window_days)
    n = func.count(Ticket.id)
    cols = (street_col.label("street_id"), cat_col.label("category_id"), addr_col.label("address"), n.label("n"),
            func.min(Ticket.created_at).label("first"), func.max(Ticket.created_at).label("last"))
    in_window = and_(Ticket.created_at >= since, Ticket.created_at <= now, _kind_filter(kind))
    candidates = {_alert_key(kind, r.street_id, r.category_id, r.address): r for r in db.session.execute(
        select(*cols).where(in_window).group_by(*group_cols).having(n >= rule.min_count))}
    if not candidates:
        return 0
    open_keys = {_alert_key(kind, *r) for r in db.session.execute(
        select(A.street_id, A.category_id, A.address).where(A.kind == kind, A.status == "open"))}
    # classes acted on inside the window: only requests after the action count
    acted_at = {_alert_key(kind, r[0], r[1], r[2]): r[3] for r in db.session.execute(
        select(A.street_id, A.category_id, A.address, func.max(A.acted_at))
        .where(A.kind == kind, A.status == "acted", A.acted_at >= since)
        .group_by(A.street_id, A.category_id, A.address))}
    recheck = {k for k in candidates if k not in open_keys and k in acted_at}
    if recheck:
        acted = (select(A.street_id, A.category_id, A.address, func.max(A.acted_at).label("acted_at"))
                 .where(A.kind == kind, A.status == "acted", A.acted_at >= since)
                 .group_by(A.street_id, A.category_id, A.address).subquery())
        after = {_alert_key(kind, r.street_id, r.category_id, r.address): r for r in db.session.execute(
            select(*cols).join(acted, and_(acted.c.street_id == street_col, acted.c.category_id == cat_col,
                                           acted.c.address == addr_col, Ticket.created_at > acted.c.acted_at))
            .where(in_window, Ticket.created_at > min(acted_at[k] for k in recheck))
            .group_by(*group_cols).having(n >= rule.min_count))}
        for key in recheck:
            if key in after:
                candidates[key] = after[key]
            else:
                del candidates[key]
    new = [dict(kind=kind, street_id=r.street_id, category_id=int(r.category_id), address=r.address or "",
                unit_id=r.street_id, status="open", count=r.n, min_count=rule.min_count,
                window_days=rule.window_days, since=r.first, until=r.last, action_note="", created_at=now,
                updated_at=now)
           for key, r in candidates.items() if key not in open_keys]
    if new:
        db.session.execute(insert(HotspotAlert), new)
    return len(new)


def _refresh_open_alerts(kind: str, now: datetime) -> int:
    """Open alerts gather the requests of their class received after their latest one: one
    aggregate over the requests received since the oldest open alert's latest request."""
    A = HotspotAlert
    oldest = db.session.scalar(select(func.min(A.until)).where(A.kind == kind, A.status == "open"))
    if oldest is None:
        return 0
    fresh = (select(A.id, A.count, func.count(Ticket.id).label("n"), func.max(Ticket.created_at).label("last"))
             .select_from(Ticket)
             .join(A, and_(A.kind == kind, A.status == "open", _alert_matches(kind), Ticket.created_at > A.until))
             .where(Ticket.created_at > oldest, Ticket.created_at <= now, _kind_filter(kind))
             .group_by(A.id, A.count))
    changes = [{"id": r.id, "count": r.count + r.n, "until": r.last, "updated_at": now}
               for r in db.session.execute(fresh)]
    if changes:
        db.session.execute(update(HotspotAlert), changes)
    return len(changes)


# --- hot spots: who sees what ----------------------------------------------------------------------

def alert_scope(actor: Actor, unit_path: str | None):
    """WHERE clause on HotspotAlert: the center sees every alert; a unit its own and its streets'."""
    if actor.role in CENTER_ROLES and actor.tier == Tier.CENTER:
        return true()
    if actor.role in UNIT_ROLES and unit_path:
        return HotspotAlert.unit_id.in_(select(Unit.id).where(Unit.path.startswith(unit_path, autoescape=True)))
    return false()


def may_record_action(actor: Actor) -> bool:
    """The responsible unit (or a unit above it) records what it did; the center reads it."""
    return actor.role in UNIT_ROLES


def list_alerts(actor: Actor, unit_path: str | None, status: str | None = None, limit: int = 200):
    stmt = select(HotspotAlert).where(alert_scope(actor, unit_path))
    if status in ALERT_STATUS_LABELS:
        stmt = stmt.where(HotspotAlert.status == status)
    stmt = stmt.order_by(HotspotAlert.status.desc(), HotspotAlert.count.desc(), HotspotAlert.id.desc()).limit(limit)
    return list(db.session.scalars(stmt))


def alert_counts(actor: Actor, unit_path: str | None) -> dict[str, int]:
    rows = db.session.execute(select(HotspotAlert.status, func.count()).where(alert_scope(actor, unit_path))
                              .group_by(HotspotAlert.status)).all()
    return {"open": 0, "acted": 0, **{s: n for s, n in rows}}


def load_alert_for(actor: Actor, unit_path: str | None, alert_id: int) -> HotspotAlert | None:
    return db.session.scalar(select(HotspotAlert).where(HotspotAlert.id == alert_id,
                                                        alert_scope(actor, unit_path)))


def alert_requests_stmt(alert: HotspotAlert):
    """The requests an alert lists: its class, from its first to its latest request."""
    return select(Ticket).where(_alert_where(alert)).order_by(Ticket.created_at.desc(), Ticket.id.desc())


def _alert_where(alert: HotspotAlert):
    cond = [Ticket.street_id == alert.street_id, Ticket.created_at >= alert.since, Ticket.created_at <= alert.until,
            _kind_filter(alert.kind)]
    if alert.kind == STREET_CATEGORY:
        cond.append(Ticket.category_id == alert.category_id)
    else:
        cond.append(Ticket.address == alert.address)
    return and_(*cond)


def record_alert_action(alert: HotspotAlert, actor: Actor, user: User | None, note: str, now: datetime) -> None:
    """The unit records what it did about the whole class (not about one request)."""
    if not may_record_action(actor):
        raise NotPermitted("hotspot_action")
    note = (note or "").strip()
    if not 10 <= len(note) <= 2000:
        raise InvalidInput(N_("处置情况应为 10 至 2000 字"))
    if alert.status != "open":
        raise InvalidInput(N_("该预警已经处置过"))
    alert.status, alert.action_note, alert.acted_at = "acted", note, now
    alert.acted_by_id = user.id if user is not None else None
    alert.updated_at = now
    db.session.flush()


# --- 每月一题 topics -------------------------------------------------------------------------------

def _clean(text: str | None, limit: int) -> str:
    return (text or "").strip()[:limit]


def save_topic(topic: Topic | None, now: datetime, *, slug: str, title: str, year: int, lead_unit: Unit | None,
               keywords: str = "", plan: str = "", month: int | None = None, published: bool = False,
               categories: list[Category] = ()) -> Topic:
    """Create or change a topic. A topic needs a title, a year, a lead unit and something that
    selects its requests (at least one category or keyword)."""
    slug = (slug or "").strip().lower()
    title = _clean(title, 100)
    if not SLUG_RE.match(slug):
        raise InvalidInput(N_("网址标识应为 3 至 40 位小写字母、数字或连字符"))
    if not title:
        raise InvalidInput(N_("请填写题目名称"))
    if not isinstance(year, int) or not 2000 <= year <= 2100:
        raise InvalidInput(N_("年度应在 2000 至 2100 之间"))
    if month is not None and not 1 <= month <= 12:
        raise InvalidInput(N_("月份应在 1 至 12 之间"))
    if lead_unit is None or lead_unit.tier == Tier.CENTER:
        raise InvalidInput(N_("请选择牵头单位"))
    words = " ".join(w for w in re.split(r"[\s,，、;；]+", keywords or "") if w)
    if len(words) > 300:
        raise InvalidInput(N_("关键词总长不能超过 300 字"))
    if not categories and not words:
        raise InvalidInput(N_("请至少选择一个分类或填写一个关键词"))
    clash = db.session.scalar(select(Topic.id).where(Topic.slug == slug))
    if clash is not None and (topic is None or clash != topic.id):
        raise InvalidInput(N_("该网址标识已被使用"))
    if topic is None:
        topic = Topic(created_at=now)
        db.session.add(topic)
    topic.slug, topic.title, topic.year, topic.month = slug, title, year, month
    topic.lead_unit_id, topic.keywords, topic.plan = lead_unit.id, words, _clean(plan, 5000)
    topic.published, topic.updated_at = bool(published), now
    topic.categories = list(categories)
    db.session.flush()
    return topic


def add_task(topic: Topic, now: datetime, *, title: str, owner_unit: Unit | None, due: date | None,
             status: str = "todo") -> TopicTask:
    title = _clean(title, 200)
    if not title:
        raise InvalidInput(N_("请填写任务内容"))
    if owner_unit is None:
        raise InvalidInput(N_("请选择责任单位"))
    if status not in TASK_STATUS_LABELS:
        raise InvalidInput(N_("未知的任务状态"))
    task = TopicTask(topic_id=topic.id, title=title, owner_unit_id=owner_unit.id, due=due, status=status,
                     updated_at=now)
    db.session.add(task)
    db.session.flush()
    return task


def set_task_status(task: TopicTask, status: str, now: datetime) -> None:
    if status not in TASK_STATUS_LABELS:
        raise InvalidInput(N_("未知的任务状态"))
    task.status, task.updated_at = status, now
    db.session.flush()


def add_responsibility(topic: Topic, *, unit: Unit | None, duty: str) -> TopicResponsibility:
    duty = _clean(duty, 300)
    if unit is None or not duty:
        raise InvalidInput(N_("请选择单位并填写职责"))
    row = TopicResponsibility(topic_id=topic.id, unit_id=unit.id, duty=duty)
    db.session.add(row)
    db.session.flush()
    return row


def add_policy(topic: Topic, *, title: str, status: str, issued_on: date | None) -> TopicPolicy:
    title = _clean(title, 200)
    if not title:
        raise InvalidInput(N_("请填写政策名称"))
    if status not in POLICY_STATUS_LABELS:
        raise InvalidInput(N_("未知的政策状态"))
    row = TopicPolicy(topic_id=topic.id, title=title, status=status, issued_on=issued_on)
    db.session.add(row)
    db.session.flush()
    return row


@dataclass(frozen=True)
class Progress:
    done: int
    total: int

    @property
    def percent(self) -> int:
        return round(100 * self.done / self.total) if self.total else 0


def topic_progress(topic_id: int) -> Progress:
    """Tasks done of all tasks, one aggregate."""
    done, total = db.session.execute(
        select(func.coalesce(func.sum(case((TopicTask.status == "done", 1), else_=0)), 0), func.count(TopicTask.id))
        .where(TopicTask.topic_id == topic_id)).one()
    return Progress(int(done), int(total))


def topics_progress(topic_ids: list[int]) -> dict[int, Progress]:
    rows = db.session.execute(
        select(TopicTask.topic_id, func.sum(case((TopicTask.status == "done", 1), else_=0)), func.count())
        .where(TopicTask.topic_id.in_(topic_ids)).group_by(TopicTask.topic_id)).all() if topic_ids else []
    out = {tid: Progress(0, 0) for tid in topic_ids}
    out.update({tid: Progress(int(d), int(n)) for tid, d, n in rows})
    return out


def topic_match_clause(topic: Topic):
    """The requests a topic follows: in one of its categories (a first-level category covers its
    subcategories) OR with one of its keywords in the title or text (plain LIKE, escaped)."""
    conds = []
    ids = [c.id for c in topic.categories]
    if ids:
        children = select(Category.id).where(Category.parent_id.in_(ids))
        conds.append(or_(Ticket.category_id.in_(ids), Ticket.category_id.in_(children)))
    for word in topic.keyword_list:
        conds.append(or_(Ticket.title.contains(word, autoescape=True), Ticket.content.contains(word, autoescape=True)))
    return or_(*conds) if conds else false()


def topic_monthly_volume(topic: Topic) -> list[tuple[str, int]]:
    """Matching requests per Beijing month of the topic's year, all twelve months (zeros kept)."""
    start, end = local_midnight_utc(date(topic.year, 1, 1)), local_midnight_utc(date(topic.year + 1, 1, 1))
    month = local_bucket(Ticket.created_at, "month")
    rows = dict(db.session.execute(
        select(month, func.count()).where(Ticket.created_at >= start, Ticket.created_at < end,
                                          Ticket.status.not_in(NOT_COUNTED), topic_match_clause(topic))
        .group_by(month)).all())
    keys = [f"{topic.year}-{m:02d}" for m in range(1, 13)]
    return [(k, int(rows.get(k, 0))) for k in keys]


# --- the data dashboard --------------------------------------------------------------------------------

@dataclass
class Period:
    start: datetime        # UTC, inclusive
    end: datetime          # UTC, exclusive
    first_day: date        # Beijing dates, inclusive
    last_day: date
    days: int


def period_ending(now: datetime, days: int) -> Period:
    """The last ``days`` Beijing days up to and including today."""
    today = to_local(now).date()
    first = today - timedelta(days=days - 1)
    return Period(local_midnight_utc(first), local_midnight_utc(today + timedelta(days=1)), first, today, days)


def _in(period_start: datetime, period_end: datetime):
    return and_(Ticket.created_at >= period_start, Ticket.created_at < period_end)


def _series(unit: str, start: datetime, end: datetime, keys: list[str]) -> list[tuple[str, int]]:
    bucket = local_bucket(Ticket.created_at, unit)
    rows = dict(db.session.execute(select(bucket, func.count()).where(_in(start, end)).group_by(bucket)).all())
    return [(k, int(rows.get(k, 0))) for k in keys]


def volume_by_day(period: Period) -> list[tuple[str, int]]:
    keys = [(period.first_day + timedelta(days=i)).isoformat() for i in range(period.days)]
    return _series("day", period.start, period.end, keys)


def volume_by_week(now: datetime, weeks: int = 12) -> list[tuple[str, int]]:
    today = to_local(now).date()
    monday = today - timedelta(days=today.weekday())
    first = monday - timedelta(weeks=weeks - 1)
    keys = [(first + timedelta(weeks=i)).isoformat() for i in range(weeks)]
    return _series("week", local_midnight_utc(first), local_midnight_utc(today + timedelta(days=1)), keys)


def volume_by_month(now: datetime, months: int = 12) -> list[tuple[str, int]]:
    today = to_local(now).date()
    y, m = today.year, today.month
    keys = []
    for _ in range(months):
        keys.append(f"{y}-{m:02d}")
        y, m = (y, m - 1) if m > 1 else (y - 1, 12)
    keys.reverse()
    first = date(int(keys[0][:4]), int(keys[0][5:]), 1)
    return _series("month", local_midnight_utc(first), local_midnight_utc(today + timedelta(days=1)), keys)


def volume_by_channel(period: Period) -> list[tuple[str, int]]:
    rows = db.session.execute(select(Ticket.channel, func.count()).where(_in(period.start, period.end))
                              .group_by(Ticket.channel).order_by(func.count().desc(), Ticket.channel)).all()
    return [(ch, int(n)) for ch, n in rows]


def volume_by_category(period: Period) -> list[tuple[Category, int]]:
    """First-level categories (a request counts under its category's parent)."""
    parent = func.coalesce(Category.parent_id, Category.id)
    rows = db.session.execute(select(parent.label("pid"), func.count(Ticket.id).label("n"))
                              .select_from(Ticket).join(Category, Category.id == Ticket.category_id)
                              .where(_in(period.start, period.end)).group_by(parent)
                              .order_by(func.count(Ticket.id).desc(), parent)).all()
    cats = {c.id: c for c in db.session.scalars(select(Category).where(Category.id.in_([r.pid for r in rows])))}
    return [(cats[r.pid], int(r.n)) for r in rows]


def volume_by_district(period: Period) -> list[tuple[Unit, int]]:
    """Every district, zeros included (the map-like grid shows all sixteen)."""
    n = func.count(Ticket.id)
    rows = db.session.execute(select(Unit, n).select_from(Unit)
                              .outerjoin(Ticket, and_(Ticket.district_id == Unit.id, _in(period.start, period.end)))
                              .where(Unit.kind == "district").group_by(Unit.id).order_by(Unit.code)).all()
    return [(u, int(c)) for u, c in rows]


def top_streets(period: Period, limit: int = 20) -> list[tuple[Unit, int]]:
    n = func.count(Ticket.id)
    rows = db.session.execute(select(Ticket.street_id, n).where(_in(period.start, period.end),
                                                                Ticket.street_id.isnot(None))
                              .group_by(Ticket.street_id).order_by(n.desc(), Ticket.street_id).limit(limit)).all()
    units = {u.id: u for u in db.session.scalars(select(Unit).where(Unit.id.in_([r[0] for r in rows])))}
    return [(units[sid], int(c)) for sid, c in rows]


@dataclass(frozen=True)
class Rate:
    numerator: int
    denominator: int

    @property
    def percent(self) -> float | None:
        return round(100 * self.numerator / self.denominator, 1) if self.denominator else None


def direct_answer_rate(period: Period) -> Rate:
    """直接答复率: requests answered on the spot (status ANSWERED) ÷ valid requests received
    in the period (invalid ones and merged duplicates left out)."""
    answered, valid = db.session.execute(
        select(func.coalesce(func.sum(case((Ticket.status == S.ANSWERED, 1), else_=0)), 0), func.count())
        .where(_in(period.start, period.end), Ticket.status.not_in(NOT_COUNTED))).one()
    return Rate(int(answered), int(valid))


def repeat_rate(period: Period) -> Rate:
    """重复诉求率: requests received in the period that were linked at intake as a repeat (the same
    caller, category and street within 30 days; issue 7) ÷ all requests received in the period."""
    from ..models import TicketRepeat
    repeats, total = db.session.execute(
        select(func.count(TicketRepeat.ticket_id), func.count(Ticket.id))
        .select_from(Ticket).outerjoin(TicketRepeat, TicketRepeat.ticket_id == Ticket.id)
        .where(_in(period.start, period.end))).one()
    return Rate(int(repeats), int(total))


@dataclass(frozen=True)
class Rising:
    category: Category
    current: int
    previous: int

    @property
    def change(self) -> int:
        return self.current - self.previous

    @property
    def percent(self) -> float | None:
        return round(100 * self.change / self.previous, 1) if self.previous else None


def rising_categories(period: Period, limit: int = 5) -> list[Rising]:
    """The subcategories that grew most against the period of the same length just before,
    by the increase in requests (ties: larger current volume first)."""
    prev_start = period.start - (period.end - period.start)
    cur = func.sum(case((Ticket.created_at >= period.start, 1), else_=0))
    prev = func.sum(case((Ticket.created_at < period.start, 1), else_=0))
    rows = db.session.execute(select(Ticket.category_id, cur.label("cur"), prev.label("prev"))
                              .where(_in(prev_start, period.end)).group_by(Ticket.category_id)
                              .having(cur > prev).order_by((cur - prev).desc(), cur.desc(), Ticket.category_id)
                              .limit(limit)).all()
    cats = {c.id: c for c in db.session.scalars(select(Category).where(Category.id.in_([r[0] for r in rows])))}
    return [Rising(cats[r.category_id], int(r.cur), int(r.prev)) for r in rows]


def dashboard(now: datetime, days: int = 30) -> dict:
    period = period_ending(now, days)
    return {
        "period": period,
        "total": db.session.scalar(select(func.count()).where(_in(period.start, period.end))) or 0,
        "by_day": volume_by_day(period),
        "by_week": volume_by_week(now),
        "by_month": volume_by_month(now),
        "by_channel": volume_by_channel(period),
        "by_category": volume_by_category(period),
        "by_district": volume_by_district(period),
        "top_streets": top_streets(period),
        "direct_answer": direct_answer_rate(period),
        "repeat": repeat_rate(period),
        "rising": rising_categories(period),
    }


# --- demo data -------------------------------------------------------------------------------------------

DEMO_TOPIC_SLUG = "property-deeds"


def seed_demo_topic(now: datetime) -> Topic | None:
    """每月一题 demo: 房产证办理难 (property deeds), led by the housing commission where it
    exists, with a plan and the three lists. Safe to call twice."""
    if db.session.scalar(select(Topic.id).where(Topic.slug == DEMO_TOPIC_SLUG)) is not None:
        return None
    lead = (db.session.scalar(select(Unit).where(Unit.tier == 2, Unit.kind == "department",
                                                 Unit.name.contains("住房")).order_by(Unit.code))
            or db.session.scalar(select(Unit).where(Unit.tier == 2).order_by(Unit.code)))
    if lead is None:
        return None
    cats = list(db.session.scalars(select(Category).where(Category.code.in_(["FDCKF-BZ"]))))
    year = to_local(now).year
    topic = save_topic(None, now, slug=DEMO_TOPIC_SLUG, title="房产证办理难", year=year, month=3, lead_unit=lead,
                       keywords="房产证 不动产权证", categories=cats, published=True,
                       plan="摸清全市“办证难”项目底数，按“一项目一方案”分类施策：开发企业原因的限期整改，"
                            "历史遗留问题由区政府牵头会商解决，年底前化解存量项目八成以上。")
    districts = list(db.session.scalars(select(Unit).where(Unit.kind == "district").order_by(Unit.code).limit(3)))
    for i, (title, status) in enumerate([("全面排查办证难项目底数", "done"), ("制定历史遗留问题处置办法", "done"),
                                         ("逐项目明确责任单位和时限", "doing"), ("年底前化解存量项目八成", "todo")]):
        add_task(topic, now, title=title, owner_unit=districts[i % len(districts)] if districts and i else lead,
                 due=date(year, 3 + 3 * i, 28), status=status)
    add_responsibility(topic, unit=lead, duty="牵头制定政策、统筹调度、按月通报进展")
    for d in districts:
        add_responsibility(topic, unit=d, duty="属地排查、逐项目推进、答复市民")
    add_policy(topic, title="关于解决国有土地上已售城镇住宅项目不动产登记历史遗留问题的意见", status="issued",
               issued_on=date(year, 4, 15))
    add_policy(topic, title="办证难项目分类处置工作指引", status="drafting", issued_on=None)
    return topic

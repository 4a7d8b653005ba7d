"""市民热线反映: the daily, weekly and monthly report. Every figure is one SQL GROUP BY.

* volume counts requests **received** in the period (``created_at``), by where they are
  (``street_id`` / ``district_id``) and by category;
* the three rates by district follow the ranking's rules (dispatch time for the response
  rate, the one rated callback for resolution and satisfaction), by the request's district;
* the overdue list is what is overdue at the end of the period (or now, if sooner).
"""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import and_, case, func, select
from sqlalchemy.orm import aliased

from ..domain.deadlines import from_local, to_local
from ..domain.intake import Channel
from ..domain.lifecycle import N_, WITH_UNIT
from ..domain.scoring import rate
from ..extensions import db
from ..models import Category, Ticket, Unit
from .ranking import rated_callbacks

PERIODS = {"daily": N_("日报"), "weekly": N_("周报"), "monthly": N_("月报")}


class BadPeriod(ValueError):
    pass


@dataclass
class Period:
    kind: str
    first: date            # local calendar days [first, last]
    last: date

    @property
    def start(self) -> datetime:
        return from_local(datetime.combine(self.first, datetime.min.time()))

    @property
    def end(self) -> datetime:
        return from_local(datetime.combine(self.last + timedelta(days=1), datetime.min.time()))

    def previous(self) -> "Period":
        return period(self.kind, self.first - timedelta(days=1))

    @property
    def label(self) -> str:
        return self.first.isoformat() if self.first == self.last else f"{self.first.isoformat()} — {self.last.isoformat()}"


def period(kind: str, day: date) -> Period:
    if kind == "daily":
        return Period(kind, day, day)
    if kind == "weekly":
        monday = day - timedelta(days=day.weekday())
        return Period(kind, monday, monday + timedelta(days=6))
    if kind == "monthly":
        first = day.replace(day=1)
        nxt = (first + timedelta(days=32)).replace(day=1)
        return Period(kind, first, nxt - timedelta(days=1))
    raise BadPeriod(kind)


def parse(kind: str | None, day: str | None, now: datetime) -> Period:
    """The period asked for; a bad or future date raises BadPeriod (shown as a message)."""
    kind = kind if kind in PERIODS else "daily"
    today = to_local(now).date()
    if day:
        try:
            d = date.fromisoformat(day)
        except ValueError:
            raise BadPeriod(N_("日期格式不正确，应为 YYYY-MM-DD")) from None
        if d > today:
            raise BadPeriod(N_("该日期尚未到来"))
    else:
        d = today
    return period(kind, d)


def _street_volume(p: Period):
    return (select(Ticket.street_id.label("street_id"), Ticket.district_id.label("district_id"),
                   func.count().label("n"))
            .where(Ticket.created_at >= p.start, Ticket.created_at < p.end, Ticket.street_id.isnot(None))
            .group_by(Ticket.street_id, Ticket.district_id))


def top_streets(p: Period, limit: int = 10) -> list[tuple[str, str, int]]:
    v = _street_volume(p).subquery()
    s, d = aliased(Unit), aliased(Unit)
    rows = db.session.execute(select(s.name, d.name, v.c.n).join(s, s.id == v.c.street_id)
                              .outerjoin(d, d.id == v.c.district_id).order_by(v.c.n.desc(), s.code).limit(limit))
    return [tuple(r) for r in rows]


def top_streets_by_district(p: Period, per: int = 3) -> list[tuple[str, str, int, int]]:
    """(district, street, n, place) for the top ``per`` streets of each district."""
    v = _street_volume(p).subquery()
    s, d = aliased(Unit), aliased(Unit)
    ranked = (select(v.c.street_id, v.c.district_id, v.c.n,
                     func.row_number().over(partition_by=v.c.district_id,
                                            order_by=(v.c.n.desc(), v.c.street_id)).label("place"))
              .subquery())
    rows = db.session.execute(select(d.name, s.name, ranked.c.n, ranked.c.place)
                              .join(s, s.id == ranked.c.street_id).join(d, d.id == ranked.c.district_id)
                              .where(ranked.c.place <= per).order_by(d.code, ranked.c.place))
    return [tuple(r) for r in rows]


def _category_counts(p: Period) -> dict[int, int]:
    rows = db.session.execute(select(Ticket.category_id, func.count())
                              .where(Ticket.created_at >= p.start, Ticket.created_at < p.end)
                              .group_by(Ticket.category_id))
    return {c: int(n) for c, n in rows}


def top_categories(p: Period, limit: int = 10, locale: str = "zh") -> list[tuple[str, int, int, int]]:
    """(category, n, n in the previous period, change)."""
    now_c, before = _category_counts(p), _category_counts(p.previous())
    top = sorted(now_c.items(), key=lambda x: (-x[1], x[0]))[:limit]
    cats = {c.id: c for c in db.session.scalars(select(Category).where(Category.id.in_([c for c, _ in top])))} \
        if top else {}
    return [(cats[c].full_name(locale), n, before.get(c, 0), n - before.get(c, 0)) for c, n in top]


def overdue(p: Period, now: datetime, limit: int = 100) -> list[tuple[str, str, str, datetime, int]]:
    """(tracking no, unit, category, due, hours overdue) at the end of the period."""
    at = min(p.end, now)
    rows = db.session.execute(
        select(Ticket.tracking_no, Unit.name, Category.name, Ticket.feedback_due_at)
        .join(Unit, Unit.id == Ticket.handling_unit_id).join(Category, Category.id == Ticket.category_id)
        .where(Ticket.status.in_(list(WITH_UNIT)), Ticket.feedback_due_at < at)
        .order_by(Ticket.feedback_due_at).limit(limit))
    return [(no, unit, cat, due, int((at - due).total_seconds() // 3600)) for no, unit, cat, due in rows]


def rates_by_district(p: Period) -> list[tuple[str, int, float | None, int, float | None, float | None]]:
    """(district, dispatched, response rate, answered, resolution rate, satisfaction rate)."""
    on_time = func.sum(case((and_(Ticket.signed_at.isnot(None), Ticket.signed_at <= Ticket.sign_due_at), 1),
                            else_=0))
    resp = {d: (int(n), int(ok or 0)) for d, n, ok in db.session.execute(
        select(Ticket.district_id, func.count(), on_time)
        .where(Ticket.dispatched_at >= p.start, Ticket.dispatched_at < p.end, Ticket.handling_unit_id.isnot(None))
        .group_by(Ticket.district_id))}
    r = rated_callbacks(p.start, p.end)
    cbs = {d: (int(n), int(res or 0), int(sat or 0)) for d, n, res, sat in db.session.execute(
        select(Ticket.district_id, func.count(), func.sum(case((r.c.resolved.is_(True), 1), else_=0)),
               func.sum(case((r.c.satisfied.is_(True), 1), else_=0)))
        .join(Ticket, Ticket.id == r.c.ticket_id)
        .where(r.c.rn == 1, r.c.contacted.is_(True), r.c.at >= p.start)
        .group_by(Ticket.district_id))}
    districts = db.session.execute(select(Unit.id, Unit.name).where(Unit.kind == "district").order_by(Unit.code))
    out = []
    for uid, name in districts:
        d, ok = resp.get(uid, (0, 0))
        a, res, sat = cbs.get(uid, (0, 0, 0))
        out.append((name, d, rate(ok, d), a, rate(res, a), rate(sat, a)))
    return out


def by_channel(p: Period) -> list[tuple[Channel, int]]:
    """Requests received in the period by channel (web, phone, the Open311 channels ...), most first."""
    n = func.count()
    rows = db.session.execute(select(Ticket.channel, n).where(Ticket.created_at >= p.start, Ticket.created_at < p.end)
                              .group_by(Ticket.channel).order_by(n.desc(), Ticket.channel))
    return [(channel, int(count)) for channel, count in rows]


def build(p: Period, now: datetime, locale: str = "zh") -> dict:
    return {"period": p, "top_streets": top_streets(p), "by_district": top_streets_by_district(p),
            "categories": top_categories(p, locale=locale), "overdue": overdue(p, now),
            "rates": rates_by_district(p), "channels": by_channel(p)}


# --- exports (Chinese headers) ---------------------------------------------------------------

def _pct(x: float | None) -> str:
    return "—" if x is None else f"{x * 100:.1f}%"


def sections(report: dict) -> list[tuple[str, list[str], list[list]]]:
    """(sheet title, headers, rows) — the same tables as the page."""
    return [
        ("街道诉求量前十", ["名次", "街道（乡镇）", "所属区", "诉求量"],
         [[i + 1, s, d or "", n] for i, (s, d, n) in enumerate(report["top_streets"])]),
        ("各区前三街道", ["区", "名次", "街道（乡镇）", "诉求量"],
         [[d, place, s, n] for d, s, n, place in report["by_district"]]),
        ("诉求问题前十", ["名次", "问题分类", "诉求量", "上期诉求量", "变化"],
         [[i + 1, c, n, b, ch] for i, (c, n, b, ch) in enumerate(report["categories"])]),
        ("超期诉求", ["工单编号", "承办单位", "问题分类", "反馈时限", "超期小时"],
         [[no, u, c, to_local(due).strftime("%Y-%m-%d %H:%M"), h] for no, u, c, due, h in report["overdue"]]),
        ("各区三率", ["区", "派单量", "响应率", "回访量", "解决率", "满意率"],
         [[d, n, _pct(rr), a, _pct(res), _pct(sat)] for d, n, rr, a, res, sat in report["rates"]]),
        ("各渠道诉求量", ["渠道", "诉求量"], [[c.label, n] for c, n in report["channels"]]),
    ]


def to_csv(report: dict) -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow([f"市民热线反映（{PERIODS[report['period'].kind]}）", report["period"].label])
    for title, headers, rows in sections(report):
        w.writerow([])
        w.writerow([title])
        w.writerow(headers)
        w.writerows(rows)
    return ("\ufeff" + buf.getvalue()).encode("utf-8")       # BOM: Excel opens UTF-8 Chinese correctly


def to_xlsx(report: dict) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font
    wb = Workbook()
    wb.remove(wb.active)
    for title, headers, rows in sections(report):
        ws = wb.create_sheet(title)
        ws.append(headers)
        for cell in ws[1]:
            cell.font = Font(bold=True)
        for row in rows:
            ws.append(row)
        for i, h in enumerate(headers):
            ws.column_dimensions[chr(ord("A") + i)].width = max(10, len(h) * 2 + 4)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()

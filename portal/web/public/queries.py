"""Read-only SQL for the home page: this month's three rates city-wide and the top categories.

Aggregates only (COUNT/SUM with GROUP BY over indexed columns), never a loop over rows.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, case, func, select
from sqlalchemy.orm import aliased

from ...domain.deadlines import from_local, to_local
from ...extensions import db
from ...models import Callback, Category, Ticket


def month_bounds(now: datetime) -> tuple[datetime, datetime]:
    """This month in Beijing time, as naive UTC [start, end)."""
    local = to_local(now).replace(tzinfo=None)
    start = local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    end = start.replace(year=start.year + 1, month=1) if start.month == 12 else start.replace(month=start.month + 1)
    return from_local(start), from_local(end)


@dataclass(frozen=True)
class Rate:
    numerator: int
    denominator: int

    @property
    def percent(self) -> float | None:
        return None if not self.denominator else 100.0 * self.numerator / self.denominator


@dataclass(frozen=True)
class CityRates:
    response: Rate
    resolution: Rate
    satisfaction: Rate


def city_rates(now: datetime) -> CityRates:
    start, end = month_bounds(now)
    # 响应率: requests dispatched this month (by their latest dispatch) that were signed by the sign-for due time
    on_time = and_(Ticket.signed_at.isnot(None), Ticket.signed_at <= Ticket.sign_due_at)
    dispatched, signed = db.session.execute(
        select(func.count(Ticket.id), func.coalesce(func.sum(case((on_time, 1), else_=0)), 0))
        .where(Ticket.dispatched_at >= start, Ticket.dispatched_at < end)).one()
    # 解决率 / 满意率: an approximation for the home page. The monthly ranking counts one answer per
    # request (services.tickets.rated_callback: the center's latest call that reached the citizen,
    # else the citizen's own rating); here every answered callback of the month counts, center
    # calls and online ratings alike (contacted = true), so a request rated online and called
    # back counts twice.
    answered, resolved, satisfied = db.session.execute(
        select(func.count(Callback.id),
               func.coalesce(func.sum(case((Callback.resolved.is_(True), 1), else_=0)), 0),
               func.coalesce(func.sum(case((Callback.satisfied.is_(True), 1), else_=0)), 0))
        .where(Callback.contacted.is_(True), Callback.at >= start, Callback.at < end)).one()
    return CityRates(Rate(int(signed), int(dispatched)), Rate(int(resolved), int(answered)),
                     Rate(int(satisfied), int(answered)))


@dataclass(frozen=True)
class CategoryCount:
    name: str
    name_en: str
    count: int

    def display(self, locale: str) -> str:
        return self.name_en if locale == "en" and self.name_en else self.name


def top_categories(now: datetime, limit: int = 5) -> list[CategoryCount]:
    """The first-level categories with the most requests received this month."""
    start, end = month_bounds(now)
    sub = aliased(Category)
    top = aliased(Category)
    top_id = func.coalesce(sub.parent_id, sub.id)
    n = func.count(Ticket.id).label("n")
    rows = db.session.execute(
        select(top.name, top.name_en, n)
        .select_from(Ticket)
        .join(sub, sub.id == Ticket.category_id)
        .join(top, top.id == top_id)
        .where(Ticket.created_at >= start, Ticket.created_at < end)
        .group_by(top.id, top.name, top.name_en)
        .order_by(n.desc(), top.name)
        .limit(limit)).all()
    return [CategoryCount(name, name_en or "", int(count)) for name, name_en, count in rows]

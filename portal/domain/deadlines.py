"""Due times (时限). Times are naive UTC everywhere in the code and the database;
they are shown in Asia/Shanghai.

Defaults (DOMAIN.md): sign-for within 2 hours, feedback within 7 days; urgent
requests 30 minutes and 24 hours. A category may set its own per urgency.
"""
from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from .lifecycle import N_

LOCAL_TZ = ZoneInfo("Asia/Shanghai")
#: the longest an extension may push the feedback due time past the current one
MAX_EXTENSION = timedelta(days=15)


class Urgency(str, enum.Enum):
    NORMAL = "normal"
    URGENT = "urgent"

    @property
    def label(self) -> str:
        return N_("紧急") if self is Urgency.URGENT else N_("一般")


@dataclass(frozen=True)
class DeadlineRule:
    sign_minutes: int
    feedback_hours: int

    def __post_init__(self):
        if self.sign_minutes <= 0 or self.feedback_hours <= 0:
            raise ValueError("deadlines must be positive")


DEFAULT_RULES: dict[Urgency, DeadlineRule] = {
    Urgency.NORMAL: DeadlineRule(sign_minutes=120, feedback_hours=7 * 24),
    Urgency.URGENT: DeadlineRule(sign_minutes=30, feedback_hours=24),
}


@dataclass(frozen=True)
class DueTimes:
    sign_due: datetime
    feedback_due: datetime


def is_working_day(day: date) -> bool:
    """China's official calendar: public holidays off, make-up workdays (调休) on.

    The ``chinesecalendar`` package knows the years the State Council has published; for a
    year it does not know yet, Monday to Friday are working days.
    """
    import chinese_calendar
    try:
        return chinese_calendar.is_workday(day)
    except NotImplementedError:
        return day.weekday() < 5


@dataclass(frozen=True)
class Calendar:
    """How deadlines count: natural time, or working days only (工作日).

    With working days the clock runs only during the local (Beijing) dates that are working
    days: a 7-day feedback deadline is seven working days, a 2-hour sign-for deadline started
    on a Saturday runs out on Monday at 02:00 local time. Every deadline the services compute
    goes through ``add``.
    """
    working_days: bool = False

    def add(self, start: datetime, delta: timedelta) -> datetime:
        """``start`` (naive UTC) plus ``delta`` of counted time, as naive UTC."""
        if not self.working_days:
            return start + delta
        local = to_local(start).replace(tzinfo=None)
        remaining = delta
        for _ in range(3660):                       # ten years of days: a bound, never reached
            midnight = datetime.combine(local.date() + timedelta(days=1), datetime.min.time())
            if is_working_day(local.date()):
                available = midnight - local
                if remaining <= available:
                    return from_local(local + remaining)
                remaining -= available
            local = midnight
        raise ValueError("deadline too far away")


NATURAL = Calendar(False)
WORKING_DAYS = Calendar(True)


def due_times(dispatched_at: datetime, rule: DeadlineRule, calendar: Calendar = NATURAL) -> DueTimes:
    return DueTimes(
        sign_due=calendar.add(dispatched_at, timedelta(minutes=rule.sign_minutes)),
        feedback_due=calendar.add(dispatched_at, timedelta(hours=rule.feedback_hours)),
    )


class BadExtension(ValueError):
    pass


def check_extension(now: datetime, current_due: datetime, requested: datetime,
                    calendar: Calendar = NATURAL) -> datetime:
    """An extension must move the due time later, into the future, and at most 15 days on
    (15 working days when the city counts working days)."""
    if requested <= now:
        raise BadExtension(N_("延期后的时限必须晚于当前时间"))
    if requested <= current_due:
        raise BadExtension(N_("延期后的时限必须晚于原办理时限"))
    if requested > calendar.add(current_due, MAX_EXTENSION):
        raise BadExtension(N_("延期不得超过15天"))
    return requested


def utcnow() -> datetime:
    """Naive UTC, as stored."""
    return datetime.now(timezone.utc).replace(tzinfo=None)


def to_local(dt: datetime | None) -> datetime | None:
    if dt is None:
        return None
    return dt.replace(tzinfo=timezone.utc).astimezone(LOCAL_TZ)


def from_local(dt: datetime) -> datetime:
    """A naive Beijing wall-clock time to naive UTC."""
    return dt.replace(tzinfo=LOCAL_TZ).astimezone(timezone.utc).replace(tzinfo=None)

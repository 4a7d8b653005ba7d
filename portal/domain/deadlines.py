"""Due times (时限). Times are naive UTC everywhere in the code and the database;
they are shown in Asia/Shanghai.

Defaults (DOMAIN.md): sign-for within 2 hours, feedback within 7 days; urgent
requests 30 minutes and 24 hours. A category may set its own per urgency.
"""
from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
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


def due_times(dispatched_at: datetime, rule: DeadlineRule) -> DueTimes:
    return DueTimes(
        sign_due=dispatched_at + timedelta(minutes=rule.sign_minutes),
        feedback_due=dispatched_at + timedelta(hours=rule.feedback_hours),
    )


class BadExtension(ValueError):
    pass


def check_extension(now: datetime, current_due: datetime, requested: datetime) -> datetime:
    """An extension must move the due time later, into the future, and at most 15 days on."""
    if requested <= now:
        raise BadExtension(N_("延期后的时限必须晚于当前时间"))
    if requested <= current_due:
        raise BadExtension(N_("延期后的时限必须晚于原办理时限"))
    if requested - current_due > MAX_EXTENSION:
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

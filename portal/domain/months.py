"""Calendar months ("YYYY-MM") in Beijing time, as naive-UTC bounds. Pure."""
from __future__ import annotations

import re
from datetime import datetime

from .deadlines import from_local, to_local
from .lifecycle import N_

_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


class BadMonth(ValueError):
    """A month that is malformed or not allowed here (the message is shown to the user)."""


def parse(text: str) -> tuple[int, int]:
    m = _MONTH.match(text or "")
    if not m or not 1 <= int(m.group(2)) <= 12 or int(m.group(1)) < 2000:
        raise BadMonth(N_("月份格式不正确，应为 YYYY-MM，例如 2026-11"))
    return int(m.group(1)), int(m.group(2))


def current(now: datetime) -> str:
    """The Beijing calendar month that ``now`` (naive UTC) falls in."""
    local = to_local(now)
    return f"{local.year:04d}-{local.month:02d}"


def shift(month: str, delta: int) -> str:
    y, m = parse(month)
    index = y * 12 + (m - 1) + delta
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def previous(month: str) -> str:
    return shift(month, -1)


def bounds(month: str) -> tuple[datetime, datetime]:
    """[start, end) of the Beijing month in naive UTC."""
    y, m = parse(month)
    start = from_local(datetime(y, m, 1))
    end = from_local(datetime(y + (m == 12), m % 12 + 1, 1))
    return start, end


def checked(text: str, now: datetime) -> str:
    """A month the public may ask for: well formed and not in the future."""
    y, m = parse(text)
    month = f"{y:04d}-{m:02d}"
    if month > current(now):
        raise BadMonth(N_("该月份尚未到来，没有排名数据"))
    return month


def last_n(month: str, n: int) -> list[str]:
    """The n months ending with ``month``, oldest first."""
    return [shift(month, -i) for i in range(n - 1, -1, -1)]

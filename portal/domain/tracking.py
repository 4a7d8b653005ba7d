"""Tracking numbers (受理编号) and query codes (查询码).

A tracking number reads ``YYMMDD-NNNNNNN-C``: the intake date in Beijing time,
seven random digits, and a Damm check digit, which catches every single wrong
digit and every swap of two neighbouring digits. The random part means
numbers cannot be walked one by one; the query code (or the last four digits
of the phone) is still needed to see a request.
"""
from __future__ import annotations

import re
import secrets
from datetime import datetime

_DAMM = (
    (0, 3, 1, 7, 5, 9, 8, 6, 4, 2),
    (7, 0, 9, 2, 1, 5, 4, 8, 6, 3),
    (4, 2, 0, 6, 8, 7, 1, 3, 5, 9),
    (1, 7, 5, 0, 9, 8, 3, 4, 2, 6),
    (6, 1, 2, 3, 0, 4, 5, 9, 7, 8),
    (3, 6, 7, 4, 2, 0, 9, 5, 8, 1),
    (5, 8, 6, 9, 7, 2, 0, 1, 3, 4),
    (8, 9, 4, 5, 3, 6, 2, 0, 1, 7),
    (9, 4, 3, 8, 6, 1, 7, 2, 0, 5),
    (2, 5, 8, 1, 4, 3, 6, 7, 9, 0),
)
#: no 0/O, 1/I/L: easy to read out over the phone
QUERY_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
QUERY_CODE_LENGTH = 6
_DIGITS = 14


def damm(digits: str) -> int:
    interim = 0
    for ch in digits:
        interim = _DAMM[interim][int(ch)]
    return interim


def new_tracking_number(local_day: datetime, rand=secrets.randbelow) -> str:
    body = local_day.strftime("%y%m%d") + f"{rand(10_000_000):07d}"
    return format_tracking_number(body + str(damm(body)))


def format_tracking_number(digits: str) -> str:
    return f"{digits[:6]}-{digits[6:13]}-{digits[13]}"


def normalize_tracking_number(text: str | None) -> str | None:
    """The canonical form, or None when the input is not a valid number.

    Spaces, dashes and full-width digits are accepted; the check digit must hold.
    """
    if not text:
        return None
    text = text.strip().translate({0xFF10 + i: ord("0") + i for i in range(10)})
    digits = re.sub(r"[\s\-－—_]", "", text)
    if len(digits) != _DIGITS or not digits.isascii() or not digits.isdigit():
        return None
    if damm(digits) != 0:
        return None
    return format_tracking_number(digits)


def new_query_code(choice=secrets.choice) -> str:
    return "".join(choice(QUERY_ALPHABET) for _ in range(QUERY_CODE_LENGTH))


def normalize_query_code(text: str | None) -> str:
    return re.sub(r"\s", "", text or "").upper()

"""Masking of citizens' phones and names (脱敏). Public pages and logs show only these.

``redact`` is the one scrub for a request's text shown to anyone but its staff (the public
cases, Open311, the submit form's similar requests). ``erase`` is what a stored text keeps once
retention erases the citizen (services.retention): stricter about what it calls a phone than
``redact`` (a date or an amount in a stored text stays as written), so it takes the citizen's own
phone too, whatever its separators."""
from __future__ import annotations

import re


def _national_digits(phone: str) -> str:
    """The phone's digits; E.164 as stored (+86...) gives the national number."""
    digits = re.sub(r"\D", "", phone)
    if phone.strip().startswith("+86") or (len(digits) == 13 and digits.startswith("86")):
        digits = digits[2:]
    return digits


def mask_phone(phone: str | None) -> str:
    if not phone:
        return ""
    digits = _national_digits(phone)
    if len(digits) < 7:
        return "*" * len(digits)
    return digits[:3] + "*" * (len(digits) - 7) + digits[-4:] if len(digits) > 7 else "***" + digits[-4:]


def mask_name(name: str | None) -> str:
    if not name:
        return ""
    name = name.strip()
    if not name:
        return ""
    if name.isascii():
        return name[0] + "***"
    return name[0] + "*" * max(1, len(name) - 1)


_PHONE_LIKE = re.compile(r"(?:\+?\d[\d\s\-－]{5,}\d)")
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_ID_CARD = re.compile(r"\d{17}[\dXx]")


def mask_names(text: str, names=()) -> str:
    """``text`` with each of ``names`` (two characters or more) shown as its first character and stars."""
    for name in names:
        name = (name or "").strip()
        if len(name) >= 2:
            text = text.replace(name, name[0] + "*" * (len(name) - 1))
    return text


_MOBILE = re.compile(r"(?<!\d)(?:\+?86[\s\-－]?)?1[3-9]\d(?:[\s\-－]?\d){8}(?!\d)")
_LANDLINE = re.compile(r"(?<!\d)\(?0\d{2,3}\)?[\s\-－]?\d{7,8}(?!\d)")


def _digits_pattern(phone: str) -> re.Pattern | None:
    """The phone's national number with any separators between its digits."""
    digits = _national_digits(phone)
    if len(digits) < 7:
        return None
    return re.compile(r"(?<!\d)" + r"[\s\-－]?".join(digits) + r"(?!\d)")


def erase(text: str | None, names=(), phones=()) -> str:
    """A stored text without what identifies a citizen: e-mail addresses, id numbers, mobile
    numbers and landlines with their area code become ``***``, as do the given phones written
    in any grouping; the given names keep their first character (``mask_names``)."""
    own = (_digits_pattern(phone or "") for phone in phones)
    return _scrub(text, (_ID_CARD, _EMAIL, _MOBILE, _LANDLINE, *(p for p in own if p is not None)), names)


def redact(text: str | None, names=()) -> str:
    """Removes what could identify a citizen from a text shown to other people: runs of
    seven or more digits (phones, ids), e-mail addresses and the given names."""
    return _scrub(text, (_ID_CARD, _EMAIL, _PHONE_LIKE), names)


def _scrub(text: str | None, patterns, names) -> str:
    """``text`` with each pattern's matches, in order, as ``***`` and the names masked."""
    text = text or ""
    for pattern in patterns:
        text = pattern.sub("***", text)
    return mask_names(text, names)


def phone_tail(phone: str | None) -> str:
    digits = re.sub(r"\D", "", phone or "")
    return digits[-4:]

"""Masking of citizens' phones and names (脱敏). Public pages and logs show only these."""
from __future__ import annotations

import re


def mask_phone(phone: str | None) -> str:
    if not phone:
        return ""
    digits = re.sub(r"\D", "", phone)
    if phone.strip().startswith("+86") or (len(digits) == 13 and digits.startswith("86")):
        digits = digits[2:]          # E.164 as stored: show the national number
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


def phone_tail(phone: str | None) -> str:
    digits = re.sub(r"\D", "", phone or "")
    return digits[-4:]

"""Intake from the citizen pages (市民提交): phones, credit codes, suggestions while typing,
and the one service call that turns a checked form into a request with its photos.

Suggestions use the Chinese full-text search (``services.search``: jieba words, FTS5 or
tsvector, ranked by relevance). They never show another citizen's name or phone: only requests
whose requester agreed to publication show an excerpt, and the excerpt is redacted.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime

import phonenumbers

from ..domain.access import Actor
from ..domain.privacy import redact
from ..domain.segment import query_terms
from ..domain.lifecycle import OPEN, Status
from ..extensions import db
from ..models import Category, KbArticle, Ticket
from . import attachments, search
from .tickets import create_ticket

# --- phones --------------------------------------------------------------------------

#: number types a citizen can be called back on: 400/800 service numbers, premium rate and the like are refused
_CALLABLE = {
    phonenumbers.PhoneNumberType.MOBILE,
    phonenumbers.PhoneNumberType.FIXED_LINE,
    phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
}
DEFAULT_AREA_CODE = "010"   # Beijing: a landline written without its area code


def normalize_phone(text: str | None, default_area_code: str = DEFAULT_AREA_CODE) -> str | None:
    """A mainland mobile or landline number in E.164 (``+8613812345678``), else None.

    Accepts spaces, dashes, brackets, full-width digits, ``+86``/``0086``; a landline
    without its area code is read in ``default_area_code``.
    """
    if not text:
        return None
    text = text.strip().translate({0xFF10 + i: ord("0") + i for i in range(10)} | {0xFF0B: ord("+")})
    if len(text) > 32 or not re.fullmatch(r"[0-9+\-\s()（）]+", text):
        return None
    candidates = [text]
    digits = re.sub(r"\D", "", text)
    if default_area_code and not text.startswith("+") and not digits.startswith("0") and len(digits) in (7, 8):
        candidates.append(default_area_code + digits)
    for candidate in candidates:
        try:
            number = phonenumbers.parse(candidate, "CN")
        except phonenumbers.NumberParseException:
            continue
        if (number.country_code == 86 and phonenumbers.is_valid_number_for_region(number, "CN")
                and phonenumbers.number_type(number) in _CALLABLE):
            return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    return None


def national_number(e164: str | None) -> str:
    """``+8613812345678`` → ``13812345678``; ``+861065123456`` → ``01065123456`` (for display, masked)."""
    if not e164:
        return ""
    try:
        number = phonenumbers.parse(e164, "CN")
    except phonenumbers.NumberParseException:
        return e164
    return re.sub(r"\D", "", phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL))


# --- unified social credit code (统一社会信用代码, GB 32100-2015) -------------------------

CREDIT_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"   # no I, O, S, V, Z
_CREDIT_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


def normalize_credit_code(text: str | None) -> str:
    return re.sub(r"[\s\-]", "", (text or "").strip().upper())


def credit_check_char(first17: str) -> str:
    total = sum(CREDIT_ALPHABET.index(ch) * w for ch, w in zip(first17, _CREDIT_WEIGHTS))
    return CREDIT_ALPHABET[(31 - total % 31) % 31]


def valid_credit_code(code: str) -> bool:
    """18 characters from the code's alphabet, the division code (3-8) in digits, and the
    18th character equal to the check character computed from the first 17."""
    if len(code) != 18 or any(ch not in CREDIT_ALPHABET for ch in code):
        return False
    if not code[2:8].isdigit():
        return False
    return credit_check_char(code[:17]) == code[17]


# --- suggestions ---------------------------------------------------------------------

def search_terms(text: str) -> list[str]:
    """The words of what is being typed (jieba, stop words dropped; ``domain.segment``)."""
    return query_terms(text)


def kb_suggestions(text: str, today: date, category_id: int | None = None, limit: int = 3) -> list[KbArticle]:
    """Answered consultations (知识库) that match what the citizen is typing: the full-text
    search (``services.search``), articles valid today, sharing at least two of its words
    (one when the text has only one or two)."""
    terms = search_terms(text)
    if not terms:
        return []
    return search.search_kb(text, today=today, limit=limit, min_terms=1 if len(terms) <= 2 else 2)


@dataclass(frozen=True)
class SimilarRequest:
    """What a citizen may see of someone else's open request: never a name, phone or tracking number."""
    category: Category
    status: Status
    created_at: datetime
    excerpt: str       # empty unless the requester agreed to publication; redacted


def similar_open_requests(text: str, street_id: int | None, limit: int = 3) -> list[SimilarRequest]:
    """Open requests at the same street whose text shares words with what is being typed
    (the full-text search; at least a third of the words, and at least two)."""
    terms = search_terms(text)
    if street_id is None or len(terms) < 2:
        return []
    found = search.similar_tickets(terms, limit=limit, min_share=max(2 / len(terms), 1 / 3),
                                   where=(Ticket.street_id == street_id, Ticket.status.in_(list(OPEN))), open_only=True)
    out = []
    for t, _share in found:
        excerpt = ""
        if t.consent_publish:
            excerpt = redact(t.content, (t.citizen_name, t.enterprise_name))
            excerpt = excerpt[:80] + ("…" if len(excerpt) > 80 else "")
        out.append(SimilarRequest(t.category, t.status, t.created_at, excerpt))
    return out


# --- the submission --------------------------------------------------------------------

def submit_request(actor: Actor, now: datetime, *, locale: str,
                   photos: list[attachments.PreparedPhoto] = (), **fields) -> Ticket:
    """A citizen's request from the web form: ``create_ticket`` (which writes the receipt
    notification in the citizen's language) and the checked photos. Flushes, never commits.

    Raises what ``create_ticket`` raises; nothing is stored then.
    """
    ticket = create_ticket(actor, now, locale=locale, **fields)
    if photos:
        submit_event = ticket.events[0]
        attachments.attach(ticket, submit_event, list(photos), now)
    db.session.flush()
    return ticket


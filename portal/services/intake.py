"""Intake from the citizen pages (市民提交): phones, credit codes, suggestions while typing,
and the one service call that turns a checked form into a request with its photos.

Suggestions are a simple keyword match for now (CJK bigrams and LIKE); the full Chinese
search comes later. They never show another citizen's name or phone: only requests
whose requester agreed to publication show an excerpt, and the excerpt is redacted.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime

import phonenumbers
from sqlalchemy import false, or_, select

from ..domain.access import Actor
from ..domain.lifecycle import OPEN, Status
from ..extensions import db
from ..models import Category, KbArticle, Ticket
from . import attachments
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


# --- redaction -----------------------------------------------------------------------

_PHONE_LIKE = re.compile(r"(?:\+?\d[\d\s\-－]{5,}\d)")
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_ID_CARD = re.compile(r"\d{17}[\dXx]")


def redact(text: str, names: tuple[str, ...] = ()) -> str:
    """Removes what could identify a citizen from a text shown to other people: runs of
    seven or more digits (phones, ids), e-mail addresses and the given names."""
    text = _ID_CARD.sub("***", text)
    text = _EMAIL.sub("***", text)
    text = _PHONE_LIKE.sub("***", text)
    for name in names:
        name = (name or "").strip()
        if len(name) >= 2:
            text = text.replace(name, name[0] + "*" * (len(name) - 1))
    return text


# --- suggestions ---------------------------------------------------------------------

_STOP = {"我们", "你们", "他们", "一个", "已经", "现在", "希望", "请求", "问题", "相关", "部门", "没有", "可以",
         "什么", "怎么", "这个", "那个", "还是", "因为", "所以", "但是", "如果", "请问", "尽快", "处理", "解决",
         "反映", "情况", "非常", "影响", "进行", "要求"}
_CJK = re.compile(r"[\u4e00-\u9fff]+")
_WORD = re.compile(r"[A-Za-z0-9]{3,}")
MAX_TERMS = 16


def search_terms(text: str) -> list[str]:
    """Words to look for: bigrams of each run of Chinese characters, and latin words."""
    terms: list[str] = []
    seen: set[str] = set()
    for run in _CJK.findall(text or ""):
        for i in range(len(run) - 1):
            bigram = run[i:i + 2]
            if bigram not in _STOP and bigram not in seen:
                seen.add(bigram)
                terms.append(bigram)
    for word in _WORD.findall(text or ""):
        w = word.lower()
        if w not in seen and not w.isdigit():
            seen.add(w)
            terms.append(w)
    if len(terms) > MAX_TERMS:   # keep an even spread over the whole text, not just its start
        step = len(terms) / MAX_TERMS
        terms = [terms[int(i * step)] for i in range(MAX_TERMS)]
    return terms


def _like_any(column, terms: list[str]):
    return or_(*(column.contains(t, autoescape=True) for t in terms)) if terms else false()


def _score(text: str, terms: list[str]) -> int:
    text = (text or "").lower()
    return sum(1 for t in terms if t in text)


def kb_suggestions(text: str, today: date, category_id: int | None = None, limit: int = 3) -> list[KbArticle]:
    """Answered consultations (知识库) that match what the citizen is typing."""
    terms = search_terms(text)
    if not terms:
        return []
    match = or_(_like_any(KbArticle.question, terms), _like_any(KbArticle.keywords, terms))
    stmt = (select(KbArticle)
            .where(KbArticle.active,
                   or_(KbArticle.valid_from.is_(None), KbArticle.valid_from <= today),
                   or_(KbArticle.valid_to.is_(None), KbArticle.valid_to >= today),
                   match)
            .order_by(KbArticle.updated_at.desc()).limit(100))
    scored = []
    for a in db.session.scalars(stmt):
        score = _score(a.question, terms) * 2 + _score(a.keywords, terms)
        for kw in re.split(r"[\s,，、;；]+", a.keywords or ""):   # a keyword the citizen typed counts most
            if len(kw) >= 2 and kw.lower() in text.lower():
                score += 3
        if category_id is not None and a.category_id == category_id:
            score += 1
        if score >= 3:
            scored.append((score, a.id, a))
    scored.sort(key=lambda s: (-s[0], -s[1]))
    return [a for _, _, a in scored[:limit]]


@dataclass(frozen=True)
class SimilarRequest:
    """What a citizen may see of someone else's open request: never a name, phone or tracking number."""
    category: Category
    status: Status
    created_at: datetime
    excerpt: str       # empty unless the requester agreed to publication; redacted


def similar_open_requests(text: str, street_id: int | None, limit: int = 3) -> list[SimilarRequest]:
    """Open requests at the same street whose text shares words with what is being typed."""
    terms = search_terms(text)
    if street_id is None or len(terms) < 2:
        return []
    stmt = (select(Ticket)
            .where(Ticket.street_id == street_id, Ticket.status.in_(list(OPEN)),
                   _like_any(Ticket.content, terms))
            .order_by(Ticket.created_at.desc()).limit(50))
    need = max(2, min(4, len(terms) // 3))
    scored = []
    for t in db.session.scalars(stmt):
        score = _score(t.content, terms)
        if score >= need:
            excerpt = ""
            if t.consent_publish:
                excerpt = redact(t.content, (t.citizen_name, t.enterprise_name))
                excerpt = excerpt[:80] + ("…" if len(excerpt) > 80 else "")
            scored.append((score, t.id, SimilarRequest(t.category, t.status, t.created_at, excerpt)))
    scored.sort(key=lambda s: (-s[0], -s[1]))      # best match first, then the newest
    return [s for _, _, s in scored[:limit]]


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


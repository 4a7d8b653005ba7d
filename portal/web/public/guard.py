"""What protects the citizen pages: proof of the tracking credentials kept in the session,
rate limits (Flask-Limiter) with a friendly 429 page, and the upload allowance.

Rate limits are config keys, so a deployment (or a test) sets its own:

=========================== ==================== =========================================
key                          default              counts
=========================== ==================== =========================================
RATELIMIT_SUBMIT_IP          20/hour;100/day      every POST of the submit form, per IP
RATELIMIT_SUBMIT_PHONE       5/day                requests submitted, per phone number
RATELIMIT_TRACK_IP           30/hour              every tracking lookup, per IP
RATELIMIT_TRACK_NUMBER       10/hour              failed lookups, per tracking number
                                                  (known or not: the answer must not tell)
RATELIMIT_SUGGEST_IP         120/minute           suggestion fragments while typing, per IP
=========================== ==================== =========================================
"""
from __future__ import annotations

import hashlib
import hmac
import math
import time

from flask import current_app, render_template, request, session
from flask_limiter import RateLimitExceeded
from limits import parse_many

from ...extensions import limiter
from . import bp

DEFAULT_LIMITS = {
    "RATELIMIT_SUBMIT_IP": "20 per hour;100 per day",
    "RATELIMIT_SUBMIT_PHONE": "5 per day",
    "RATELIMIT_TRACK_IP": "30 per hour",
    "RATELIMIT_TRACK_NUMBER": "10 per hour",
    "RATELIMIT_SUGGEST_IP": "120 per minute",
}
#: a POST to /submit may carry three 5 MB photos and the text; a bigger one (up to this) is still
#: read so the form can say which photo is too big and keep what the citizen typed
DEFAULT_SUBMIT_MAX_BYTES = 25 * 1024 * 1024
PROVEN_KEY = "tracked"
RECEIPT_KEY = "receipt"
MAX_PROVEN = 20


def limit_of(key: str):
    """A callable Flask-Limiter evaluates per request, so config changes (and tests) apply."""
    return lambda: current_app.config.get(key) or DEFAULT_LIMITS[key]


# --- limits keyed by something other than the IP (checked inside the view) ------------------

def _hashed(value: str) -> str:
    """The store (memory or Redis) never holds a phone or a tracking number in clear."""
    secret = current_app.config["SECRET_KEY"].encode()
    return hmac.new(secret, value.encode(), hashlib.sha256).hexdigest()[:32]


def over_limit(key: str, scope: str, value: str) -> int | None:
    """Seconds until ``value`` may try again when its limit is used up, else None (no hit)."""
    if not limiter.enabled:
        return None
    strategy = limiter.limiter
    ident = _hashed(value)
    for item in parse_many(limit_of(key)()):
        if not strategy.test(item, scope, ident):
            reset_at, _remaining = strategy.get_window_stats(item, scope, ident)
            return max(1, math.ceil(reset_at - time.time()))
    return None


def count_hit(key: str, scope: str, value: str) -> None:
    if not limiter.enabled:
        return
    ident = _hashed(value)
    for item in parse_many(limit_of(key)()):
        limiter.limiter.hit(item, scope, ident)


def too_many(retry_after: int | None = None):
    """The friendly 429 page (both languages; the template says when to come back)."""
    minutes = max(1, math.ceil(retry_after / 60)) if retry_after else None
    response = current_app.make_response(
        (render_template("public/rate_limited.html", minutes=minutes), 429))
    if retry_after:
        response.headers["Retry-After"] = str(int(retry_after))
    return response


@bp.errorhandler(RateLimitExceeded)
def _rate_limited(exc: RateLimitExceeded):
    retry = None
    current = limiter.current_limit
    if current is not None:
        retry = max(1, int(current.reset_at - time.time()))
    return too_many(retry)


@bp.errorhandler(413)
def _too_large(exc):
    return render_template("public/too_large.html"), 413


@bp.url_value_preprocessor
def _upload_allowance(endpoint, values):
    """Runs before every before_request hook (CSRF reads the body there)."""
    if endpoint == "public.submit" and request.method == "POST":
        request.max_content_length = current_app.config.get("SUBMIT_MAX_BYTES", DEFAULT_SUBMIT_MAX_BYTES)


# --- proof of the tracking credentials --------------------------------------------------------

def prove(ticket_id: int) -> None:
    """This browser session showed the tracking number with the query code or the phone's last digits."""
    proven = [i for i in session.get(PROVEN_KEY, []) if i != ticket_id]
    proven.append(ticket_id)
    session[PROVEN_KEY] = proven[-MAX_PROVEN:]


def is_proven(ticket_id: int) -> bool:
    return ticket_id in session.get(PROVEN_KEY, [])


def forget(ticket_id: int) -> None:
    session[PROVEN_KEY] = [i for i in session.get(PROVEN_KEY, []) if i != ticket_id]

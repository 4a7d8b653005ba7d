"""Staff sign-in rules: throttling and temporary lock after repeated failures."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select

from ..extensions import db
from ..models import User
from .users import check_password

MAX_FAILURES = 5
LOCK_FOR = timedelta(minutes=15)


@dataclass(frozen=True)
class SignIn:
    user: User | None
    locked_until: datetime | None = None


def sign_in(username: str, password: str, now: datetime) -> SignIn:
    """Check a password. Five failures in a row lock the account for 15 minutes; the
    answer for an unknown user and a wrong password is the same."""
    user = db.session.scalar(select(User).where(User.username == (username or "").strip().lower()))
    if user is None or not user.active:
        return SignIn(None)
    if user.locked_until is not None and user.locked_until > now:
        return SignIn(None, locked_until=user.locked_until)
    if not check_password(user, password):
        user.failed_logins += 1
        if user.failed_logins >= MAX_FAILURES:
            user.locked_until = now + LOCK_FOR
            user.failed_logins = 0
        db.session.flush()
        return SignIn(None, locked_until=user.locked_until if user.locked_until and user.locked_until > now else None)
    user.failed_logins = 0
    user.locked_until = None
    user.last_login_at = now
    db.session.flush()
    return SignIn(user)


def end_sessions(user: User) -> None:
    """Log out everywhere: every session cookie of this user stops working."""
    user.session_epoch += 1
    db.session.flush()

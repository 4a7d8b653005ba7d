"""Two-factor sign-in with TOTP (RFC 6238, pyotp), secrets encrypted at rest.

The secret is encrypted with Fernet (the ``cryptography`` package) under a key derived
from ``SECRET_KEY`` with HKDF, so a copy of the database alone does not give the
second factor away. Changing ``SECRET_KEY`` makes every enrolment unreadable: staff
must enrol again (an admin resets it for them).
A code is accepted for the current 30-second step or one step either side, and each
step works once (``totp_last_step``).
"""
from __future__ import annotations

import base64
import hmac
import time

import pyotp
import segno
from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app

from ..extensions import db
from ..models import User

ISSUER = "12345"
STEP = 30


def _fernet() -> Fernet:
    secret_key = current_app.config["SECRET_KEY"]
    if isinstance(secret_key, str):
        secret_key = secret_key.encode()
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"portal totp secret").derive(secret_key)
    return Fernet(base64.urlsafe_b64encode(key))


def encrypt(secret: str) -> str:
    return _fernet().encrypt(secret.encode()).decode()


def decrypt(token: str) -> str | None:
    try:
        return _fernet().decrypt(token.encode()).decode()
    except (InvalidToken, ValueError):
        return None


def secret_of(user: User) -> str | None:
    return decrypt(user.totp_secret) if user.totp_secret else None


def start_enrolment(user: User) -> str:
    """A new secret, stored (encrypted) but not enabled until a code from it is confirmed."""
    secret = pyotp.random_base32()
    user.totp_secret = encrypt(secret)
    user.totp_enabled = False
    user.totp_last_step = None
    db.session.flush()
    return secret


def set_secret(user: User, secret: str, enabled: bool = True) -> None:
    user.totp_secret = encrypt(secret)
    user.totp_enabled = enabled
    user.totp_last_step = None
    db.session.flush()


def provisioning_uri(user: User, secret: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=user.username, issuer_name=ISSUER)


def qr_svg(uri: str) -> str:
    """The QR code as inline SVG (presentation attributes only, no style, no script)."""
    return segno.make(uri, error="m").svg_inline(scale=4, dark="#000", light="#fff", border=4)


def verify(user: User, code: str, at: float | None = None) -> bool:
    """Check a 6-digit code; a code's time step is used up once accepted."""
    secret = secret_of(user)
    code = (code or "").strip().replace(" ", "")
    if secret is None or len(code) != 6 or not code.isdigit():
        return False
    totp = pyotp.TOTP(secret)
    step = int((time.time() if at is None else at) // STEP)
    last = user.totp_last_step if user.totp_last_step is not None else -1
    for s in (step - 1, step, step + 1):
        if s > last and hmac.compare_digest(totp.at(s * STEP), code):
            user.totp_last_step = s
            db.session.flush()
            return True
    return False


def confirm_enrolment(user: User, code: str) -> bool:
    if user.totp_secret is None or not verify(user, code):
        return False
    user.totp_enabled = True
    db.session.flush()
    return True


def disable(user: User) -> None:
    user.totp_secret = None
    user.totp_enabled = False
    user.totp_last_step = None
    db.session.flush()

"""Language: Chinese by default; English by the visible switch, remembered in a cookie."""
from __future__ import annotations

from flask import current_app, request

COOKIE = "lang"


def select_locale() -> str:
    langs = current_app.config["LANGUAGES"]
    chosen = request.cookies.get(COOKIE)
    return chosen if chosen in langs else current_app.config["BABEL_DEFAULT_LOCALE"]

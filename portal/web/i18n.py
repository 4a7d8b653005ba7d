"""Language: Chinese by default; English by the visible switch, remembered in a cookie."""
from __future__ import annotations

from flask import current_app, g, request
from flask_babel import get_translations

COOKIE = "lang"


def select_locale() -> str:
    langs = current_app.config["LANGUAGES"]
    chosen = request.cookies.get(COOKIE)
    return chosen if chosen in langs else current_app.config["BABEL_DEFAULT_LOCALE"]


def catalog():
    """The current request's translations, as ``flask_babel.get_translations()`` returns them,
    but remembered beside the locale they belong to.

    Flask-Babel looks up its context, the locale and the catalogue cache again for every
    string: about 12 µs a string, 30 µs from a template, and a queue page shows about 190 of
    them (bench/bench_queue.py). This keeps the answer on Flask-Babel's own per-request
    context (``g._flask_babel``) together with the locale object it was found for, so a
    change of locale (``force_locale``, which swaps that object) is never served the wrong
    language."""
    ctx = g.get("_flask_babel")
    if ctx is not None:
        found = getattr(ctx, "portal_catalog", None)
        if found is not None and found[0] is getattr(ctx, "babel_locale", None):
            return found[1]
    translations = get_translations()
    ctx = g.get("_flask_babel")
    locale = getattr(ctx, "babel_locale", None)
    if locale is not None:
        ctx.portal_catalog = (locale, translations)
    return translations


def install(app) -> None:
    """Templates' ``_``, ``gettext``, ``ngettext`` and friends through ``catalog()`` (after
    ``babel.init_app``, which installs the uncached ones)."""
    app.jinja_env.install_gettext_callables(
        gettext=lambda s: catalog().ugettext(s),
        ngettext=lambda s, p, n: catalog().ungettext(s, p, n),
        pgettext=lambda c, s: catalog().upgettext(c, s),
        npgettext=lambda c, s, p, n: catalog().unpgettext(c, s, p, n),
        newstyle=True,
    )


def gettext(string: str, **variables) -> str:
    """``flask_babel.gettext`` through ``catalog()``."""
    text = catalog().ugettext(string)
    return text % variables if variables else text

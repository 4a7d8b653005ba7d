"""Vendored files are the pinned ones; the English catalog is complete."""
import hashlib
from pathlib import Path

from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
HTMX_SHA256 = "d6fdc75f204e6bdefa99b69bf1e6d4ac69b8a364f77929f45c13476b4000f717"   # htmx.org@2.0.11 dist/htmx.min.js
AXE_SHA256 = "29348999450cdf2849a8e70b7912fc2da85a849da39c0d0d5394f51d4a9ed95c"    # axe-core@4.14.1 axe.min.js


def test_htmx_is_the_pinned_release():
    data = (ROOT / "static/js/htmx.min.js").read_bytes()
    assert hashlib.sha256(data).hexdigest() == HTMX_SHA256
    assert b'version:"2.0.11"' in data.replace(b" ", b"")


def test_axe_is_the_pinned_release():
    assert hashlib.sha256((ROOT / "tests/browser/vendor/axe.min.js").read_bytes()).hexdigest() == AXE_SHA256


def test_english_catalog_is_complete():
    with open(ROOT / "translations/en/LC_MESSAGES/messages.po", "rb") as f:
        catalog = read_po(f)
    untranslated = [m.id for m in catalog if m.id and not m.string]
    fuzzy = [m.id for m in catalog if m.id and m.fuzzy]
    assert not untranslated, untranslated
    assert not fuzzy, fuzzy
    assert len(list(catalog)) > 100


def test_every_template_string_is_in_the_catalog():
    """Run `make extract` after changing text: this fails when the catalog is stale."""
    from babel.messages.extract import extract_from_dir
    with open(ROOT / "translations/en/LC_MESSAGES/messages.po", "rb") as f:
        known = {(m.context, m.id) for m in read_po(f) if m.id}
    method_map = [("portal/**.py", "python"), ("templates/**.html", "jinja2")]
    options = {"templates/**.html": {"extensions": "jinja2.ext.do"}}
    keywords = {"_": None, "gettext": None, "N_": None, "_l": None, "lazy_gettext": None,
                "NC_": ((1, "c"), 2), "pgettext": ((1, "c"), 2)}
    found = set()
    # like `make extract`: skip only hidden folders and the venv, not templates/_macros
    keep = lambda path: not any(part.startswith(".") for part in Path(path).parts)   # noqa: E731
    for _file, _line, message, _comments, context in extract_from_dir(
            str(ROOT), method_map, options, keywords=keywords, directory_filter=keep):
        found.add((context, message if isinstance(message, str) else message[0]))
    missing = sorted(found - known, key=str)
    assert not missing, f"not in the catalog (run make extract and translate): {missing}"


def test_templates_follow_a_change_of_language_within_a_request(app):
    """The templates' translations are remembered per request beside their locale
    (portal/web/i18n.catalog): a switch of language inside a request (force_locale, as the
    Open311 API does) is served in that language, and the request's own language afterwards."""
    from flask_babel import force_locale

    from portal.web.i18n import gettext
    page = app.jinja_env.from_string('{{ _("筛选") }}|{{ "筛选"|tr }}')
    with app.test_request_context("/"):
        assert page.render() == "筛选|筛选" and gettext("筛选") == "筛选"
        with force_locale("en"):
            assert page.render() == "Filter|Filter" and gettext("筛选") == "Filter"
        assert page.render() == "筛选|筛选"


def test_a_serving_process_loads_jieba_and_freezes_its_heap_at_start():
    """wsgi.py (every gunicorn worker, `make run`) loads jieba's dictionary before the first
    search and moves the long-lived heap out of the garbage collector's reach (portal/heap.py)."""
    import os
    import subprocess  # nosec B404
    import sys
    root = Path(__file__).resolve().parents[2]
    code = ("import gc, wsgi; from portal.domain import segment; "
            "print(gc.get_freeze_count() > 10000, segment._tokenizer is not None)")
    env = dict(os.environ, PORTAL_SQLALCHEMY_DATABASE_URI="sqlite://", PORTAL_SCHEDULER_ENABLED="false")
    out = subprocess.run([sys.executable, "-c", code], cwd=root, env=env, capture_output=True, text=True,
                         timeout=120, check=True)  # nosec B603
    assert out.stdout.split()[-2:] == ["True", "True"], out.stderr[-2000:]

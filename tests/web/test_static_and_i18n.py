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

"""A ``SelectField`` that writes its options faster, for the long lists (349 streets on the
citizens' submit form, the units of the dispatch and accept forms).

WTForms builds each ``<option>`` through ``html_params`` (sorting, escaping and formatting every
attribute): on the submit form's 424 options that was about 10 ms of every view
(bench/bench_submit.py: p50 27 ms with WTForms' options, 17 ms with these). ``QuickSelect`` writes an option with no extra attributes directly, in the
same markup (``<option selected value="…">label</option>``, attributes in ``html_params``'s
order); any other option goes through WTForms as before.

Choices given as ``KeptChoices`` or ``KeptGroups`` (lists made once and never changed, such as
``services.reference``'s) are rendered once per selected value and attributes and the markup
kept: WTForms still made a ``Choice`` and an escaped ``<option>`` of each of the 424 on every
view, about 4 ms.
"""
from __future__ import annotations

from markupsafe import Markup, escape
from wtforms import SelectField as _SelectField
from wtforms import widgets


class KeptChoices(list):
    """Choices that are never changed once made: their rendering may be kept."""


class KeptGroups(dict):
    """Grouped choices (``{group: [(value, label), ...]}``) that are never changed once made."""


#: rendered selects of kept choices: key -> (the choices object, markup); bounded
_RENDERED: dict = {}
_RENDERED_AT_MOST = 512


class QuickSelect(widgets.Select):
    def __call__(self, field, **kwargs):
        choices = field.choices
        if type(choices) not in (KeptChoices, KeptGroups):
            return super().__call__(field, **kwargs)
        try:
            key = (id(choices), field.name, field.data, tuple(sorted(kwargs.items())))
            hash(key)
        except TypeError:
            return super().__call__(field, **kwargs)
        kept = _RENDERED.get(key)
        if kept is not None and kept[0] is choices:      # the same object, not one at a reused address
            return kept[1]
        html = super().__call__(field, **kwargs)
        if len(_RENDERED) >= _RENDERED_AT_MOST:
            _RENDERED.clear()
        _RENDERED[key] = (choices, html)                 # holding the object keeps its address unused
        return html

    @classmethod
    def render_option(cls, choice, **kwargs):
        if kwargs or choice.render_kw or not isinstance(choice.value, str):
            return super().render_option(choice, **kwargs)
        label = escape(choice.label or choice.value)
        selected = "selected " if choice.selected else ""
        return Markup(f'<option {selected}value="{escape(choice.value)}">{label}</option>')


class SelectField(_SelectField):
    widget = QuickSelect()

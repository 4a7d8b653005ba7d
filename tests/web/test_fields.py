"""portal/web/fields.py: the quick select writes exactly WTForms' markup, and the long lists use it."""
from __future__ import annotations

from wtforms import Form
from wtforms.widgets import Select

from portal.web.fields import QuickSelect, SelectField


class _Form(Form):
    plain = SelectField(choices=[("", "请选择"), ("1", "甲<b>"), ("2", '乙"&\'')])
    grouped = SelectField(choices={None: [("", "—")], "组<一>": [("3", "丙"), ("4", "丁")], "二": [("5", "戊")]})
    numbers = SelectField(coerce=int, choices=[(1, "一"), (2, "二")])


def _both(field, **kwargs) -> tuple[str, str]:
    return str(QuickSelect()(field, **kwargs)), str(Select()(field, **kwargs))


def test_quick_select_writes_the_same_markup_as_wtforms():
    form = _Form(data={"plain": "2", "grouped": "4", "numbers": 2})
    for field in (form.plain, form.grouped, form.numbers):
        quick, reference = _both(field)
        assert quick == reference
        quick, reference = _both(field, class_="wide", required=True)
        assert quick == reference
    assert '<option selected value="2">乙&#34;&amp;&#39;</option>' in str(form.plain())
    assert '<optgroup label="组&lt;一&gt;">' in str(form.grouped())


def test_the_long_lists_use_it():
    from portal.web.public.forms import SubmitForm
    from portal.web.staff.forms import AcceptForm, DispatchForm, PhoneIntakeForm
    for form, name in ((SubmitForm, "street"), (SubmitForm, "category"), (DispatchForm, "unit"),
                       (AcceptForm, "street"), (PhoneIntakeForm, "street")):
        assert isinstance(getattr(form, name).kwargs.get("widget") or getattr(form, name).field_class.widget,
                          QuickSelect), (form, name)


def test_kept_choices_are_rendered_once_per_selection_and_never_served_to_another_list():
    from portal.web.fields import KeptChoices, KeptGroups

    class F(Form):
        street = SelectField()

    kept = KeptChoices([("", "请选择"), ("1", "甲"), ("2", "乙")])
    groups = KeptGroups({None: [("", "—")], "组": [("3", "丙")]})
    for choices in (kept, groups):
        for data in (None, "", "2", "3"):
            form = F(data={"street": data})
            form.street.choices = choices
            first = str(form.street(class_="wide"))
            again = str(form.street(class_="wide"))
            form.street.widget = Select()            # WTForms' own rendering of the same field
            assert first == again == str(form.street(class_="wide"))
    form = F(data={"street": "2"})
    form.street.choices = kept
    assert '<option selected value="2">乙</option>' in str(form.street())
    form.street.choices = KeptChoices([("", "请选择"), ("2", "丁")])      # another list: its own markup
    assert '<option selected value="2">丁</option>' in str(form.street())

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional


class ArticleForm(FlaskForm):
    question = StringField(_l("问题"), validators=[DataRequired(_l("请填写问题")), Length(min=4, max=200)])
    answer = TextAreaField(_l("答案"), validators=[DataRequired(_l("请填写答案")), Length(min=10, max=4000)])
    keywords = StringField(_l("关键词（用逗号分隔，可选）"), validators=[Optional(), Length(max=200)])
    category = SelectField(_l("分类（可选）"), coerce=str, validators=[Optional()])
    owner_unit = SelectField(_l("责任单位（可选）"), coerce=str, validators=[Optional()])
    valid_from = DateField(_l("有效期起（可选）"), validators=[Optional()])
    valid_to = DateField(_l("有效期止（可选）"), validators=[Optional()])


class ConfirmForm(FlaskForm):
    """Retire / restore: one click (the CSRF token only)."""

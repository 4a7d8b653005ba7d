"""Forms of the governance pages. The services check every rule again (InvalidInput)."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, DateField, IntegerField, SelectField, SelectMultipleField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional


class RuleForm(FlaskForm):
    """N requests in M days for one kind of cluster (two on one page, told apart by prefix)."""
    min_count = IntegerField(_l("件数（N）"), validators=[InputRequired(_l("请填写件数")),
                                                       NumberRange(min=2, message=_l("件数阈值至少为 2"))])
    window_days = IntegerField(_l("天数（M）"), validators=[InputRequired(_l("请填写天数")),
                                                         NumberRange(min=1, max=366,
                                                                     message=_l("天数阈值应在 1 至 366 天之间"))])
    active = BooleanField(_l("启用"))


class AlertActionForm(FlaskForm):
    note = TextAreaField(_l("对这一类问题的处置情况"),
                         validators=[DataRequired(_l("请填写处置情况")), Length(min=10, max=2000,
                                                                          message=_l("处置情况应为 10 至 2000 字"))])


class TopicForm(FlaskForm):
    title = StringField(_l("题目名称"), validators=[DataRequired(_l("请填写题目名称")), Length(max=100)])
    slug = StringField(_l("网址标识"), validators=[DataRequired(_l("请填写网址标识")), Length(max=40)])
    year = IntegerField(_l("年度"), validators=[InputRequired(_l("请填写年度")), NumberRange(min=2000, max=2100)])
    month = SelectField(_l("月份"), choices=[("", "—")] + [(str(m), str(m)) for m in range(1, 13)],
                        validators=[Optional()])
    lead_unit = SelectField(_l("牵头单位"), validators=[DataRequired(_l("请选择牵头单位"))])
    categories = SelectMultipleField(_l("诉求分类"), validators=[Optional()])
    keywords = StringField(_l("关键词"), validators=[Optional(), Length(max=300)])
    plan = TextAreaField(_l("工作方案"), validators=[Optional(), Length(max=5000)])
    published = BooleanField(_l("在公开页面发布"))


class TaskForm(FlaskForm):
    title = StringField(_l("任务"), validators=[DataRequired(_l("请填写任务内容")), Length(max=200)])
    owner_unit = SelectField(_l("责任单位"), validators=[DataRequired(_l("请选择责任单位"))])
    due = DateField(_l("完成时限"), validators=[Optional()])
    status = SelectField(_l("状态"), validators=[DataRequired()])


class TaskStatusForm(FlaskForm):
    status = SelectField(_l("状态"), validators=[DataRequired()])


class ResponsibilityForm(FlaskForm):
    unit = SelectField(_l("单位"), validators=[DataRequired(_l("请选择单位"))])
    duty = StringField(_l("职责"), validators=[DataRequired(_l("请填写职责")), Length(max=300)])


class PolicyForm(FlaskForm):
    title = StringField(_l("政策名称"), validators=[DataRequired(_l("请填写政策名称")), Length(max=200)])
    status = SelectField(_l("状态"), validators=[DataRequired()])
    issued_on = DateField(_l("日期"), validators=[Optional()])

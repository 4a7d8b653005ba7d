"""One small form per kind of action. Every form carries the version it was drawn from."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (BooleanField, DateTimeLocalField, HiddenField, RadioField, SelectMultipleField, StringField,
                     TextAreaField)
from wtforms.validators import DataRequired, InputRequired, Length, Optional, Regexp

from ...domain.deadlines import Urgency
from ...domain.intake import RequestKind
from ..fields import SelectField

YES_NO = [("yes", _l("是")), ("no", _l("否"))]


class VersionedForm(FlaskForm):
    version = HiddenField()


class ConfirmForm(VersionedForm):
    """Sign-for and approvals: one click."""


class NoteForm(VersionedForm):
    note = TextAreaField(_l("办理进展"), validators=[DataRequired(_l("请填写办理进展")), Length(max=1000)])


class ReasonForm(VersionedForm):
    reason = TextAreaField(_l("理由"), validators=[DataRequired(_l("请填写理由")), Length(max=1000)])


class OptionalNoteForm(VersionedForm):
    note = TextAreaField(_l("说明（可选）"), validators=[Optional(), Length(max=1000)])


class DisciplineForm(VersionedForm):
    note = TextAreaField(_l("移送情况说明"), validators=[DataRequired(_l("请填写移送纪检的情况说明")),
                                                     Length(max=1000)])


class ExtensionForm(VersionedForm):
    due = DateTimeLocalField(_l("延期至（北京时间）"), format="%Y-%m-%dT%H:%M",
                             validators=[InputRequired(_l("请填写延期后的办理时限"))])
    reason = TextAreaField(_l("延期理由"), validators=[DataRequired(_l("申请延期必须说明理由")), Length(max=1000)])


class FeedbackForm(VersionedForm):
    reply = TextAreaField(_l("答复市民"), validators=[DataRequired(_l("请填写给市民的答复")), Length(max=2000)])
    report = TextAreaField(_l("报告中心（可选，默认同答复）"), validators=[Optional(), Length(max=2000)])


class DispatchForm(VersionedForm):
    unit = SelectField(_l("主办单位"), coerce=str, validators=[DataRequired(_l("请选择承办单位"))])
    assist = SelectMultipleField(_l("协办单位（可选）"), coerce=str, validators=[Optional()])
    note = TextAreaField(_l("派单说明（可选）"), validators=[Optional(), Length(max=1000)])


class RedispatchForm(VersionedForm):
    unit = SelectField(_l("转派至街道（乡镇）"), coerce=str, validators=[DataRequired(_l("请选择承办单位"))])
    note = TextAreaField(_l("转派说明（可选）"), validators=[Optional(), Length(max=1000)])


class AnswerForm(VersionedForm):
    article = SelectField(_l("知识库条目（可选）"), coerce=str, validators=[Optional()])
    answer = TextAreaField(_l("答复内容"), validators=[Optional(), Length(max=2000)])


class MergeForm(VersionedForm):
    into = StringField(_l("合并到（受理编号）"), validators=[DataRequired(_l("请选择要合并到的另一件诉求"))])
    note = TextAreaField(_l("说明（可选）"), validators=[Optional(), Length(max=1000)])


class CallbackForm(VersionedForm):
    contacted = RadioField(_l("是否联系上市民"), choices=YES_NO, validators=[InputRequired(_l("请选择是否联系上市民"))])
    resolved = RadioField(_l("是否解决"), choices=YES_NO, validators=[Optional()])
    satisfied = RadioField(_l("是否满意"), choices=YES_NO, validators=[Optional()])
    note = TextAreaField(_l("回访记录"), validators=[Optional(), Length(max=1000)])


class RehandleForm(VersionedForm):
    reason = TextAreaField(_l("重办理由"), validators=[DataRequired(_l("重办必须说明理由")), Length(max=1000)])
    due = DateTimeLocalField(_l("重办时限（北京时间，可选）"), format="%Y-%m-%dT%H:%M", validators=[Optional()])


class CloseForm(VersionedForm):
    reason = TextAreaField(_l("办结说明（回访未解决或不满意时必填）"), validators=[Optional(), Length(max=200)])


class SuperviseForm(VersionedForm):
    level = SelectField(_l("督办方式"), coerce=int, choices=[
        (1, _l("电话督办")), (2, _l("书面督办")), (3, _l("会议督办")), (4, _l("领导批示督办"))])
    note = TextAreaField(_l("督办意见"), validators=[Optional(), Length(max=1000)])


class AcceptForm(VersionedForm):
    kind = SelectField(_l("诉求类型"), choices=[(k.value, k.label) for k in RequestKind])
    category = SelectField(_l("诉求分类"), coerce=str)
    urgency = SelectField(_l("紧急程度"), choices=[(u.value, u.label) for u in Urgency])
    street = SelectField(_l("街道（乡镇）"), coerce=str, validators=[Optional()])
    address = StringField(_l("详细地址"), validators=[Optional(), Length(max=200)])


class PhoneIntakeForm(FlaskForm):
    citizen_phone = StringField(_l("来电号码"), validators=[DataRequired(_l("请填写来电号码")), Length(max=32)],
                                render_kw={"autofocus": True, "inputmode": "tel", "autocomplete": "off"})
    citizen_name = StringField(_l("来电人姓名（可选）"), validators=[Optional(), Length(max=64)])
    kind = SelectField(_l("诉求类型"), choices=[(k.value, k.label) for k in RequestKind])
    category = SelectField(_l("诉求分类"), coerce=str, validators=[DataRequired(_l("请选择二级诉求分类"))])
    street = SelectField(_l("街道（乡镇）"), coerce=str, validators=[Optional()])
    address = StringField(_l("详细地址"), validators=[Optional(), Length(max=200)])
    content = TextAreaField(_l("诉求内容"), validators=[DataRequired(_l("诉求内容应为 10 至 2000 字")),
                                                      Length(min=10, max=2000, message=_l("诉求内容应为 10 至 2000 字"))])
    urgency = SelectField(_l("紧急程度"), choices=[(u.value, u.label) for u in Urgency])
    citizen_email = StringField(_l("电子邮箱（可选）"), validators=[Optional(), Regexp(r"^[^@\s]+@[^@\s]+\.[^@\s]+$", message=_l("邮箱格式不正确")), Length(max=254)])
    consent_publish = BooleanField(_l("市民同意匿名公开"))


class BulkSignForm(FlaskForm):
    ids = SelectMultipleField(coerce=int, validate_choice=False)

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import IntegerField, SelectField, StringField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange

from ...domain.intake import Channel

API_CHANNELS = [c for c in Channel if c not in (Channel.WEB, Channel.PHONE)]


class ApiKeyForm(FlaskForm):
    name = StringField(_l("接入方名称"), validators=[DataRequired(_l("请填写接入方名称")), Length(max=100)])
    channel = SelectField(_l("渠道"), choices=[])
    rate_per_minute = IntegerField(_l("每分钟最多请求次数"), default=60,
                                   validators=[InputRequired(_l("请填写频率限制")),
                                               NumberRange(1, 10000, _l("应为 1 至 10000"))])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.channel.choices = [(c.value, _l(c.label)) for c in API_CHANNELS]


class ContactForm(FlaskForm):
    unit_code = StringField(_l("单位代码"), validators=[DataRequired(_l("请填写单位代码")), Length(max=32)])
    channel = SelectField(_l("方式"), choices=[("email", _l("电子邮件")), ("sms", _l("短信"))])
    address = StringField(_l("邮箱或手机号"), validators=[DataRequired(_l("请填写邮箱或手机号")), Length(max=254)])


class ConfirmForm(FlaskForm):
    """One-click POSTs (revoke, retry, remove): CSRF only."""

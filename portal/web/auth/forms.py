from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Length


class LoginForm(FlaskForm):
    username = StringField(_l("用户名"), validators=[DataRequired(_l("请输入用户名")), Length(max=64)],
                           render_kw={"autocomplete": "username", "autocapitalize": "none"})
    password = PasswordField(_l("密码"), validators=[DataRequired(_l("请输入密码")), Length(max=256)],
                             render_kw={"autocomplete": "current-password"})


class CodeForm(FlaskForm):
    code = StringField(_l("6 位验证码"), validators=[DataRequired(_l("请输入验证码")), Length(min=6, max=8)],
                       render_kw={"autocomplete": "one-time-code", "inputmode": "numeric", "pattern": "[0-9 ]*"})


class ChangePasswordForm(FlaskForm):
    current = PasswordField(_l("当前密码"), validators=[DataRequired(_l("请输入当前密码")), Length(max=256)],
                            render_kw={"autocomplete": "current-password"})
    new = PasswordField(_l("新密码（至少 10 位）"), validators=[DataRequired(_l("请输入新密码")), Length(min=10, max=256)],
                        render_kw={"autocomplete": "new-password"})
    repeat = PasswordField(_l("再次输入新密码"), validators=[DataRequired(_l("请再次输入新密码")), Length(max=256)],
                           render_kw={"autocomplete": "new-password"})

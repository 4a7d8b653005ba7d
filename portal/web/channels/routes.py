"""/admin/channels and /admin/outbox: admins only (everyone else 404; anonymous → sign in).

Another engineer adds the global two-factor gate for admins; nothing here duplicates it.
"""
from __future__ import annotations

import re
from datetime import timedelta

from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from ...domain.access import Role
from ...domain.deadlines import utcnow
from ...domain.intake import Channel
from ...extensions import db
from ...models import ApiKey, AuditEntry, Unit, UnitContact
from ...services import apikeys, notify
from ...services.intake import normalize_phone
from ...services.tickets import InvalidInput
from . import bp
from .forms import ApiKeyForm, ConfirmForm, ContactForm

_EMAIL = re.compile(r"^[^@\s]{1,64}@[A-Za-z0-9.-]{1,190}\.[A-Za-z]{2,24}$")


@bp.before_request
@login_required
def _admins_only():
    if current_user.role is not Role.ADMIN:
        abort(404)


@bp.after_request
def _no_store(response):
    response.headers["Cache-Control"] = "no-store"
    return response


def _index(key_form=None, contact_form=None, status=200):
    now = utcnow()
    counts = apikeys.counts_by_channel()
    recent = apikeys.counts_by_channel(since=now - timedelta(days=30))
    rows = [(c, counts.get(c, 0), recent.get(c, 0)) for c in Channel]
    contacts = db.session.scalars(select(UnitContact).join(Unit).order_by(Unit.code, UnitContact.id)).all()
    return render_template("channels/index.html", keys=apikeys.list_keys(), key_form=key_form or ApiKeyForm(),
                           contact_form=contact_form or ContactForm(), confirm=ConfirmForm(), rows=rows,
                           total=sum(counts.values()), recent_total=sum(recent.values()),
                           outbox=notify.status_counts(), contacts=contacts), status


@bp.get("/channels")
def index():
    return _index()


@bp.post("/channels/keys")
def create_key():
    form = ApiKeyForm()
    if not form.validate_on_submit():
        return _index(key_form=form, status=400)
    try:
        new = apikeys.create_key(utcnow(), name=form.name.data, channel=form.channel.data,
                                 rate_per_minute=form.rate_per_minute.data, created_by_id=current_user.id)
    except InvalidInput as exc:
        form.name.errors = [*form.name.errors, _(str(exc))]
        return _index(key_form=form, status=400)
    db.session.commit()
    # the secret is shown in this response only: never in a redirect URL, a flash cookie or a log
    return render_template("channels/created.html", key=new.key, secret=new.secret), 201


@bp.post("/channels/keys/<int:key_id>/revoke")
def revoke_key(key_id: int):
    if not ConfirmForm().validate_on_submit():
        abort(400)
    key = db.session.get(ApiKey, key_id) or abort(404)
    apikeys.revoke_key(utcnow(), key, current_user.id)
    db.session.commit()
    flash(_("接口密钥 %(prefix)s… 已吊销。", prefix=key.prefix), "info")
    return redirect(url_for("channels.index"), 303)


@bp.post("/channels/contacts")
def add_contact():
    form = ContactForm()
    if not form.validate_on_submit():
        return _index(contact_form=form, status=400)
    unit = db.session.scalar(select(Unit).where(Unit.code == form.unit_code.data.strip(), Unit.active))
    address = form.address.data.strip()
    if unit is None:
        form.unit_code.errors = [*form.unit_code.errors, _("单位不存在或已停用")]
    if form.channel.data == "sms":
        address = normalize_phone(address) or ""
        if not address:
            form.address.errors = [*form.address.errors, _("手机号码无效")]
    elif not _EMAIL.match(address):
        form.address.errors = [*form.address.errors, _("邮箱格式不正确")]
    if form.unit_code.errors or form.address.errors:
        return _index(contact_form=form, status=400)
    exists = db.session.scalar(select(UnitContact).where(UnitContact.unit_id == unit.id,
                                                         UnitContact.channel == form.channel.data,
                                                         UnitContact.address == address))
    now = utcnow()
    if exists is None:
        contact = UnitContact(unit_id=unit.id, channel=form.channel.data, address=address, active=True,
                              created_at=now)
        db.session.add(contact)
        db.session.flush()
        db.session.add(AuditEntry(at=now, user_id=current_user.id, action="unit_contact.add",
                                  target_type="unit_contact", target_id=contact.id,
                                  detail={"unit": unit.code, "channel": form.channel.data}))
    else:
        exists.active = True
    db.session.commit()
    flash(_("已添加 %(unit)s 的通知联系方式。", unit=unit.name), "info")
    return redirect(url_for("channels.index"), 303)


@bp.post("/channels/contacts/<int:contact_id>/delete")
def delete_contact(contact_id: int):
    if not ConfirmForm().validate_on_submit():
        abort(400)
    contact = db.session.get(UnitContact, contact_id) or abort(404)
    db.session.add(AuditEntry(at=utcnow(), user_id=current_user.id, action="unit_contact.delete",
                              target_type="unit_contact", target_id=contact.id,
                              detail={"unit_id": contact.unit_id, "channel": contact.channel}))
    db.session.delete(contact)
    db.session.commit()
    flash(_("已删除该通知联系方式。"), "info")
    return redirect(url_for("channels.index"), 303)


@bp.get("/outbox")
def outbox():
    return render_template("channels/outbox.html", dead=notify.dead_letters(), counts=notify.status_counts(),
                           confirm=ConfirmForm(), masked=notify.masked)


@bp.post("/outbox/<int:message_id>/retry")
def retry(message_id: int):
    if not ConfirmForm().validate_on_submit():
        abort(400)
    n = notify.retry_dead(utcnow(), [message_id])
    if not n:
        abort(404)
    db.session.commit()
    flash(_("已重新排队发送 %(n)s 条通知。", n=n), "info")
    return redirect(url_for("channels.outbox"), 303)


@bp.post("/outbox/retry")
def retry_all():
    if not ConfirmForm().validate_on_submit():
        abort(400)
    n = notify.retry_dead(utcnow())
    db.session.commit()
    flash(_("已重新排队发送 %(n)s 条通知。", n=n), "info")
    return redirect(url_for("channels.outbox"), 303)

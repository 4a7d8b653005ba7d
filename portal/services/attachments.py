"""Photos (照片): checked by their content, re-encoded, stored outside ``static/``.

* Only JPEG, PNG and WebP, recognised by Pillow from the bytes (the file name and the
  browser's content type are ignored): an ``.exe`` renamed ``.jpg`` is refused.
* At most ``MAX_BYTES`` each and ``MAX_PIXELS`` pixels (decompression bombs).
* Re-encoded from the decoded pixels, so EXIF (camera, time, GPS position), XMP and
  text chunks are gone; the EXIF orientation is applied to the pixels first.
* Stored under ``UPLOAD_DIR`` (default ``instance/uploads``) with a random name; the
  route that serves them checks who is asking (``portal.web.public.routes.photo``).
"""
from __future__ import annotations

import io
import os
import secrets
import warnings
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from flask import current_app
from PIL import Image, ImageOps, UnidentifiedImageError

from ..domain.lifecycle import N_
from ..extensions import db
from ..models import Attachment, Ticket, TicketEvent

MAX_BYTES = 5 * 1024 * 1024
MAX_PHOTOS = 3
MAX_PIXELS = 40_000_000
MAX_SIDE = 4096           # larger photos are scaled down: nobody needs more to see a broken street light
FORMATS = {"JPEG": ("image/jpeg", ".jpg"), "PNG": ("image/png", ".png"), "WEBP": ("image/webp", ".webp")}


class BadPhoto(ValueError):
    """The message is a Chinese msgid naming the problem."""


@dataclass(frozen=True)
class PreparedPhoto:
    data: bytes
    mime: str
    ext: str
    width: int
    height: int


def read_limited(stream, limit: int = MAX_BYTES) -> bytes:
    data = stream.read(limit + 1)
    if len(data) > limit:
        raise BadPhoto(N_("每张照片不能超过 5 MB"))
    return data


def prepare(data: bytes) -> PreparedPhoto:
    """Check one uploaded file and re-encode it; raises ``BadPhoto``."""
    if not data:
        raise BadPhoto(N_("照片文件是空的"))
    if len(data) > MAX_BYTES:
        raise BadPhoto(N_("每张照片不能超过 5 MB"))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data), formats=list(FORMATS))
            fmt = img.format
            if img.width * img.height > MAX_PIXELS:
                raise BadPhoto(N_("照片像素过大"))
            img.seek(0)                       # animated WebP/PNG: the first frame only
            img.load()
            img = ImageOps.exif_transpose(img)
    except BadPhoto:
        raise
    except (UnidentifiedImageError, Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise BadPhoto(N_("只能上传 JPEG、PNG 或 WebP 格式的照片")) from None
    except (OSError, ValueError, SyntaxError, EOFError):
        raise BadPhoto(N_("照片文件已损坏，无法读取")) from None
    if fmt not in FORMATS:
        raise BadPhoto(N_("只能上传 JPEG、PNG 或 WebP 格式的照片"))
    icc = img.info.get("icc_profile")
    if max(img.size) > MAX_SIDE:
        img.thumbnail((MAX_SIDE, MAX_SIDE))
    out = io.BytesIO()
    if fmt == "JPEG":
        if img.mode not in ("RGB", "L"):
            img = img.convert("RGB")
        params = {"quality": 85, "optimize": True}
    elif fmt == "PNG":
        if img.mode not in ("RGB", "RGBA", "L", "LA", "P"):
            img = img.convert("RGBA")
        params = {"optimize": True}
    else:
        if img.mode not in ("RGB", "RGBA"):
            img = img.convert("RGBA" if "A" in img.mode or img.mode == "P" else "RGB")
        params = {"quality": 85}
    clean = Image.new(img.mode, img.size)
    clean.paste(img)                          # a new image carries no metadata of the old one
    if img.mode == "P":
        clean.putpalette(img.getpalette())
    if icc:
        params["icc_profile"] = icc           # colours, not personal data
    clean.save(out, format=fmt, **params)
    mime, ext = FORMATS[fmt]
    return PreparedPhoto(out.getvalue(), mime, ext, clean.width, clean.height)


def upload_dir() -> Path:
    configured = current_app.config.get("UPLOAD_DIR")
    path = Path(configured) if configured else Path(current_app.instance_path) / "uploads"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _write(directory: Path, photo: PreparedPhoto) -> str:
    name = secrets.token_hex(16) + photo.ext
    tmp = directory / (name + ".part")
    with open(tmp, "xb") as f:
        f.write(photo.data)
    os.chmod(tmp, 0o640)
    os.replace(tmp, directory / name)
    return name


def attach(ticket: Ticket, event: TicketEvent | None, photos: list[PreparedPhoto], now: datetime, *,
           uploaded_by: str = "citizen") -> list[Attachment]:
    """Writes the files and adds their rows (flushes). If the transaction is later rolled
    back, ``discard`` removes the files."""
    directory = upload_dir()
    rows = []
    for photo in photos[:MAX_PHOTOS]:
        name = _write(directory, photo)
        row = Attachment(stored_name=name, mime=photo.mime, size=len(photo.data), width=photo.width,
                         height=photo.height, uploaded_by=uploaded_by, created_at=now)
        if event is not None:
            row.event_id = event.id
        ticket.attachments.append(row)
        rows.append(row)
    db.session.flush()
    return rows


def discard(names: list[str]) -> None:
    directory = upload_dir()
    for name in names:
        try:
            (directory / name).unlink()
        except FileNotFoundError:
            pass


def path_of(attachment: Attachment) -> Path:
    return upload_dir() / attachment.stored_name

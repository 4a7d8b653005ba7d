"""Extensions, created unbound; ``create_app`` binds them."""
from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


db = SQLAlchemy(model_class=Base)
migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
babel = Babel()


class _Limiter(Limiter):
    """Flask-Limiter, bound per app. Storage: config ``RATELIMIT_STORAGE_URI`` (env
    ``PORTAL_RATELIMIT_STORAGE_URI``, or its short form ``PORTAL_RATELIMIT_STORAGE``), default
    ``memory://`` (one process; use ``redis://…`` when several processes serve the site)."""

    def init_app(self, app) -> None:
        # the object is shared by every app the factory makes (tests make many): state that
        # Flask-Limiter reads with setdefault must not leak from one app to the next
        app.config.setdefault("RATELIMIT_ENABLED", True)
        if app.config.get("RATELIMIT_STORAGE"):     # env PORTAL_RATELIMIT_STORAGE=redis://… (production)
            app.config["RATELIMIT_STORAGE_URI"] = app.config["RATELIMIT_STORAGE"]
        app.config.setdefault("RATELIMIT_STORAGE_URI", "memory://")
        self.enabled = True
        super().init_app(app)


limiter = _Limiter(key_func=get_remote_address)

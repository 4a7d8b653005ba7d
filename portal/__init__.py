"""12345 citizen hotline portal (接诉即办)."""
from __future__ import annotations

import logging

from flask import Flask

from . import config as config_module


def create_app(config: dict | None = None) -> Flask:
    """config → extensions → blueprints → jinja globals → CLI → (opt-in) scheduler."""
    root = config_module.ROOT
    app = Flask(__name__, instance_path=str(config_module.INSTANCE),
                template_folder=str(root / "templates"), static_folder=str(root / "static"))
    config_module.load(app, config)
    logging.basicConfig(level=app.config["LOG_LEVEL"], format="%(asctime)s %(levelname)s %(name)s %(message)s")

    from .extensions import babel, csrf, db, limiter, login_manager, migrate
    from .database import configure_engine
    from . import models  # noqa: F401  (register the tables)
    from .security import init_security
    init_security(app)      # headers, cookie flags, error pages, log redaction, engine options
    db.init_app(app)
    from .security import install_session_teardown
    install_session_teardown(app)   # a database that went away after the response is no 500
    with app.app_context():
        configure_engine(db.engine)
    migrate.init_app(app, db, directory=str(root / "migrations"), render_as_batch=True, compare_type=True)
    csrf.init_app(app)
    login_manager.init_app(app)
    limiter.init_app(app)

    from .web import i18n
    babel.init_app(app, locale_selector=i18n.select_locale, timezone_selector=lambda: "Asia/Shanghai")
    i18n.install(app)

    from .web import register
    register(app)

    from .cli import cli
    app.cli.add_command(cli)

    if app.config.get("SCHEDULER_ENABLED"):
        from .jobs import start_embedded
        start_embedded(app)
    return app

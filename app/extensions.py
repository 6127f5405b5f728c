"""Unbound extensions; create_app binds them to one application."""

from flask import g, request
from flask_babel import Babel
from flask_limiter import Limiter, RequestLimit
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect

from app.core.db import Base

db = SQLAlchemy(model_class=Base)
migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
babel = Babel()


def _audit_throttling(limit: RequestLimit) -> None:
    # Imported here: app.audit needs `db` from this module.
    from app.audit.services import tally

    # Counted, not chained: a flood of refused requests must not grow the audit chain.
    tally(
        "throttled",
        account_id=g.get("actor_id"),
        organisation_id=g.get("actor_organisation_id"),
        scope=request.endpoint or "",
    )


# Limits are declared on the views that need them; nothing is limited by default so that
# health checks and static files never share a budget with logins.
limiter = Limiter(key_func=get_remote_address, default_limits=[], on_breach=_audit_throttling)

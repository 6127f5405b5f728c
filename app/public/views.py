"""Pages anyone may see, and the health check."""

from __future__ import annotations

import sqlalchemy as sa
from flask import jsonify, render_template
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.wrappers import Response

from app.auth.guard import public
from app.extensions import db
from app.orgs.services import receiving_team
from app.public import bp


@bp.route("/")
@public
def index() -> str:
    return render_template("public/index.html")


@bp.route("/privacy")
@public
def privacy() -> str:
    return render_template("public/privacy.html")


@bp.route("/accessibility")
@public
def accessibility() -> str:
    return render_template("public/accessibility.html")


@bp.route("/healthz")
@public
def healthz() -> tuple[Response, int]:
    try:
        db.session.execute(sa.text("SELECT 1"))
    except SQLAlchemyError:
        db.session.rollback()
        return jsonify(status="unavailable", database="unavailable"), 503
    # An installation where no exit team receives the public's requests refuses every
    # client: say so where monitoring looks. Still 200, because staff pages work and a load
    # balancer must not take every instance out over a setting.
    if receiving_team() is None:
        return jsonify(status="degraded", database="ok", intake="no_receiving_team"), 200
    return jsonify(status="ok", database="ok", intake="ok"), 200

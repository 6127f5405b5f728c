"""Pages anyone may see, and the health check."""

from __future__ import annotations

import sqlalchemy as sa
from flask import jsonify, render_template
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.wrappers import Response

from app.auth.guard import public
from app.core.keycheck import KeyMismatch, keys_verified
from app.extensions import db, limiter
from app.orgs.services import receiving_team
from app.public import bp
from app.rules import rule
from app.settings import services as site_settings


@bp.route("/")
@public
def index() -> str:
    return render_template("public/index.html")


@bp.route("/privacy")
@public
def privacy() -> str:
    return render_template(
        "public/privacy.html",
        dpo_contact=site_settings.current().dpo_contact,
        child_age=rule("duty_to_report_age_limit"),
        police_age=rule("police_information_age_limit"),
    )


@bp.route("/accessibility")
@public
def accessibility() -> str:
    return render_template(
        "public/accessibility.html",
        reviewed_on=site_settings.current().accessibility_reviewed_on,
    )


@bp.route("/healthz")
@public
def healthz() -> tuple[Response, int]:
    """For load balancers: 503 without the database or with keys it was not written with;
    200 "degraded" while throttling
    counts per process because its shared store does not answer (the portal still serves)."""
    try:
        db.session.execute(sa.text("SELECT 1"))
        keys_verified()
    except SQLAlchemyError:
        db.session.rollback()
        return jsonify(status="unavailable", database="unavailable"), 503
    except KeyMismatch as mismatch:
        db.session.rollback()
        return jsonify(status="unavailable", database="ok", keys=mismatch.variable), 503
    throttling = "ok" if not limiter.enabled or limiter.storage.check() else "per-process"
    # An installation where no exit team receives the public's requests refuses every
    # client: say so where monitoring looks. Still 200, because staff pages work and a load
    # balancer must not take every instance out over a setting.
    intake = "ok" if receiving_team() is not None else "no_receiving_team"
    status = "ok" if (throttling, intake) == ("ok", "ok") else "degraded"
    return jsonify(status=status, database="ok", throttling=throttling, intake=intake), 200

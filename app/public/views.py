"""Pages anyone may see, and the health check."""

from __future__ import annotations

import logging

import sqlalchemy as sa
from flask import current_app, jsonify, redirect, render_template, session
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.wrappers import Response

from app.auth import services as auth_services
from app.auth.forms import ConfirmForm
from app.auth.guard import public
from app.auth.sessions import current_session
from app.core.keycheck import KeyMismatch, keys_verified
from app.extensions import csrf, db, limiter
from app.orgs.services import receiving_team
from app.public import bp
from app.rules import rule
from app.settings import services as site_settings

log = logging.getLogger(__name__)


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


@bp.route("/leave", methods=["POST"])
@public
def leave() -> Response:
    """Quick exit: end the session on the server, forget it in the browser, go elsewhere."""
    target = _leave_target()
    if ConfirmForm().validate_on_submit():
        _end_session_quickly()
    # Whatever the token said: this browser keeps nothing of the visit (the language
    # chosen, a login begun). Without the token the session on the server stays as it
    # was: a forged request can end no one's session there.
    session.clear()
    response = redirect(target, 303)
    # Also drops any page of this site the browser still holds for Back and Forward.
    response.headers["Clear-Site-Data"] = '"cache"'
    return response


# The token is still checked (in the view); exempt only so that a refused token sends the
# person away like any other press of the button instead of stopping them on an error page.
csrf.exempt(leave)


def _leave_target() -> str:
    try:
        return site_settings.current().quick_exit_url
    except SQLAlchemyError:
        db.session.rollback()
        target: str = current_app.config["QUICK_EXIT_URL"]
        return target


def _end_session_quickly() -> None:
    # Leaving must never wait on, or be stopped by, the database: the commit is made here,
    # where its failure can be caught, rather than after the view, where it would replace
    # the way out with an error page. (The request commits nothing else.)
    try:
        user_session = current_session()
        if user_session is not None:
            auth_services.quick_exit(user_session)
            db.session.commit()
    except SQLAlchemyError as error:
        db.session.rollback()
        log.error("quick exit could not end the session: %s", type(error).__name__)


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

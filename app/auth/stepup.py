"""Step-up: sensitive actions ask for a fresh second-factor code."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import ParamSpec, TypeVar

from flask import flash, redirect, request, url_for
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response

from app.auth import services
from app.auth.sessions import require_session
from app.core.urls import safe_next

P = ParamSpec("P")
R = TypeVar("R")
F = TypeVar("F", bound=FlaskForm)


def has_recent_step_up() -> bool:
    return services.step_up_is_recent(require_session())


def step_up_required(view: Callable[P, R]) -> Callable[P, R | Response]:
    """Send the user to re-enter a code unless they did so in the last few minutes.

    After the code, a GET comes back to the page; a POST goes back to the page its form
    named in `back`, so nothing is submitted without the person seeing it again.
    """

    @wraps(view)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R | Response:
        if not has_recent_step_up():
            return _to_step_up()
        return view(*args, **kwargs)

    return wrapper


def decision_step_up(view: Callable[P, R]) -> Callable[P, R | Response]:
    """For decisions confirmed with a code typed beside them (a consent, lowering a
    protection level): an account without authenticator codes confirms with its passkey
    instead, so it is sent to a passkey step-up first, and comes back to the decision,
    whose form then has no code field (without_code)."""

    @wraps(view)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R | Response:
        if not require_session().user.has_totp and not has_recent_step_up():
            return _to_step_up()
        return view(*args, **kwargs)

    return wrapper


def without_code(form: F) -> F:
    """The decision's form, without its code field for an account that confirms with a
    passkey (decision_step_up has made sure the step-up is fresh)."""
    if not require_session().user.has_totp and "code" in form:
        del form.code
    return form


def code_of(form: FlaskForm) -> str | None:
    field = form._fields.get("code")
    return None if field is None else field.data


def code_refused(form: FlaskForm, message: str) -> None:
    """Say why the decision was not taken: beside the code field, or (confirmed by passkey,
    with no field) at the top of the page."""
    field = form._fields.get("code")
    if field is not None:
        field.errors = [message]
    else:
        flash(message, "error")


def _to_step_up() -> Response:
    if request.method == "GET":
        back = request.path
    else:
        back = safe_next(request.form.get("back")) or url_for("home.index")
    return redirect(url_for("auth.step_up", next=back))

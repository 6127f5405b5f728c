"""Step-up: sensitive actions ask for a fresh second-factor code."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from functools import wraps
from typing import ParamSpec, TypeVar

from flask import current_app, redirect, request, url_for
from werkzeug.wrappers import Response

from app.auth.sessions import require_session
from app.core.clock import as_utc, utcnow
from app.core.urls import safe_next

P = ParamSpec("P")
R = TypeVar("R")


def has_recent_step_up() -> bool:
    stepped_up_at = require_session().stepped_up_at
    if stepped_up_at is None:
        return False
    validity: timedelta = current_app.config["STEP_UP_VALIDITY"]
    return utcnow() - as_utc(stepped_up_at) < validity


def step_up_required(view: Callable[P, R]) -> Callable[P, R | Response]:
    """Send the user to re-enter a code unless they did so in the last few minutes.

    After the code, a GET comes back to the page; a POST goes back to the page its form
    named in `back`, so nothing is submitted without the person seeing it again.
    """

    @wraps(view)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R | Response:
        if not has_recent_step_up():
            if request.method == "GET":
                back = request.path
            else:
                back = safe_next(request.form.get("back")) or url_for("home.index")
            return redirect(url_for("auth.step_up", next=back))
        return view(*args, **kwargs)

    return wrapper

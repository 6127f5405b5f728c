"""Deny by default: every endpoint needs a fully authenticated session unless marked here.

Views opt out explicitly with @public (anyone) or @second_factor_pending (a session whose
password was right but whose second factor is still to come). There is no other way in.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal, TypeVar

from flask import Flask, abort, current_app, redirect, request, url_for
from werkzeug.wrappers import Response

from app.auth.sessions import current_session

Access = Literal["public", "second_factor_pending", "authenticated"]
F = TypeVar("F", bound=Callable[..., object])

# Static files carry no data; Flask registers their view itself, so it cannot be decorated.
ALWAYS_PUBLIC_ENDPOINTS = frozenset({"static"})


def public(view: F) -> F:
    view.access = "public"  # type: ignore[attr-defined]
    return view


def second_factor_pending(view: F) -> F:
    view.access = "second_factor_pending"  # type: ignore[attr-defined]
    return view


def access_of(app: Flask, endpoint: str) -> Access:
    if endpoint in ALWAYS_PUBLIC_ENDPOINTS:
        return "public"
    access: Access = getattr(app.view_functions[endpoint], "access", "authenticated")
    return access


def enforce_access() -> Response | None:
    endpoint = request.endpoint
    if endpoint is None:
        return None  # no route matched: routing answers 404/405 without touching data
    access = access_of(current_app, endpoint)
    if access == "public":
        return None
    user_session = current_session()
    if user_session is not None and user_session.is_fully_authenticated:
        return None
    if user_session is not None and access == "second_factor_pending":
        return None
    if user_session is not None:
        # Half-way through a login: finish it before anything else.
        return redirect(url_for("auth.second_factor"))
    if request.method in ("GET", "HEAD"):
        return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
    abort(401)


def init_guard(app: Flask) -> None:
    app.before_request(enforce_access)

"""Translated error pages; never a stack trace."""

from __future__ import annotations

import logging

from flask import Flask, render_template, request
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import HTTPException

from app.extensions import db

log = logging.getLogger(__name__)

MESSAGES = {
    400: (_l("Something in the request was not right"), _l("Go back and try again.")),
    401: (
        _l("Please log in"),
        _l("You need to log in to see this page. If you were logged in, your session has ended."),
    ),
    403: (_l("Not allowed"), _l("You do not have access to this page.")),
    404: (_l("Page not found"), _l("The page does not exist, or you do not have access to it.")),
    405: (_l("Not possible here"), _l("This page cannot be used that way.")),
    409: (
        _l("This can no longer be changed"),
        _l("The request has been closed or withdrawn. Nothing was changed."),
    ),
    413: (_l("Too much at once"), _l("What you sent is too large. Make it shorter and try again.")),
    429: (
        _l("Too many attempts"),
        _l("For your safety, please wait a few minutes before you try again."),
    ),
    500: (
        _l("Something went wrong"),
        _l("Nothing was saved. Please try again in a moment."),
    ),
    503: (
        _l("Temporarily unavailable"),
        _l("The service cannot be reached right now. Nothing was saved. Please try again soon."),
    ),
}
CSRF_MESSAGE = (
    _l("The form had expired"),
    _l(
        "For your safety, forms stop working after a while. Go back, reload the page and try again."
    ),
)


def render_error(status: int, title: object = None, message: object = None) -> tuple[str, int]:
    default_title, default_message = MESSAGES.get(status, MESSAGES[500])
    return (
        render_template(
            "errors/error.html",
            status=status,
            title=title or default_title,
            message=message or default_message,
        ),
        status,
    )


def handle_http_error(error: HTTPException) -> tuple[str, int]:
    status = error.code or 500
    return render_error(status if status in MESSAGES else 400)


def handle_csrf_error(error: CSRFError) -> tuple[str, int]:
    return render_error(400, *CSRF_MESSAGE)


def handle_database_unavailable(error: OperationalError) -> tuple[str, int]:
    db.session.rollback()
    # The exception text may contain query parameters; log its type only.
    log.error(
        "database unavailable during %s %s: %s", request.method, request.path, type(error).__name__
    )
    return render_error(503)


def handle_unexpected(error: Exception) -> tuple[str, int]:
    db.session.rollback()
    log.exception("unhandled error during %s %s", request.method, request.path)
    return render_error(500)


def init_errors(app: Flask) -> None:
    app.register_error_handler(CSRFError, handle_csrf_error)
    app.register_error_handler(HTTPException, handle_http_error)
    app.register_error_handler(OperationalError, handle_database_unavailable)
    app.register_error_handler(Exception, handle_unexpected)

"""Translated error pages; never a stack trace."""

from __future__ import annotations

import logging
from collections.abc import Callable

import sqlalchemy as sa
from flask import (
    Flask,
    current_app,
    g,
    has_request_context,
    make_response,
    render_template,
    request,
    session,
)
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from markupsafe import escape
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError, SQLAlchemyError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response

from app.extensions import db, login_manager

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
    try:
        return _error_page(status, title, message), status
    except SQLAlchemyError:
        # The layout reads the database (who is signed in, the site's settings; even the
        # choice of language does) and the database is gone: draw the page as for a
        # visitor with the default settings, or bare if even that fails.
        _forget_request_state()
        _draw_without_database()
    try:
        return _error_page(status, title, message), status
    except SQLAlchemyError:
        _forget_request_state()
        return _bare_page(status, title, message), status


def _error_page(status: int, title: object, message: object) -> str:
    default_title, default_message = MESSAGES.get(status, MESSAGES[500])
    return render_template(
        "errors/error.html",
        status=status,
        title=title or default_title,
        message=message or default_message,
    )


def _draw_without_database() -> None:
    """Every object this request loaded expired with the rollback, and loading it again
    would only fail again: from here on the page is drawn as for a visitor, with the
    default settings."""
    g.user_session = None
    g._login_user = login_manager.anonymous_user()
    g.site_settings = {}


def _bare_page(status: int, title: object, message: object) -> str:
    """The message without the layout, in the language the browser asks for."""
    default_title, default_message = MESSAGES.get(status, MESSAGES[500])
    languages = current_app.config["PUBLIC_LANGUAGES"]
    locale = request.accept_languages.best_match(languages) or languages[0]
    with force_locale(locale):
        title, message = str(title or default_title), str(message or default_message)
    return (
        f'<!doctype html><html lang="{escape(locale)}"><head><meta charset="utf-8">'
        f"<title>{escape(title)}</title></head>"
        f"<body><h1>{escape(title)}</h1><p>{escape(message)}</p></body></html>"
    )


def handle_http_error(error: HTTPException) -> tuple[str, int]:
    status = error.code or 500
    return render_error(status if status in MESSAGES else 400)


def handle_csrf_error(error: CSRFError) -> tuple[str, int]:
    return render_error(400, *CSRF_MESSAGE)


def is_database_unavailable(error: Exception) -> bool:
    """The database could not be reached or the connection broke (as opposed to a bug or a
    constraint): the person can only wait and try again."""
    if isinstance(error, OperationalError | InterfaceError | PoolTimeout):
        return True
    return isinstance(error, DBAPIError) and error.connection_invalidated


def _forget_request_state() -> None:
    """Leave nothing of the failed attempt behind for the error page or the next page."""
    try:
        db.session.rollback()
    except SQLAlchemyError:
        db.session.close()
    # A flash such as "Your message was sent" was queued for the next page; it is not true.
    session.pop("_flashes", None)


def handle_database_error(error: SQLAlchemyError) -> Response:
    _forget_request_state()
    if not is_database_unavailable(error):
        log.exception("database error during %s %s", request.method, request.endpoint)
        return make_response(render_error(500))
    # The exception text may contain query parameters; log its type only. The endpoint, not
    # the path: a path can carry a single-use link.
    log.error(
        "database unavailable during %s %s: %s",
        request.method,
        request.endpoint,
        type(error).__name__,
    )
    _draw_without_database()
    return make_response(render_error(503))


KEPT_ON_REFUSAL = "writes_kept_on_refusal"


def keep_on_refusal(write: Callable[[], object]) -> None:
    """Register a write that must outlast a refusal of this request: it is done again after
    the refusal's rollback (see finish_transaction).

    For the few facts a refusal itself establishes: the audit event that records it, the
    revocation of an expired session that was presented. Outside a request (a CLI
    command) there is no refusal to outlast and nothing is registered.
    """
    if has_request_context():
        g.setdefault(KEPT_ON_REFUSAL, []).append(write)


BEFORE_COMMIT = "writes_before_commit"


def before_commit(write: Callable[[], object]) -> None:
    """Register a write done when the view has succeeded, just before the request's commit
    (see finish_transaction); a refused request rolls back without it."""
    if has_request_context():
        g.setdefault(BEFORE_COMMIT, []).append(write)


def finish_transaction(response: Response) -> Response:
    """One commit per request, after the view has succeeded.

    A refusal (4xx) writes nothing of what the view did before it refused: a view that
    saved half a form and then answered 400 would otherwise leave that half behind. The
    transaction is rolled back and only the writes registered with `keep_on_refusal` (its
    audit events above all: who was refused what must survive) are done again and
    committed. Redone after the rollback, audit events are chained anew from the head as
    it is then, so the chain stays whole.

    If the commit itself fails, the view's answer (a redirect to "sent", say) would be a lie:
    it is replaced by the error page, which says that nothing was saved.
    """
    if response.status_code >= 500:
        _forget_request_state()
        return response
    kept: list[Callable[[], object]] = g.pop(KEPT_ON_REFUSAL, [])
    last: list[Callable[[], object]] = g.pop(BEFORE_COMMIT, [])
    try:
        if response.status_code >= 400:
            db.session.rollback()
            for write in kept:
                write()
        else:
            for write in last:
                write()
        db.session.commit()
    except SQLAlchemyError as error:
        return handle_database_error(error)
    return response


def handle_unexpected(error: Exception) -> tuple[str, int]:
    _forget_request_state()
    log.exception("unhandled error during %s %s", request.method, request.endpoint)
    return render_error(500)


def _forget_kept_writes(_session: object) -> None:
    """What a commit has made permanent must not be written a second time by a refusal
    that comes after it (nothing in a request commits before the end today; this keeps it
    right if something does)."""
    if has_request_context():
        g.pop(KEPT_ON_REFUSAL, None)


def init_errors(app: Flask) -> None:
    if not sa.event.contains(db.session, "after_commit", _forget_kept_writes):
        sa.event.listen(db.session, "after_commit", _forget_kept_writes)
    app.register_error_handler(CSRFError, handle_csrf_error)
    app.register_error_handler(HTTPException, handle_http_error)
    app.register_error_handler(SQLAlchemyError, handle_database_error)
    app.register_error_handler(Exception, handle_unexpected)

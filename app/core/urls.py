"""Where links point: redirects stay on this site, and links that leave it (in a mail or a
calendar file) start at the configured BASE_URL.

Nothing here reads the request's Host or X-Forwarded-Host: whoever sends the request
chooses those, and a mail that carries a join link to a host of their choosing hands them
the token.
"""

from typing import Any
from urllib.parse import urlsplit

from flask import Flask, current_app, request
from werkzeug.routing import RequestRedirect


def safe_next(target: str | None) -> str | None:
    """A local path to go to after login, or None for anything that could leave the site.

    Refuses absolute URLs, scheme-relative `//host`, backslash tricks that browsers read
    as `//host`, and control characters.
    """
    if not target or len(target) > 500:
        return None
    if any(ch in target for ch in "\\\r\n\t") or any(ord(ch) < 32 for ch in target):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


def external_url(endpoint: str, **values: Any) -> str:
    """An absolute link to `endpoint` for use outside the portal (mail, calendar files).

    Built from BASE_URL alone, so it is the same in a request, in a CLI job and whatever
    Host header came with the request.
    """
    base = urlsplit(current_app.config["BASE_URL"])
    adapter = current_app.url_map.bind(
        base.netloc, script_name=base.path or "/", url_scheme=base.scheme
    )
    return adapter.build(endpoint, values, force_external=True)


def local_path(url: str) -> str:
    """The path and query of `url`, as one path that cannot be read as `//host`."""
    parts = urlsplit(url)
    path = "/" + parts.path.lstrip("/")
    return f"{path}?{parts.query}" if parts.query else path


def _relative_routing_redirects() -> None:
    # Werkzeug answers `/my` with a redirect to `/my/` (and merges doubled slashes) by an
    # absolute URL made from the Host header. Redirects in this portal are relative
    # (Werkzeug no longer makes Location absolute), so this one is made relative too.
    exception = request.routing_exception
    if isinstance(exception, RequestRedirect):
        replacement = RequestRedirect(local_path(exception.new_url))
        replacement.code = exception.code
        request.routing_exception = replacement


def init_urls(app: Flask) -> None:
    app.before_request(_relative_routing_redirects)

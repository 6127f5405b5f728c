"""Security headers on every response."""

import re
from urllib.parse import urlsplit

from flask import Flask, g, request
from werkzeug.wrappers import Response


def content_security_policy(form_targets: tuple[str, ...] = ()) -> str:
    return "; ".join(
        [
            "default-src 'none'",
            "script-src 'self'",
            "style-src 'self'",
            "img-src 'self'",
            # Quick exit ends the session with a background request from the page (it must
            # not wait for the answer before leaving), and the passkey script fetches its
            # ceremony's options: both from this site only.
            "connect-src 'self'",
            # The Ethiopic font of the Tigrinya pages, served by the portal itself.
            "font-src 'self'",
            " ".join(["form-action 'self'", *form_targets]),
            "frame-ancestors 'none'",
            "base-uri 'none'",
        ]
    )


CONTENT_SECURITY_POLICY = content_security_policy()
FORM_TARGETS_KEY = "csp_form_targets"
PLAIN_HOST = re.compile(r"^[a-z0-9.-]+$")


def allow_form_redirect_to(url: str) -> None:
    """Let a form on this page end, after our redirect, at the site of `url`.

    Browsers hold the whole redirect chain of a form's submission to form-action: the
    quick-exit form posts here and is sent on to an ordinary site, which without this
    is refused and leaves the person on the page they wanted to leave. Only a plain
    http(s) host (and port) is added; anything else in the address stays out of the header.
    """
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.scheme not in ("http", "https") or not PLAIN_HOST.match(host):
        return
    try:
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return
    targets: list[str] = g.setdefault(FORM_TARGETS_KEY, [])
    source = f"{parts.scheme}://{host}{port}"
    if source not in targets:
        targets.append(source)


PERMISSIONS_POLICY = ", ".join(
    f"{feature}=()"
    for feature in (
        "accelerometer",
        "camera",
        "geolocation",
        "gyroscope",
        "magnetometer",
        "microphone",
        "payment",
        "usb",
    )
)

STATIC_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    # Same-origin, not no-referrer: CSRF protection over HTTPS checks that a form was posted
    # from our own pages by the Referer, and other sites still learn nothing of where
    # someone came from.
    "Referrer-Policy": "same-origin",
    "Permissions-Policy": PERMISSIONS_POLICY,
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Cross-Origin-Embedder-Policy": "require-corp",
}


def add_security_headers(response: Response) -> Response:
    response.headers.update(STATIC_HEADERS)
    form_targets = g.get(FORM_TARGETS_KEY)
    if form_targets:
        response.headers["Content-Security-Policy"] = content_security_policy(tuple(form_targets))
    # Nothing is cached, static files included: on a shared or watched phone the browser
    # cache is evidence of a visit.
    response.headers["Cache-Control"] = "no-store"
    response.headers["Pragma"] = "no-cache"
    if request.is_secure:
        response.headers["Strict-Transport-Security"] = "max-age=63072000; includeSubDomains"
    return response


def init_headers(app: Flask) -> None:
    app.after_request(add_security_headers)

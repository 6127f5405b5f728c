"""A visitor who only reads the public pages gets no cookie; one who changes language or
starts to log in or register gets one, under a name that does not name the service."""

from __future__ import annotations

import pytest

from app.auth.guard import access_of

# Public pages with a form: whoever opens them has started to log in, register or join,
# and the form's CSRF token lives in the session cookie.
FORM_PAGES = {"auth.login", "intake.register", "join.join", "feedback.report"}


def public_pages(app):
    for rule in app.url_map.iter_rules():
        if access_of(app, rule.endpoint) != "public" or "GET" not in rule.methods:
            continue
        if rule.endpoint in FORM_PAGES:
            continue
        if rule.endpoint == "static":
            yield "/static/css/app.css"
        elif not rule.arguments:
            yield rule.rule


def test_there_are_public_pages_to_walk(app):
    pages = set(public_pages(app))
    assert {"/", "/privacy", "/accessibility", "/healthz", "/static/css/app.css"} <= pages


@pytest.mark.parametrize("language", ["sv", "ar", "ti"])
def test_no_public_page_sets_a_cookie(app, language):
    """Given a visitor without a session, no public page (nor a missing one) sets a cookie."""
    client = app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = language
    for page in [*public_pages(app), "/no-such-page", "/my/no-such-page"]:
        response = client.get(page)
        assert response.status_code < 500, page
        assert response.headers.getlist("Set-Cookie") == [], page
    assert client.get_cookie("s") is None and client.get_cookie("utvag") is None


def test_choosing_a_language_sets_a_neutral_cookie(app):
    client = app.test_client()
    response = client.get("/?lang=ar")
    (cookie,) = response.headers.getlist("Set-Cookie")
    assert cookie.startswith("s=")
    assert "utvag" not in cookie.lower() and "utväg" not in cookie.lower()


@pytest.mark.parametrize("page", ["/login", "/my/register"])
def test_starting_to_log_in_or_register_sets_the_neutral_cookie(app, page):
    response = app.test_client().get(page)
    (cookie,) = response.headers.getlist("Set-Cookie")
    assert cookie.startswith("s=") and "HttpOnly" in cookie


def test_the_production_cookie_name_is_neutral_too(settings):
    from dataclasses import replace

    from app import flask_config

    assert flask_config(replace(settings, secure_cookies=True))["SESSION_COOKIE_NAME"] == "__Host-s"

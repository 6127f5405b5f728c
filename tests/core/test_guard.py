"""Deny by default: walk every route, anonymous and half-logged-in."""

from urllib.parse import parse_qs, urlsplit

from app.auth.guard import access_of

# Adding a public route means adding it here, on purpose.
EXPECTED_PUBLIC = {
    "static",
    "public.index",
    "public.privacy",
    "public.accessibility",
    "feedback.report",
    "public.healthz",
    # Quick exit: it must work for anyone, a session that has just expired included.
    "public.leave",
    "auth.login",
    "intake.register",
    "join.join",
}
EXPECTED_SECOND_FACTOR_PENDING = {
    "auth.second_factor",
    "auth.recovery",
    "auth.enrol",
    "auth.logout",
    "auth.passkey_login_options",
    "auth.passkey_login",
    "auth.enrol_passkey_options",
    "auth.enrol_passkey",
}
PLACEHOLDER_ID = "00000000-0000-0000-0000-000000000000"


def routes(app):
    for rule in app.url_map.iter_rules():
        values = {arg: PLACEHOLDER_ID for arg in rule.arguments}
        if "slug" in rule.arguments:  # a case's part: one of a few names, not an id
            values["slug"] = "identity"
        if rule.endpoint == "static":
            values = {"filename": "css/app.css"}
        url = rule.build(values)[1]
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            yield rule.endpoint, method, url


def test_the_public_list_is_exactly_what_is_expected(app):
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules()}
    public = {e for e in endpoints if access_of(app, e) == "public"}
    pending = {e for e in endpoints if access_of(app, e) == "second_factor_pending"}
    assert public == EXPECTED_PUBLIC
    assert pending == EXPECTED_SECOND_FACTOR_PENDING


def assert_refused(response, endpoint, method, url):
    if method == "GET":
        # A person who follows a link is sent to log in and brought back afterwards; a bare
        # 401 would leave them on an error page.
        assert response.status_code == 302, (endpoint, method, response.status_code)
        location = urlsplit(response.headers["Location"])
        assert location.path == "/login", (endpoint, location)
        assert parse_qs(location.query).get("next") == [url], (endpoint, location)
    else:
        # Other methods carry no page to come back to: refused (by the guard, or first by
        # the CSRF check), never served.
        assert response.status_code in (400, 401), (endpoint, method, response.status_code)


def test_every_non_public_route_refuses_anonymous_visitors(app, browser):
    """Given no session, every route not on the public list answers GET with a redirect to
    the login page (and back afterwards) and any other method with 400/401."""
    checked = 0
    for endpoint, method, url in routes(app):
        if endpoint in EXPECTED_PUBLIC:
            continue
        response = browser.client.open(url, method=method)
        assert_refused(response, endpoint, method, url)
        checked += 1
    assert checked > 100


def test_every_protected_route_refuses_a_half_logged_in_session(app, browser, make_account):
    account = make_account()
    browser.post("/login", {"username": account.username, "password": account.password})
    for endpoint, method, url in routes(app):
        if endpoint in EXPECTED_PUBLIC | EXPECTED_SECOND_FACTOR_PENDING:
            continue
        response = browser.client.open(url, method=method)
        assert response.status_code in (302, 400), (endpoint, method, response.status_code)
        if response.status_code == 302:
            assert response.headers["Location"].endswith("/login/code"), (endpoint, method)

"""Every response carries the security headers, whoever asks and whatever the status."""

import pytest

# Written out in full, not imported from the code: a directive loosened there (say,
# `script-src 'self' https:`) or a header dropped must fail here.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; font-src 'self'; form-action 'self'; frame-ancestors 'none'; "
    "base-uri 'none'"
)
PERMISSIONS_POLICY = (
    "accelerometer=(), camera=(), geolocation=(), gyroscope=(), magnetometer=(), "
    "microphone=(), payment=(), usb=()"
)
REQUIRED = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Permissions-Policy": PERMISSIONS_POLICY,
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Cross-Origin-Embedder-Policy": "require-corp",
    "Cache-Control": "no-store",
    "Pragma": "no-cache",
}
HSTS = "max-age=63072000; includeSubDomains"
# A page with the quick-exit form (whoever has our cookie) lets that form's submission be
# sent on to the neutral site, and only there; every other directive stays as it is.
QUICK_EXIT_CSP = CONTENT_SECURITY_POLICY.replace(
    "form-action 'self'", "form-action 'self' https://www.svt.se"
)


def assert_secure_headers(response):
    html = response.get_data(as_text=True) if response.mimetype == "text/html" else ""
    for name, value in REQUIRED.items():
        if name == "Content-Security-Policy" and 'class="quick-exit-form"' in html:
            value = QUICK_EXIT_CSP
        assert response.headers.getlist(name) == [value], name
    assert "Strict-Transport-Security" not in response.headers  # plain HTTP here


def all_get_urls(app):
    for rule in app.url_map.iter_rules():
        if "GET" in rule.methods:
            yield rule.build(
                {arg: "00000000-0000-0000-0000-000000000000" for arg in rule.arguments}
                | ({"filename": "css/app.css"} if rule.endpoint == "static" else {})
                | ({"slug": "identity"} if "slug" in rule.arguments else {})
            )[1]


def test_every_page_carries_the_headers_anonymous(app, browser):
    urls = [*all_get_urls(app), "/no-such-page"]
    for url in urls:
        assert_secure_headers(browser.client.get(url))


def test_every_page_carries_the_headers_logged_in(app, browser, make_account, log_in):
    log_in(browser, make_account())
    for url in all_get_urls(app):
        assert_secure_headers(browser.client.get(url))


def test_errors_carry_the_headers_too(browser):
    assert_secure_headers(browser.client.post("/login", data={}))  # CSRF refusal
    assert_secure_headers(browser.client.delete("/login"))


@pytest.mark.parametrize("secure", [True, False])
def test_hsts_only_over_https(browser, secure):
    response = browser.client.get(
        "/", base_url="https://localhost" if secure else "http://localhost"
    )
    assert response.headers.get("Strict-Transport-Security") == (HSTS if secure else None)
    for name, value in REQUIRED.items():
        assert response.headers.getlist(name) == [value], name


def test_session_cookie_is_httponly_and_samesite(browser):
    response = browser.client.get("/login")
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie


def test_forms_work_over_https_because_our_own_pages_send_a_referer(app):
    """Over HTTPS the CSRF check also wants a same-site Referer: the referrer policy must
    let our pages send one (no-referrer would break every form behind TLS)."""
    client = app.test_client()
    base = "https://portal.test"
    page = client.get("/login", base_url=base).get_data(as_text=True)
    token = page.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
    form = {"csrf_token": token, "username": "nobody", "password": "wrong-password-here"}
    without = client.post("/login", base_url=base, data=form)
    assert without.status_code == 400  # what a browser under no-referrer would get
    with_referer = client.post(
        "/login", base_url=base, data=form, headers={"Referer": f"{base}/login"}
    )
    assert with_referer.status_code == 401  # the form went through: the password is wrong


def test_only_the_quick_exit_form_widens_form_action(app, browser, organisation):
    """Given a visitor without a cookie, the policy is the strict one; once the page carries
    the quick-exit form, form-action names the neutral site as well, and nothing else
    changes (connect-src stays our own, for the same form's background request)."""
    first = browser.client.get("/")
    assert first.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    browser.client.get("/?lang=en")  # now the browser holds our cookie
    second = browser.client.get("/")
    assert 'class="quick-exit-form"' in second.get_data(as_text=True)
    assert second.headers["Content-Security-Policy"] == QUICK_EXIT_CSP


@pytest.mark.parametrize(
    "target",
    ["https://evil.example;script-src *", "javascript:alert(1)", "https://a b", "https://"],
)
def test_a_strange_quick_exit_target_never_reaches_the_policy(app, target):
    from flask import g

    from app.core.headers import FORM_TARGETS_KEY, allow_form_redirect_to

    with app.test_request_context():
        allow_form_redirect_to(target)
        assert g.get(FORM_TARGETS_KEY, []) == []
        allow_form_redirect_to("https://www.example.org:8443/weather?x=1")
        assert g.get(FORM_TARGETS_KEY) == ["https://www.example.org:8443"]

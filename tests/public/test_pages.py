"""Public pages, the health check and the translated error pages."""

from dataclasses import replace

from app import create_app


def test_the_landing_page_is_public_and_says_112(browser):
    response = browser.get("/")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "112" in html
    assert 'id="quick-exit"' in html


def test_health_reports_the_database(browser, organisation):
    response = browser.client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {
        "status": "ok",
        "database": "ok",
        "throttling": "ok",
        "intake": "ok",
    }


def test_health_reports_throttling_that_counts_per_process(settings, organisation):
    """Given a Redis that does not answer, the portal serves and says it is degraded."""
    degraded = create_app(replace(settings, ratelimit_storage_uri="redis://127.0.0.1:1/0"))
    response = degraded.test_client().get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {
        "status": "degraded",
        "database": "ok",
        "throttling": "per-process",
        "intake": "ok",
    }


def test_health_reports_an_unreachable_database(settings):
    broken = create_app(
        replace(settings, database_url="postgresql+psycopg://nobody@127.0.0.1:1/none")
    )
    response = broken.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.get_json()["database"] == "unavailable"


def test_an_unreachable_database_gives_a_clear_503_page(settings):
    broken = create_app(
        replace(settings, database_url="postgresql+psycopg://nobody@127.0.0.1:1/none")
    )
    client = broken.test_client()
    client.get("/login")
    with client.session_transaction() as session:
        session["sid"] = "some-token"
    response = client.get("/start/")
    assert response.status_code == 503
    assert "Traceback" not in response.get_data(as_text=True)


def test_missing_pages_get_a_translated_404(browser):
    response = browser.client.get("/no-such-page?lang=sv")
    assert response.status_code == 404
    assert "<h1>" in response.get_data(as_text=True)


def test_a_post_without_csrf_token_is_refused_with_a_message(browser):
    response = browser.client.post("/login", data={"username": "x", "password": "y"})
    assert response.status_code == 400
    assert "The form had expired" in response.get_data(as_text=True)


def test_a_stale_csrf_token_is_refused(browser):
    response = browser.client.post(
        "/login", data={"csrf_token": "IjAwMCI.stale.token", "username": "x", "password": "y"}
    )
    assert response.status_code == 400


def test_a_wrong_method_gets_405(browser):
    assert browser.client.put("/login").status_code == 405


def test_a_huge_body_gets_413(browser):
    response = browser.post("/login", {"username": "x", "password": "y" * 2_000_000})
    assert response.status_code == 413
    assert "Too much at once" in response.get_data(as_text=True)


def test_empty_login_fields_get_clear_messages(browser):
    response = browser.post("/login", {"username": "", "password": ""})
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "Enter your username." in html
    assert "Enter your password." in html
    assert 'aria-invalid="true"' in html


def test_an_unexpected_error_gives_a_translated_500_without_a_trace(app, browser):
    def explode() -> str:
        raise RuntimeError("internal detail that must not leak")

    from app.auth.guard import public

    app.add_url_rule("/explode", "explode", public(explode))
    response = browser.client.get("/explode", headers={"Accept-Language": "sv"})
    assert response.status_code == 500
    html = response.get_data(as_text=True)
    assert "internal detail" not in html and "Traceback" not in html
    assert "Något gick fel" in html
    assert response.headers["Cache-Control"] == "no-store"


def test_a_forbidden_page_is_a_translated_403(browser, make_account, log_in):
    log_in(browser, make_account())
    response = browser.client.get("/admin/users", headers={"Accept-Language": "sv"})
    assert response.status_code == 403
    assert '<html lang="sv"' in response.get_data(as_text=True)

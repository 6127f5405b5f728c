"""Every public and client page, HTML plus CSS and script, stays within 30 KB for cheap
phones, in every language the public side offers (Persian and Tigrinya are the heaviest)."""

import sqlalchemy as sa

from app.extensions import db
from app.intake.models import ClientRequest

LIMIT = 30 * 1024


def weight(browser, url):
    html = browser.get(url)
    assert html.status_code == 200, url
    css = browser.client.get("/static/css/app.css")
    script = browser.client.get("/static/js/quick-exit.js")
    return len(html.get_data()) + len(css.get_data()) + len(script.get_data())


def test_public_pages_are_light(app, browser, organisation):
    languages = app.config["PUBLIC_LANGUAGES"]
    assert {"sv", "en", "ar", "fa", "ti"} <= set(languages)
    for language in languages:
        browser.client.get(f"/?lang={language}")
        for url in ("/", "/privacy", "/accessibility", "/login", "/my/register"):
            assert weight(browser, url) <= LIMIT, (language, url)


def test_client_pages_are_light(app, client_browser, fill_request):
    fill_request(client_browser)
    with app.app_context():
        request_id = db.session.scalars(sa.select(ClientRequest.id)).one()
    with_request = [
        "/my/",
        f"/my/requests/{request_id}",
        "/my/notifications",
        "/my/data",
        "/my/delete",
    ]
    steps = [
        f"/my/request/{step}"
        for step in ("kind", "person", "help", "contact", "identity", "story", "review")
    ]
    languages = app.config["PUBLIC_LANGUAGES"]
    assert "fa" in languages

    def check(pages):
        for language in languages:
            client_browser.client.get(f"/my/?lang={language}")
            for url in pages:
                page = client_browser.client.get(url)
                assert f'lang="{language}"' in page.get_data(as_text=True)[:300], (language, url)
                assert weight(client_browser, url) <= LIMIT, (language, url)

    check(with_request)
    # A new request's steps are open once the first one is no longer open.
    client_browser.post(f"/my/requests/{request_id}/withdraw", {})
    client_browser.post("/my/request/kind", {"kind": "relative"})
    check(steps)

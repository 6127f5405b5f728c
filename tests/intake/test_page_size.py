"""Every public and client page, HTML plus CSS, stays within 30 KB for cheap phones."""

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


def test_public_pages_are_light(browser, organisation):
    for language in ("sv", "ar", "ti"):
        browser.client.get(f"/?lang={language}")
        for url in ("/", "/privacy", "/accessibility", "/login", "/my/register"):
            assert weight(browser, url) <= LIMIT, (language, url)


def test_client_pages_are_light(app, client_browser, fill_request):
    fill_request(client_browser)
    with app.app_context():
        request_id = db.session.scalars(sa.select(ClientRequest.id)).one()
    client_browser.post("/my/request/kind", {"kind": "relative"})
    pages = [
        "/my/",
        *(
            f"/my/request/{step}"
            for step in ("kind", "person", "help", "contact", "identity", "story", "review")
        ),
        f"/my/requests/{request_id}",
        "/my/notifications",
        "/my/data",
        "/my/delete",
    ]
    for url in pages:
        assert weight(client_browser, url) <= LIMIT, url

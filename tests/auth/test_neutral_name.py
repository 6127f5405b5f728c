"""Nothing on a client's phone names the portal: not the authenticator entry, not a page.

The tab title was neutral already; the header, the authenticator app's entry (the issuer and
account label of the otpauth:// address) and the code page's text now use the same neutral
name from the site settings, so a searched phone shows "Kontakt" (or what the team chose).
"""

from __future__ import annotations

import re
from urllib.parse import parse_qs, unquote, urlsplit

import pyotp
import sqlalchemy as sa
from werkzeug.routing import Rule

from app.auth.models import Role
from app.extensions import db
from app.intake.models import ClientRequest
from app.messages import services as message_services
from app.settings import services as site_settings
from tests.conftest import PASSWORD

PORTAL_NAMES = ("Utväg", "Utvag", "UTVÄG", "utväg")
OTPAUTH_LINK = re.compile(r'id="open-authenticator" href="(otpauth://[^"]+)"')


def otpauth_of(enrol_page: str) -> str:
    match = OTPAUTH_LINK.search(enrol_page)
    assert match, "the enrolment page has no button that opens the authenticator app"
    return match.group(1).replace("&amp;", "&")


def label_and_issuer(uri: str) -> tuple[str, str]:
    parts = urlsplit(uri)
    return unquote(parts.path.lstrip("/")), parse_qs(parts.query)["issuer"][0]


def registered(browser):
    response = browser.post("/my/register", {"password": PASSWORD, "confirm_password": PASSWORD})
    assert response.status_code == 302
    return browser.get("/login/enrol").get_data(as_text=True)


def test_the_authenticator_entry_of_a_client_has_the_neutral_name(app, browser, organisation):
    # Given a new client on the enrolment page, on an installation with the default title
    page = registered(browser)
    uri = otpauth_of(page)
    label, issuer = label_and_issuer(uri)
    # Then the app would list the account under the neutral name, and never the portal's
    assert issuer == app.config["NEUTRAL_TITLE"] == "Kontakt"
    assert label.startswith("Kontakt:")
    assert not any(name in unquote(uri) for name in PORTAL_NAMES)
    # And the address carries the same key the page shows first, ready for the same phone
    key = page.split('<p class="secret-key" lang="en" dir="ltr"><code>')[1].split("<")[0]
    assert pyotp.parse_uri(uri).secret == key.replace(" ", "")
    assert page.index('class="secret-key"') < page.index('class="qr"')
    assert "another device" in page


def test_the_entry_follows_the_title_the_administrator_chose(app, browser, organisation):
    with app.app_context():
        site_settings.save({"neutral_title": "Bokning"}, None)
        db.session.commit()
    uri = otpauth_of(registered(browser))
    assert label_and_issuer(uri)[1] == "Bokning"
    assert "Bokning" in browser.get("/login/enrol").get_data(as_text=True).split("</header>")[0]


def test_staff_enrolment_uses_the_neutral_name_too(app, browser, make_account):
    # A new staff member has no second factor yet: the password sends them to enrolment
    account = make_account(Role.CASEWORKER, enrolled=False)
    browser.post("/login", {"username": account.username, "password": account.password})
    page = browser.get("/login/enrol").get_data(as_text=True)
    assert label_and_issuer(otpauth_of(page)) == (f"Kontakt:{account.username}", "Kontakt")
    assert not any(name in page for name in PORTAL_NAMES)


# What a client can open; the arguments are those of the client's own objects.
CLIENT_BLUEPRINTS = ("public", "auth", "intake", "messages", "account", "home", "consent")


def client_get_urls(app, values: dict[str, str]) -> list[str]:
    urls = []
    with app.test_request_context():
        from flask import url_for

        rule: Rule
        for rule in app.url_map.iter_rules():
            if "GET" not in (rule.methods or ()) or rule.endpoint.split(".")[0] not in (
                CLIENT_BLUEPRINTS
            ):
                continue
            if not all(argument in values for argument in rule.arguments):
                continue
            urls.append(url_for(rule.endpoint, **{a: values[a] for a in rule.arguments}))
    return urls


def test_no_client_page_names_the_portal_in_any_language(
    app, client_browser, fill_request, new_browser, make_account
):
    # Given a client with a submitted request and a message from the team, and a second
    # person half-way through registering (the pages before the account is whole)
    fill_request(client_browser)
    with app.app_context():
        request = db.session.scalars(sa.select(ClientRequest)).one()
        owner = db.session.get(
            type(request.client), make_account(Role.CASEWORKER, username="svarare").id
        )
        message_services.send_from_team(request, owner, "Hej, vi ringer i morgon.")
        db.session.commit()
        request_id = str(request.id)
    newcomer = new_browser()
    registered(newcomer)
    half_way = new_browser()
    half_way.post("/login", {"username": client_browser.username, "password": PASSWORD})

    values = {"request_id": request_id, "step": "kind"}
    urls = client_get_urls(app, values)
    for required in (
        "/my/register",
        "/login",
        "/my/",
        "/my/request/kind",
        "/account/",
        f"/my/requests/{request_id}",
    ):
        assert required in urls, required

    seen: dict[str, int] = {}
    leaks = []
    for language in app.config["PUBLIC_LANGUAGES"]:
        for who in (client_browser, newcomer, half_way):
            who.client.environ_base["HTTP_ACCEPT_LANGUAGE"] = language
        pages = [(url, client_browser) for url in urls]
        pages += [("/my/register", new_browser()), ("/login", new_browser())]
        pages += [("/login/enrol", newcomer), ("/login/code", half_way)]
        pages += [("/login/recovery", half_way)]
        for url, who in pages:
            response = who.client.get(url)
            # 409: the request steps while the client's request is open answer with a page
            # saying so, which is what this client sees there.
            if response.status_code not in (200, 409) or not response.mimetype.endswith("html"):
                continue
            seen[url] = seen.get(url, 0) + 1
            html = response.get_data(as_text=True)
            leaks += [f"{language} {url}: {name}" for name in PORTAL_NAMES if name in html]
    assert not leaks, "\n".join(leaks)
    # Every page of the journey was really looked at, in every language
    # (the messages with the team are on the request's own page)
    for url in (
        "/my/register",
        "/login",
        "/login/enrol",
        "/login/code",
        "/login/recovery",
        "/my/",
        "/my/request/kind",
        f"/my/requests/{request_id}",
        "/account/",
    ):
        assert seen.get(url, 0) >= len(app.config["PUBLIC_LANGUAGES"]), (url, seen.get(url))

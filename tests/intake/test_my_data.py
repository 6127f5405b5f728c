"""The client's own data page reads in their language; the file stays for machines."""

import re

import sqlalchemy as sa

from app.extensions import db
from app.intake.models import ClientRequest

# Keys and codes of the JSON file: none of them may reach a person reading the page.
MACHINE_WORDS = (
    "defector",
    "relative",
    "voicemail_ok",
    "sms_ok",
    "interpreter_needed",
    "help_wanted",
    "support_talks",
    "relocation",
    "weekday_evening",
    "received",
    "soon",
    "True",
    "False",
    "None",
    "contact_language",
    "submitted_at",
)


def main_of(html):
    return html.split("<main", 1)[1].split("</main>", 1)[0]


def test_the_arabic_page_keeps_the_phone_number_in_order(app, client_browser, fill_request):
    """Given a client reading in Arabic (right to left), their phone number, reference and
    username are isolated left to right, so "070-123 45 67" is never shown as
    "67 45 070-123"."""
    fill_request(client_browser)
    client_browser.client.get("/my/?lang=ar")
    html = client_browser.get("/my/data").get_data(as_text=True)
    assert '<html lang="ar" dir="rtl">' in html
    assert '<bdi dir="ltr">070-123 45 67</bdi>' in html
    with app.app_context():
        reference = db.session.scalars(sa.select(ClientRequest.reference)).one()
    assert f'<bdi dir="ltr">{reference}</bdi>' in html
    assert f'<bdi dir="ltr">{client_browser.username}</bdi>' in html


def test_the_somali_page_shows_no_machine_keys_or_codes(app, client_browser, fill_request):
    fill_request(client_browser, contact={"voicemail_ok": "yes"})
    client_browser.post("/my/notifications", {"email": "sara@example.org"})
    client_browser.client.get("/my/?lang=so")
    page = main_of(client_browser.get("/my/data").get_data(as_text=True))
    text = re.sub(r"<[^>]+>", " ", page)
    for word in MACHINE_WORDS:
        assert not re.search(rf"\b{word}\b", text), word
    # Timestamps are dates for people, not ISO strings with microseconds.
    assert not re.search(r"\d{4}-\d{2}-\d{2}T", text)
    assert not re.search(r"\.\d{6}", text)
    # The answers are there, in words: the help chosen, the yes to voice messages.
    assert "Xogtaada" in page  # "Your data"
    assert text.count("Haa") >= 1  # "Yes"


def test_the_page_shows_every_answer_and_the_story_in_its_own_direction(
    client_browser, fill_request
):
    fill_request(client_browser, identity={"name": "Sara", "birth_year": "1998"})
    page = main_of(client_browser.get("/my/data").get_data(as_text=True))
    for shown in (
        "I want to leave crime",
        "Someone to talk to and Help to move somewhere safe, with housing and support",
        "Within a few days",
        "Weekdays, evening",
        "Svenska",
        "<bdi>blåbär</bdi>",
        "<bdi>Sara</bdi>",
        '<bdi dir="ltr">1998</bdi>',
        '<dd class="story" dir="auto">Jag vill komma bort från gänget innan det är för sent.</dd>',
        "Received",
    ):
        assert shown in page, shown


def test_the_json_file_keeps_machine_keys_and_whole_seconds(client_browser, fill_request):
    fill_request(client_browser)
    data = client_browser.get("/my/data.json").get_json()
    request = data["requests"][0]
    assert request["kind"] == "defector" and request["voicemail_ok"] is False
    for moment in (data["account"]["created_at"], request["submitted_at"]):
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00", moment), moment

"""What people wrote runs in its own direction; dates and lists read right in every language."""

import re
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from flask_babel import force_locale

from app.auth.models import Role
from app.i18n import local_date, local_datetime, local_list, local_number
from app.templating import intervention_labels

TEMPLATES = Path(__file__).resolve().parents[2] / "app" / "templates"
PUBLIC_LANGUAGES = ["sv", "en", "ar", "fa", "so", "bs", "pl", "ku", "tr", "ti"]
PERSIAN_STORY = "می‌خواهم از گروه بیرون بیایم.\nلطفاً بعد از ساعت ۶ زنگ بزنید."
# A day and a month that can be swapped: 12 June must never read as 6 December.
DAY = date(2026, 6, 12)
FIGURES_ONLY = re.compile(r"\d{1,4}\W{1,3}\d{1,2}\W{1,3}\d{2,4}")


def element_of(html, text):
    """The opening tag of the innermost element whose text starts with `text`."""
    index = html.index(text)
    return html[html.rindex("<", 0, index) : html.index(">", html.rindex("<", 0, index)) + 1]


def test_a_persian_story_runs_right_to_left_for_staff(
    app, client_browser, fill_request, new_browser, make_account, log_in
):
    """Given a client who writes in Persian, when a caseworker reads the request on a
    Swedish page, then the story is marked to take its own direction and language and
    keeps its line breaks."""
    client_browser.client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "fa"
    fill_request(client_browser, story={"account_text": PERSIAN_STORY})
    staff = new_browser()
    staff.client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "sv"
    log_in(staff, make_account(Role.CASEWORKER))
    triage = staff.get("/team/triage").get_data(as_text=True)
    request_id = re.search(r'/team/triage/([0-9a-f-]{36})"', triage).group(1)
    html = staff.get(f"/team/triage/{request_id}").get_data(as_text=True)
    tag = element_of(html, PERSIAN_STORY)
    assert 'dir="auto"' in tag and 'lang="fa"' in tag and "free-text" in tag


def test_messages_take_their_own_direction_on_both_sides(
    app, client_browser, fill_request, new_browser, make_account, log_in
):
    fill_request(client_browser)
    staff = new_browser()
    log_in(staff, make_account(Role.CASEWORKER))
    triage = staff.get("/team/triage").get_data(as_text=True)
    request_id = re.search(r'/team/triage/([0-9a-f-]{36})"', triage).group(1)
    client_browser.post(
        f"/my/requests/{request_id}/messages",
        {"body": "سلام، امشب زنگ بزنید"},
        form_page=f"/my/requests/{request_id}",
    )
    staff.post(f"/inbox/{request_id}", {"body": "Hello, after six."})
    for page in (
        staff.get(f"/inbox/{request_id}").get_data(as_text=True),
        client_browser.get(f"/my/requests/{request_id}").get_data(as_text=True),
    ):
        for body in ("سلام، امشب زنگ بزنید", "Hello, after six."):
            tag = element_of(page, body)
            assert 'dir="auto"' in tag and "free-text" in tag


def test_the_message_field_follows_what_is_typed(app, client_browser, fill_request):
    fill_request(client_browser)
    dashboard = client_browser.get("/my/").get_data(as_text=True)
    request_path = re.search(r'href="(/my/requests/[0-9a-f-]{36})"', dashboard).group(1)
    page = client_browser.get(request_path).get_data(as_text=True)
    textarea = re.search(r"<textarea[^>]*>", page).group(0)
    assert 'dir="auto"' in textarea


def test_every_free_text_element_in_the_templates_takes_its_own_direction():
    """A template that marks text as free text (kept line breaks) also lets it choose its
    direction: a class without dir="auto" would lay a Persian note out left to right."""
    missing = []
    for path in TEMPLATES.rglob("*.html"):
        for tag in re.findall(r"<[a-z]+[^>]*\bfree-text\b[^>]*>", path.read_text()):
            if 'dir="auto"' not in tag:
                missing.append(f"{path.relative_to(TEMPLATES)}: {tag}")
    assert not missing


def test_no_template_shows_a_date_in_figures_only():
    """Flask-Babel's own filters give 6/12/26 for short dates; templates use local_date."""
    offenders = [
        str(path.relative_to(TEMPLATES))
        for path in TEMPLATES.rglob("*.html")
        if re.search(r"\|\s*(date|datetime)format\b", path.read_text())
    ]
    assert not offenders


@pytest.mark.parametrize("language", PUBLIC_LANGUAGES)
def test_dates_name_their_month_in_every_language(app, language):
    with app.test_request_context(), force_locale(language):
        day = local_date(DAY)
        moment = local_datetime(datetime(2026, 6, 12, 12, 5, tzinfo=UTC))
    assert "2026" in day
    assert not FIGURES_ONLY.search(day), day
    assert day in moment  # the same day, then the (local) hour
    assert "14" in moment or "2:05" in moment


def test_tigrinya_dates_name_the_month_in_ethiopic(app):
    with app.test_request_context(), force_locale("ti"):
        day = local_date(DAY)
    assert day != "12/6/26" and "6/12" not in day
    assert re.search(r"[\u1200-\u137f]", day), day


@pytest.mark.parametrize(
    ("language", "joined"),
    [
        ("sv", "Polisen, Socialtjänsten och Kriminalvården"),
        ("en", "Polisen, Socialtjänsten, and Kriminalvården"),
        ("ar", "Polisen وSocialtjänsten وKriminalvården"),
        ("fa", "Polisen،\u200f Socialtjänsten، و Kriminalvården"),
    ],
)
def test_lists_are_joined_as_the_language_joins_them(app, language, joined):
    with app.test_request_context(), force_locale(language):
        assert local_list(["Polisen", "Socialtjänsten", "Kriminalvården"]) == joined
        assert local_list([]) == ""


def test_an_arabic_page_joins_the_help_asked_for_without_a_latin_comma(app, client_browser):
    client_browser.client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "ar"
    client_browser.post("/my/request/kind", {"kind": "defector"})
    client_browser.post(
        "/my/request/help", {"help_wanted": ["support_talks", "relocation"], "urgency": "soon"}
    )
    html = client_browser.get("/my/request/review").get_data(as_text=True)
    with app.test_request_context(), force_locale("ar"):
        expected = intervention_labels(["support_talks", "relocation"])
    assert ", " not in expected and " و" in expected
    assert expected in html


@pytest.mark.parametrize(
    ("language", "shown"),
    [("sv", "11,0"), ("en", "11.0"), ("pl", "11,0"), ("tr", "11,0"), ("bs", "11,0")],
)
def test_figures_follow_the_page_language(app, language, shown):
    """Measured figures (hours, days) read as the page's language writes numbers: "11,0
    timmar" in Swedish, never "11.0"."""
    with app.test_request_context(), force_locale(language):
        assert local_number(11.0) == shown
        assert local_number(None) == ""


def test_the_statistics_page_writes_its_figures_through_the_language():
    template = Path(__file__).resolve().parents[2] / "app/templates/oversight/statistics.html"
    text = template.read_text()
    for figure in (
        "first_contact_median_hours",
        "first_contact_p90_hours",
        "placement_answer_median_days",
    ):
        assert f"durations.{figure}|local_number" in text, figure

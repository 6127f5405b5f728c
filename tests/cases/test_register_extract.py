"""The register extract (GDPR art. 15): complete, consistent with the client's own download,
and only for those who may see the person's identity."""

import re
from datetime import date

import sqlalchemy as sa

from app.audit.models import AuditEvent
from app.auth.models import Role, User
from app.cases.models import Case
from app.consent.models import ConsentMethod, Purpose
from app.consent.services import record_consent, record_disclosure
from app.extensions import db
from app.orgs.models import OrgKind
from app.orgs.services import create_organisation
from tests.cases.test_case_work import NAME, NUMBER, protect, save_identity


def disclose_to_police(app, scene):
    with app.app_context():
        police = create_organisation("polisen-syd", "Polisen Syd", OrgKind.AGENCY)
        case = db.session.get(Case, scene.case_id)
        owner = db.session.get(User, scene.owner.id)
        consent = record_consent(
            case,
            owner,
            agencies=[police],
            purposes={Purpose.CONSULTATION},
            method=ConsentMethod.PAPER,
            given=True,
            valid_from=date(2020, 1, 1),
            valid_until=None,
        )
        record_disclosure(
            case, police, Purpose.CONSULTATION, [("threat_level", "high"), ("phone", None)], owner
        )
        db.session.commit()
        return consent


def test_the_extract_holds_identity_journal_disclosures_and_the_clients_own_data(
    app, scene, client_browser
):
    save_identity(scene)
    scene.owner_browser.post(
        f"/team/cases/{scene.case_id}/journal",
        {"occurred_on": date.today().isoformat(), "body": "Första samtalet, lugnt."},
        form_page=f"/team/cases/{scene.case_id}",
    )
    disclose_to_police(app, scene)

    response = scene.owner_browser.get(f"/team/cases/{scene.case_id}/extract.json")
    assert response.status_code == 200
    assert "attachment" in response.headers["Content-Disposition"]
    extract = response.get_json()
    assert (extract["case"]["name"], extract["case"]["personal_number"]) == (NAME, NUMBER)
    assert [e["text"] for e in extract["journal"]] == ["Första samtalet, lugnt."]
    assert [(d["to"], d["fields"]) for d in extract["disclosures"]] == [
        ("Polisen Syd", ["threat_level", "phone"])
    ]
    assert extract["consents"][0]["agencies"] == ["Polisen Syd"]

    # What the client downloads for themselves is, word for word, part of the extract.
    own = client_browser.get("/my/data.json").get_json()
    assert extract["own_account"] == own
    assert own["requests"][0]["code_word"] == "blåbär"

    page = scene.owner_browser.get(f"/team/cases/{scene.case_id}/extract")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert NAME in html and "Polisen Syd" in html and "Review it for secrecy" in html
    with app.app_context():
        extracted = db.session.scalars(
            sa.select(AuditEvent).where(AuditEvent.action == "case.register_extracted")
        ).all()
    assert len(extracted) == 2 and all(e.subject_id == str(scene.case_id) for e in extracted)


def test_only_those_who_may_see_the_identity_get_the_extract(
    app, scene, make_account, new_browser, log_in
):
    save_identity(scene)
    protect(scene)
    colleague, lead = new_browser(), new_browser()
    log_in(colleague, make_account(Role.CASEWORKER))
    log_in(lead, make_account(Role.TEAM_LEAD))
    for browser in (colleague, lead):  # not assigned, nothing revealed: as if it did not exist
        for suffix in ("extract", "extract.json"):
            response = browser.get(f"/team/cases/{scene.case_id}/{suffix}")
            assert response.status_code == 404
            assert NAME not in response.get_data(as_text=True)
    assert scene.owner_browser.get(f"/team/cases/{scene.case_id}/extract").status_code == 200


def test_the_extract_page_reads_in_words_not_codes(app, scene, client_browser):
    """The team reads labels and names; the codes and keys stay in the file."""
    save_identity(scene)
    disclose_to_police(app, scene)
    html = scene.owner_browser.get(f"/team/cases/{scene.case_id}/extract").get_data(as_text=True)
    main = html.split("<main", 1)[1].split("</main>", 1)[0]
    text = re.sub(r"<[^>]+>", " ", main)
    assert 'lang="en"' not in main  # no raw keys marked as English
    for code in (
        "defector",
        "self_service",
        "protection_level",
        "personal_number",
        "voicemail_ok",
        "support_talks",
        "consultation",
        "threat_level",
        "True",
        "False",
    ):
        assert not re.search(rf"\b{code}\b", text), code
    assert not re.search(r"\d{4}-\d{2}-\d{2}T", text)
    for words in ("Self-service", "Someone to talk to", "Personal identity number"):
        assert words in text, words
    assert f'<bdi dir="ltr">{NUMBER}</bdi>' in main

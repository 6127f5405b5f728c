"""The case itself: protected identity, consent, deadlines, and an audit row for everything."""

import json
import re
from datetime import date, timedelta

import pyotp
import pytest
import sqlalchemy as sa

from app.audit.models import AuditEvent
from app.auth.models import Role
from app.cases.deadlines import deadlines_for, open_deadlines
from app.cases.models import Case, CaseOutcome, CaseStatus
from app.cases.services import GRANT_VALIDITY
from app.consent.models import Consent, ConsentMethod, Purpose
from app.consent.services import NotCovered, consent_covers, record_consent, record_disclosure
from app.extensions import db
from app.orgs.models import Organisation
from app.rules import LOCAL_TIME, rule
from tests.conftest import code_for

NAME = "Adam Testsson"
NUMBER = "19811218-9876"


def save_identity(scene, **extra):
    return scene.owner_browser.post(
        f"/team/cases/{scene.case_id}/identity",
        {
            "full_name": NAME,
            "personal_number": NUMBER,
            "phone": "0701234567",
            "address": "Hemliga gatan 1",
            "municipality": "1280",  # Malmö
            "adults": "1",
            "children_ages": "4, 9",
            **extra,
        },
        form_page=f"/team/cases/{scene.case_id}",
    )


def protect(scene):
    scene.owner_browser.post(
        f"/team/cases/{scene.case_id}/protection",
        {"level": "skyddad_folkbokforing"},
        form_page=f"/team/cases/{scene.case_id}",
    )


def test_an_invalid_personal_number_is_refused(scene):
    response = save_identity(scene, personal_number="19811218-9875")
    assert response.status_code == 400
    assert "This is not a valid personal identity number." in response.get_data(as_text=True)


def test_a_duplicate_personal_number_is_warned_about(app, scene):
    save_identity(scene)
    with app.app_context():
        other = Case(
            reference="K-2026-000001",
            organisation_id=db.session.get(Case, scene.case_id).organisation_id,
            status=CaseStatus.NEW,
            source="phone",
            opened_at=db.session.get(Case, scene.case_id).opened_at,
        )
        db.session.add(other)
        db.session.commit()
        other_id = other.id
    from app.cases.models import CaseAssignment

    with app.app_context():
        db.session.add(CaseAssignment(case_id=other_id, user_id=scene.owner.id))
        db.session.commit()
    response = scene.owner_browser.post(
        f"/team/cases/{other_id}/identity",
        {"personal_number": "811218-9876", "adults": "1"},
        form_page=f"/team/cases/{other_id}",
    )
    assert response.status_code == 302
    page = scene.owner_browser.get(f"/team/cases/{other_id}").get_data(as_text=True)
    assert "same personal identity number" in page


def test_a_protected_identity_never_reaches_an_unassigned_users_html(
    app, scene, make_account, new_browser, log_in
):
    """Given a protected case, the team lead (not assigned) sees no name, number or address."""
    save_identity(scene)
    protect(scene)
    lead = new_browser()
    log_in(lead, make_account(Role.TEAM_LEAD))
    pages = [
        f"/team/cases/{scene.case_id}",
        "/team/cases",
        "/team/overview",
        "/team/deadlines",
        "/team/triage",
        "/inbox",
    ]
    for url in pages:
        html = lead.get(url).get_data(as_text=True)
        # Every threat form lists all municipalities: the secret is which one is the case's.
        chosen = ('<option value="1280" selected>', "<dd>Malmö</dd>")
        # The request's own contact details and words head the case page: hidden as well.
        contact = ("blåbär", "070-123 45 67", "Jag vill komma bort")
        for secret in (NAME, NUMBER, "9876", "Hemliga gatan", *chosen, *contact):
            assert secret not in html, (url, secret)
    # The assigned caseworker sees it.
    assert NAME in scene.owner_browser.get(f"/team/cases/{scene.case_id}").get_data(as_text=True)


def test_the_case_page_opens_with_how_to_reach_the_person_and_what_they_asked_for(app, scene):
    html = scene.owner_browser.get(f"/team/cases/{scene.case_id}").get_data(as_text=True)
    start = html.index('<div class="case-header">')
    header = html[start : html.index('aria-label="Parts of the case"')]
    # Safe contact, in the header: code word, phone, times, voicemail, language
    for shown in ("blåbär", "070-123 45 67", "Weekdays, evening", "Voice message"):
        assert shown in header, shown
    # What they asked for, in their own words, before who they are
    asked = html[html.index('id="asked-h"') : html.index('id="identity"')]
    for shown in ("Someone to talk to", "Help to move somewhere safe", "Jag vill komma bort"):
        assert shown in asked, shown
    assert 'dir="auto"' in asked
    with app.app_context():
        purposes = [
            json.loads(details)["purpose"]
            for details in db.session.scalars(
                sa.select(AuditEvent.details).where(AuditEvent.action == "identity.viewed")
            )
        ]
    assert "case_page" in purposes


def test_revealing_a_protected_identity_takes_a_reason_and_is_flagged(
    app, scene, make_account, new_browser, log_in
):
    save_identity(scene)
    protect(scene)
    lead = new_browser()
    log_in(lead, make_account(Role.TEAM_LEAD))
    refused = lead.post(f"/team/cases/{scene.case_id}/reveal", {"reason": ""})
    assert refused.status_code == 400 and NAME not in refused.get_data(as_text=True)
    lead.post(f"/team/cases/{scene.case_id}/reveal", {"reason": "Polisen behöver adressen i dag."})
    assert NAME in lead.get(f"/team/cases/{scene.case_id}").get_data(as_text=True)
    with app.app_context():
        assert (
            db.session.scalar(
                sa.select(sa.func.count()).where(AuditEvent.action == "case.reveal_identity")
            )
            == 1
        )


def test_break_the_glass_and_reveal_grants_end_when_their_validity_does(
    app, clock, scene, make_account, new_browser, log_in
):
    """Given a colleague who broke the glass and a team lead who revealed a protected
    identity, when the grants' validity has passed, the case and the register extract are
    not there for them any more (404), as before the grants; a minute earlier they were."""
    save_identity(scene)
    protect(scene)
    case_url = f"/team/cases/{scene.case_id}"
    extract_url = f"{case_url}/extract"
    colleague_account = make_account(Role.CASEWORKER)
    lead_account = make_account(Role.TEAM_LEAD)
    colleague, lead = new_browser(), new_browser()
    log_in(colleague, colleague_account)
    log_in(lead, lead_account)
    assert colleague.get(case_url).status_code == 404
    assert lead.get(extract_url).status_code == 404
    colleague.post(f"{case_url}/break-glass", {"reason": "Akut samtal."})
    lead.post(f"{case_url}/reveal", {"reason": "Polisen behöver adressen i dag."})
    assert colleague.get(case_url).status_code == 200
    assert lead.get(extract_url).status_code == 200

    def answers_after_logging_in_again():
        # The sessions have timed out by now: each logs in afresh.
        again_colleague, again_lead = new_browser(), new_browser()
        log_in(again_colleague, colleague_account)
        log_in(again_lead, lead_account)
        return (
            again_colleague.get(case_url).status_code,
            again_lead.get(extract_url).status_code,
        )

    clock.shift(GRANT_VALIDITY - timedelta(minutes=2))
    assert answers_after_logging_in_again() == (200, 200)
    clock.shift(timedelta(minutes=3))
    assert answers_after_logging_in_again() == (404, 404)


def test_the_raw_database_holds_no_identity_in_plaintext(app, scene):
    save_identity(scene)
    with app.app_context():
        dump = repr(db.session.execute(sa.text("SELECT * FROM cases")).all())
    for secret in (NAME, NUMBER, "811218", "Hemliga", "Malmö"):
        assert secret not in dump


@pytest.fixture
def agency(app, other_orgs):
    with app.app_context():
        return db.session.scalar(sa.select(Organisation).where(Organisation.slug == "polisen"))


def consent(app, scene, agency, *, given, purposes=(Purpose.CONSULTATION,), until=None):
    with app.app_context():
        case = db.session.get(Case, scene.case_id)
        from app.auth.models import User

        record_consent(
            case,
            db.session.get(User, scene.owner.id),
            agencies=[db.session.get(Organisation, agency.id)],
            purposes=set(purposes),
            method=ConsentMethod.PAPER,
            given=given,
            valid_from=date(2020, 1, 1),
            valid_until=until,
        )
        db.session.commit()


def covers(app, scene, agency, purpose=Purpose.CONSULTATION):
    with app.app_context():
        return consent_covers(
            db.session.get(Case, scene.case_id), db.session.get(Organisation, agency.id), purpose
        )


def test_no_consent_covers_nothing(app, scene, agency):
    assert not covers(app, scene, agency)


def test_a_given_consent_covers_its_agency_and_purpose_only(app, scene, agency):
    consent(app, scene, agency, given=True)
    assert covers(app, scene, agency)
    assert not covers(app, scene, agency, Purpose.PLACEMENT)


def test_a_refusal_blocks_the_consent_check(app, scene, agency):
    consent(app, scene, agency, given=True)
    consent(app, scene, agency, given=False)
    assert not covers(app, scene, agency)
    with app.app_context():
        with pytest.raises(NotCovered):
            record_disclosure(
                db.session.get(Case, scene.case_id),
                db.session.get(Organisation, agency.id),
                Purpose.CONSULTATION,
                [("need:housing", "Lägenhet")],
                None,
            )
        db.session.commit()  # as a refused request does: the refusal's audit row is kept
    with app.app_context():
        assert (
            db.session.scalar(
                sa.select(sa.func.count()).where(AuditEvent.action == "disclosure.refused")
            )
            == 1
        )


def test_withdrawal_and_expiry_block_the_consent_check(app, scene, agency):
    consent(app, scene, agency, given=True, until=date(2021, 1, 1))
    assert not covers(app, scene, agency)
    consent(app, scene, agency, given=True)
    assert covers(app, scene, agency)
    with app.app_context():
        latest = db.session.scalars(sa.select(Consent).order_by(Consent.created_at.desc())).first()
        from app.consent.services import withdraw_consent

        withdraw_consent(latest, db.session.get(Case, scene.case_id))
        db.session.commit()
    assert not covers(app, scene, agency)


def test_a_disclosure_on_consent_is_recorded(app, scene, agency):
    consent(app, scene, agency, given=True)
    with app.app_context():
        disclosure = record_disclosure(
            db.session.get(Case, scene.case_id),
            db.session.get(Organisation, agency.id),
            Purpose.CONSULTATION,
            [("threat_level", "high"), ("need:housing", "Lägenhet")],
            None,
        )
        db.session.commit()
        assert disclosure.consent_id is not None
        # Field by field, each with the value as it was handed over.
        assert [(f.name, f.value) for f in disclosure.fields] == [
            ("threat_level", "high"),
            ("need:housing", "Lägenhet"),
        ]


def test_the_client_gives_digital_consent_with_a_code(app, clock, scene, agency, client_browser):
    scene.owner_browser.post(
        f"/team/cases/{scene.case_id}/consents",
        {
            "agencies": [str(agency.id)],
            "purposes": ["consultation", "information_exchange"],
            "method": "digital",
            "given": "yes",
            "valid_from": "2026-01-01",
        },
        form_page=f"/team/cases/{scene.case_id}",
    )
    assert not covers(app, scene, agency)
    with app.app_context():
        consent_id = db.session.scalars(sa.select(Consent.id)).one()
    dashboard = client_browser.get("/my/").get_data(as_text=True)
    assert f"/my/consents/{consent_id}" in dashboard
    page = client_browser.get(f"/my/consents/{consent_id}").get_data(as_text=True)
    assert "Polisen" in page
    wrong = client_browser.post(f"/my/consents/{consent_id}", {"answer": "yes", "code": "000000"})
    assert wrong.status_code == 401
    assert not covers(app, scene, agency)
    clock.shift(30)
    code = pyotp.TOTP(client_browser.secret).now()
    ok = client_browser.post(f"/my/consents/{consent_id}", {"answer": "yes", "code": code})
    assert ok.status_code == 302
    assert covers(app, scene, agency)
    assert covers(app, scene, agency, Purpose.INFORMATION_EXCHANGE)


def test_closing_a_case_asks_for_confirmation_first(app, scene):
    """The first press shows what closing means and changes nothing; only the confirmation
    page's button closes the case."""
    case_url = f"/team/cases/{scene.case_id}"
    asked = scene.owner_browser.post(
        f"{case_url}/close", {"outcome": "established"}, form_page=case_url
    )
    assert asked.status_code == 200
    page = asked.get_data(as_text=True)
    assert 'name="confirmed" value="yes"' in page and f'href="{case_url}"' in page
    with app.app_context():
        assert db.session.get(Case, scene.case_id).status is not CaseStatus.CLOSED
    closed = scene.owner_browser.post(
        f"{case_url}/close", {"outcome": "established", "confirmed": "yes"}, form_page=case_url
    )
    assert closed.status_code == 302
    with app.app_context():
        case = db.session.get(Case, scene.case_id)
        assert case.status is CaseStatus.CLOSED and case.outcome is CaseOutcome.ESTABLISHED


def test_a_paper_consent_needs_the_clients_answer_chosen(app, scene, agency):
    """Nothing is pre-selected: a paper consent saved without saying whether the client
    gave or refused it is refused with a message, and nothing is recorded."""
    page = scene.owner_browser.get(f"/team/cases/{scene.case_id}/consents").get_data(as_text=True)
    given = re.findall(r'<input[^>]*name="given"[^>]*>', page)
    assert given and not any("checked" in radio for radio in given)
    answer = scene.owner_browser.post(
        f"/team/cases/{scene.case_id}/consents",
        {
            "agencies": [str(agency.id)],
            "purposes": ["consultation"],
            "method": "paper",
            "valid_from": "2026-01-01",
        },
        form_page=f"/team/cases/{scene.case_id}",
    )
    assert answer.status_code == 400
    assert "Choose whether the client gave or refused consent." in answer.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalars(sa.select(Consent.id)).first() is None


@pytest.mark.parametrize("zero", [0x06F0, 0x0660, 0x09E6, 0xFF10])
def test_the_client_answers_a_consent_with_the_code_in_their_scripts_digits(
    app, clock, scene, agency, client_browser, zero
):
    """Given a client whose phone types Persian, Arabic-Indic, Bengali or full-width digits,
    when they confirm a consent with the code as typed, the consent is given (was a 500)."""
    scene.owner_browser.post(
        f"/team/cases/{scene.case_id}/consents",
        {
            "agencies": [str(agency.id)],
            "purposes": ["consultation"],
            "method": "digital",
            "given": "yes",
            "valid_from": "2026-01-01",
        },
        form_page=f"/team/cases/{scene.case_id}",
    )
    with app.app_context():
        consent_id = db.session.scalars(sa.select(Consent.id)).one()
    clock.shift(30)
    code = "".join(chr(zero + int(d)) for d in pyotp.TOTP(client_browser.secret).now())
    ok = client_browser.post(f"/my/consents/{consent_id}", {"answer": "yes", "code": code})
    assert ok.status_code == 302, ok.get_data(as_text=True)[-800:]
    assert covers(app, scene, agency)


def test_a_relative_linked_to_the_case_cannot_answer_its_consents(
    app, scene, agency, new_browser, make_account, log_in
):
    relative = new_browser()
    log_in(relative, make_account(Role.CLIENT))
    consent(app, scene, agency, given=True)
    with app.app_context():
        consent_id = db.session.scalars(sa.select(Consent.id)).one()
    assert relative.get(f"/my/consents/{consent_id}").status_code == 404


def test_child_deadlines_come_from_the_rules_data_under_a_frozen_clock(
    app, clock, client_browser, fill_request, make_account, new_browser, log_in
):
    fill_request(
        client_browser,
        kind={"kind": "relative"},
        person={"relationship": "parent", "age_band": "under_15"},
    )
    worker_account = make_account(Role.CASEWORKER)
    worker = new_browser()
    log_in(worker, worker_account)
    from app.intake.models import ClientRequest

    with app.app_context():
        request_id = db.session.scalars(sa.select(ClientRequest.id)).one()
    worker.post(f"/team/triage/{request_id}/open-case", {}, form_page=f"/team/triage/{request_id}")
    with app.app_context():
        from app.auth.models import User

        items = {i.rule_key: i for i in deadlines_for(db.session.get(User, worker_account.id))}
        submitted = db.session.get(ClientRequest, request_id).submitted_at
    assert set(items) >= {"child_protection_assessment", "child_investigation_decision"}
    local_day = submitted.astimezone(LOCAL_TIME).date()
    assert items["child_protection_assessment"].due_at.astimezone(LOCAL_TIME).date() == local_day
    # Fourteen days, moved on to the next working day when the last one is a day off.
    decision = rule("child_investigation_decision")
    assert items["child_investigation_decision"].due_at == decision.due(submitted)
    assert items["child_investigation_decision"].due_at.astimezone(
        LOCAL_TIME
    ).date() >= local_day + timedelta(days=decision.value)
    page = worker.get("/team/deadlines").get_data(as_text=True)
    assert "Protection assessment for a child" in page
    clock.shift(timedelta(days=1))
    with app.app_context():
        overdue = [
            i
            for i in open_deadlines(db.session.get(User, worker_account.id).organisation_id)
            if i.overdue
        ]
    assert any(i.rule_key == "child_protection_assessment" for i in overdue)


def test_every_view_and_change_of_a_case_leaves_an_audit_row(app, scene):
    def count():
        with app.app_context():
            return db.session.scalar(
                sa.select(sa.func.count()).where(AuditEvent.subject_id == str(scene.case_id))
            )

    browser, case_url = scene.owner_browser, f"/team/cases/{scene.case_id}"
    actions = [
        ("GET", case_url, None),
        ("POST", f"{case_url}/identity", {"full_name": "X", "adults": "1"}),
        ("POST", f"{case_url}/status", {"status": "assessment"}),
        ("POST", f"{case_url}/journal", {"occurred_on": "2026-11-20", "body": "Första samtalet."}),
        (
            "POST",
            f"{case_url}/threat",
            {
                "level": "high",
                "by_police": "yes",
                "assessed_on": "2026-11-20",
                "areas_to_avoid": ["1280", "1281"],  # Malmö, Lund
                "next_review_on": "2026-12-20",
            },
        ),
        ("POST", f"{case_url}/needs", {"housing": "Behöver skyddat boende."}),
        ("POST", f"{case_url}/interventions", {"kind": "support_talks", "provider": "Teamet"}),
        ("POST", f"{case_url}/close", {"outcome": "established", "confirmed": "yes"}),
    ]
    for method, url, data in actions:
        before = count()
        if method == "GET":
            assert browser.get(url).status_code == 200
        else:
            response = browser.post(url, data, form_page=case_url)
            assert response.status_code == 302, (url, response.get_data(as_text=True)[-1500:])
        assert count() > before, url
    with app.app_context():
        case = db.session.get(Case, scene.case_id)
        assert case.status is CaseStatus.CLOSED and case.outcome is CaseOutcome.ESTABLISHED


def test_opening_a_child_investigation_starts_the_four_months(
    app, client_browser, fill_request, make_account, new_browser, log_in
):
    from app.intake.models import ClientRequest
    from app.rules.models import Deadline

    fill_request(
        client_browser,
        kind={"kind": "relative"},
        person={"relationship": "parent", "age_band": "15_17"},
    )
    worker = new_browser()
    log_in(worker, make_account(Role.CASEWORKER))
    with app.app_context():
        request_id = db.session.scalars(sa.select(ClientRequest.id)).one()
    worker.post(f"/team/triage/{request_id}/open-case", {}, form_page=f"/team/triage/{request_id}")
    with app.app_context():
        case_id = db.session.scalars(sa.select(Case.id)).one()
    page = worker.get(f"/team/cases/{case_id}").get_data(as_text=True)
    assert rule("child_investigation_decision").citation in page
    response = worker.post(
        f"/team/cases/{case_id}/child-investigation", {}, form_page=f"/team/cases/{case_id}"
    )
    assert response.status_code == 302
    with app.app_context():
        deadlines = {d.rule_key: d for d in db.session.scalars(sa.select(Deadline))}
    assert deadlines["child_investigation_decision"].met_at is not None
    completed = deadlines["child_investigation_completed"]
    months = rule("child_investigation_completed").value
    expected_month = (completed.created_at.astimezone(LOCAL_TIME).month - 1 + months) % 12 + 1
    assert completed.due_at.astimezone(LOCAL_TIME).month == expected_month
    again = worker.post(
        f"/team/cases/{case_id}/child-investigation", {}, form_page=f"/team/cases/{case_id}"
    )
    assert again.status_code == 409


def test_removing_someone_who_is_not_on_the_case_changes_and_records_nothing(
    app, scene, make_account, new_browser, log_in
):
    lead = new_browser()
    log_in(lead, make_account(Role.TEAM_LEAD))
    stranger = make_account(Role.CASEWORKER)
    page = f"/team/cases/{scene.case_id}"

    def removals():
        with app.app_context():
            return db.session.scalar(
                sa.select(sa.func.count()).where(AuditEvent.action == "case.unassigned")
            )

    refused = lead.post(f"{page}/unassign/{stranger.id}", {}, form_page=page)
    assert refused.status_code == 404 and removals() == 0
    removed = lead.post(f"{page}/unassign/{scene.owner.id}", {}, form_page=page)
    assert removed.status_code == 302 and removals() == 1


CASE_PREFIX = "/team/cases/<case_id>"


def case_routes(app):
    """Every (endpoint, method) under a case's address, from the application's URL map."""
    return {
        (rule.endpoint, method)
        for rule in app.url_map.iter_rules()
        if rule.rule == CASE_PREFIX or rule.rule.startswith(CASE_PREFIX + "/")
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }


# Pages under a case's address that show nothing of the case but its reference (an empty
# form): opening them is not a read of case data. Their POSTs are audited like the rest.
SHOWS_NO_CASE_DATA = {
    ("cases.break_glass", "GET"),  # asks a colleague for the reason, before any access
    ("placements.new_placement", "GET"),  # an empty form under the case's reference
}


def test_every_case_route_leaves_an_audit_row_about_the_case(
    app, clock, client_browser, fill_request, make_account, new_browser, log_in
):
    """Given a case (a relative's worry about a 15-year-old, so that every kind of work
    applies), when each route under /team/cases/<id> is used once, with every method it
    answers, each use adds an audit event about that case. The routes are read from the URL
    map, so a new case route without an entry here fails."""
    from app.auth.models import User
    from app.cases.models import Intervention
    from app.intake.models import ClientRequest
    from app.rules.models import Deadline

    sent = fill_request(
        client_browser,
        kind={"kind": "relative"},
        person={"relationship": "parent", "age_band": "15_17"},
    )
    assert sent.status_code == 302, sent.get_data(as_text=True)[-800:]
    owner_account = make_account(Role.CASEWORKER)
    owner, colleague, outsider, lead = new_browser(), new_browser(), new_browser(), new_browser()
    colleague_account = make_account(Role.CASEWORKER)
    log_in(owner, owner_account)
    log_in(colleague, colleague_account)
    log_in(outsider, make_account(Role.CASEWORKER))
    lead_account = make_account(Role.TEAM_LEAD)
    log_in(lead, lead_account)
    with app.app_context():
        from app.orgs.models import OrgKind
        from app.orgs.services import create_organisation

        request_id = db.session.scalars(sa.select(ClientRequest.id)).one()
        # After the request: with a second team the intake would not know whose it is.
        agency_id = create_organisation("polisen", "Polisen", OrgKind.AGENCY).id
        db.session.commit()
    opened = owner.post(
        f"/team/triage/{request_id}/open-case", {}, form_page=f"/team/triage/{request_id}"
    )
    assert opened.status_code == 302, opened.get_data(as_text=True)[-800:]
    with app.app_context():
        case_id = db.session.scalars(sa.select(Case.id)).one()
    case = f"/team/cases/{case_id}"

    def about_the_case():
        with app.app_context():
            return db.session.scalar(
                sa.select(sa.func.count()).where(
                    sa.or_(
                        AuditEvent.subject_id == str(case_id),
                        AuditEvent.details.contains(str(case_id)),
                    )
                )
            )

    def one(model, *where):
        with app.app_context():
            return db.session.scalars(sa.select(model.id).where(*where)).first()

    def fresh_code(account):
        """A code of a later time step (each step is accepted once)."""
        clock.shift(31)
        return lambda: code_for(app, account)

    def waiting_lowering():
        from app.cases.models import ProtectionChange, ProtectionChangeStatus

        return one(
            ProtectionChange,
            ProtectionChange.case_id == case_id,
            ProtectionChange.status == ProtectionChangeStatus.PENDING,
        )

    def lowering(browser):
        account = {lead: lead_account, owner: owner_account}[browser]
        return lambda: {"level": "none", "reason": "Flyttat.", "code": fresh_code(account)()}

    # Each use: (endpoint, method, who, address or a function giving it, form data).
    uses = [
        ("workspace.case", "GET", owner, case, None),
        ("workspace.part", "GET", owner, f"{case}/threat", None),
        ("cases.register_extract", "GET", owner, f"{case}/extract", None),
        ("cases.register_extract_json", "GET", owner, f"{case}/extract.json", None),
        ("cases.identity", "POST", owner, f"{case}/identity", {"full_name": "X", "adults": "1"}),
        ("cases.protection", "POST", owner, f"{case}/protection", {"level": "sekretessmarkering"}),
        # The lead lowers a level the owner set: it waits for a second member, who approves.
        ("cases.lower_protection", "POST", lead, f"{case}/protection/lower", lowering(lead)),
        (
            "cases.approve_lowering",
            "POST",
            owner,
            lambda: f"{case}/protection/{waiting_lowering()}/approve",
            lambda: {"code": fresh_code(owner_account)()},
        ),
        ("cases.protection", "POST", owner, f"{case}/protection", {"level": "sekretessmarkering"}),
        ("cases.lower_protection", "POST", lead, f"{case}/protection/lower", lowering(lead)),
        (
            "cases.reject_lowering",
            "POST",
            owner,
            lambda: f"{case}/protection/{waiting_lowering()}/reject",
            {},
        ),
        ("cases.status", "POST", owner, f"{case}/status", {"status": "assessment"}),
        # A different band than the request's: the change is recorded (clocks already run).
        ("cases.record_age", "POST", owner, f"{case}/age", {"age_band": "under_15"}),
        (
            "cases.journal",
            "POST",
            owner,
            f"{case}/journal",
            {"occurred_on": "2026-11-20", "body": "Första samtalet."},
        ),
        (
            "cases.threat",
            "POST",
            owner,
            f"{case}/threat",
            {"level": "high", "by_police": "yes", "assessed_on": "2026-11-20"},
        ),
        ("cases.needs", "POST", owner, f"{case}/needs", {"housing": "Skyddat boende."}),
        (
            "cases.add_intervention",
            "POST",
            owner,
            f"{case}/interventions",
            {"kind": "support_talks", "provider": "Teamet"},
        ),
        (
            "cases.update_intervention",
            "POST",
            owner,
            lambda: f"{case}/interventions/{one(Intervention, Intervention.case_id == case_id)}",
            {"status": "ongoing", "outcome": ""},
        ),
        (
            "case_consent.add_consent",
            "POST",
            owner,
            f"{case}/consents",
            {
                "agencies": [str(agency_id)],
                "purposes": ["consultation"],
                "method": "paper",
                "given": "yes",
                "valid_from": "2026-01-01",
            },
        ),
        ("cases.open_child_investigation", "POST", owner, f"{case}/child-investigation", {}),
        (
            "cases.meet_deadline",
            "POST",
            owner,
            lambda: (
                f"{case}/deadlines/"
                + str(one(Deadline, Deadline.request_id == request_id, Deadline.met_at.is_(None)))
                + "/met"
            ),
            {},
        ),
        ("consultations.convene", "GET", owner, f"{case}/consultations/new", None),
        (
            "consultations.convene",
            "POST",
            owner,
            f"{case}/consultations/new",
            {
                "agencies": [str(agency_id)],
                "starts_on": (date.today() + timedelta(days=3)).isoformat(),
                "starts_time": "10:00",
                "duration": "90",
                "place": "Polishuset, rum 3",
            },
        ),
        (
            "case_consent.withdraw_consent",
            "POST",
            owner,
            lambda: f"{case}/consents/{one(Consent, Consent.case_id == case_id)}/withdraw",
            {},
        ),
        ("placements.new_placement", "GET", owner, f"{case}/placements/new", None),
        (
            "placements.new_placement",
            "POST",
            owner,
            f"{case}/placements/new",
            {
                "adults": "1",
                "children_ages": "4",
                "housing_needs": "Lägenhet, två rum.",
                "earliest_move_on": (date.today() + timedelta(days=14)).isoformat(),
                "expected_duration": "1 år",
            },
        ),
        ("cases.assign_case", "POST", lead, f"{case}/assign", {"assignee": None}),
        (
            "cases.unassign_case",
            "POST",
            lead,
            f"{case}/unassign/{colleague_account.id}",
            {},
        ),
        ("cases.break_glass", "GET", outsider, f"{case}/break-glass", None),
        ("cases.break_glass", "POST", outsider, f"{case}/break-glass", {"reason": "Akut."}),
        ("cases.reveal", "POST", lead, f"{case}/reveal", {"reason": "Polisen behöver den."}),
        (
            "cases.close",
            "POST",
            owner,
            f"{case}/close",
            {"outcome": "established", "confirmed": "yes"},
        ),
    ]
    assert {(endpoint, method) for endpoint, method, *_ in uses} == case_routes(app)
    for endpoint, method, browser, url, data in uses:
        if (endpoint, method) in SHOWS_NO_CASE_DATA:
            continue
        url = url() if callable(url) else url
        data = data() if callable(data) else data
        if data is not None and "assignee" in data:
            data = {"assignee": str(colleague_account.id)}
        if method == "GET":
            before = about_the_case()
            response = browser.get(url)
            assert response.status_code == 200, (endpoint, response.status_code)
        else:
            # The form's page first (a read, audited itself), then the count, then the POST.
            browser.get(case if browser is not outsider else url)
            before = about_the_case()
            response = browser.client.post(url, data={"csrf_token": browser.last_csrf, **data})
            assert response.status_code == 302, (endpoint, response.get_data(as_text=True)[-800:])
        assert about_the_case() > before, endpoint
    with app.app_context():
        assert db.session.get(Case, case_id).status is CaseStatus.CLOSED
        assert db.session.get(User, colleague_account.id) is not None


def test_a_case_out_of_reach_missing_or_malformed_is_the_same_404_and_a_refusal_is_audited(
    app, scene, make_account, new_browser, log_in
):
    """Given a colleague not on the case, a case id that exists nowhere and one that is not
    an id at all, each answers 404 alike; only the refusal of an existing case is audited
    as denied access (probing is worth a team lead's look)."""
    colleague = new_browser()
    log_in(colleague, make_account(Role.CASEWORKER))
    for case_id in (scene.case_id, "00000000-0000-4000-8000-000000000000", "no-such-case"):
        assert colleague.get(f"/team/cases/{case_id}").status_code == 404, case_id
    with app.app_context():
        denied = db.session.scalars(
            sa.select(AuditEvent.subject_id).where(AuditEvent.action == "access.denied")
        ).all()
    assert denied == [str(scene.case_id)]


def test_a_client_lists_only_the_consents_of_their_own_case(
    app, scene, agency, client_browser, new_browser, make_account, log_in
):
    """Given a consent to answer on one client's case, another client's start page does not
    list it, nor can they open it; the client whose case it is sees it."""
    consent(app, scene, agency, given=None)
    with app.app_context():
        consent_id = db.session.scalars(sa.select(Consent.id)).one()
    other = new_browser()
    log_in(other, make_account(Role.CLIENT))
    assert f"/my/consents/{consent_id}" in client_browser.get("/my/").get_data(as_text=True)
    assert f"/my/consents/{consent_id}" not in other.get("/my/").get_data(as_text=True)
    assert other.get(f"/my/consents/{consent_id}").status_code == 404
    # The predicate itself, behind the client area's own check: staff and nobody never own.
    from flask_login import AnonymousUserMixin

    from app.auth.models import User
    from app.consent.permissions import owns_consent

    with app.app_context():
        found = db.session.get(Consent, consent_id)
        assert not owns_consent(db.session.get(User, scene.owner.id), found)
        assert not owns_consent(AnonymousUserMixin(), found)


def test_a_form_sent_back_opens_the_page_with_a_summary_that_leads_to_its_field(app, scene):
    """A note without text: the page comes back with what is wrong at its top (the focus
    goes there), a link to the field, and the date that was typed still in its field."""
    url = f"/team/cases/{scene.case_id}"
    response = scene.owner_browser.post(
        f"{url}/journal", {"occurred_on": "2026-11-30", "body": ""}, form_page=url
    )
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    main = html[html.index('<main'):]
    summary = main[: main.index('<div class="case-header">')]
    assert 'id="error-summary" tabindex="-1" role="alert"' in summary
    assert '<a href="#body">Note: ' in summary
    assert "js/error-summary.js" in summary
    assert 'value="2026-11-30"' in html
    # A page with nothing wrong has no summary
    clean = scene.owner_browser.get(url).get_data(as_text=True)
    assert "error-summary" not in clean


def test_two_confirmations_of_closing_at_once_close_the_case_once(app, scene):
    """Two presses of "Close the case" on the confirmation page, from two tabs at the same
    moment: one closes it, the other is told it is closed already (409), and the trail
    records one closing."""
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        pytest.skip("SQLite lets one writer in at a time: there is no race to lose")
    from tests.security.test_once import race, same_browser

    case_url = f"/team/cases/{scene.case_id}"
    scene.owner_browser.get(case_url)
    csrf = scene.owner_browser.last_csrf
    tabs = [same_browser(app, scene.owner_browser) for _ in range(6)]
    form = {"csrf_token": csrf, "outcome": "established", "confirmed": "yes"}
    results = race([lambda t=t: t.post(f"{case_url}/close", data=form) for t in tabs])
    assert sorted(r.status_code for r in results) == [302] + [409] * 5
    with app.app_context():
        assert db.session.get(Case, scene.case_id).status is CaseStatus.CLOSED
        closings = db.session.scalar(
            sa.select(sa.func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.action == "case.closed")
        )
    assert closings == 1

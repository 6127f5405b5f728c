"""Lowering a protected-identity level: a reason, a fresh code, the team lead's review, and a
second member when someone else set the level. Raising stays one click."""

import json

import sqlalchemy as sa

from app.audit.models import AuditEvent
from app.auth.models import Role
from app.cases.models import Case, ProtectionLevel
from app.extensions import db
from tests.cases.test_case_work import NUMBER, protect, save_identity
from tests.conftest import code_for


def level_of(app, case_id):
    with app.app_context():
        return db.session.get(Case, case_id).protection_level


def actions(app, case_id):
    with app.app_context():
        return [
            (event.action, json.loads(event.details))
            for event in db.session.scalars(
                sa.select(AuditEvent)
                .where(AuditEvent.subject_id == str(case_id))
                .order_by(AuditEvent.seq)
            )
        ]


def lower(browser, case_id, account, app, reason="Personen har flyttat utomlands.", code=None):
    return browser.post(
        f"/team/cases/{case_id}/protection/lower",
        {
            "level": "none",
            "reason": reason,
            "code": code if code is not None else code_for(app, account),
        },
        form_page=f"/team/cases/{case_id}",
    )


def team_lead(make_account, new_browser, log_in):
    account = make_account(Role.TEAM_LEAD)
    browser = new_browser()
    log_in(browser, account)
    return account, browser


def test_raising_a_level_is_immediate(app, scene):
    """Given an unprotected case, when its caseworker chooses a level, it holds at once."""
    protect(scene)
    assert level_of(app, scene.case_id) is ProtectionLevel.PROTECTED_REGISTRATION


def test_lowering_asks_for_a_reason_and_a_fresh_code_on_a_page_of_its_own(app, scene):
    """Given a protected case, when its caseworker chooses "none", then a confirmation page
    asks for a reason and a code (plain HTML, no script) and the level stays; without a
    reason or with a wrong code nothing changes; with both it is lowered, flagged."""
    protect(scene)
    case_url = f"/team/cases/{scene.case_id}"
    page = scene.owner_browser.post(f"{case_url}/protection", {"level": "none"}, form_page=case_url)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Lower the protected identity level" in html
    assert f'action="{case_url}/protection/lower"' in html and 'name="code"' in html
    assert "<script" not in html.split("<main", 1)[1]
    assert level_of(app, scene.case_id) is ProtectionLevel.PROTECTED_REGISTRATION

    account = scene.owner
    assert lower(scene.owner_browser, scene.case_id, account, app, reason="").status_code == 400
    wrong = lower(scene.owner_browser, scene.case_id, account, app, code="000000")
    assert wrong.status_code == 401
    assert level_of(app, scene.case_id) is ProtectionLevel.PROTECTED_REGISTRATION

    assert lower(scene.owner_browser, scene.case_id, account, app).status_code == 302
    assert level_of(app, scene.case_id) is ProtectionLevel.NONE
    lowered = [d for a, d in actions(app, scene.case_id) if a == "case.protection_lowered"]
    assert lowered and lowered[0]["flagged"] is True
    assert "flyttat" not in json.dumps(actions(app, scene.case_id))  # the reason is not copied


def test_a_lowering_is_reviewed_by_the_team_lead_and_the_reads_after_it_are_flagged(
    app, scene, make_account, new_browser, log_in
):
    """Given a caseworker who lowered the level they set, when the team lead opens the
    overview, the lowering is there to review with its reason, and the identity reads that
    followed are flagged in the access log."""
    save_identity(scene)
    protect(scene)
    account = scene.owner
    lower(scene.owner_browser, scene.case_id, account, app)
    scene.owner_browser.get(f"/team/cases/{scene.case_id}/extract.json")
    _lead, lead = team_lead(make_account, new_browser, log_in)
    overview = lead.get("/team/overview").get_data(as_text=True)
    section = overview.split('id="lowerings"', 1)[1]
    assert "Personen har flyttat utomlands." in section
    assert "/team/overview/lowerings/" in section
    log = lead.get(f"/team/access-log?case={scene.case_id}").get_data(as_text=True)
    rows = [row for row in log.split("<tr") if "<td>Register extract made</td>" in row]
    assert rows and "identity read after a lowered protection level" in rows[0]
    # Reviewed: it leaves the list.
    change_path = section.split('action="', 1)[1].split('"', 1)[0]
    assert lead.post(change_path, {}, form_page="/team/overview").status_code == 302
    again = lead.get("/team/overview").get_data(as_text=True).split('id="lowerings"', 1)[1]
    assert "Personen har flyttat utomlands." not in again


def test_lowering_a_level_someone_else_set_waits_for_a_second_member(
    app, scene, make_account, new_browser, log_in
):
    """Given a level the caseworker set, when the team lead lowers it (the attack: lower,
    read the identity and the extract, raise again), then the level stays and the identity
    stays hidden until another member approves; the team lead cannot approve their own."""
    save_identity(scene)
    protect(scene)
    lead_account, lead = team_lead(make_account, new_browser, log_in)
    case_url = f"/team/cases/{scene.case_id}"
    assert lower(lead, scene.case_id, lead_account, app).status_code == 302
    assert level_of(app, scene.case_id) is ProtectionLevel.PROTECTED_REGISTRATION
    assert lead.get(f"{case_url}/extract.json").status_code == 404
    assert NUMBER not in lead.get(case_url).get_data(as_text=True)
    page = lead.get(f"{case_url}/identity").get_data(as_text=True)
    assert "waiting for a second team member" in page
    assert "/approve" not in page  # no approve form for the one who asked
    owner_page = scene.owner_browser.get(f"{case_url}/identity").get_data(as_text=True)
    approve_path = next(
        part.split('"', 1)[0]
        for part in owner_page.split('action="')[1:]
        if part.split('"', 1)[0].endswith("/approve")
    )
    own = lead.post(approve_path, {"code": code_for(app, lead_account)}, form_page=case_url)
    assert own.status_code == 403
    assert level_of(app, scene.case_id) is ProtectionLevel.PROTECTED_REGISTRATION

    account = scene.owner
    done = scene.owner_browser.post(
        approve_path, {"code": code_for(app, account)}, form_page=case_url
    )
    assert done.status_code == 302
    assert level_of(app, scene.case_id) is ProtectionLevel.NONE
    seen = [a for a, _d in actions(app, scene.case_id)]
    assert "case.protection_lowering_requested" in seen
    assert "case.protection_lowering_approved" in seen


def test_a_waiting_lowering_can_be_refused(app, scene, make_account, new_browser, log_in):
    """Given a lowering waiting for approval, when the caseworker refuses it, the level
    stays and nothing waits any more."""
    protect(scene)
    lead_account, lead = team_lead(make_account, new_browser, log_in)
    lower(lead, scene.case_id, lead_account, app)
    case_url = f"/team/cases/{scene.case_id}"
    owner_page = scene.owner_browser.get(f"{case_url}/identity").get_data(as_text=True)
    reject_path = next(
        part.split('"', 1)[0]
        for part in owner_page.split('action="')[1:]
        if part.split('"', 1)[0].endswith("/reject")
    )
    assert scene.owner_browser.post(reject_path, {}, form_page=case_url).status_code == 302
    assert level_of(app, scene.case_id) is ProtectionLevel.PROTECTED_REGISTRATION
    assert "waiting for a second" not in scene.owner_browser.get(case_url).get_data(as_text=True)


def test_a_raise_overtakes_a_waiting_lowering(app, scene, make_account, new_browser, log_in):
    """Given a lowering waiting for approval, when the caseworker raises the level instead,
    the higher level holds at once and the lowering can no longer be approved."""
    protect(scene)
    lead_account, lead = team_lead(make_account, new_browser, log_in)
    lower(lead, scene.case_id, lead_account, app)
    case_url = f"/team/cases/{scene.case_id}"
    owner_page = scene.owner_browser.get(f"{case_url}/identity").get_data(as_text=True)
    approve_path = next(
        part.split('"', 1)[0]
        for part in owner_page.split('action="')[1:]
        if part.split('"', 1)[0].endswith("/approve")
    )
    scene.owner_browser.post(
        f"{case_url}/protection", {"level": "fingerade_personuppgifter"}, form_page=case_url
    )
    assert level_of(app, scene.case_id) is ProtectionLevel.FICTITIOUS_IDENTITY
    late = scene.owner_browser.post(
        approve_path, {"code": code_for(app, scene.owner)}, form_page=case_url
    )
    assert late.status_code == 409
    assert level_of(app, scene.case_id) is ProtectionLevel.FICTITIOUS_IDENTITY


def test_raising_first_is_no_way_around_the_second_member(
    app, scene, make_account, new_browser, log_in
):
    """Given a level the caseworker set, when the team lead raises it (so the level now in
    force is theirs) and then lowers it to none, the lowering still waits for approval:
    it goes below a level someone else set."""
    protect(scene)
    lead_account, lead = team_lead(make_account, new_browser, log_in)
    case_url = f"/team/cases/{scene.case_id}"
    lead.post(f"{case_url}/protection", {"level": "fingerade_personuppgifter"}, form_page=case_url)
    assert level_of(app, scene.case_id) is ProtectionLevel.FICTITIOUS_IDENTITY
    assert lower(lead, scene.case_id, lead_account, app).status_code == 302
    assert level_of(app, scene.case_id) is ProtectionLevel.FICTITIOUS_IDENTITY
    assert "waiting for a second team member" in lead.get(case_url).get_data(as_text=True)


def test_two_members_deciding_at_once_make_one_decision(
    app, scene, make_account, new_browser, log_in
):
    """Given a waiting lowering, when one member approves while another refuses, at the same
    moment, exactly one decision is taken and the level agrees with it."""
    import threading

    import pytest

    from app.auth.models import User
    from app.cases.models import ProtectionChange, ProtectionChangeStatus
    from app.cases.protection import approve_change, reject_change
    from app.cases.services import CaseError

    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("SQLite lets one writer in at a time: there is no race to lose")
    save_identity(scene)
    protect(scene)
    lead_account, lead = team_lead(make_account, new_browser, log_in)
    assert lower(lead, scene.case_id, lead_account, app).status_code == 302
    other = make_account(Role.CASEWORKER)
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def decide(decision, user_id) -> None:
        with app.app_context():
            change = db.session.scalars(
                sa.select(ProtectionChange).where(ProtectionChange.to_level == ProtectionLevel.NONE)
            ).one()
            case = db.session.get(Case, scene.case_id)
            user = db.session.get(User, user_id)
            barrier.wait()
            try:
                decision(change, case, user)
                db.session.commit()
                outcomes.append(decision.__name__)
            except CaseError:
                db.session.rollback()

    threads = [
        threading.Thread(target=decide, args=(approve_change, scene.owner.id)),
        threading.Thread(target=decide, args=(reject_change, other.id)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert len(outcomes) == 1, outcomes
    with app.app_context():
        status = db.session.scalars(
            sa.select(ProtectionChange.status).where(
                ProtectionChange.to_level == ProtectionLevel.NONE
            )
        ).one()
    if outcomes == ["approve_change"]:
        assert (status, level_of(app, scene.case_id)) == (
            ProtectionChangeStatus.APPLIED,
            ProtectionLevel.NONE,
        )
    else:
        assert (status, level_of(app, scene.case_id)) == (
            ProtectionChangeStatus.REJECTED,
            ProtectionLevel.PROTECTED_REGISTRATION,
        )

"""The case file's panels: each posts to its own feature's route, which either saves and
goes back to the case file, or draws the case file again with the panel's errors and what
was typed, saving nothing. Nobody else reaches any of those routes."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import pytest
import sqlalchemy as sa

from app.auth.models import Role
from app.cases.models import Case, ProtectionLevel
from app.extensions import db
from app.orgs.models import OrgKind
from app.orgs.services import create_organisation


@dataclass(frozen=True)
class Panel:
    endpoint: str
    path: str  # under /team/cases/<id>
    invalid: dict[str, Any]
    valid: dict[str, Any]
    kept: str | None = None  # a typed value the redrawn form must still show
    lead: bool = False  # only a team lead may use it
    protected: bool = False  # only for a protected case (the lead does not see the identity)


PANELS = [
    Panel(
        "cases.identity",
        "identity",
        {"full_name": "Typed Name", "personal_number": "12", "adults": "1"},
        {"full_name": "X", "adults": "1"},
        kept="Typed Name",
    ),
    Panel("cases.protection", "protection", {"level": "bogus"}, {"level": "sekretessmarkering"}),
    # Revealing is for whoever does not see the identity: the team lead, not assigned.
    Panel(
        "cases.reveal",
        "reveal",
        {"reason": ""},
        {"reason": "Polisen behöver den."},
        lead=True,
        protected=True,
    ),
    Panel("cases.status", "status", {"status": "bogus"}, {"status": "assessment"}),
    Panel("cases.close", "close", {"outcome": ""}, {"outcome": "established", "confirmed": "yes"}),
    Panel(
        "cases.journal",
        "journal",
        {"occurred_on": "not a date", "body": "Skrivet men inte sparat."},
        {"occurred_on": "2026-11-20", "body": "Första samtalet."},
        kept="Skrivet men inte sparat.",
    ),
    Panel(
        "cases.threat",
        "threat",
        {"level": "", "by_police": "yes", "sources": "Typed sources"},
        {"level": "high", "by_police": "yes", "assessed_on": "2026-11-20"},
        kept="Typed sources",
    ),
    Panel(
        "cases.needs",
        "needs",
        {"housing": "Bostad " * 100},
        {"housing": "Skyddat boende."},
        kept="Bostad Bostad",
    ),
    Panel(
        "case_consent.add_consent",
        "consents",
        {"purposes": ["consultation"], "method": "paper", "given": "yes", "valid_from": ""},
        {
            "agencies": ["{agency}"],
            "purposes": ["consultation"],
            "method": "paper",
            "given": "yes",
            "valid_from": "2026-01-01",
        },
    ),
    Panel(
        "cases.add_intervention",
        "interventions",
        {"kind": "bogus", "provider": "Typed provider"},
        {"kind": "support_talks", "provider": "Teamet"},
        kept="Typed provider",
    ),
    Panel("cases.record_age", "age", {"age_band": "bogus"}, {"age_band": "under_15"}),
    Panel("cases.assign_case", "assign", {"assignee": "bogus"}, {"assignee": ""}, lead=True),
]

# What a refused form may still write: the audit of the refusal and the session it came in.
NOT_CASE_DATA = ("audit", "session", "tall", "checkpoint", "job_run", "outbox")


def case_state(app, case_id) -> dict[str, Any]:
    """Every table's row count, and every column of the case: what a save would change."""
    with app.app_context():
        counts = {
            table.name: db.session.scalar(sa.select(sa.func.count()).select_from(table))
            for table in db.metadata.sorted_tables
            if not any(word in table.name for word in NOT_CASE_DATA)
        }
        row = db.session.execute(sa.select(Case.__table__).where(Case.id == case_id)).one()
        return {"counts": counts, "case": dict(row._mapping)}


@pytest.fixture
def agency(app):
    with app.app_context():
        agency_id = create_organisation("polisen", "Polisen", OrgKind.AGENCY).id
        db.session.commit()
    return str(agency_id)


@pytest.fixture
def lead_browser(make_account, new_browser, log_in):
    browser = new_browser()
    log_in(browser, make_account(Role.TEAM_LEAD))
    return browser


def _data(panel: Panel, data: dict[str, Any], agency: str) -> dict[str, Any]:
    return {
        key: [v.format(agency=agency) for v in value] if isinstance(value, list) else value
        for key, value in data.items()
    }


@pytest.mark.parametrize("panel", PANELS, ids=lambda p: p.endpoint)
def test_a_refused_panel_form_redraws_the_case_file_with_its_errors_and_saves_nothing(
    app, scene, agency, lead_browser, panel
):
    # Given a case file, and a panel's form filled in wrongly
    case = f"/team/cases/{scene.case_id}"
    browser = lead_browser if panel.lead else scene.owner_browser
    if panel.protected:
        with app.app_context():
            protected = db.session.get(Case, scene.case_id)
            protected.protection_level = ProtectionLevel.PROTECTED_REGISTRATION
            db.session.commit()
    before = case_state(app, scene.case_id)
    # When it is sent
    response = browser.post(
        f"{case}/{panel.path}", _data(panel, panel.invalid, agency), form_page=case
    )
    # Then the case file comes back with the error summary at the top, the typed values kept,
    assert response.status_code == 400, response.get_data(as_text=True)[-1500:]
    page = response.get_data(as_text=True)
    assert 'id="error-summary"' in page
    assert page.index('id="error-summary"') < page.index("<h1>")
    # on the page of the part the form belongs to, the form itself drawn again there
    assert f'action="{case}/{panel.path}"' in page
    current = re.search(r'<a href="([^"]+)" aria-current="page">', page)
    assert current and current.group(1).startswith(f"{case}/"), "not a part's page"
    if panel.kept:
        assert panel.kept in page
    # and nothing about the case has changed
    assert case_state(app, scene.case_id) == before


@pytest.mark.parametrize("panel", PANELS, ids=lambda p: p.endpoint)
@pytest.mark.parametrize("who", [Role.CASEWORKER, Role.AGENCY_REP, Role.PARTNER, Role.ADMIN])
def test_nobody_outside_the_case_reaches_a_panel_route(
    app, scene, agency, make_account, new_browser, log_in, panel, who
):
    # Given someone who is not on the case: a colleague on the team, or another role
    stranger = new_browser()
    log_in(stranger, make_account(who))
    before = case_state(app, scene.case_id)
    # When they send the panel's form, correctly filled in (a token from a page of theirs)
    response = stranger.post(
        f"/team/cases/{scene.case_id}/{panel.path}",
        _data(panel, panel.valid, agency),
        form_page="/account/",
    )
    # Then they are refused, and nothing about the case has changed
    assert response.status_code in (403, 404), response.get_data(as_text=True)[-800:]
    assert case_state(app, scene.case_id) == before


def test_every_panel_route_under_the_case_file_is_covered_here(app):
    """A new panel's POST route joins the lists above, or this fails."""
    prefix = "/team/cases/<case_id>/"
    covered = {panel.endpoint for panel in PANELS}
    # Routes with a page of their own, a second id, or a step-up code, tested elsewhere
    # (tests/cases/test_case_work.py, tests/cases/test_protection_lowering.py).
    elsewhere = {
        "cases.lower_protection",
        "cases.approve_lowering",
        "cases.reject_lowering",
        "cases.update_intervention",
        "cases.unassign_case",
        "cases.meet_deadline",
        "cases.open_child_investigation",
        "cases.break_glass",
        "case_consent.withdraw_consent",
        "consultations.convene",
        "placements.new_placement",
    }
    posted = {
        rule.endpoint
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith(prefix) and "POST" in (rule.methods or ())
    }
    assert posted - elsewhere == covered

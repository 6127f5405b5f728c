"""The case file's overview only reads; each part is worked on on a page of its own, at the
address its main form posts to, with the same header and the parts' navigation."""

from __future__ import annotations

import re

import pytest

from app.auth.models import Role
from app.extensions import db
from app.orgs.models import OrgKind
from app.orgs.services import create_organisation
from app.workspace.casefile import PARTS

# Every part's page, and the routes its forms post to (on an open case).
FORMS_OF_PART = {
    "identity": ("identity", "protection"),
    "threat": ("threat",),
    "needs": ("needs",),
    "consents": ("consents",),
    "interventions": ("interventions",),
    "status": ("status", "close"),
    "deadlines": ("age",),
    "journal": ("journal",),
}


def case_forms(page: str, case: str) -> set[str]:
    """Where the forms in the page's main part post to, under the case."""
    main = page[page.index("<main") :]
    return {m.group(1) for m in re.finditer(rf'action="{re.escape(case)}/([^"]+)"', main)}


def test_every_part_is_listed_here():
    assert {part.slug for part in PARTS} == set(FORMS_OF_PART)


def test_the_overview_draws_no_form_and_links_to_each_part(scene):
    case = f"/team/cases/{scene.case_id}"
    page = scene.owner_browser.get(case).get_data(as_text=True)
    assert case_forms(page, case) == set()
    for slug in FORMS_OF_PART:
        assert f'href="{case}/{slug}"' in page, slug
    assert f'<a href="{case}" aria-current="page">' in page


@pytest.fixture
def agency(app):
    """An agency a consent can name: without one, there is no consent form to offer."""
    with app.app_context():
        create_organisation("polisen", "Polisen", OrgKind.AGENCY)
        db.session.commit()


@pytest.mark.parametrize("slug", list(FORMS_OF_PART))
def test_each_part_has_its_page_with_its_forms(scene, agency, slug):
    case = f"/team/cases/{scene.case_id}"
    response = scene.owner_browser.get(f"{case}/{slug}")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert set(FORMS_OF_PART[slug]) <= case_forms(page, case)
    assert f'<a href="{case}/{slug}" aria-current="page">' in page
    # The header of every page of the case
    assert 'class="case-header"' in page and "<h1>" in page


def test_without_agencies_the_consent_page_says_why_it_has_no_form(scene):
    page = scene.owner_browser.get(f"/team/cases/{scene.case_id}/consents").get_data(as_text=True)
    assert "No agency or partner organisation is registered yet" in page


def test_an_unknown_part_is_not_found(scene):
    assert scene.owner_browser.get(f"/team/cases/{scene.case_id}/nothing").status_code == 404


@pytest.mark.parametrize("slug", list(FORMS_OF_PART))
def test_a_closed_case_takes_only_journal_notes(app, scene, slug):
    case = f"/team/cases/{scene.case_id}"
    closed = scene.owner_browser.post(
        f"{case}/close", {"outcome": "established", "confirmed": "yes"}, form_page=f"{case}/status"
    )
    assert closed.status_code == 302
    page = scene.owner_browser.get(f"{case}/{slug}").get_data(as_text=True)
    # Consents can still be withdrawn: none was given here.
    assert case_forms(page, case) == ({"journal"} if slug == "journal" else set())


@pytest.mark.parametrize("who", [Role.CASEWORKER, Role.AGENCY_REP, Role.PARTNER, Role.ADMIN])
def test_nobody_outside_the_case_opens_a_part(scene, make_account, new_browser, log_in, who):
    stranger = new_browser()
    log_in(stranger, make_account(who))
    for slug in FORMS_OF_PART:
        response = stranger.get(f"/team/cases/{scene.case_id}/{slug}")
        assert response.status_code in (403, 404), (slug, response.status_code)

"""The case list: open cases unless asked otherwise, a count that stops growing with the
team's history, and a caseworker's own cases only."""

from datetime import timedelta

import pytest

from app.auth.models import Role
from app.cases import services, views
from app.cases.models import Case, CaseAssignment, CaseStatus
from app.core.clock import utcnow
from app.extensions import db


def add_cases(app, scene, statuses: list[CaseStatus]) -> list[str]:
    """Cases of the scene's team, assigned to its caseworker, newest first in list order."""
    references = []
    with app.app_context():
        team = db.session.get(Case, scene.case_id).organisation_id
        for n, status in enumerate(statuses, start=1):
            case = Case(
                reference=f"K-2020-{n:06d}",
                organisation_id=team,
                status=status,
                source="phone",
                opened_at=utcnow() - timedelta(days=n),
            )
            db.session.add(case)
            db.session.flush()
            db.session.add(CaseAssignment(case_id=case.id, user_id=scene.owner.id))
            references.append(case.reference)
        db.session.commit()
    return references


def test_the_list_shows_open_cases_unless_all_are_asked_for(app, scene):
    open_one, closed_one = add_cases(app, scene, [CaseStatus.CONSENT, CaseStatus.CLOSED])
    browser = scene.owner_browser

    default = browser.get("/team/cases").get_data(as_text=True)
    assert open_one in default and closed_one not in default
    assert "2 cases" in default  # the scene's own case and the open one

    everything = browser.get("/team/cases?status=all").get_data(as_text=True)
    assert open_one in everything and closed_one in everything and "3 cases" in everything

    closed = browser.get("/team/cases?status=closed").get_data(as_text=True)
    assert closed_one in closed and open_one not in closed

    # A reference names one case: it is found although it is closed.
    found = browser.get(f"/team/cases?reference={closed_one}").get_data(as_text=True)
    assert closed_one in found and "1 case" in found


def test_the_count_stops_at_its_limit_and_paging_goes_on_past_it(app, scene, monkeypatch):
    monkeypatch.setattr(services, "COUNT_LIMIT", 3)
    monkeypatch.setattr(views, "PER_PAGE", 2)
    references = add_cases(app, scene, [CaseStatus.ASSESSMENT] * 6)  # 7 open with the scene's
    browser = scene.owner_browser

    first = browser.get("/team/cases").get_data(as_text=True)
    assert "More than 3 cases" in first
    # Newest first: the scene's case (opened today), then the added ones.
    assert references[0] in first and references[1] not in first
    # Past the counted limit, a next page is still offered while there is one.
    third = browser.get("/team/cases?page=3").get_data(as_text=True)
    assert references[3] in third and references[4] in third and "page=4" in third
    fourth = browser.get("/team/cases?page=4").get_data(as_text=True)
    assert references[5] in fourth and "page=5" not in fourth and "page=3" in fourth

    with app.app_context():
        team = db.session.get(Case, scene.case_id).organisation_id
        counted = services.team_cases(team, open_only=True, per_page=2)
        one_page = services.team_cases(team, open_only=True, per_page=50)
    assert counted.total == 4 and not counted.total_is_exact and counted.has_next
    # All on one page: the page itself is the count, exact beyond the limit too.
    assert one_page.total == 7 and one_page.total_is_exact and len(one_page.cases) == 7


def test_only_a_team_lead_filters_by_caseworker(scene, make_account, new_browser, log_in):
    # A caseworker's list holds their own cases only: the filter is neither shown nor read.
    own = scene.owner_browser.get("/team/cases?caseworker=x")
    assert own.status_code == 200 and 'name="caseworker"' not in own.get_data(as_text=True)

    lead = new_browser()
    log_in(lead, make_account(Role.TEAM_LEAD))
    page = lead.get("/team/cases").get_data(as_text=True)
    assert 'name="caseworker"' in page and scene.owner.username in page
    assert lead.get("/team/cases?caseworker=not-a-member").status_code == 400


@pytest.mark.parametrize("language", ["sv", "en"])
def test_the_workload_counts_open_cases_only(
    app, scene, make_account, new_browser, log_in, language
):
    add_cases(app, scene, [CaseStatus.CLOSED] * 3 + [CaseStatus.INTERVENTION])
    lead = new_browser()
    log_in(lead, make_account(Role.TEAM_LEAD))
    page = lead.get(f"/team/overview?lang={language}").get_data(as_text=True)
    heading = {"sv": "Öppna ärenden", "en": "Open cases"}[language]
    assert heading in page
    row = page.split(f">{scene.owner.username}</a></td>", 1)[1]
    assert row.startswith("<td>2</td>")

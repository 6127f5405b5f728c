"""A team with a submitted request turned into a case, and staff of every kind."""

from dataclasses import dataclass
from typing import Any

import pytest
import sqlalchemy as sa

from app.auth.models import Role
from app.cases.models import Case
from app.extensions import db
from app.intake.models import ClientRequest
from app.orgs.models import OrgKind
from app.orgs.services import create_organisation


@dataclass
class Scene:
    request_id: Any
    case_id: Any
    owner: Any
    owner_browser: Any


@pytest.fixture
def other_orgs(app, organisation):
    with app.app_context():
        create_organisation("annat-team", "Annat team", OrgKind.EXIT_TEAM)
        create_organisation("polisen", "Polisen", OrgKind.AGENCY)
        create_organisation("vaxjo", "Växjö kommun", OrgKind.PARTNER)
        db.session.commit()


@pytest.fixture
def submitted_request(app, client_browser, fill_request):
    fill_request(client_browser)
    with app.app_context():
        return db.session.scalars(sa.select(ClientRequest.id)).one()


@pytest.fixture
def scene(app, submitted_request, make_account, new_browser, log_in):
    owner = make_account(Role.CASEWORKER, username="agare")
    owner_browser = new_browser()
    log_in(owner_browser, owner)
    response = owner_browser.post(
        f"/team/triage/{submitted_request}/open-case",
        {},
        form_page=f"/team/triage/{submitted_request}",
    )
    assert response.status_code == 302, response.get_data(as_text=True)[-2000:]
    with app.app_context():
        case_id = db.session.scalars(sa.select(Case.id)).one()
    return Scene(submitted_request, case_id, owner, owner_browser)

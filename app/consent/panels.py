"""The consent panel of the case file: the consents recorded on the case; and apart, the form
for a new one. Its POST routes are in app/consent/case_views.py."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from app.cases.identity import IdentityView
from app.cases.models import Case
from app.consent.case_forms import ConsentForm
from app.consent.services import consents_of
from app.extensions import db
from app.orgs.models import Organisation, OrgKind


def agency_choices() -> list[tuple[str, str]]:
    """The agencies and partners a consent may name: every active one."""
    agencies = db.session.scalars(
        sa.select(Organisation)
        .where(
            Organisation.kind.in_([OrgKind.AGENCY, OrgKind.PARTNER]), Organisation.active.is_(True)
        )
        .order_by(Organisation.name)
    )
    return [(str(a.id), a.name) for a in agencies]


def consent_panel(case: Case, identity: IdentityView) -> dict[str, Any]:
    return {"consents": consents_of(case)}


def consent_forms(case: Case, identity: IdentityView) -> dict[str, Any]:
    form = ConsentForm(formdata=None)
    form.agencies.choices = agency_choices()
    return {"consent_form": form}

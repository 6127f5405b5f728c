"""The team records a consent on a case, and its withdrawal: the consent panel's routes.

Both answer with the case file: at the panel once saved, or drawn again with the panel's
form and its errors when refused.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import abort, flash
from flask_babel import gettext as _
from flask_login import current_user

from app.cases.access import editable_case
from app.cases.permissions import belongs_to_case, is_team_member
from app.consent import services, team_bp
from app.consent.case_forms import ConsentForm
from app.consent.models import Consent, ConsentMethod, Purpose
from app.consent.panels import agency_choices
from app.core.access import get_or_404, parse_public_id
from app.core.panels import back_to_case_file, case_file
from app.extensions import db
from app.orgs.models import Organisation


@team_bp.before_request
def team_only() -> None:
    if not is_team_member(current_user, current_user.organisation_id):
        abort(403)


@team_bp.route("/cases/<case_id>/consents", methods=["POST"])
def add_consent(case_id: str) -> Any:
    found = editable_case(case_id)
    form = ConsentForm()
    form.agencies.choices = agency_choices()
    if not form.validate_on_submit():
        return case_file(found, 400, consent_form=form)
    agencies = list(
        db.session.scalars(
            sa.select(Organisation).where(
                Organisation.id.in_([parse_public_id(a) for a in form.agencies.data])
            )
        )
    )
    try:
        services.record_consent(
            found,
            current_user,
            agencies=agencies,
            purposes={Purpose(p) for p in form.purposes.data},
            method=ConsentMethod(form.method.data),
            given=form.given.data == "yes",
            valid_from=form.valid_from.data,
            valid_until=form.valid_until.data,
        )
    except ValueError:
        form.valid_until.errors = [_("The end date is before the start date.")]
        return case_file(found, 400, consent_form=form)
    flash(_("The consent is saved."), "success")
    return back_to_case_file(found, "#consent")


@team_bp.route("/cases/<case_id>/consents/<consent_id>/withdraw", methods=["POST"])
def withdraw_consent(case_id: str, consent_id: str) -> Any:
    # A closed case still records a withdrawal: it ends what the agencies may be given.
    found = editable_case(case_id, while_closed=True)
    consent = get_or_404(Consent, consent_id, for_user=found, allowed=belongs_to_case)
    services.withdraw_consent(consent, found)
    flash(_("The consent is withdrawn."), "success")
    return back_to_case_file(found, "#consent")

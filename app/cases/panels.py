"""The case file's panels the cases package owns: identity and protection, the assessments,
interventions, status, caseworkers, deadlines and the journal.

Each panel gives what its part of the case file shows; its forms come apart, since only the
page where that part is worked on draws them. The POST routes are in app/cases/views.py and
draw that page again with their own form when it is refused. The pages that put the panels
together are in app/workspace.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask_login import current_user

from app.auth.models import Role, User
from app.auth.stepup import without_code
from app.cases import protection as protection_services
from app.cases import services
from app.cases.deadlines import case_clocks
from app.cases.forms import (
    AgeForm,
    ApproveLoweringForm,
    AssignForm,
    CloseCaseForm,
    GrantForm,
    IdentityForm,
    InterventionForm,
    InterventionUpdateForm,
    JournalForm,
    NeedsForm,
    ProtectionForm,
    StatusForm,
    ThreatForm,
)
from app.cases.identity import IdentityView
from app.cases.models import CASE_ID, Case, Intervention, ThreatGroup
from app.cases.permissions import can_assign_cases, can_decide_protection_change
from app.cases.timeline import case_timeline
from app.core.clock import utcnow
from app.extensions import db
from app.intake.choices import INTERVENTIONS
from app.orgs.models import Organisation
from app.rules.models import AgeBand

# Choices the panels' forms offer ------------------------------------------------------------


def _team_members() -> tuple[sa.ColumnElement[bool], ...]:
    return (
        User.organisation_id == current_user.organisation_id,
        User.role.in_([Role.CASEWORKER, Role.TEAM_LEAD]),
        User.active.is_(True),
    )


def team() -> list[User]:
    return list(db.session.scalars(sa.select(User).where(*_team_members()).order_by(User.username)))


def assign_choices() -> list[tuple[str, str]]:
    # Two columns, not whole accounts: every case page builds this list.
    rows = db.session.execute(
        sa.select(User.id, User.username).where(*_team_members()).order_by(User.username)
    )
    return [(str(user_id), username) for user_id, username in rows]


def group_choices() -> list[tuple[str, str]]:
    groups = db.session.scalars(
        sa.select(ThreatGroup)
        .where(ThreatGroup.organisation_id == current_user.organisation_id)
        .order_by(ThreatGroup.name)
    )
    return [(str(g.id), g.name) for g in groups]


def intervention_choices() -> list[tuple[str, str]]:
    return [(code, str(label)) for code, label in INTERVENTIONS.items() if code != "unsure"]


def _interventions(case: Case) -> list[Intervention]:
    return list(db.session.scalars(_INTERVENTIONS, {"case_id": case.id}))


_INTERVENTIONS = (
    sa.select(Intervention).where(Intervention.case_id == CASE_ID).order_by(Intervention.created_at)
)


def _identity_defaults(identity: IdentityView) -> dict[str, Any]:
    return {
        "full_name": identity.full_name,
        "personal_number": identity.personal_number,
        "phone": identity.phone,
        "address": identity.address,
        "municipality": identity.municipality,
        "adults": identity.adults if identity.adults is not None else 1,
        "children_ages": ", ".join(str(a) for a in identity.children_ages),
    }


# The panels: what each part of the case file shows ------------------------------------------


def identity_panel(case: Case, identity: IdentityView) -> dict[str, Any]:
    """A lowering of the protection level waiting for a decision, and who may decide it."""
    waiting = protection_services.pending_change(case)
    return {
        "waiting_change": waiting,
        "may_decide_waiting": waiting is not None
        and can_decide_protection_change(current_user, case, waiting),
    }


def needs_panel(case: Case, identity: IdentityView) -> dict[str, Any]:
    return {"needs": services.latest_needs_assessment(case)}


def interventions_panel(case: Case, identity: IdentityView) -> dict[str, Any]:
    return {"interventions": _interventions(case)}


def caseworkers_panel(case: Case, identity: IdentityView) -> dict[str, Any]:
    return {"can_assign": can_assign_cases(current_user, case)}


def deadlines_panel(case: Case, identity: IdentityView) -> dict[str, Any]:
    """The case's clocks, the agency that reported, and the latest threat assessment (its
    review is one of the clocks, and the threat panel shows it)."""
    deadlines = services.case_deadlines(case)
    threat = services.latest_threat_assessment(case)
    return {
        "threat": threat,
        "deadlines": deadlines,
        "clocks": case_clocks(case, deadlines, threat),
        "reporter": db.session.get(Organisation, case.reporting_organisation_id)
        if case.reporting_organisation_id
        else None,
    }


# How much of the timeline the overview shows; the journal's page shows all of it.
LATEST_EVENTS = 10


def latest_events_panel(case: Case, identity: IdentityView) -> dict[str, Any]:
    """The overview's timeline: the latest events, and whether there are older ones."""
    timeline = case_timeline(case, identity, latest=LATEST_EVENTS + 1)
    return {"timeline": timeline[:LATEST_EVENTS], "older_events": len(timeline) > LATEST_EVENTS}


def journal_panel(case: Case, identity: IdentityView) -> dict[str, Any]:
    return {"timeline": case_timeline(case, identity), "older_events": False}


# Their blank forms: only the page where a part is worked on draws them -----------------------


def identity_forms(case: Case, identity: IdentityView) -> dict[str, Any]:
    return {
        "identity_form": IdentityForm(
            formdata=None, stored_municipality=case.municipality, **_identity_defaults(identity)
        )
        if identity.visible
        else None,
        "protection_form": ProtectionForm(formdata=None, level=case.protection_level.value),
        "reveal_form": GrantForm(formdata=None),
        "approve_form": without_code(ApproveLoweringForm(formdata=None)),
    }


def threat_forms(case: Case, identity: IdentityView) -> dict[str, Any]:
    threat = ThreatForm(formdata=None, level=None, by_police=None)
    threat.groups.choices = group_choices()
    return {"threat_form": threat}


def needs_forms(case: Case, identity: IdentityView) -> dict[str, Any]:
    return {"needs_form": NeedsForm(formdata=None)}


def interventions_forms(case: Case, identity: IdentityView) -> dict[str, Any]:
    intervention = InterventionForm(formdata=None)
    intervention.kind.choices = intervention_choices()
    return {
        "intervention_form": intervention,
        "update_form": InterventionUpdateForm(formdata=None),
    }


def status_forms(case: Case, identity: IdentityView) -> dict[str, Any]:
    return {
        "status_form": StatusForm(formdata=None, status=case.status.value),
        "close_form": CloseCaseForm(formdata=None),
    }


def caseworkers_forms(case: Case, identity: IdentityView) -> dict[str, Any]:
    assign = AssignForm(formdata=None)
    assign.assignee.choices = assign_choices()
    return {"assign_form": assign}


def deadlines_forms(case: Case, identity: IdentityView) -> dict[str, Any]:
    return {"age_form": AgeForm(formdata=None, age_band=(case.age_band or AgeBand.UNKNOWN).value)}


def journal_forms(case: Case, identity: IdentityView) -> dict[str, Any]:
    return {"journal_form": JournalForm(formdata=None, occurred_on=utcnow().date())}

"""Alerts that come from time passing: a request past its first-contact target, an action
past its due date. Made by the daily `flask alerts remind`, each told once per person."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

import sqlalchemy as sa

from app.alerts.models import AlertKind
from app.alerts.services import already_told, case_team, notify, request_team, send_notice
from app.auth.models import User
from app.cases.deadlines import open_deadlines
from app.cases.models import Case
from app.consultations.models import Action, ActionStatus
from app.consultations.permissions import can_update_action
from app.core.clock import LOCAL_TIME, utcnow
from app.extensions import db
from app.intake.models import ClientRequest
from app.orgs.models import Organisation, OrgKind

# The deadlines of a request nobody has reached yet (app/rules/rules.toml).
FIRST_CONTACT = ("first_contact_acute", "first_contact_other")


@dataclass
class Told:
    alerts: int = 0
    people: dict[uuid.UUID, User] = field(default_factory=dict)

    def add(
        self,
        kind: AlertKind,
        people: list[User],
        subject_id: uuid.UUID,
        case_id: uuid.UUID | None = None,
    ) -> None:
        new = [p for p in people if not already_told(p.id, kind, subject_id)]
        if new:
            # The notice mail goes once per person for the whole run, below.
            notify(kind, new, subject_id, case_id=case_id, mail=False)
            self.alerts += len(new)
            self.people.update({p.id: p for p in new})


def late_requests(told: Told) -> None:
    teams = db.session.scalars(
        sa.select(Organisation.id).where(Organisation.kind == OrgKind.EXIT_TEAM)
    ).all()
    for team_id in teams:
        for item in open_deadlines(team_id):
            if item.rule_key not in FIRST_CONTACT or not item.overdue or item.request_id is None:
                continue
            request = db.session.get_one(ClientRequest, item.request_id)
            told.add(AlertKind.REQUEST_LATE, request_team(request), request.id)


def overdue_actions(told: Told) -> None:
    today = utcnow().astimezone(LOCAL_TIME).date()
    actions = db.session.scalars(
        sa.select(Action).where(
            Action.status.in_([ActionStatus.OPEN, ActionStatus.IN_PROGRESS]),
            Action.due_on < today,
        )
    )
    for action in actions:
        case = db.session.get_one(Case, action.case_id)
        told.add(AlertKind.ACTION_OVERDUE, case_team(case), action.id, case_id=case.id)
        owner = db.session.get(User, action.owner_user_id) if action.owner_user_id else None
        # The agency's named owner hears of it too, while the client's consent lets them
        # see the action at all; their alert names no case (they never see the case).
        if owner is not None and owner.active and can_update_action(owner, action):
            told.add(AlertKind.ACTION_OVERDUE, [owner], action.id)


def remind() -> Told:
    """Make the day's time-based alerts and queue one notice per person who opted in."""
    told = Told()
    late_requests(told)
    overdue_actions(told)
    send_notice(told.people.values())
    return told

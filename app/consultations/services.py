"""Convening consultations, inviting agencies on consent, and following actions."""

from __future__ import annotations

import json
import secrets
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, TypeVar

import sqlalchemy as sa
from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _

from app.alerts.models import AlertKind
from app.alerts.services import case_team, notify
from app.audit.services import record
from app.auth.models import Asker, Role, User, UserSession
from app.auth.services import AccountError, WeakPassword, create_user
from app.auth.sessions import hash_token, start_session
from app.cases.models import CASE_ID, Case, CaseAssignment, NeedsAssessment
from app.cases.services import latest_threat_assessment
from app.consent.models import Disclosure, Purpose
from app.consent.services import (
    NotCovered,
    consent_covers,
    read_disclosure,
    readable_disclosure,
    record_disclosure,
    refuse_read,
    still_readable,
)
from app.consultations import ical
from app.consultations.models import (
    AccountInvitation,
    Action,
    ActionStatus,
    Consultation,
    ConsultationStatus,
    Decision,
    Invitation,
    MinutesShare,
    Response,
    RoleApproval,
)
from app.consultations.permissions import can_update_action
from app.core.clock import LOCAL_TIME, utcnow
from app.core.db import rows_matched
from app.core.outbox import enqueue_email
from app.extensions import db
from app.orgs.models import Organisation, OrgKind


class ConsultationError(ValueError):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _audit(action: str, consultation: Consultation, **details: str | int | bool | None) -> None:
    record(
        action,
        subject=consultation,
        organisation_id=consultation.organisation_id,
        details={"case": str(consultation.case_id), **details},
    )


def view_convening(case: Case) -> None:
    """Record that the convening page was read: it shows whom the case's consent covers and
    the case's earlier consultations, which is case data like the case page itself."""
    record("consultation.convening.viewed", subject=case, organisation_id=case.organisation_id)


def agency_choices(case: Case) -> list[tuple[Organisation, bool]]:
    """Every agency, and whether the client's consent lets it be invited to consult."""
    agencies = db.session.scalars(
        sa.select(Organisation)
        .where(Organisation.kind == OrgKind.AGENCY, Organisation.active.is_(True))
        .order_by(Organisation.name)
    )
    return [(agency, consent_covers(case, agency, Purpose.CONSULTATION)) for agency in agencies]


def agency_directory() -> list[tuple[Organisation, list[User]]]:
    """Every active agency with its representatives, for the team's directory."""
    agencies = list(
        db.session.scalars(
            sa.select(Organisation)
            .where(Organisation.kind == OrgKind.AGENCY, Organisation.active.is_(True))
            .order_by(Organisation.name)
        )
    )
    people = representatives_of([a.id for a in agencies])
    return [(a, [p for p in people if p.organisation_id == a.id]) for a in agencies]


def representatives_of(organisation_ids: list[uuid.UUID]) -> list[User]:
    return list(
        db.session.scalars(
            sa.select(User)
            .where(
                User.organisation_id.in_(organisation_ids),
                User.role == Role.AGENCY_REP,
                User.active.is_(True),
            )
            .order_by(User.username)
        )
    )


@dataclass(frozen=True)
class Plan:
    starts_at: datetime
    duration_minutes: int
    place: str
    agenda: str | None


def conflicts(people: list[User], plan: Plan, ignore: Consultation | None = None) -> list[User]:
    """Invited staff who already have a planned consultation overlapping this one."""
    end = plan.starts_at + timedelta(minutes=plan.duration_minutes)
    busy: list[User] = []
    for person in people:
        overlapping = db.session.scalars(
            sa.select(Consultation)
            .join(Invitation, Invitation.consultation_id == Consultation.id)
            .where(
                Invitation.user_id == person.id,
                Consultation.status == ConsultationStatus.PLANNED,
                Consultation.starts_at < end,
            )
        ).all()
        for other in overlapping:
            other_end = other.starts_at + timedelta(minutes=other.duration_minutes)
            if other_end > plan.starts_at and (ignore is None or other.id != ignore.id):
                busy.append(person)
                break
    return busy


def convene(
    case: Case,
    convener: User,
    plan: Plan,
    agency_ids: list[uuid.UUID],
    representative_ids: list[uuid.UUID],
    previous: Consultation | None = None,
) -> Consultation:
    """Create a consultation and invite agencies — only those the client's consent covers.

    A request that names an agency without consent (say, a crafted POST) is refused whole
    and audited; nothing of it is saved.
    """
    agencies = list(
        db.session.scalars(sa.select(Organisation).where(Organisation.id.in_(agency_ids)))
    )
    if not agencies or len(agencies) != len(set(agency_ids)):
        raise ConsultationError("agencies")
    for agency in agencies:
        if agency.kind is not OrgKind.AGENCY or not consent_covers(
            case, agency, Purpose.CONSULTATION
        ):
            record(
                "consultation.refused_agency",
                subject=case,
                organisation_id=case.organisation_id,
                details={"agency": str(agency.id)},
            )
            raise NotCovered
    wanted = set(representative_ids)
    representatives = [u for u in representatives_of([a.id for a in agencies]) if u.id in wanted]
    if len(representatives) != len(set(representative_ids)):
        raise ConsultationError("representatives")
    if plan.duration_minutes <= 0 or plan.duration_minutes > 8 * 60:
        raise ConsultationError("duration")
    consultation = Consultation(
        case_id=case.id,
        organisation_id=case.organisation_id,
        previous_id=previous.id if previous else None,
        convened_by_id=convener.id,
        status=ConsultationStatus.PLANNED,
        starts_at=plan.starts_at,
        duration_minutes=plan.duration_minutes,
        place=plan.place,
        agenda=plan.agenda or None,
        ical_uid=f"{uuid.uuid4()}@utvag",
        sequence=0,
    )
    db.session.add(consultation)
    db.session.flush()
    invited_orgs = {r.organisation_id for r in representatives}
    for rep in representatives:
        consultation.invitations.append(
            Invitation(organisation_id=rep.organisation_id, user_id=rep.id)
        )
    for agency in agencies:
        if agency.id not in invited_orgs:
            consultation.invitations.append(Invitation(organisation_id=agency.id))
    consultation.invitations.append(
        Invitation(
            organisation_id=case.organisation_id, user_id=convener.id, response=Response.ACCEPTED
        )
    )
    db.session.flush()
    _audit("consultation.convened", consultation, agencies=len(agencies))
    _alert_invited(consultation, representatives)
    disclose_to_agencies(consultation, case, convener)
    _send(consultation, "REQUEST")
    return consultation


def _alert_invited(consultation: Consultation, people: Iterable[User]) -> None:
    """The invited representatives see the invitation waiting in the portal. No alert
    mail: the invitation itself went by mail to everyone with an address."""
    notify(
        AlertKind.CONSULTATION_INVITATION,
        [p for p in people if p.role is Role.AGENCY_REP],
        consultation.id,
        mail=False,
    )


def _recipient(invitation: Invitation, convener_id: uuid.UUID | None) -> tuple[str, str] | None:
    """Where an invitation goes: the named person, else the agency's functional mailbox."""
    person = invitation.user
    if person is not None:
        if person.id == convener_id or not person.notify_email:
            return None
        return person.notify_email, person.locale or "sv"
    mailbox = invitation.organisation.mailbox
    return (mailbox, "sv") if mailbox else None


def _send(consultation: Consultation, method: str) -> None:
    """Queue the invitation (or cancellation) for every invitee that has an address."""
    for invitation in consultation.invitations:
        _send_one(consultation, invitation, method)


def _send_one(consultation: Consultation, invitation: Invitation, method: str) -> None:
    recipient = _recipient(invitation, consultation.convened_by_id)
    if recipient is not None:
        address, locale = recipient
        with force_locale(locale):
            # Neither the subject nor the calendar entry names the case: both show on lock
            # screens and shared calendars, and stay in mailboxes outside the portal.
            summary = _("Consultation in Utväg")
            body = (
                _("The consultation is cancelled.")
                if method == "CANCEL"
                else _("You are invited to a consultation. Answer in Utväg.")
            )
            enqueue_email(
                address,
                summary,
                body,
                calendar=ical.invitation(consultation, summary, method),
                calendar_method=method,
            )


def reschedule(consultation: Consultation, case: Case, plan: Plan) -> None:
    if consultation.status is not ConsultationStatus.PLANNED:
        raise ConsultationError("not_planned")
    consultation.starts_at = plan.starts_at
    consultation.duration_minutes = plan.duration_minutes
    consultation.place = plan.place
    consultation.sequence += 1
    for invitation in consultation.invitations:
        if invitation.user_id != consultation.convened_by_id:
            invitation.response = Response.PENDING
    _audit("consultation.rescheduled", consultation, sequence=consultation.sequence)
    _send(consultation, "REQUEST")
    # The new time waits for their answer again: told in the portal as the first one was.
    _alert_invited(consultation, [i.user for i in consultation.invitations if i.user])


def cancel(consultation: Consultation, case: Case) -> None:
    if consultation.status is not ConsultationStatus.PLANNED:
        raise ConsultationError("not_planned")
    consultation.status = ConsultationStatus.CANCELLED
    consultation.sequence += 1
    _audit("consultation.cancelled", consultation)
    _send(consultation, "CANCEL")


def respond(invitation: Invitation, response: Response, proposed: datetime | None) -> None:
    if invitation.consultation.status is not ConsultationStatus.PLANNED:
        raise ConsultationError("not_planned")
    if response is Response.PROPOSED and proposed is None:
        raise ConsultationError("proposal")
    invitation.response = response
    invitation.proposed_starts_at = proposed if response is Response.PROPOSED else None
    _audit("consultation.answered", invitation.consultation, response=response.value)
    consultation = invitation.consultation
    notify(
        AlertKind.AGENCY_ANSWER,
        case_team(db.session.get_one(Case, consultation.case_id)),
        consultation.id,
        case_id=consultation.case_id,
    )


def record_meeting(
    consultation: Consultation,
    minutes: str,
    attended_ids: set[uuid.UUID],
    decisions: list[str],
    by: User,
) -> None:
    """Save (or correct) attendance, minutes and decisions; only once the meeting has begun.

    What is saved goes to the invited agencies as they are now (see share_minutes): a
    correction reaches them as a new snapshot, never by itself.
    """
    if consultation.status is ConsultationStatus.CANCELLED:
        raise ConsultationError("cancelled")
    if utcnow() < consultation.starts_at:
        raise ConsultationError("not_started")
    consultation.status = ConsultationStatus.HELD
    consultation.minutes = minutes
    for invitation in consultation.invitations:
        invitation.attended = invitation.id in attended_ids
    # The form shows the decisions as they stand, so saving replaces them.
    db.session.execute(sa.delete(Decision).where(Decision.consultation_id == consultation.id))
    for text in decisions:
        db.session.add(Decision(consultation_id=consultation.id, text=text))
    _audit("consultation.minutes_recorded", consultation, decisions=len(decisions))
    share_minutes(consultation, db.session.get_one(Case, consultation.case_id), decisions, by)


def share_minutes(consultation: Consultation, case: Case, decisions: list[str], by: User) -> int:
    """Give each invited agency the minutes and decisions as a frozen, recorded snapshot.

    Only an agency the client's consent to consult covers receives them: they concern the
    meeting it was invited to, and nothing of another meeting of the case. A protected
    case's minutes go to no agency: written freely, they may say who the person is or
    where they live, which a protected identity keeps from everyone outside the team.
    Returns how many agencies received them.
    """
    if case.is_protected or consultation.minutes is None:
        return 0
    fields: list[tuple[str, str | None]] = [("minutes", consultation.minutes)]
    fields.extend((f"decision:{n}", text) for n, text in enumerate(decisions, start=1))
    given = 0
    for agency in _invited_agencies(consultation, case):
        if not consent_covers(case, agency, Purpose.CONSULTATION):
            continue
        disclosure = record_disclosure(case, agency, Purpose.CONSULTATION, fields, by)
        db.session.add(MinutesShare(consultation_id=consultation.id, disclosure_id=disclosure.id))
        # The agency's invited people see the minutes waiting, as they saw the invitation.
        notify(
            AlertKind.MINUTES_SHARED,
            [
                i.user
                for i in consultation.invitations
                if i.organisation_id == agency.id and i.user is not None and i.user.active
            ],
            consultation.id,
        )
        given += 1
    db.session.flush()
    return given


def _invited_agencies(consultation: Consultation, case: Case) -> list[Organisation]:
    """The agencies invited to the consultation, without the team itself."""
    agencies = {
        i.organisation_id: i.organisation
        for i in consultation.invitations
        if i.organisation.kind is OrgKind.AGENCY and i.organisation_id != case.organisation_id
    }
    return list(agencies.values())


def add_action(
    consultation: Consultation,
    owner: Organisation,
    owner_user: User | None,
    description: str,
    due_on: date,
) -> Action:
    invited = {i.organisation_id for i in consultation.invitations}
    if owner.id not in invited:
        raise ConsultationError("owner")
    if owner_user is not None and owner_user.organisation_id != owner.id:
        raise ConsultationError("owner")
    action = Action(
        consultation_id=consultation.id,
        case_id=consultation.case_id,
        owner_organisation_id=owner.id,
        owner_user_id=owner_user.id if owner_user else None,
        description=description,
        due_on=due_on,
        status=ActionStatus.OPEN,
    )
    db.session.add(action)
    db.session.flush()
    _audit("consultation.action_added", consultation, owner=str(owner.id))
    # The agency's people see it waiting from the day it is given, as a partner sees a
    # request: the named owner, else every representative of the agency. Only those who
    # may see the action at all (the client's consent holds); the alert names no case.
    people = [owner_user] if owner_user else representatives_of([owner.id])
    notify(
        AlertKind.ACTION_ASSIGNED,
        [p for p in people if p.active and can_update_action(p, action)],
        action.id,
    )
    return action


def update_action(action: Action, status: ActionStatus, outcome: str | None) -> None:
    if status is ActionStatus.DONE and action.status is not ActionStatus.DONE:
        action.done_at = utcnow()
    elif status is not ActionStatus.DONE:
        action.done_at = None
    action.status = status
    action.outcome = outcome or None
    record(
        "action.updated",
        subject=action,
        details={"case": str(action.case_id), "status": status.value},
    )


def decisions_of(consultation: Consultation) -> list[Decision]:
    return list(
        db.session.scalars(
            sa.select(Decision)
            .where(Decision.consultation_id == consultation.id)
            .order_by(Decision.created_at)
        )
    )


# The case file and the convening page list meetings by when and how they went: who was
# invited is loaded only if asked for (it was two more statements on every case file).
WITHOUT_INVITATIONS = sa.orm.lazyload(Consultation.invitations)


def actions_of_case(case_id: uuid.UUID) -> list[Action]:
    return list(db.session.scalars(_ACTIONS_OF_CASE, {"case_id": case_id}))


def consultations_of_case(case_id: uuid.UUID) -> list[Consultation]:
    return list(db.session.scalars(_CONSULTATIONS_OF_CASE, {"case_id": case_id}))


_ACTIONS_OF_CASE = (
    sa.select(Action)
    .where(Action.case_id == CASE_ID)
    .order_by(Action.due_on)
    .options(sa.orm.joinedload(Action.consultation).options(WITHOUT_INVITATIONS))
)
_CONSULTATIONS_OF_CASE = (
    sa.select(Consultation)
    .where(Consultation.case_id == CASE_ID)
    .order_by(Consultation.starts_at)
    .options(WITHOUT_INVITATIONS)
)


# The representative's side ---------------------------------------------------------------


def access_until(consultation: Consultation) -> datetime:
    days: int = current_app.config["CONSULTATION_ACCESS_DAYS"]
    return (
        consultation.starts_at
        + timedelta(minutes=consultation.duration_minutes)
        + timedelta(days=days)
    )


def consultations_for(representative: User) -> list[Consultation]:
    return list(
        db.session.scalars(
            sa.select(Consultation)
            .join(Invitation, Invitation.consultation_id == Consultation.id)
            .where(Invitation.user_id == representative.id)
            .order_by(Consultation.starts_at.desc())
        )
    )


def actions_for(representative: User) -> list[Action]:
    """The open actions the representative's agency owns, on cases whose consent holds."""
    actions = db.session.scalars(
        sa.select(Action)
        .where(
            Action.owner_organisation_id == representative.organisation_id,
            Action.status.in_([ActionStatus.OPEN, ActionStatus.IN_PROGRESS]),
        )
        .order_by(Action.due_on)
    )
    # The same rule as for updating one: an action's text may carry case data (a name,
    # an address), so it is shown only while the client's consent to that agency holds.
    return [a for a in actions if can_update_action(representative, a)]


def awaits_answer(representative: User, consultation: Consultation) -> bool:
    """A planned meeting still ahead that the representative has not answered."""
    invitation = next((i for i in consultation.invitations if i.user_id == representative.id), None)
    return (
        invitation is not None
        and invitation.response is Response.PENDING
        and consultation.status is ConsultationStatus.PLANNED
        and consultation.starts_at > utcnow()
    )


ACTION_HORIZON = timedelta(days=7)


def action_due_soon(action: Action) -> bool:
    """Overdue, or due within the week (the team's calendar)."""
    return action.due_on <= action_horizon()


def actions_due_on_my_cases(user: User) -> list[tuple[Action, str]]:
    """Open actions due within the week (overdue included) on the open cases assigned to
    the user, with each case's reference: the start page's count and the list it links to.
    Only cases the user is assigned to, so each one is a case they may view."""
    rows = db.session.execute(
        _actions_due_on_my_cases(user, sa.select(Action, Case.reference), action_horizon())
        .join(Case, Case.id == Action.case_id)
        .order_by(Action.due_on)
        .limit(500)
    ).all()
    return [(row[0], row[1]) for row in rows]


def count_actions_due_on_my_cases(user: Asker, horizon: Any) -> sa.ScalarSelect[int]:
    """What actions_due_on_my_cases() lists (`horizon`: action_horizon()), counted by the
    database (nothing decrypted)."""
    return _actions_due_on_my_cases(
        user, sa.select(sa.func.count(Action.id)), horizon
    ).scalar_subquery()


def action_horizon() -> date:
    """The last day of the week ahead: an action due by then is due soon."""
    return utcnow().astimezone(LOCAL_TIME).date() + ACTION_HORIZON


AnySelect = TypeVar("AnySelect", bound=sa.Select[*tuple[Any, ...]])


def _actions_due_on_my_cases(user: Asker, query: AnySelect, horizon: Any) -> AnySelect:
    # The person's open cases (a few dozen, from their own index): a closed case's
    # actions are no one's work any more, and reading them from every case the person was
    # ever given would make the count grow with their history.
    return (
        query.select_from(Action)
        .join(CaseAssignment, CaseAssignment.case_id == Action.case_id)
        .where(
            CaseAssignment.user_id == user.id,
            CaseAssignment.case_open,
            Action.status.in_([ActionStatus.OPEN, ActionStatus.IN_PROGRESS]),
            Action.due_on <= horizon,
        )
    )


def consultation_fields(case: Case) -> list[tuple[str, str | None]]:
    """What consent to consult covers: the latest threat level and the latest needs."""
    needs = db.session.scalar(
        sa.select(NeedsAssessment)
        .where(NeedsAssessment.case_id == case.id)
        .order_by(NeedsAssessment.assessed_on.desc(), NeedsAssessment.created_at.desc())
        .limit(1)
    )
    threat = latest_threat_assessment(case)
    fields: list[tuple[str, str | None]] = [
        ("threat_level", threat.level.value if threat else None)
    ]
    if needs is not None:
        notes: dict[str, str] = json.loads(needs.notes)
        fields.extend((f"need:{need}", text) for need, text in notes.items())
    return fields


def disclose_to_agencies(consultation: Consultation, case: Case, by: User) -> int:
    """Give each invited agency a frozen snapshot of what the client consented to share.

    Done when the consultation is convened, and again only when a caseworker chooses to:
    a later change on the case never reaches an agency by itself. Consent to consult
    covers the needs and the threat level; the name goes as a disclosure of its own, only
    on consent to information exchange with that agency, and never for a protected case.
    Agencies whose consent no longer holds get nothing. Returns how many agencies received.
    """
    if consultation.status is ConsultationStatus.CANCELLED:
        raise ConsultationError("cancelled")
    given = 0
    for agency in _invited_agencies(consultation, case):
        if not consent_covers(case, agency, Purpose.CONSULTATION):
            continue
        record_disclosure(case, agency, Purpose.CONSULTATION, consultation_fields(case), by)
        if not case.is_protected and consent_covers(case, agency, Purpose.INFORMATION_EXCHANGE):
            record_disclosure(
                case, agency, Purpose.INFORMATION_EXCHANGE, [("full_name", case.full_name)], by
            )
        given += 1
    return given


@dataclass(frozen=True)
class RepresentativeView:
    """What one agency may see of a case: the snapshots disclosed to it, nothing live."""

    reference: str
    shared: bool
    needs: dict[str, str] | None
    threat_level: str | None
    full_name: str | None
    identity_shared: bool
    disclosed_at: datetime | None


def view_for_representative(consultation: Consultation, representative: User) -> RepresentativeView:
    """Read the agency's snapshots of the case, and record the reading.

    Nothing here reads the live case's needs, threat or identity. The name shows only
    while the information-exchange consent it was disclosed on holds, and not once the
    case is protected.
    """
    case = db.session.get(Case, consultation.case_id)
    agency = representative.organisation
    assert case is not None and agency is not None
    if not consent_covers(case, agency, Purpose.CONSULTATION):
        refuse_read(case, agency, Purpose.CONSULTATION)
        raise NotCovered
    # The case's details, not a meeting's minutes, which the same consent carries.
    snapshot = readable_disclosure(case, agency, Purpose.CONSULTATION, holding="threat_level")
    identity = (
        None
        if case.is_protected
        else readable_disclosure(case, agency, Purpose.INFORMATION_EXCHANGE)
    )
    for disclosure in (snapshot, identity):
        if disclosure is not None:
            read_disclosure(disclosure, case, representative)
    needs = (
        {
            f.name.removeprefix("need:"): f.value or ""
            for f in snapshot.fields
            if f.name.startswith("need:")
        }
        if snapshot
        else None
    )
    return RepresentativeView(
        reference=case.reference,
        shared=snapshot is not None,
        needs=needs or None,
        threat_level=snapshot.value("threat_level") if snapshot else None,
        full_name=identity.value("full_name") if identity else None,
        identity_shared=identity is not None,
        disclosed_at=snapshot.created_at if snapshot else None,
    )


@dataclass(frozen=True)
class SharedMinutes:
    """A consultation's minutes and decisions as they were given to one agency."""

    minutes: str | None
    decisions: list[str]
    shared_at: datetime


def minutes_for_representative(
    consultation: Consultation, representative: User
) -> SharedMinutes | None:
    """The newest minutes of this consultation given to the representative's agency, while
    the consent they were given on holds and the case is not protected; the reading is
    recorded. None when there are none the agency may read."""
    case = db.session.get_one(Case, consultation.case_id)
    agency = representative.organisation
    if agency is None or case.is_protected:
        return None
    share = db.session.scalar(
        sa.select(MinutesShare)
        .join(MinutesShare.disclosure)
        .where(
            MinutesShare.consultation_id == consultation.id,
            Disclosure.recipient_id == agency.id,
        )
        .order_by(MinutesShare.created_at.desc())
        .limit(1)
    )
    if share is None:
        return None
    if not still_readable(share.disclosure, case, agency):
        refuse_read(case, agency, Purpose.CONSULTATION)
        return None
    read_disclosure(share.disclosure, case, representative)
    return SharedMinutes(
        minutes=share.disclosure.value("minutes"),
        decisions=[
            f.value or "" for f in share.disclosure.fields if f.name.startswith("decision:")
        ],
        shared_at=share.disclosure.created_at,
    )


def agency_actions_of(consultation: Consultation, representative: User) -> list[Action]:
    """The actions this consultation gave the representative's agency, open or not."""
    return list(
        db.session.scalars(
            sa.select(Action)
            .where(
                Action.consultation_id == consultation.id,
                Action.owner_organisation_id == representative.organisation_id,
            )
            .order_by(Action.due_on)
        )
    )


# Inviting a new representative by e-mail ---------------------------------------------------

INVITATION_VALIDITY = timedelta(days=7)


def new_account_invitation(
    organisation: Organisation,
    email: str,
    invited_by: User,
    role: Role,
    *,
    consultation: Consultation | None = None,
) -> tuple[AccountInvitation, str]:
    """A single-use invitation; the token goes into the mailed link and is stored hashed."""
    token = secrets.token_urlsafe(32)
    invitation = AccountInvitation(
        organisation_id=organisation.id,
        email=email,
        token_hash=hash_token(token),
        expires_at=utcnow() + INVITATION_VALIDITY,
        invited_by_id=invited_by.id,
        role=role,
        consultation_id=consultation.id if consultation else None,
    )
    db.session.add(invitation)
    db.session.flush()
    return invitation, token


def invite_representative(
    agency: Organisation,
    email: str,
    invited_by: User,
    consultation: Consultation | None,
    join_url: str,
) -> AccountInvitation:
    """E-mail a single-use link to join as the agency's representative (and enrol 2FA).

    The link is the only secret in the mail; the mail says nothing about any case.
    """
    invitation, token = new_account_invitation(
        agency, email, invited_by, Role.AGENCY_REP, consultation=consultation
    )
    with force_locale("sv"):
        enqueue_email(
            email,
            _("Invitation to Utväg"),
            _(
                "You are invited to take part in consultations in Utväg for %(agency)s. "
                "Open this link within 7 days to create your account: %(link)s",
                agency=agency.name,
                link=join_url.replace("TOKEN", token),
            ),
        )
    record(
        "representative.invited",
        subject=invitation,
        organisation_id=invited_by.organisation_id,
        details={"agency": str(agency.id)},
    )
    return invitation


def _seat(consultation: Consultation, person: User) -> None:
    """Give a new representative their agency's seat (or a new one) and their calendar entry."""
    seat = next(
        (
            i
            for i in consultation.invitations
            if i.organisation_id == person.organisation_id and i.user_id is None
        ),
        None,
    )
    if seat is None:
        seat = Invitation(organisation_id=person.organisation_id)
        consultation.invitations.append(seat)
    seat.user = person
    db.session.flush()
    case = db.session.get(Case, consultation.case_id)
    if case is not None and consultation.status is ConsultationStatus.PLANNED:
        _send_one(consultation, seat, "REQUEST")
        _alert_invited(consultation, [person])


def find_account_invitation(token: str) -> AccountInvitation | None:
    invitation = db.session.scalar(
        sa.select(AccountInvitation).where(AccountInvitation.token_hash == hash_token(token))
    )
    if (
        invitation is None
        or invitation.accepted_at is not None
        or invitation.expires_at <= utcnow()
        # A deactivated organisation takes no new members through links sent before.
        or not invitation.organisation.active
        # A role that reads case content works only once a team lead has approved it.
        or invitation.approval not in (None, RoleApproval.APPROVED)
    ):
        return None
    return invitation


def account_invitation_used(token: str) -> bool:
    """True if the link made its account already (the same form sent again, say)."""
    accepted = db.session.scalar(
        sa.select(AccountInvitation.accepted_at).where(
            AccountInvitation.token_hash == hash_token(token)
        )
    )
    return accepted is not None


class InvitationUsed(Exception):
    """The link was used (by a parallel request too) or has expired since it was opened."""


def _claim_invitation(invitation: AccountInvitation) -> None:
    """Mark the invitation used in one guarded UPDATE whose row count decides.

    Two requests with the same link may both have found it unused; only one UPDATE still
    matches `accepted_at IS NULL` (on PostgreSQL the second waits for the first transaction
    and then matches nothing), so only one account is ever made from a link.
    """
    claimed = db.session.execute(
        sa.update(AccountInvitation)
        .where(
            AccountInvitation.id == invitation.id,
            AccountInvitation.accepted_at.is_(None),
            AccountInvitation.expires_at > utcnow(),
        )
        .values(accepted_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    if rows_matched(claimed) != 1:
        raise InvitationUsed


def accept_account_invitation(
    invitation: AccountInvitation, username: str, password: str
) -> tuple[UserSession, str]:
    """Create the invited account; the session goes on to TOTP enrolment."""
    _claim_invitation(invitation)
    try:
        user = create_user(username, password, invitation.role, invitation.organisation)
    except (AccountError, WeakPassword):
        # Refused before anything was written: the link stays usable for a better attempt
        # (the refusal commits, so the claim is undone here rather than by a rollback).
        db.session.execute(
            sa.update(AccountInvitation)
            .where(AccountInvitation.id == invitation.id)
            .values(accepted_at=None)
            .execution_options(synchronize_session=False)
        )
        raise
    db.session.refresh(invitation)
    user.notify_email = invitation.email
    if invitation.consultation_id:
        consultation = db.session.get(Consultation, invitation.consultation_id)
        if consultation is not None:
            _seat(consultation, user)
    record(
        "representative.joined",
        subject=invitation,
        actor_id=user.id,
        organisation_id=invitation.organisation_id,
    )
    return start_session(user)

"""Today's work as counts, each linking to the list filtered to exactly what it counts.

Every count reads through the same filter as its list, and only what the reader may see:
the team's waiting requests (every member triages them), their own deadlines, messages
and alerts, and for a team lead the team's overdue items and the access-log review.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import g, url_for
from flask_babel import gettext as _

from app.alerts import inbox
from app.alerts.models import AlertKind
from app.auth.models import Role, User
from app.cases import services as case_services
from app.cases.due import deadline_counts, team_overdue_count
from app.cases.permissions import is_team_lead_of, is_team_member
from app.consultations import services as consultation_services
from app.consultations.permissions import can_attend_as_representative
from app.messages.services import unread_on_my_work
from app.oversight.services import unreviewed_previous_month
from app.placements.services import waiting_count


def unread_counts(user: User) -> dict[AlertKind, int]:
    """The reader's unread alerts by kind, counted once per request: the start page shows
    them in its tallies and as their sum, and they do not change between the two."""
    counted: dict[object, dict[AlertKind, int]] = g.setdefault("unread_alert_counts", {})
    if user.id not in counted:
        counted[user.id] = inbox.unread_counts(user)
    return counted[user.id]


@dataclass(frozen=True)
class Tally:
    label: str
    count: int
    url: str
    # Shown as needing attention when there is any.
    pressing: bool = False


def _alert_tally(counts: dict[AlertKind, int], kind: AlertKind, label: str) -> Tally:
    return Tally(
        label,
        counts.get(kind, 0),
        url_for("alerts.index", kind=kind.value, unread="1"),
        pressing=kind is AlertKind.CASE_ACCESSED,
    )


def team_tallies(user: User) -> list[Tally]:
    queue = case_services.triage_queue(user.organisation_id)
    waiting = case_services.filter_triage
    deadlines = deadline_counts(user)
    alerts = unread_counts(user)
    tallies = [
        Tally(_("Waiting requests"), len(queue), url_for("cases.triage")),
        Tally(
            _("Acute requests"),
            len(waiting(queue, "acute")),
            url_for("cases.triage", show="acute"),
            pressing=True,
        ),
        Tally(
            _("Requests past the first-contact target"),
            len(waiting(queue, "late")),
            url_for("cases.triage", show="late"),
            pressing=True,
        ),
        Tally(
            _("My overdue deadlines"),
            deadlines.overdue,
            url_for("cases.my_deadlines", due="overdue"),
            pressing=True,
        ),
        Tally(
            _("My deadlines this week"),
            deadlines.this_week,
            url_for("cases.my_deadlines", due="week"),
        ),
        Tally(
            _("Unread client messages on my work"),
            unread_on_my_work(user),
            url_for("messages.inbox", show="unread"),
        ),
        Tally(
            _("Actions due on my cases"),
            len(consultation_services.actions_due_on_my_cases(user)),
            url_for("consultations.actions_due"),
        ),
        _alert_tally(alerts, AlertKind.AGENCY_ANSWER, _("Consultation answers and proposals")),
        _alert_tally(alerts, AlertKind.PARTNER_ANSWER, _("Placement answers")),
        _alert_tally(alerts, AlertKind.ACTION_OVERDUE, _("Overdue actions")),
        _alert_tally(alerts, AlertKind.CASE_ACCESSED, _("Emergency openings of my cases")),
    ]
    if is_team_lead_of(user, user.organisation_id):
        assert user.organisation_id is not None
        unreviewed = unreviewed_previous_month(user.organisation_id)
        tallies += [
            Tally(
                _("Requests not assigned"),
                len(waiting(queue, "unassigned")),
                url_for("cases.triage", show="unassigned"),
            ),
            Tally(
                _("The team's overdue items"),
                team_overdue_count(user.organisation_id),
                url_for("cases.overview"),
                pressing=True,
            ),
            Tally(
                _("Access-log months to review"),
                1 if unreviewed else 0,
                url_for("oversight.access_log", _anchor="review"),
            ),
        ]
    return tallies


def representative_tallies(user: User) -> list[Tally]:
    consultations = [
        c
        for c in consultation_services.consultations_for(user)
        if can_attend_as_representative(user, c) and consultation_services.awaits_answer(user, c)
    ]
    actions = [
        a
        for a in consultation_services.actions_for(user)
        if consultation_services.action_due_soon(a)
    ]
    return [
        Tally(
            _("Consultations waiting for your answer"),
            len(consultations),
            url_for("agency.overview", show="waiting"),
        ),
        Tally(
            _("Actions due within a week"),
            len(actions),
            url_for("agency.overview", show="due"),
        ),
    ]


def partner_tallies(user: User) -> list[Tally]:
    assert user.organisation_id is not None
    return [
        Tally(
            _("Placement requests waiting for your answer"),
            waiting_count(user.organisation_id),
            url_for("partner.inbox", show="waiting"),
        )
    ]


def tallies_for(user: User) -> list[Tally]:
    """The reader's counts by role; none for a role without such work (administrators)."""
    if is_team_member(user, user.organisation_id):
        tallies = team_tallies(user)
    elif user.role is Role.AGENCY_REP:
        tallies = representative_tallies(user)
    elif user.role is Role.PARTNER:
        tallies = partner_tallies(user)
    else:
        tallies = []
    return tallies


def unread_alerts(user: User) -> int:
    return sum(unread_counts(user).values())

"""Today's work as counts, each linking to the list filtered to exactly what it counts.

Every count reads through the same filter as its list, and only what the reader may see:
the team's waiting requests (every member triages them), their own deadlines, messages
and alerts, and for a team lead the team's overdue items and the access-log review.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import sqlalchemy as sa
from flask import url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from app.alerts import inbox
from app.alerts.models import AlertKind
from app.auth.models import Role, User
from app.auth.services import count_remaining_recovery_codes
from app.cases.deadlines import count_due
from app.cases.permissions import is_team_lead_of, is_team_member
from app.cases.services import count_triage
from app.consultations import services as consultation_services
from app.consultations.permissions import can_attend_as_representative
from app.core.clock import utcnow
from app.extensions import db
from app.messages.services import count_unread_on_my_work
from app.oversight.services import count_unreviewed_previous_month
from app.placements.services import waiting_count


def count_at_once(counts: Mapping[str, sa.ColumnElement[int]]) -> dict[str, int]:
    """Several counts in one round trip: each is a column of one SELECT."""
    row = db.session.execute(sa.select(*(count.label(name) for name, count in counts.items())))
    return {name: value or 0 for name, value in row.one()._mapping.items()}


@dataclass(frozen=True)
class Tally:
    label: str
    count: int
    url: str
    # Shown as needing attention when there is any.
    pressing: bool = False


@dataclass(frozen=True)
class StartCounts:
    tallies: list[Tally]
    unread_alerts: int
    remaining_codes: int


# The alerts the start page counts on their own, with what it calls them.
ALERT_TALLIES = (
    (AlertKind.AGENCY_ANSWER, _l("Consultation answers and proposals")),
    (AlertKind.PARTNER_ANSWER, _l("Placement answers")),
    (AlertKind.ACTION_OVERDUE, _l("Overdue actions")),
    (AlertKind.CASE_ACCESSED, _l("Emergency openings of my cases")),
)


def team_counts(user: User) -> StartCounts:
    """Today's work of a member of a team, every count in one statement.

    Each count is the database's count of exactly what its list shows (the list's own query
    or filter, counted: tests/home/test_due_counts.py holds the clocks to their lists), so
    the page costs the same at 1,000 cases as at 100,000.
    """
    assert user.organisation_id is not None
    team = user.organisation_id
    now = utcnow()
    mine = count_due(team, now, owner_id=user.id)
    queries: dict[str, sa.ColumnElement[int]] = {
        "waiting": count_triage(team, None, now),
        "acute": count_triage(team, "acute", now),
        "late": count_triage(team, "late", now),
        "overdue": mine.overdue,
        "week": mine.this_week,
        "messages": count_unread_on_my_work(user),
        "actions": consultation_services.count_actions_due_on_my_cases(user),
        "alerts": inbox.count_unread(user),
        "codes": count_remaining_recovery_codes(user),
        **{kind.value: inbox.count_unread(user, kind) for kind, _label in ALERT_TALLIES},
    }
    lead = is_team_lead_of(user, team)
    if lead:
        queries |= {
            "unassigned": count_triage(team, "unassigned", now),
            "team_overdue": count_due(team, now, owner_id=None).overdue,
            "unreviewed": count_unreviewed_previous_month(team),
        }
    counted = count_at_once(queries)
    tallies = [
        Tally(_("Waiting requests"), counted["waiting"], url_for("cases.triage")),
        Tally(
            _("Acute requests"),
            counted["acute"],
            url_for("cases.triage", show="acute"),
            pressing=True,
        ),
        Tally(
            _("Requests past the first-contact target"),
            counted["late"],
            url_for("cases.triage", show="late"),
            pressing=True,
        ),
        Tally(
            _("My overdue deadlines"),
            counted["overdue"],
            url_for("cases.my_deadlines", due="overdue"),
            pressing=True,
        ),
        Tally(
            _("My deadlines this week"),
            counted["week"],
            url_for("cases.my_deadlines", due="week"),
        ),
        Tally(
            _("Unread client messages on my work"),
            counted["messages"],
            url_for("messages.inbox", show="unread"),
        ),
        Tally(
            _("Actions due on my cases"),
            counted["actions"],
            url_for("consultations.actions_due"),
        ),
        *(
            Tally(
                str(label),
                counted[kind.value],
                url_for("alerts.index", kind=kind.value, unread="1"),
                pressing=kind is AlertKind.CASE_ACCESSED,
            )
            for kind, label in ALERT_TALLIES
        ),
    ]
    if lead:
        tallies += [
            Tally(
                _("Requests not assigned"),
                counted["unassigned"],
                url_for("cases.triage", show="unassigned"),
            ),
            Tally(
                _("The team's overdue items"),
                counted["team_overdue"],
                url_for("cases.overview"),
                pressing=True,
            ),
            Tally(
                _("Access-log months to review"),
                counted["unreviewed"],
                url_for("oversight.access_log", _anchor="review"),
            ),
        ]
    return StartCounts(tallies, counted["alerts"], counted["codes"])


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


def start_counts(user: User) -> StartCounts:
    """The reader's counts by role; none for a role without such work (administrators)."""
    if is_team_member(user, user.organisation_id):
        return team_counts(user)
    if user.role is Role.AGENCY_REP:
        tallies = representative_tallies(user)
    elif user.role is Role.PARTNER:
        tallies = partner_tallies(user)
    else:
        tallies = []
    counted = count_at_once(
        {"alerts": inbox.count_unread(user), "codes": count_remaining_recovery_codes(user)}
    )
    return StartCounts(tallies, counted["alerts"], counted["codes"])

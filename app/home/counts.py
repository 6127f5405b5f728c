"""Today's work as counts, each linking to the list filtered to exactly what it counts.

Every count reads through the same filter as its list, and only what the reader may see:
the team's waiting requests (every member triages them), their own deadlines, messages
and alerts, and for a team lead the team's overdue items and the access-log review.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from flask import url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from app.alerts import inbox
from app.alerts.models import AlertKind
from app.auth.models import Role, User
from app.auth.services import count_remaining_recovery_codes
from app.cases.deadlines import DueEdges, count_due
from app.cases.permissions import is_team_lead_of, is_team_member
from app.cases.services import triage_counts
from app.consultations import services as consultation_services
from app.consultations.permissions import can_attend_as_representative
from app.core.clock import utcnow
from app.core.db import UtcDateTime, side_by_side
from app.extensions import db
from app.messages.services import count_unread_on_my_work
from app.oversight.services import count_unreviewed, previous_month
from app.placements.services import waiting_count


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


@dataclass(frozen=True)
class Placeholders:
    """The reader, as bind parameters of a statement built once per kind of reader (an
    Asker); the statement is run with the values of each reader and moment."""

    role: Role
    id: sa.BindParameter[Any] = field(default_factory=lambda: sa.bindparam("me", type_=sa.Uuid()))
    organisation_id: sa.BindParameter[Any] = field(
        default_factory=lambda: sa.bindparam("org", type_=sa.Uuid())
    )
    is_authenticated: bool = True


@functools.cache
def counting_statement(role: Role, lead: bool) -> sa.Select[*tuple[Any, ...]]:
    """Every count of a team member's start page in one SELECT.

    Counts over the same rows are made in one pass (FILTER): the waiting requests, the
    unread alerts, and each kind of clock; the rest are scalar subqueries. Few parts keep
    the planning short, which at 100,000 cases had become half the statement's time.

    Built once per kind of reader and kept: building it is most of the work, and each run
    only binds who asks and when. Nothing about anyone's cases is kept, only the shape of
    the question.
    """
    me = Placeholders(role)
    team = me.organisation_id
    edges = DueEdges.placeholders()
    now = sa.bindparam("now", type_=UtcDateTime())
    mine = count_due(team, edges, owner_id=me.id)
    triage = triage_counts(team, edges)
    alerts = inbox.unread_counts(me, (kind for kind, _label in ALERT_TALLIES), now)
    sources: list[sa.FromClause] = [triage, alerts, *mine.sources]
    counts: dict[str, sa.ColumnElement[int]] = {
        "waiting": triage.c.all,
        "acute": triage.c.acute,
        "late": triage.c.late,
        "overdue": mine.overdue,
        "week": mine.this_week,
        "messages": count_unread_on_my_work(me),
        "actions": consultation_services.count_actions_due_on_my_cases(
            me, sa.bindparam("horizon", type_=sa.Date())
        ),
        "alerts": alerts.c.all,
        "codes": count_remaining_recovery_codes(me),
        **{kind.value: alerts.c[kind.value] for kind, _label in ALERT_TALLIES},
    }
    if lead:
        team_due = count_due(team, edges, owner_id=None)
        sources += team_due.sources
        counts |= {
            "unassigned": triage.c.unassigned,
            "team_overdue": team_due.overdue,
            "unreviewed": count_unreviewed(team, sa.bindparam("period", type_=sa.String())),
        }
    return sa.select(*(count.label(name) for name, count in counts.items())).select_from(
        side_by_side(*sources)
    )


def plan_once() -> None:
    """Let PostgreSQL run the counting statement on the plan it made once (psycopg prepares
    it), for the rest of this transaction.

    Left to choose, PostgreSQL plans it anew on each run once a team has a large history
    (its estimate of the plan made once grows with the tables), and planning some twenty
    parts took as long as running them: 1.8 ms a run at 100,000 cases instead of 1.35 ms
    (a team lead's, 2.5 ms instead of 1.5 ms). SET LOCAL ends with the transaction; the
    start page asks nothing after its counts.
    """
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(sa.text("SET LOCAL plan_cache_mode = force_generic_plan"))


def team_counts(user: User) -> StartCounts:
    """Today's work of a member of a team, every count in one statement.

    Each count is the database's count of exactly what its list shows (the list's own query
    or filter, counted: tests/home/test_due_counts.py holds the clocks to their lists), so
    the page costs the same at 1,000 cases as at 100,000.
    """
    lead = is_team_lead_of(user, user.organisation_id)
    now = utcnow()
    plan_once()
    row = db.session.execute(
        counting_statement(user.role, lead),
        {
            "me": user.id,
            "org": user.organisation_id,
            "now": now,
            "horizon": consultation_services.action_horizon(),
            "period": previous_month(),
            **DueEdges.at(now).as_params(),
        },
    ).one()
    counted: dict[str, int] = {name: value or 0 for name, value in row._mapping.items()}
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
    unread = inbox.unread_counts(user, ())
    alerts, codes = db.session.execute(
        sa.select(unread.c.all, count_remaining_recovery_codes(user))
    ).one()
    return StartCounts(tallies, alerts or 0, codes or 0)

"""The start page's counts are the database's counts of what each list shows.

The lists load rows and judge them in Python (open_deadlines, pick_due, filter_triage); the
start page asks the database to count the same things in one statement (count_due,
triage_counts). Here both answer over a team's worth of clocks at instants around the edges
that matter: local midnight, the end of a day, a week ahead, across a public holiday and a
weekend, and a change of summer time.
"""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa
import time_machine

from app.auth.models import Role, User
from app.cases.deadlines import DueEdges, count_due, open_deadlines
from app.cases.due import pick_due
from app.cases.models import (
    Case,
    CaseAssignment,
    CaseSource,
    CaseStatus,
    ProtectionLevel,
    ThreatAssessment,
    ThreatLevel,
)
from app.cases.services import filter_triage, triage_counts, triage_queue
from app.core.db import side_by_side
from app.extensions import db
from app.intake.models import ClientRequest, RequestKind, RequestStatus, Urgency
from app.orgs.models import Organisation
from app.rules import LOCAL_TIME
from app.rules.models import Deadline

# Midsummer eve 2026 is Friday 19 June; summer time ends Sunday 25 October 2026.
AROUND = [datetime(2026, 6, 17, tzinfo=LOCAL_TIME), datetime(2026, 10, 22, tzinfo=LOCAL_TIME)]
# Instants near the edges of a day, every few hours over a week and a half.
OFFSETS = [
    timedelta(days=day, hours=hour, seconds=second)
    for day in range(0, 11)
    for hour, second in ((0, 0), (0, 1), (9, 0), (17, 30), (23, 59), (23, 59 * 60 + 59))
]


def local(day: date, hour: int = 12) -> datetime:
    return datetime.combine(day, datetime.min.time(), tzinfo=LOCAL_TIME) + timedelta(hours=hour)


@pytest.fixture(params=range(len(AROUND)), ids=["midsummer", "summer-time-ends"])
def team(request, app, organisation, make_account):
    """Cases and requests of two caseworkers, clocks due on every day around `AROUND`."""
    base = AROUND[request.param]
    owner = make_account(Role.CASEWORKER)
    other = make_account(Role.CASEWORKER)
    with app.app_context():
        org_id = db.session.scalar(
            sa.select(Organisation.id).where(Organisation.slug == organisation.slug)
        )
        serial = itertools.count(1)

        def new_case(assignees: list[object], status: CaseStatus = CaseStatus.ASSESSMENT) -> Case:
            case = Case(
                reference=f"K-T-{next(serial)}",
                organisation_id=org_id,
                status=status,
                source=CaseSource.POLICE,
                protection_level=ProtectionLevel.NONE,
                opened_at=base - timedelta(days=30),
            )
            db.session.add(case)
            db.session.flush()
            for user_id in assignees:
                db.session.add(CaseAssignment(case_id=case.id, user_id=user_id))
            return case

        def new_request(
            *, urgent: bool, submitted: datetime, assignee=None, case=None, contacted=False
        ) -> ClientRequest:
            request = ClientRequest(
                reference=f"R-T-{next(serial)}",
                organisation_id=org_id,
                kind=RequestKind.DEFECTOR,
                status=RequestStatus.RECEIVED if not contacted else RequestStatus.CONTACTED,
                urgency=Urgency.ACUTE if urgent else Urgency.SOON,
                urgent=urgent,
                language="sv",
                submitted_at=submitted.astimezone(UTC),
                help_wanted="[]",
                assigned_to_id=assignee,
                case_id=case.id if case else None,
                first_contact_at=submitted.astimezone(UTC) if contacted else None,
            )
            db.session.add(request)
            db.session.flush()
            return request

        mine = new_case([owner.id])
        shared = new_case([owner.id, other.id])
        theirs = new_case([other.id])
        closed = new_case([owner.id], CaseStatus.CLOSED)
        for step in range(-3 * 24, 14 * 24, 5):  # a clock every five hours
            due = base + timedelta(hours=step)
            case = (mine, shared, theirs, closed)[step % 4]
            db.session.add(
                Deadline(case_id=case.id, rule_key="pre_assessment", citation="x", due_at=due)
            )
            if step % 3 == 0:
                db.session.add(
                    Deadline(
                        case_id=case.id,
                        rule_key="x",
                        citation="x",
                        due_at=due,
                        met_at=due - timedelta(hours=1),
                    )
                )
        for index, day in enumerate((base + timedelta(days=d)).date() for d in range(-3, 12)):
            submitted = local(day, hour=(index * 7) % 24)
            for urgent, assignee in itertools.product((True, False), (owner.id, None)):
                request = new_request(urgent=urgent, submitted=submitted, assignee=assignee)
                db.session.add(
                    Deadline(
                        request_id=request.id,
                        rule_key="first_contact",
                        citation="x",
                        due_at=submitted + timedelta(days=index % 5),
                    )
                )
            new_request(urgent=True, submitted=submitted, assignee=owner.id, case=mine)
            new_request(urgent=False, submitted=submitted, contacted=True)
        # Reviews: several per case, the latest (a tie broken by creation) names the date.
        for case, offsets in (
            (mine, (-2, 5, 1)),
            (shared, (0, 0, 8)),
            (theirs, (3,)),
            (closed, (-1,)),
        ):
            for order, offset in enumerate(offsets):
                db.session.add(
                    ThreatAssessment(
                        case_id=case.id,
                        level=ThreatLevel.HIGH,
                        assessed_by_police=False,
                        assessed_on=base.date() - timedelta(days=10 - (order if offset else 0)),
                        areas_to_avoid="[]",
                        next_review_on=(base + timedelta(days=offset)).date(),
                        created_at=base - timedelta(days=20) + timedelta(minutes=order),
                    )
                )
        db.session.commit()
    return base, org_id, owner.id


def test_the_counts_agree_with_the_lists_at_every_edge(app, team):
    base, org_id, owner_id = team
    seen: set[int] = set()
    with app.app_context():
        owner = db.session.get(User, owner_id)
        for offset in OFFSETS:
            now = (base + offset).astimezone(UTC)
            with time_machine.travel(now, tick=False):
                everything = open_deadlines(org_id)
                owned = [item for item in everything if owner.id in item.assignee_ids]
                # As the start page runs it: built with placeholders, bound to this moment.
                edges = DueEdges.placeholders()
                mine = count_due(org_id, edges, owner_id=owner.id)
                team = count_due(org_id, edges, owner_id=None)
                triage = triage_counts(org_id, edges)
                queue = triage_queue(org_id)
                counted = db.session.execute(
                    sa.select(
                        mine.overdue,
                        mine.this_week,
                        team.overdue,
                        team.this_week,
                        *(triage.c[show or "all"] for show in SHOWS),
                    ).select_from(side_by_side(*mine.sources, *team.sources, triage)),
                    DueEdges.at(now).as_params(),
                ).one()
                listed = (
                    len(pick_due(owned, "overdue")),
                    len(pick_due(owned, "week")),
                    len(pick_due(everything, "overdue")),
                    len(pick_due(everything, "week")),
                    *(len(filter_triage(queue, show)) for show in SHOWS),
                )
                assert tuple(counted) == listed, f"at {now.astimezone(LOCAL_TIME)}"
                seen |= {index for index, count in enumerate(listed) if count}
    # Every count was above zero at some instant: none agrees only by being empty.
    assert seen == set(range(4 + len(SHOWS)))


SHOWS = [None, "acute", "late", "unassigned"]

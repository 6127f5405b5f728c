"""Statutory clocks start from the person's age and the case's source, whatever brought the
case in, are visible from the day they start, and are reminded of before they run out."""

from datetime import date, datetime, timedelta

import pytest
import sqlalchemy as sa
import time_machine

from app.auth.models import Role, User
from app.cases.deadlines import clocks_of
from app.cases.models import Case
from app.cases.services import case_deadlines
from app.core.outbox import OutboxMessage
from app.extensions import db
from app.intake.models import ClientRequest
from app.orgs.models import Organisation
from app.rules import LOCAL_TIME, rule
from app.rules.models import AgeBand, Deadline
from tests.conftest import plan_by_indexes, statements_sent

# Friday 5 June 2026, mid-morning: fourteen days later is midsommarafton.
JUNE_5 = datetime(2026, 6, 5, 10, 0, tzinfo=LOCAL_TIME)
CHILD = {"child_protection_assessment", "child_investigation_decision"}
AGENCY_SOURCES = {"police", "probation", "other_agency", "call_in", "custom_notification"}
BY_HAND = ["phone", "relative", *sorted(AGENCY_SOURCES)]
AGES = ["15_17", "18_20", "21_plus"]


def expected_clocks(source: str, age_band: str) -> set[str]:
    """What the law asks (SoL 11:1 a, 14:1 c): a child's clocks for anyone under 18, and
    an answer to an agency that reported about someone under 21."""
    under_18, under_21 = age_band in ("under_15", "15_17"), age_band != "21_plus"
    return (CHILD if under_18 else set()) | (
        {"reporter_feedback"} if under_21 and source in AGENCY_SOURCES else set()
    )


@pytest.fixture
def june():
    with time_machine.travel(JUNE_5, tick=True) as traveller:
        yield traveller


@pytest.fixture
def worker(app, organisation, other_orgs, make_account, new_browser, log_in):
    account = make_account(Role.CASEWORKER)
    browser = new_browser()
    log_in(browser, account)
    browser.account = account
    return browser


def police_id(app):
    with app.app_context():
        return db.session.scalar(sa.select(Organisation.id).where(Organisation.slug == "polisen"))


def open_by_hand(app, browser, source, age_band, reporter=None):
    response = browser.post(
        "/team/cases/new",
        {
            "source": source,
            "reporting_organisation": str(reporter) if reporter else "",
            "age_band": age_band,
            "full_name": "",
        },
    )
    assert response.status_code == 302, response.get_data(as_text=True)[-1500:]
    with app.app_context():
        return db.session.scalars(sa.select(Case.id).order_by(Case.created_at.desc())).first()


def clocks_on(app, case_id):
    with app.app_context():
        return {
            d.rule_key: d.due_at.astimezone(LOCAL_TIME).date()
            for d in db.session.scalars(sa.select(Deadline).where(Deadline.case_id == case_id))
        }


@pytest.mark.parametrize("age_band", AGES)
@pytest.mark.parametrize("source", BY_HAND)
def test_a_case_opened_by_hand_starts_the_clocks_its_source_and_age_call_for(
    june, app, worker, source, age_band
):
    """Given a report from the police, probation, another agency, a call-in, a home visit,
    a phone call or a relative by phone, when the case is opened on 5 June with the age
    the reporter gave, then the clocks that age and source call for run, with their dates
    moved past midsommarafton where the law says so."""
    reporter = police_id(app) if source in AGENCY_SOURCES else None
    case_id = open_by_hand(app, worker, source, age_band, reporter)
    clocks = clocks_on(app, case_id)
    assert set(clocks) == expected_clocks(source, age_band)
    for key, day in clocks.items():
        assert day == rule(key).due(JUNE_5).astimezone(LOCAL_TIME).date()
    if "child_protection_assessment" in clocks:
        assert clocks["child_protection_assessment"] == date(2026, 6, 5)
        assert clocks["child_investigation_decision"] == date(2026, 6, 22)
    if "reporter_feedback" in clocks:
        assert clocks["reporter_feedback"] == date(2026, 6, 22)
    with app.app_context():
        case = db.session.get(Case, case_id)
        assert case.source.value == source and case.age_band is AgeBand(age_band)
        assert case.reporting_organisation_id == reporter

    page = worker.get(f"/team/cases/{case_id}").get_data(as_text=True)
    if clocks:
        assert "Next deadline" in page
        first = min(clocks, key=lambda key: (clocks[key], key != "child_protection_assessment"))
        label = {
            "child_protection_assessment": "Protection assessment for a child",
            "reporter_feedback": "Tell the reporting agency whether an investigation was opened",
        }[first]
        assert label in page.split('id="next-deadline"')[1].split("</p>")[0]
    else:
        assert "Next deadline" not in page
        assert "No legal deadlines run on this case." in page
    if reporter:
        assert "Polisen" in page


def test_the_clocks_are_on_my_deadlines_and_the_overview_from_the_day_they_start(
    june, app, worker, make_account, new_browser, log_in
):
    case_id = open_by_hand(app, worker, "probation", "15_17", police_id(app))
    with app.app_context():
        reference = db.session.get(Case, case_id).reference
    mine = worker.get("/team/deadlines").get_data(as_text=True)
    assert reference in mine and "Protection assessment for a child" in mine
    assert "Decision whether to investigate (child)" in mine
    lead = new_browser()
    log_in(lead, make_account(Role.TEAM_LEAD))
    overview = lead.get("/team/overview").get_data(as_text=True)
    running = overview.split("Running deadlines")[1]
    assert reference in running and "Decision whether to investigate (child)" in running


def test_the_service_lists_a_persons_and_a_teams_clocks(june, app, worker):
    """The start page and alerts ask one function: overdue, and due within a window."""
    case_id = open_by_hand(app, worker, "police", "15_17", police_id(app))
    with app.app_context():
        owner = db.session.get(User, worker.account.id)
        mine = clocks_of(owner.organisation_id, user=owner, within=timedelta(days=1))
        team = clocks_of(owner.organisation_id, within=timedelta(days=30))
    assert [i.rule_key for i in mine.upcoming] == ["child_protection_assessment"]
    assert mine.overdue == [] and mine.upcoming[0].case_id == case_id
    assert {i.rule_key for i in team.upcoming} == CHILD | {"reporter_feedback"}
    june.shift(timedelta(days=1))
    with app.app_context():
        later = clocks_of(owner.organisation_id, user=owner, within=timedelta(days=1))
    assert [i.rule_key for i in later.overdue] == ["child_protection_assessment"]
    assert later.upcoming == []


def test_a_fourteen_day_clock_spanning_christmas_ends_after_the_days_off(
    app, organisation, other_orgs, make_account, new_browser, log_in
):
    with time_machine.travel(datetime(2026, 12, 10, 10, 0, tzinfo=LOCAL_TIME), tick=True):
        browser = new_browser()
        log_in(browser, make_account(Role.CASEWORKER))
        case_id = open_by_hand(app, browser, "call_in", "under_15", police_id(app))
        clocks = clocks_on(app, case_id)
    assert clocks == {
        "child_protection_assessment": date(2026, 12, 10),
        # 24 December is julafton, then juldagen, annandag jul and a Sunday.
        "child_investigation_decision": date(2026, 12, 28),
        "reporter_feedback": date(2026, 12, 28),
    }


def test_recording_the_age_later_starts_the_clocks_that_day(june, app, worker, log_in):
    """Given a phone call about a person whose age was not known, when the team learns they
    are 16, the child's clocks start then."""
    case_id = open_by_hand(app, worker, "phone", "unknown")
    assert clocks_on(app, case_id) == {}
    page = worker.get(f"/team/cases/{case_id}").get_data(as_text=True)
    assert "Record the person" in page
    june.shift(timedelta(days=2))  # Sunday 7 June
    log_in(worker, worker.account)  # a new working session
    response = worker.post(
        f"/team/cases/{case_id}/age", {"age_band": "15_17"}, form_page=f"/team/cases/{case_id}"
    )
    assert response.status_code == 302
    assert clocks_on(app, case_id) == {
        "child_protection_assessment": date(2026, 6, 7),
        "child_investigation_decision": date(2026, 6, 22),  # 21 June is a Sunday
    }
    story = worker.get(f"/team/cases/{case_id}").get_data(as_text=True).split('id="timeline"')[1]
    assert "Age of the person recorded" in story and "15 to 17" in story
    assert "Deadline started" in story and "Protection assessment for a child" in story
    again = worker.post(
        f"/team/cases/{case_id}/age", {"age_band": "under_15"}, form_page=f"/team/cases/{case_id}"
    )
    assert again.status_code == 302
    assert len(clocks_on(app, case_id)) == 2  # the clocks run once
    bad = worker.post(
        f"/team/cases/{case_id}/age", {"age_band": "99"}, form_page=f"/team/cases/{case_id}"
    )
    assert bad.status_code == 400


def test_a_reporting_agency_must_be_one_of_the_agencies(june, app, worker):
    with app.app_context():
        team = db.session.scalar(
            sa.select(Organisation.id).where(Organisation.slug == "annat-team")
        )
    response = worker.post(
        "/team/cases/new",
        {"source": "police", "reporting_organisation": str(team), "age_band": "15_17"},
    )
    assert response.status_code == 400
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Case)) == 0
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Deadline)) == 0


# The young person's own request, and a relative's, through self-service -----------------


@pytest.mark.parametrize(
    ("born", "band", "clocks"),
    [
        (2010, "15_17", CHILD),  # 16 this year: a child
        (2008, "15_17", CHILD),  # 17 or 18: the doubt goes to the child
        (2007, "18_20", set()),
        (1996, "21_plus", set()),
    ],
)
def test_a_young_persons_own_request_starts_a_childs_clocks(
    june, app, client_browser, fill_request, born, band, clocks
):
    sent = fill_request(client_browser, identity={"name": "", "birth_year": str(born)})
    assert sent.status_code == 302
    with app.app_context():
        request = db.session.scalars(sa.select(ClientRequest)).one()
        started = {
            d.rule_key: d.due_at.astimezone(LOCAL_TIME).date()
            for d in db.session.scalars(sa.select(Deadline))
        }
        assert request.age_band is AgeBand(band)
    assert set(started) == clocks
    if clocks:
        assert started["child_investigation_decision"] == date(2026, 6, 22)


@pytest.mark.parametrize("band", AGES)
def test_a_relatives_request_starts_a_childs_clocks_only_under_18(
    june, app, client_browser, fill_request, band
):
    fill_request(
        client_browser,
        kind={"kind": "relative"},
        person={"relationship": "parent", "age_band": band},
    )
    with app.app_context():
        started = set(db.session.scalars(sa.select(Deadline.rule_key)))
    assert started == expected_clocks("relative", band)


# Reminders ------------------------------------------------------------------------------


def remind(app):
    return app.test_cli_runner().invoke(args=["deadlines", "remind"]).output


def mails(app):
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count()).select_from(OutboxMessage))


def test_a_reminder_comes_before_the_clock_runs_out_and_once_a_day(june, app, worker):
    """Given a police report about a 16-year-old at ten on 5 June, the caseworker is reminded
    that day (the protection assessment is due by midnight), not again that day however
    often the job runs, not once the clock is overdue, and again before the next one."""
    with app.app_context():
        db.session.get(User, worker.account.id).notify_email = "handlaggare@example.org"
        db.session.commit()
    open_by_hand(app, worker, "police", "15_17", police_id(app))

    assert "queued 1 reminders" in remind(app)
    assert "queued 0 reminders" in remind(app)
    assert mails(app) == 1
    with app.app_context():
        body = db.session.scalars(sa.select(OutboxMessage)).one().body
        reference = db.session.scalar(sa.select(Case.reference))
        assert reference not in body and "Polisen" not in body

    june.shift(timedelta(days=1))  # the protection assessment is overdue: no reminder now
    assert "queued 0 reminders" in remind(app)
    june.shift(timedelta(days=15))  # Sunday 21 June: the decision is due on Monday
    assert "queued 1 reminders" in remind(app)
    assert "queued 0 reminders" in remind(app)
    assert mails(app) == 2


def test_a_clock_no_one_has_taken_yet_is_the_team_leads_to_be_reminded_of(
    june, app, client_browser, fill_request, make_account
):
    lead = make_account(Role.TEAM_LEAD)
    caseworker = make_account(Role.CASEWORKER)
    with app.app_context():
        db.session.get(User, lead.id).notify_email = "ledare@example.org"
        db.session.get(User, caseworker.id).notify_email = "handlaggare@example.org"
        db.session.commit()
    fill_request(client_browser, identity={"name": "", "birth_year": "2011"})
    assert "queued 1 reminders" in remind(app)
    with app.app_context():
        assert db.session.scalars(sa.select(OutboxMessage.recipient)).all() == [
            "ledare@example.org"
        ]


# The case file's clocks ------------------------------------------------------------------


def test_a_cases_clocks_are_its_own_and_its_requests_found_by_their_indexes(app, scene):
    """The case file lists the clocks on the case and on the requests behind it, each once,
    and no other; PostgreSQL finds them through the two indexes instead of reading every
    deadline of the installation (the condition "on the case or on one of its requests"
    in one WHERE made it do that, on each view of a case)."""
    with app.test_request_context("/"):
        case = db.session.get(Case, scene.case_id)
        due = datetime(2026, 7, 1, 12, 0, tzinfo=LOCAL_TIME)
        elsewhere = Case(
            reference="ANNAT-1",
            organisation_id=case.organisation_id,
            source=case.source,
            protection_level=case.protection_level,
            status=case.status,
            opened_at=case.opened_at,
        )
        db.session.add(elsewhere)
        db.session.flush()
        for key, request_id, case_id in [
            ("on_case", None, case.id),
            ("on_request", scene.request_id, None),
            ("on_both", scene.request_id, case.id),
            ("other_case", None, elsewhere.id),
        ]:
            db.session.add(
                Deadline(
                    request_id=request_id,
                    case_id=case_id,
                    rule_key=key,
                    citation="-",
                    due_at=due,
                )
            )
        db.session.flush()
        found = [d.rule_key for d in case_deadlines(case)]
        assert sorted(k for k in found if k in {"on_case", "on_request", "on_both"}) == [
            "on_both",
            "on_case",
            "on_request",
        ]
        assert "other_case" not in found and len(found) == len(set(found))
        if db.engine.dialect.name == "postgresql":
            with statements_sent("FROM deadlines") as sent:
                case_deadlines(case)
            [(statement, parameters)] = sent
            plan = plan_by_indexes(statement, parameters)
            # Each half through its own index, not a walk of every deadline with a filter
            assert "ix_deadlines_case_id" in plan and "ix_deadlines_request_id" in plan, plan
            assert "Seq Scan" not in plan, plan
        db.session.rollback()

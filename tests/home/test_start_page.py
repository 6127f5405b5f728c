"""The start page: today's work as counts, each linking to exactly what it counts, and
counting only what its reader may see."""

from __future__ import annotations

import html
import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from app.alerts.models import Alert, AlertKind
from app.auth.models import Role, User
from app.cases.deadlines import DueEdges
from app.cases.models import Case, CaseStatus
from app.cases.services import GRANT_VALIDITY, triage_counts
from app.core.clock import utcnow
from app.extensions import db
from app.home.counts import counting_statement, start_counts
from app.intake.models import ClientRequest, RequestKind, RequestStatus, Urgency
from app.orgs.models import Organisation
from tests.conftest import plan_by_indexes, register_client

TALLY = re.compile(
    r'<a href="([^"]+)"><span class="tally-label">([^<]+)</span> '
    r'<span class="tally-count">(\d+)</span></a>'
)


def tallies(browser):
    """The start page's counts: label -> (count, link)."""
    page = browser.get("/start/").get_data(as_text=True)
    return {
        html.unescape(label): (int(count), html.unescape(url))
        for url, label, count in TALLY.findall(page)
    }


def unread_alerts(browser):
    page = browser.get("/start/").get_data(as_text=True)
    return int(re.search(r'<span class="unread-alerts">(\d+)</span>', page).group(1))


def write(client_browser, request_id, body="Ring mig i kväll"):
    client_browser.post(
        f"/my/requests/{request_id}/messages",
        {"body": body},
        form_page=f"/my/requests/{request_id}",
    )


def other_team_request(app):
    """A request waiting at another team (intake sends to one team; written directly)."""
    with app.app_context():
        team = db.session.scalar(sa.select(Organisation).where(Organisation.slug == "annat-team"))
        request = ClientRequest(
            reference="R-OTHER-1",
            organisation_id=team.id,
            kind=RequestKind.DEFECTOR,
            status=RequestStatus.RECEIVED,
            urgency=Urgency.ACUTE,
            urgent=True,
            language="sv",
            submitted_at=utcnow(),
            help_wanted="[]",
        )
        db.session.add(request)
        db.session.commit()
        return request.id


@pytest.fixture
def day(app, other_orgs, scene, client_browser, fill_request, make_account, new_browser, log_in):
    """The scene's case (its caseworker "agare") with an unread client message; two more
    requests waiting, one acute; a colleague, a team lead, and another team's caseworker."""
    write(client_browser, scene.request_id)
    # Two other people's requests (one person has one open request at a time).
    fill_request(
        register_client(new_browser()), kind={"kind": "threatened"}, help={"urgency": "acute"}
    )
    fill_request(register_client(new_browser()))
    other_team_request(app)
    with app.app_context():
        waiting = {
            r.urgent: r
            for r in db.session.scalars(
                sa.select(ClientRequest).where(
                    ClientRequest.case_id.is_(None), ClientRequest.reference != "R-OTHER-1"
                )
            )
        }
        acute, calm = waiting[True], waiting[False]
        # The caseworker has claimed the calm one: its first-contact target is theirs.
        calm.assigned_to_id = scene.owner.id
        db.session.commit()
        refs = {"acute": acute.reference, "calm": calm.reference, "acute_id": acute.id}
    people = {}
    for name, role, slug in (
        ("colleague", Role.CASEWORKER, None),
        ("lead", Role.TEAM_LEAD, None),
        ("outsider", Role.CASEWORKER, "annat-team"),
    ):
        browser = new_browser()
        account = make_account(role, org_slug=slug)
        log_in(browser, account)
        people[name] = (account, browser)
    return refs, people


def placement_answer_for(app, user_id, case_id):
    """An unread alert to `user_id` about a partner's answer on the case."""
    with app.app_context():
        db.session.add(
            Alert(
                user_id=user_id, kind=AlertKind.PARTNER_ANSWER, subject_id=case_id, case_id=case_id
            )
        )
        db.session.commit()


def test_the_caseworker_sees_the_team_queue_and_their_own_work(app, scene, day):
    refs, _people = day
    counts = tallies(scene.owner_browser)
    assert counts["Waiting requests"][0] == 2  # not the other team's
    assert counts["Acute requests"][0] == 1
    assert counts["Requests past the first-contact target"][0] == 0
    assert counts["Unread client messages on my work"][0] == 1
    assert counts["My deadlines this week"][0] == 1  # the claimed request's first contact
    assert counts["My overdue deadlines"][0] == 0
    assert "Requests not assigned" not in counts  # a lead's count

    # Each count links to its list, filtered to exactly what it counts.
    acute = scene.owner_browser.get(counts["Acute requests"][1]).get_data(as_text=True)
    assert refs["acute"] in acute and refs["calm"] not in acute
    unread = scene.owner_browser.get(counts["Unread client messages on my work"][1])
    assert f"/inbox/{scene.request_id}" in unread.get_data(as_text=True)
    assert refs["calm"] not in unread.get_data(as_text=True)
    week = scene.owner_browser.get(counts["My deadlines this week"][1]).get_data(as_text=True)
    assert refs["calm"] in week and refs["acute"] not in week


def test_counts_follow_the_clock_to_late_and_overdue(app, clock, scene, day, new_browser, log_in):
    refs, people = day
    clock.shift(timedelta(days=10))
    # Ten days on, every session has timed out: log in again.
    owner, lead_browser = new_browser(), new_browser()
    log_in(owner, scene.owner)
    log_in(lead_browser, people["lead"][0])
    counts = tallies(owner)
    assert counts["Requests past the first-contact target"][0] == 2
    assert counts["My overdue deadlines"][0] == 1
    assert counts["My deadlines this week"][0] == 0
    late = owner.get(counts["Requests past the first-contact target"][1])
    assert refs["acute"] in late.get_data(as_text=True) and refs["calm"] in late.get_data(
        as_text=True
    )
    overdue = owner.get(counts["My overdue deadlines"][1]).get_data(as_text=True)
    assert refs["calm"] in overdue
    lead = tallies(lead_browser)
    assert lead["The team's overdue items"][0] >= 2


def test_a_colleague_counts_nothing_of_a_case_they_may_not_see(app, scene, day):
    """Given a client message and an alert on a case the colleague is not assigned to, the
    colleague's counts show neither, until breaking the glass lets them see the case."""
    _refs, people = day
    colleague, browser = people["colleague"]
    placement_answer_for(app, colleague.id, scene.case_id)
    counts = tallies(browser)
    assert counts["Waiting requests"][0] == 2  # triage is the whole team's
    assert counts["Unread client messages on my work"][0] == 0
    assert counts["Placement answers"][0] == 0
    listed = browser.get(counts["Placement answers"][1]).get_data(as_text=True)
    assert "No alerts." in listed and f"/team/placements/{scene.case_id}" not in listed
    response = browser.post(
        f"/team/cases/{scene.case_id}/break-glass", {"reason": "Klienten ringde"}
    )
    assert response.status_code == 302
    assert tallies(browser)["Placement answers"][0] == 1


def test_another_team_counts_only_its_own(app, scene, day):
    _refs, people = day
    counts = tallies(people["outsider"][1])
    assert counts["Waiting requests"][0] == 1
    assert counts["Acute requests"][0] == 1
    assert counts["Unread client messages on my work"][0] == 0
    listed = people["outsider"][1].get(counts["Acute requests"][1]).get_data(as_text=True)
    assert "R-OTHER-1" in listed


def test_the_team_lead_sees_unassigned_requests_and_the_review_month(app, scene, day):
    refs, people = day
    counts = tallies(people["lead"][1])
    assert counts["Requests not assigned"][0] == 1
    unassigned = people["lead"][1].get(counts["Requests not assigned"][1]).get_data(as_text=True)
    assert refs["acute"] in unassigned and refs["calm"] not in unassigned
    assert counts["Access-log months to review"][0] == 1
    # The lead's account was made after the acute request came: no alert from before it.
    page = people["lead"][1].get("/start/").get_data(as_text=True)
    assert '<span class="unread-alerts">0</span>' in page
    # The lead sees the case (and so its alerts), but the message is its caseworker's work.
    assert counts["Unread client messages on my work"][0] == 0


def test_a_representative_and_a_partner_see_what_waits_for_them(
    app, scene, day, make_account, new_browser, log_in
):
    from tests.consultations.test_consultations import convene, give_consent
    from tests.placements.test_placements import add_partner, new_placement, send

    with app.app_context():
        police = db.session.scalar(sa.select(Organisation.id).where(Organisation.slug == "polisen"))
    give_consent(app, scene, police)
    rep = make_account(Role.AGENCY_REP, org_slug="polisen")
    uninvited = make_account(Role.AGENCY_REP, org_slug="polisen")
    convene(scene, [police], [rep.id])
    rep_browser, uninvited_browser = new_browser(), new_browser()
    log_in(rep_browser, rep)
    log_in(uninvited_browser, uninvited)
    counts = tallies(rep_browser)
    assert counts["Consultations waiting for your answer"][0] == 1
    assert tallies(uninvited_browser)["Consultations waiting for your answer"][0] == 0
    # The invitation is also an unread alert, for the invited one only.
    assert unread_alerts(rep_browser) == 1
    assert unread_alerts(uninvited_browser) == 0
    listed = rep_browser.get(counts["Consultations waiting for your answer"][1])
    assert listed.get_data(as_text=True).count("/agency/consultations/") == 1

    vaxjo = add_partner(app, "vaxjo-p", "Växjö")
    add_partner(app, "lund-p", "Lund")
    partner, other = new_browser(), new_browser()
    log_in(partner, make_account(Role.PARTNER, org_slug="vaxjo-p"))
    log_in(other, make_account(Role.PARTNER, org_slug="lund-p"))
    send(scene.owner_browser, new_placement(scene), [vaxjo])
    counts = tallies(partner)
    assert counts["Placement requests waiting for your answer"][0] == 1
    assert tallies(other)["Placement requests waiting for your answer"][0] == 0
    # The request is an unread alert for Växjö's people, who were there when it was sent.
    assert unread_alerts(partner) == 1
    assert unread_alerts(other) == 0
    listed = partner.get(counts["Placement requests waiting for your answer"][1])
    assert listed.get_data(as_text=True).count("/partner/requests/") == 1


def test_an_administrator_sees_no_case_counts(app, make_account, new_browser, log_in):
    browser = new_browser()
    log_in(browser, make_account(Role.ADMIN))
    assert tallies(browser) == {}


def test_the_case_still_counts_for_its_caseworker(app, scene, day):
    with app.app_context():
        assert scene.owner.id in db.session.get(Case, scene.case_id).assignee_ids


def test_actions_due_count_on_the_caseworker_s_own_cases_only(app, scene, day):
    from tests.alerts.test_alerts import overdue_action

    _refs, people = day
    overdue_action(app, scene)  # due tomorrow, on the scene's case
    with app.app_context():
        reference = db.session.get(Case, scene.case_id).reference
    counts = tallies(scene.owner_browser)
    assert counts["Actions due on my cases"][0] == 1
    listed = scene.owner_browser.get(counts["Actions due on my cases"][1]).get_data(as_text=True)
    assert reference in listed
    assert "Kontakta Omar" not in listed  # the action's words stay on the case page
    colleague = people["colleague"][1]
    assert tallies(colleague)["Actions due on my cases"][0] == 0
    assert reference not in colleague.get("/team/actions").get_data(as_text=True)


def test_a_closed_case_s_actions_are_no_one_s_work(app, scene, day):
    from tests.alerts.test_alerts import overdue_action

    overdue_action(app, scene)
    with app.app_context():
        case = db.session.get(Case, scene.case_id)
        reference = case.reference
        case.status = CaseStatus.CLOSED
        db.session.commit()
    counts = tallies(scene.owner_browser)
    assert counts["Actions due on my cases"][0] == 0
    listed = scene.owner_browser.get(counts["Actions due on my cases"][1]).get_data(as_text=True)
    assert reference not in listed


def test_the_counting_statement_is_converted_once_per_process(app, scene):
    """psycopg keeps converted statements only up to a length: the start page's one statement
    of counts must be within it, or every request converts its 12 KiB again."""
    import psycopg._queries

    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("psycopg's conversion: PostgreSQL only")
        statement = counting_statement(Role.TEAM_LEAD, True)
        length = len(str(statement.compile(dialect=db.engine.dialect)).encode())
    assert length > 4096  # why the limit had to move
    assert length <= psycopg._queries.MAX_CACHED_STATEMENT_LENGTH
    scene.owner_browser.get("/start/")
    hits = psycopg._queries._query2pg.cache_info().hits
    scene.owner_browser.get("/start/")
    assert psycopg._queries._query2pg.cache_info().hits > hits


def test_an_emergency_opening_stops_counting_when_it_runs_out(app, clock, scene, day):
    """Breaking the glass lets a colleague see the case for a working day (GRANT_VALIDITY):
    its alerts count on their start page that long, and not an hour after."""
    _refs, people = day
    colleague, browser = people["colleague"]
    placement_answer_for(app, colleague.id, scene.case_id)
    browser.post(f"/team/cases/{scene.case_id}/break-glass", {"reason": "Klienten ringde"})

    def placement_answers() -> int:
        # Counted as the page counts them, for the colleague, at the clock's moment (their
        # login would have ended long before the grant does).
        with app.test_request_context("/start/", headers={"Accept-Language": "en"}):
            user = db.session.get(User, colleague.id)
            tally = {t.label: t.count for t in start_counts(user).tallies}
            return tally["Placement answers"]

    assert placement_answers() == 1
    clock.shift(GRANT_VALIDITY - timedelta(minutes=5))
    assert placement_answers() == 1
    clock.shift(timedelta(minutes=10))
    assert placement_answers() == 0


def test_the_waiting_requests_are_counted_from_the_inbox_index(app, organisation):
    """A team's requests over the years are nearly all cases or closed: its waiting ones
    must be counted from the index of requests not made a case, with what the counts read,
    not by reading every request the team ever had."""
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("the plan of PostgreSQL")
        counts = triage_counts(organisation.id, DueEdges.at(utcnow()))
        statement = sa.select(counts).compile(
            dialect=db.engine.dialect, compile_kwargs={"literal_binds": True}
        )
        plan = plan_by_indexes(str(statement))
        assert "Index Only Scan using ix_client_requests_waiting" in plan, plan
        db.session.rollback()

"""The case's timeline: every kind of event, newest first, in one word each; free text only
through the reader's identity decision."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from app.cases.identity import REDACTED, IdentityView
from app.cases.models import (
    Case,
    ContactAttempt,
    Intervention,
    InterventionStatus,
    JournalEntry,
    NeedsAssessment,
    ThreatAssessment,
    ThreatLevel,
)
from app.cases.timeline import case_timeline
from app.consent.models import Consent, ConsentMethod
from app.consultations.models import Consultation, ConsultationStatus
from app.core.clock import utcnow
from app.extensions import db
from app.messages.models import Message
from tests.conftest import plan_by_indexes, statements_sent

# After the case was opened (now): the events below are the story's newest.
START = utcnow().replace(microsecond=0) + timedelta(days=1)


def at(hours: int) -> datetime:
    return START + timedelta(hours=hours)


def add_one_of_each(case: Case, request_id) -> None:
    db.session.add_all(
        [
            ThreatAssessment(
                case_id=case.id,
                level=ThreatLevel.HIGH,
                assessed_by_police=False,
                assessed_on=date(2026, 3, 2),
                areas_to_avoid="[]",
                created_at=at(1),
            ),
            NeedsAssessment(
                case_id=case.id, assessed_on=date(2026, 3, 2), notes="{}", created_at=at(2)
            ),
            Consent(
                case_id=case.id,
                purposes="consultation",
                method=ConsentMethod.PAPER,
                valid_from=date(2026, 3, 2),
                created_at=at(3),
            ),
            Intervention(
                case_id=case.id,
                kind="housing",
                status=InterventionStatus.PLANNED,
                created_at=at(4),
            ),
            Consultation(
                case_id=case.id,
                organisation_id=case.organisation_id,
                status=ConsultationStatus.PLANNED,
                starts_at=at(5),
                duration_minutes=60,
                place="Rådhuset",
                ical_uid="timeline-test@utvag",
            ),
            ContactAttempt(
                request_id=request_id, attempted_at=at(6), channel="phone", outcome="reached"
            ),
            JournalEntry(
                case_id=case.id,
                occurred_on=date(2026, 3, 1),
                body="Samtal med mamman.",
                created_at=at(7),
            ),
            Message(
                request_id=request_id,
                from_client=True,
                body="Jag bor på Hemliga vägen 3.",
                created_at=at(8),
            ),
        ]
    )
    db.session.flush()


def test_each_kind_of_event_is_in_the_timeline_newest_first(app, scene):
    with app.test_request_context("/"):
        case = db.session.get(Case, scene.case_id)
        add_one_of_each(case, scene.request_id)
        story = [
            (item.kind, item.detail, item.text, item.hidden)
            for item in case_timeline(case, IdentityView(visible=True))
            if item.at >= START
        ]
        assert story == [
            ("message_from_client", None, "Jag bor på Hemliga vägen 3.", False),
            ("journal", "2026-03-01", "Samtal med mamman.", False),
            ("contact_attempt", "phone|reached", None, False),
            ("consultation", None, None, False),
            ("intervention", "housing", None, False),
            ("consent", "paper", None, False),
            ("needs", None, None, False),
            ("threat", "high", None, False),
        ]
        # The story's audit events (the case was opened) are there too, reads are not.
        kinds = {item.kind for item in case_timeline(case, REDACTED)}
        assert "case.opened" in kinds and "case.viewed" not in kinds
        db.session.rollback()


def test_a_reader_without_the_identity_sees_that_a_message_was_written_not_what(app, scene):
    with app.test_request_context("/"):
        case = db.session.get(Case, scene.case_id)
        add_one_of_each(case, scene.request_id)
        messages = [i for i in case_timeline(case, REDACTED) if i.kind == "message_from_client"]
        assert [(m.text, m.hidden) for m in messages] == [(None, True)]
        db.session.rollback()


def test_the_latest_events_are_the_newest_of_every_kind(app, scene):
    """Each kind gives at most that many, newest first, and the merge keeps the newest of
    all: the same as the whole timeline, cut."""
    with app.test_request_context("/"):
        case = db.session.get(Case, scene.case_id)
        add_one_of_each(case, scene.request_id)
        whole = case_timeline(case, IdentityView(visible=True))
        for latest in (1, 3, 8, 50):
            assert case_timeline(case, IdentityView(visible=True), latest=latest) == whole[:latest]
        db.session.rollback()


def test_the_overview_shows_the_latest_events_and_the_journal_page_all(app, scene):
    # Given a case with more events than the overview shows (the opening, the contact
    # attempt from triage, and twelve notes)
    case_url = f"/team/cases/{scene.case_id}"
    for day in range(1, 13):
        saved = scene.owner_browser.post(
            f"{case_url}/journal",
            {"occurred_on": f"2026-11-{day:02d}", "body": f"Anteckning {day}."},
        )
        assert saved.status_code == 302
    # Then the overview shows the newest ten and says where the rest are
    overview = scene.owner_browser.get(case_url).get_data(as_text=True)
    assert overview.count("Anteckning ") == 10
    assert "Anteckning 12." in overview and "Anteckning 2." not in overview
    assert f'<a href="{case_url}/journal">The whole timeline</a>' in overview
    # and the journal's page all of them, the story's opening included
    whole = scene.owner_browser.get(f"{case_url}/journal").get_data(as_text=True)
    assert whole.count("Anteckning ") == 12 and "Case opened" in whole
    assert "The whole timeline" not in whole


def test_the_story_is_read_newest_first_from_its_own_index(app, scene):
    """Every view of a case writes an audit event: the timeline must not step over them.
    The story's kinds are written into the statement, so PostgreSQL sees that its partial
    index (app/cases/timeline.py, STORY_INDEX) holds the rows, already in order."""
    with app.test_request_context("/"):
        if db.engine.dialect.name != "postgresql":
            pytest.skip("the plan of PostgreSQL")
        case = db.session.get(Case, scene.case_id)
        with statements_sent("audit_events") as sent:
            case_timeline(case, REDACTED, latest=11)
        [(statement, parameters)] = sent
        assert "'case.opened'" in statement  # written in, not sent as a value
        plan = plan_by_indexes(statement, parameters)
        assert "Index Scan Backward using ix_audit_events_story" in plan, plan
        assert "Sort" not in plan, plan
        db.session.rollback()

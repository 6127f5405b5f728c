"""GETs change nothing: every GET route, as every role, for its own and others' objects,
leaves every table as it was, but for the audit trail (reads are audited), the records of
disclosures (showing an agency consented data is recorded like a read) and the sessions'
last-seen time."""

from __future__ import annotations

import uuid
from datetime import timedelta

import sqlalchemy as sa

from app.core.clock import utcnow
from app.extensions import db
from app.placements.models import PlacementRequest
from tests.security.test_access_matrix import cells, url_for_cell
from tests.security.world import World

# Records of reads, which a read must write.
READ_RECORDS = {"audit_events", "audit_head", "audit_checkpoints", "disclosures"}
# A session notes when it was last used (the idle timeout counts from it). A message's
# read receipt is the record of its being read, written when the thread is opened: not
# yet derived from the audit trail (see the note in app/messages/services.mark_read).
IGNORED_COLUMNS = {("user_sessions", "last_seen_at"), ("messages", "read_at")}


def snapshot(world: World) -> dict[str, list[str]]:
    with world.app.app_context():
        state = {}
        for name, table in db.metadata.tables.items():
            if name in READ_RECORDS:
                continue
            columns = [c for c in table.columns if (name, c.name) not in IGNORED_COLUMNS]
            rows = db.session.execute(sa.select(*columns)).all()
            state[name] = sorted(repr(tuple(row)) for row in rows)
        db.session.rollback()
        return state


def changes(before: dict[str, list[str]], after: dict[str, list[str]]) -> list[str]:
    found = []
    for name, rows in before.items():
        if rows != after[name]:
            added = len(set(after[name]) - set(rows))
            removed = len(set(rows) - set(after[name]))
            found.append(f"{name}: {added} rows new or changed, {removed} gone or changed")
    return found


def test_no_get_changes_anything(world):
    """Given every GET route × every role × own, foreign and crossed objects, when each is
    fetched, then no table but the records of reads differs from before."""
    with world.app.app_context():
        # A request past its deadline: the partner's inbox used to mark it expired.
        overdue = db.session.get(PlacementRequest, uuid.UUID(world.ids["placement_request"]))
        overdue.respond_by = utcnow() - timedelta(days=1)
        db.session.commit()
    wrong = []
    walked = 0
    for rule, cell in cells(world):
        if cell.method != "GET":
            continue
        url = url_for_cell(world, rule, cell.persona, cell.variant)  # fresh objects first
        browser = world.browsers[cell.persona]
        before = snapshot(world)
        response = browser.client.get(url)
        assert response.status_code < 500, (cell, response.status_code)
        found = changes(before, snapshot(world))
        walked += 1
        if found:
            wrong.append(f"GET {url} as {cell.persona} ({cell.endpoint}): {'; '.join(found)}")
    assert wrong == [], "\n".join(wrong)
    assert walked > 300


def test_a_request_past_its_deadline_reads_as_expired_and_the_daily_job_records_it(world):
    """Given a placement request past its deadline, the partner's pages show it expired at
    once, without the page writing it; the scheduled job writes it down."""
    from app.placements.models import RequestStatus

    request_id = uuid.UUID(world.ids["placement_request"])
    with world.app.app_context():
        found = db.session.get(PlacementRequest, request_id)
        found.respond_by = utcnow() - timedelta(hours=1)
        db.session.commit()
    browser = world.fresh_browser("partner")
    assert "Expired" in browser.client.get("/partner/").get_data(as_text=True)
    page = browser.client.get(f"/partner/requests/{request_id}").get_data(as_text=True)
    assert "Expired" in page and 'action="/partner/requests/' not in page.split("Expired")[1]
    with world.app.app_context():
        assert db.session.get(PlacementRequest, request_id).status is RequestStatus.SENT
    result = world.app.test_cli_runner().invoke(args=["placements", "remind"])
    assert result.exit_code == 0, result.output
    with world.app.app_context():
        assert db.session.get(PlacementRequest, request_id).status is RequestStatus.EXPIRED

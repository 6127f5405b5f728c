"""Statistics: small cells suppressed in the page and the CSV; no formulas; no personal data."""

import csv
import io
from datetime import date, datetime

import sqlalchemy as sa

from app.auth.models import Role
from app.consultations.models import Action, ActionStatus
from app.extensions import db
from app.intake.models import ClientRequest
from app.oversight.statistics import Table, _timeliness, as_csv
from app.rules import LOCAL_TIME


def lead(make_account, new_browser, log_in):
    browser = new_browser()
    log_in(browser, make_account(Role.TEAM_LEAD))
    return browser


def test_small_counts_are_suppressed_on_the_page_and_in_the_csv(
    app, client_browser, fill_request, make_account, new_browser, log_in
):
    fill_request(client_browser)  # one defector request: a count of 1
    browser = lead(make_account, new_browser, log_in)
    page = browser.get("/team/statistics").get_data(as_text=True)
    # One request in all: every table of requests would show the total, 1, so each is
    # hidden whole (complementary suppression; see test_statistics_suppression.py).
    assert "<td>I want to leave crime</td><td>..</td>" in page
    assert "<td>I want to leave crime</td><td>1</td>" not in page
    exported = browser.client.get("/team/statistics.csv")
    assert exported.headers["Content-Disposition"].startswith("attachment")
    rows = list(csv.reader(io.StringIO(exported.get_data(as_text=True))))
    assert ["requests_by_kind", "defector", ".."] in rows
    with app.app_context():
        reference = db.session.scalar(sa.select(ClientRequest.reference))
    assert reference not in page and client_browser.username not in page and "blåbär" not in page


def test_the_csv_is_safe_from_formula_injection():
    body = as_csv([Table("=HYPERLINK(1)", [("+cmd|' /C calc'!A0", 7), ("@SUM(1)", 9), ("-2", 12)])])
    rows = list(csv.reader(io.StringIO(body)))[1:]
    assert all(cell[:1] not in "=+-@" for row in rows for cell in row)
    assert rows[0][1] == "'+cmd|' /C calc'!A0"


def test_charts_are_images_drawn_on_the_server(
    client_browser, fill_request, make_account, new_browser, log_in
):
    fill_request(client_browser)
    response = lead(make_account, new_browser, log_in).client.get(
        "/team/statistics/charts/requests_by_kind.png"
    )
    assert response.status_code == 200 and response.mimetype == "image/png"
    assert response.get_data()[:8] == b"\x89PNG\r\n\x1a\n"


def test_administrators_and_caseworkers_cannot_see_statistics(make_account, new_browser, log_in):
    for role in (Role.ADMIN, Role.CASEWORKER):
        browser = new_browser()
        log_in(browser, make_account(role))
        assert browser.get("/team/statistics").status_code == 403


def test_actions_count_as_on_time_by_the_end_of_their_due_day_in_local_time():
    due = date(2026, 3, 10)
    late_evening = datetime(2026, 3, 10, 23, 30, tzinfo=LOCAL_TIME)
    next_morning = datetime(2026, 3, 11, 0, 30, tzinfo=LOCAL_TIME)
    done = ActionStatus.DONE
    assert _timeliness(Action(status=done, due_on=due, done_at=late_evening)) == "on_time"
    assert _timeliness(Action(status=done, due_on=due, done_at=next_morning)) == "late"
    assert _timeliness(Action(status=ActionStatus.OPEN, due_on=due)) == "overdue"
    assert _timeliness(Action(status=ActionStatus.OPEN, due_on=date(2999, 1, 1))) is None
    assert _timeliness(Action(status=ActionStatus.CANCELLED, due_on=due)) is None


def test_one_table_runs_only_its_own_query_and_matches_the_whole_page(
    app, client_browser, fill_request, organisation
):
    from app.oversight.statistics import TABLE_KEYS, team_tables
    from app.oversight.views import TABLE_TITLES

    fill_request(client_browser)
    assert list(TABLE_TITLES) == list(TABLE_KEYS)  # every table has a title, in page order
    statements: list[str] = []

    def count(_connection, _cursor, sql, *_rest):
        statements.append(sql)

    with app.app_context():
        every = {table.key: table for table in team_tables(organisation.id)}
        assert list(every) == list(TABLE_KEYS)
        sa.event.listen(db.engine, "before_cursor_execute", count)
        try:
            (alone,) = team_tables(organisation.id, keys={"requests_by_month"})
        finally:
            sa.event.remove(db.engine, "before_cursor_execute", count)
    assert alone == every["requests_by_month"] and alone.rows
    assert len(statements) == 1 and "client_requests" in statements[0]

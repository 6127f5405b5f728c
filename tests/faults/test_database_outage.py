"""The database goes away: people get a clear, translated page saying nothing was saved,
nothing is half-written, and the portal recovers by itself when the database returns."""

from __future__ import annotations

import threading
import time
from dataclasses import replace

import httpx
import pytest
import sqlalchemy as sa

from app import create_app
from app.extensions import db
from app.messages.models import Message
from tests.faults import harness
from tests.faults.conftest import migrate, needs_postgres

UNAVAILABLE = {
    "sv": ("Tillfälligt otillgänglig", "Inget sparades"),
    "en": ("Temporarily unavailable", "Nothing was saved"),
}


def assert_unavailable_page(status: int | None, html: str, language: str = "en") -> None:
    title, nothing_saved = UNAVAILABLE[language]
    assert status == 503, html[-2000:]
    assert f"<h1>{title}</h1>" in html
    assert nothing_saved in html
    assert "Traceback" not in html
    assert "OperationalError" not in html


@pytest.fixture
def unreachable(settings):
    """The portal configured against a PostgreSQL server that is not there."""
    port = harness.free_port()
    yield create_app(
        replace(settings, database_url=f"postgresql+psycopg://nobody@127.0.0.1:{port}/none")
    )
    harness.release_port(port)


@pytest.mark.parametrize(("path", "language"), [("/?lang=sv", "sv"), ("/login?lang=en", "en")])
def test_every_page_explains_in_the_persons_language_that_nothing_was_saved(
    unreachable, path, language
):
    response = unreachable.test_client().get(path)
    assert_unavailable_page(response.status_code, response.get_data(as_text=True), language)


@pytest.mark.parametrize(
    ("method", "path", "status", "title"),
    [
        ("GET", "/no-such-page?lang=en", 404, "Page not found"),
        ("POST", "/login?lang=en", 400, "The form had expired"),
    ],
)
def test_other_error_pages_are_still_drawn_while_the_database_is_down(
    unreachable, method, path, status, title
):
    # Their layout reads the database too; they must not turn into a bare server error.
    response = unreachable.test_client().open(path, method=method, data={"username": "x"})
    html = response.get_data(as_text=True)
    assert response.status_code == status
    assert f"<h1>{title}</h1>" in html
    assert 'id="quick-exit"' in html


def test_when_not_even_the_layout_can_be_drawn_the_message_still_comes_translated(
    unreachable, monkeypatch
):
    import app.core.errors

    # As if drawing the page without the database did not help either.
    monkeypatch.setattr(app.core.errors, "_draw_without_database", lambda: None)
    response = unreachable.test_client().get("/", headers={"Accept-Language": "sv"})
    assert_unavailable_page(response.status_code, response.get_data(as_text=True), "sv")


def test_a_commit_that_fails_after_the_view_succeeded_is_not_reported_as_sent(
    app, submitted_request, client_browser, monkeypatch
):
    """Given a view that did its work and queued "Your message was sent", when the commit
    fails, then the person sees the 503 page, the flash is dropped and nothing is stored."""
    real_commit = db.session.commit
    failing = {"armed": True}

    def commit_once_broken() -> None:
        if failing.pop("armed", False):
            raise sa.exc.OperationalError("COMMIT", {}, Exception("server closed the connection"))
        real_commit()

    page = f"/my/requests/{submitted_request}"
    client_browser.get(page)
    monkeypatch.setattr(db.session, "commit", commit_once_broken)
    response = client_browser.client.post(
        page + "/messages", data={"csrf_token": client_browser.last_csrf, "body": "Ring mig"}
    )
    assert_unavailable_page(response.status_code, response.get_data(as_text=True))
    assert "Your message was sent" not in client_browser.get(page).get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Message)) == 0


# A PostgreSQL server that really stops ---------------------------------------------------

CLIENTS = 6


class Load:
    """Clients that keep submitting requests until told to stop."""

    def __init__(self, base: str, people: list[harness.Person]) -> None:
        self.base = base
        self.people = people
        self.outcomes: list[tuple[float, harness.Outcome]] = []
        self.language_of: dict[str, str] = {}
        self.portals: list[harness.Portal] = []
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self.run, args=(p,)) for p in people]

    def successes_since(self, moment: float) -> int:
        with self.lock:
            return sum(1 for ended, o in self.outcomes if o.succeeded and ended > moment)

    def run(self, person: harness.Person) -> None:
        language = "sv" if person is self.people[0] else "en"
        portal = harness.Portal(self.base, language=language)
        self.portals.append(portal)
        try:
            portal.login(person)
            for attempt in range(1000):
                if self.stop.is_set():
                    return
                # Throttling of submissions per address is not under test here: each
                # attempt comes from its own address so throttling never answers instead.
                portal.http.headers["X-Forwarded-For"] = f"127.3.{attempt // 250}.{attempt % 250}"
                outcome = portal.submit(harness.new_marker(), child=attempt % 2 == 0)
                with self.lock:
                    self.outcomes.append((time.monotonic(), outcome))
                    self.language_of[outcome.marker] = language
                if not outcome.succeeded:
                    time.sleep(0.2)
        finally:
            portal.close()

    def wait_until_sending(self, timeout: float = 30) -> None:
        """Until a submission's final step is on its way, so the crash can hit it."""
        deadline = time.monotonic() + timeout
        while not any(portal.sending.is_set() for portal in self.portals):
            assert time.monotonic() < deadline, "no submission was being sent"
            time.sleep(0.001)

    def wait_for(self, count: int, since: float, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while self.successes_since(since) < count:
            assert time.monotonic() < deadline, f"fewer than {count} submissions went through"
            time.sleep(0.1)


# A real server really stops (`pg_ctl stop -m immediate`: no checkpoint, every connection
# cut, as in a crash), which a proxy that drops connections would only imitate. It is a
# cluster of the test's own on a port of its own: the machine's PostgreSQL is never stopped.
# The test belongs to the PostgreSQL part of the suite, so it runs when TEST_DATABASE_URL
# asks for that part.
@needs_postgres
def test_postgres_crash_mid_load_loses_nothing_and_the_portal_recovers(
    private_postgres, start_instance
):
    env = harness.production_env(private_postgres.url, TRUSTED_PROXY_COUNT="1")
    migrate(env)
    people = harness.create_people(env, "client", [f"klient-{n}" for n in range(CLIENTS)])
    harness.create_people(env, "caseworker", ["handlaggare"])  # the team that receives intake
    instance = start_instance(env, workers=2, threads=2)

    load = Load(instance.base, people)
    for thread in load.threads:
        thread.start()
    try:
        load.wait_for(6, since=0)
        load.wait_until_sending()
        crashed_at = time.monotonic()
        private_postgres.crash()
        time.sleep(3)  # clients keep submitting into the outage
        private_postgres.start()
        restarted_at = time.monotonic()
        load.wait_for(6, since=restarted_at)
    finally:
        load.stop.set()
        for thread in load.threads:
            thread.join(timeout=60)

    failed = [(ended, o) for ended, o in load.outcomes if not o.succeeded]
    assert any(crashed_at < ended < restarted_at for ended, _ in failed), "the outage went unseen"
    for ended, outcome in failed:
        # Every refusal is the translated 503 page; never a 500, a stack trace or silence.
        assert outcome.status is not None, (
            f"no answer {ended - crashed_at:+.1f} s from the crash"
            f" ({ended - outcome.started:.1f} s after the submission began): {outcome.error}"
        )
        assert_unavailable_page(outcome.status, outcome.body, load.language_of[outcome.marker])

    stored = harness.inspect_requests(env)
    assert stored.problems == []
    assert stored.chain_problems == []
    assert stored.drafts_with_submitted_markers == []
    succeeded = {o.marker for _, o in load.outcomes if o.succeeded}
    assert succeeded <= set(stored.by_marker)
    for marker in succeeded:
        outcome = next(o for _, o in load.outcomes if o.marker == marker)
        assert stored.by_marker[marker] == outcome.request_id
    # A request whose commit reached the server just before it died is stored whole even
    # though its answer was lost; anything else that failed left no row at all.
    in_doubt = set(stored.by_marker) - succeeded
    failed_while_sending = {o.marker for _, o in failed if o.step == "review"}
    assert in_doubt <= failed_while_sending
    assert len(in_doubt) <= CLIENTS
    assert httpx.get(instance.base + "/healthz").status_code == 200

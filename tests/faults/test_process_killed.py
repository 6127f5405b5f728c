"""The portal's processes are killed outright in the middle of submissions: each request is
afterwards either stored whole or not at all, and the portal starts again as if nothing
had happened."""

from __future__ import annotations

import threading
import time

import pytest

from tests.faults import harness
from tests.faults.conftest import KINDS

CLIENTS = 6


def submit_until_stopped(
    portal: harness.Portal,
    person: harness.Person,
    outcomes: list[harness.Outcome],
    stop: threading.Event,
) -> None:
    try:
        portal.login(person)
        for attempt in range(1000):
            # Each attempt from its own address: throttling is not what this test is about.
            portal.http.headers["X-Forwarded-For"] = f"127.4.{attempt // 250}.{attempt % 250}"
            outcome = portal.submit(harness.new_marker(), child=attempt % 2 == 1)
            outcomes.append(outcome)
            if stop.is_set() or outcome.status is None:
                return
    finally:
        portal.close()


@pytest.mark.parametrize("kind", KINDS)
def test_sigkill_mid_submission_leaves_each_request_whole_or_absent(
    kind, make_database, start_instance
):
    env = make_database(kind, TRUSTED_PROXY_COUNT="1")
    people = harness.create_people(env, "client", [f"klient-{n}" for n in range(CLIENTS)])
    harness.create_people(env, "caseworker", ["handlaggare"])
    instance = start_instance(env, workers=2, threads=2)

    outcomes: list[harness.Outcome] = []
    stop = threading.Event()
    portals = [harness.Portal(instance.base) for _ in people]
    threads = [
        threading.Thread(target=submit_until_stopped, args=(portal, person, outcomes, stop))
        for portal, person in zip(portals, people, strict=True)
    ]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 60
    while sum(o.succeeded for o in outcomes) < 2 * CLIENTS:
        assert time.monotonic() < deadline, "submissions did not go through"
        time.sleep(0.05)
    while not any(portal.sending.is_set() for portal in portals):
        assert time.monotonic() < deadline, "no submission was being sent"
        time.sleep(0.001)
    instance.kill()  # master and workers at once, in the middle of whatever they do
    stop.set()
    for thread in threads:
        thread.join(timeout=60)

    cut_off = [o for o in outcomes if o.status is None]
    assert cut_off, "no request was in flight when the processes died"
    assert all(o.succeeded for o in outcomes if o.status is not None)

    stored = harness.inspect_requests(env)
    assert stored.problems == []
    assert stored.chain_problems == []
    # A request's draft is deleted in the transaction that stores the request: no stored
    # request may still have its text waiting in a draft.
    assert stored.drafts_with_submitted_markers == []
    succeeded = {o.marker: o.request_id for o in outcomes if o.succeeded}
    assert {m: stored.by_marker.get(m) for m in succeeded} == succeeded
    # Only a request whose final step was cut off may have been stored without its answer.
    assert set(stored.by_marker) - set(succeeded) <= {
        o.marker for o in cut_off if o.step == "review"
    }

    # The portal starts again on the same database and takes new requests.
    again = start_instance(env, workers=1)
    portal = harness.Portal(again.base, address="127.4.255.1")
    # Someone with no request open (the others may have one from before the kill).
    (newcomer,) = harness.create_people(env, "client", ["klient-efter"])
    portal.login(newcomer)
    assert portal.submit(harness.new_marker()).succeeded
    portal.close()
    assert harness.inspect_requests(env).problems == []

"""Two instances behind one load balancer, sharing PostgreSQL and Redis: a person may land
on either at every request, and must not notice which.

Sessions live in the database and throttling counts in Redis, so a login, a logout, a
revocation and a failed-login budget are the same on both instances.
"""

from __future__ import annotations

import os
import re
import uuid

import limits
import pytest

from config import Settings
from tests.faults import harness
from tests.faults.conftest import POSTGRES, migrate

REDIS = os.environ.get("TEST_REDIS_URL")
pytestmark = pytest.mark.skipif(
    not (POSTGRES and REDIS), reason="needs TEST_DATABASE_URL and TEST_REDIS_URL"
)

CASEWORKERS = ["anna", "bertil", "cecilia", "david"]
ROW = re.compile(r"<tr>(.*?)</tr>", re.DOTALL)
END_SESSION = re.compile(r'action="/account/sessions/([0-9a-f-]+)/end"')


class Pair:
    def __init__(self, a: harness.Gunicorn, b: harness.Gunicorn) -> None:
        self.a, self.b = a.base, b.base
        self.people: dict[str, harness.Person] = {}

    def device(self) -> harness.Portal:
        return harness.Portal(self.a)


@pytest.fixture(scope="module")
def pair():
    """Instances A and B on one database schema and one Redis database."""
    import redis

    assert POSTGRES is not None and REDIS is not None
    redis.Redis.from_url(REDIS).flushdb()  # no failures counted by an earlier run
    schema = f"faults_{uuid.uuid4().hex[:12]}"
    env = harness.production_env(
        harness.fresh_schema(POSTGRES, schema), RATELIMIT_STORAGE_URI=REDIS
    )
    instances: list[harness.Gunicorn] = []
    try:
        migrate(env)
        staff = harness.create_people(env, "caseworker", CASEWORKERS)
        admin = harness.create_people(env, "admin", ["forvaltare"])
        instances = [harness.Gunicorn(env, workers=1, threads=2) for _ in range(2)]
        for instance in instances:
            instance.wait_ready()
        pair = Pair(*instances)
        pair.people = {p.username: p for p in [*staff, *admin]}
        yield pair
    finally:
        for instance in instances:
            instance.stop()
        harness.drop_schema(POSTGRES, schema)


def other_devices(account_page: str) -> list[str]:
    """The sessions listed on the account page, but the one looking at it."""
    rows = [row for row in ROW.findall(account_page) if "this device" not in row]
    return [found.group(1) for row in rows if (found := END_SESSION.search(row))]


def works(portal: harness.Portal, base: str) -> bool:
    """The team's inbox opens (a refused session is sent to the login page instead)."""
    response = portal.get("/team/triage", base=base)
    assert response.status_code in (200, 302), response.status_code
    return response.status_code == 200


def test_a_session_started_on_one_instance_works_on_the_other_until_logout_there(pair):
    device = pair.device()
    device.login(pair.people["anna"], base=pair.a)
    assert works(device, pair.b)
    assert device.logout(base=pair.b).status_code == 302
    assert not works(device, pair.a)


def test_logging_out_another_device_on_one_instance_holds_on_the_other(pair):
    laptop, phone = pair.device(), pair.device()
    laptop.login(pair.people["bertil"], base=pair.a)
    phone.login(pair.people["bertil"], base=pair.b)
    [phone_session] = other_devices(laptop.get("/account/", base=pair.a).text)
    ended = laptop.post(
        f"/account/sessions/{phone_session}/end", {}, form_page="/account/", base=pair.a
    )
    assert ended.status_code == 302
    assert not works(phone, pair.b)
    assert works(laptop, pair.b)


def test_logging_out_everywhere_on_one_instance_ends_the_sessions_served_by_the_other(pair):
    laptop, phone = pair.device(), pair.device()
    laptop.login(pair.people["cecilia"], base=pair.a)
    phone.login(pair.people["cecilia"], base=pair.b)
    assert works(laptop, pair.b)
    ended = phone.post("/account/sessions/end-all", {}, form_page="/account/", base=pair.b)
    assert ended.status_code == 302
    assert not works(laptop, pair.a)
    assert not works(laptop, pair.b)


def test_an_account_deactivated_on_one_instance_is_locked_out_of_the_other(pair):
    worker, admin = pair.device(), pair.device()
    david, forvaltare = pair.people["david"], pair.people["forvaltare"]
    worker.login(david, base=pair.b)
    assert works(worker, pair.b)
    admin.login(forvaltare, base=pair.a)
    stepped_up = admin.post(
        "/step-up?next=/admin/users", {"code": forvaltare.next_code()}, base=pair.a
    )
    assert stepped_up.status_code == 302
    deactivated = admin.post(
        f"/admin/users/{david.id}/deactivate", {}, form_page="/admin/users", base=pair.a
    )
    assert deactivated.status_code == 302
    assert not works(worker, pair.b)
    refused = worker.post("/login", {"username": "david", "password": david.password}, base=pair.b)
    assert refused.status_code == 401


def test_failed_logins_spread_over_both_instances_share_one_budget(pair):
    budget = limits.parse(Settings.__dataclass_fields__["login_limit_per_account"].default).amount
    device = pair.device()
    statuses = []
    for attempt in range(budget + 2):
        base = pair.a if attempt % 2 == 0 else pair.b
        response = device.post("/login", {"username": "anna", "password": "wrong"}, base=base)
        statuses.append(response.status_code)
    # Each instance saw only half of the attempts: separate counters would never refuse.
    assert statuses == [401] * budget + [429, 429]

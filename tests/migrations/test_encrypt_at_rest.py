"""The upgrade that encrypts columns at rest carries the data: values written before it are
encrypted by it, and a downgrade gives them back as they were."""

from __future__ import annotations

from datetime import date, timedelta

import sqlalchemy as sa
from flask_migrate import downgrade, upgrade

from app.auth.models import Role
from app.cases.models import Intervention
from app.core.crypto import keyring
from app.core.outbox import OutboxMessage, enqueue_email
from app.extensions import db
from app.placements.models import Placement, PlacementRequest
from tests.migrations import before
from tests.placements.test_placements import add_partner, new_placement, send

BEFORE = before("0014_encrypt_at_rest")
PLAINTEXT = {
    ("placements", "children_ages"): "4",
    ("placements", "expected_duration"): "1 år",
    ("placement_requests", "offer_housing_type"): "Radhus med trädgård",
    ("interventions", "provider"): "Stiftelsen Nystart Syd",
    ("outbox", "subject"): "Invitation to Utväg",
    ("outbox", "body"): "Open https://utvag.example/join/secret-token-123",
    ("outbox", "calendar"): "BEGIN:VCALENDAR\r\nLOCATION:Polishuset\r\nEND:VCALENDAR\r\n",
}


def raw_values(table: str, column: str) -> list[str]:
    return list(db.session.execute(sa.text(f"SELECT {column} FROM {table}")).scalars())


def test_values_are_encrypted_on_upgrade_and_decrypted_on_downgrade(
    app, scene, make_account, new_browser, log_in
):
    vaxjo = add_partner(app, "vaxjo", "Växjö")
    placement_id = new_placement(scene)
    assert send(scene.owner_browser, placement_id, [vaxjo]).status_code == 302
    partner = new_browser()
    log_in(partner, make_account(Role.PARTNER, org_slug="vaxjo"))
    with app.app_context():
        request_id = db.session.scalars(sa.select(PlacementRequest.id)).one()
    accepted = partner.post(
        f"/partner/requests/{request_id}/accept",
        {
            "housing_type": PLAINTEXT[("placement_requests", "offer_housing_type")],
            "move_in_on": (date.today() + timedelta(days=20)).isoformat(),
            "contact": "Eva, socialtjänsten",
        },
        form_page=f"/partner/requests/{request_id}",
    )
    assert accepted.status_code == 302
    added = scene.owner_browser.post(
        f"/team/cases/{scene.case_id}/interventions",
        {"kind": "support_talks", "provider": PLAINTEXT[("interventions", "provider")]},
        form_page=f"/team/cases/{scene.case_id}",
    )
    assert added.status_code == 302
    with app.app_context():
        db.session.execute(sa.delete(OutboxMessage))
        enqueue_email(
            "a@example.org",
            PLAINTEXT[("outbox", "subject")],
            PLAINTEXT[("outbox", "body")],
            calendar=PLAINTEXT[("outbox", "calendar")],
            calendar_method="REQUEST",
        )
        db.session.commit()

        # What a database of the previous release holds: the plaintext itself.
        downgrade(revision=BEFORE)
        for (table, column), value in PLAINTEXT.items():
            assert raw_values(table, column) == [value], (table, column)
        db.session.remove()

        upgrade()
        for (table, column), value in PLAINTEXT.items():
            (stored,) = raw_values(table, column)
            assert stored.startswith("gAAAAA"), (table, column)  # a Fernet token
            assert keyring().decrypt(stored) == value, (table, column)
        placement = db.session.scalars(sa.select(Placement)).one()
        assert (placement.children_ages, placement.expected_duration) == ("4", "1 år")
        offer = db.session.scalars(sa.select(PlacementRequest.offer_housing_type)).one()
        assert offer == PLAINTEXT[("placement_requests", "offer_housing_type")]
        provider = db.session.scalars(sa.select(Intervention.provider)).one()
        assert provider == PLAINTEXT[("interventions", "provider")]
        mail = db.session.scalars(sa.select(OutboxMessage)).one()
        assert (mail.subject, mail.body, mail.calendar) == (
            PLAINTEXT[("outbox", "subject")],
            PLAINTEXT[("outbox", "body")],
            PLAINTEXT[("outbox", "calendar")],
        )

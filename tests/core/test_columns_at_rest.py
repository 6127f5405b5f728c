"""Nothing sensitive in plaintext: every text column of every table is encrypted, or listed
here with the reason it may not be.

Given the whole schema (every model's table), when a column can hold text (a string, a
text or a JSON value), then it is EncryptedText, or a closed vocabulary (an enum), or on
the short allow-list below with a reason. A new plaintext column fails this test until
someone either encrypts it or writes down why it need not be.
"""

from __future__ import annotations

import sqlalchemy as sa

from app import models  # noqa: F401  (the metadata must know every table)
from app.core.crypto import EncryptedText
from app.core.db import Base

HASH = "a keyed hash or digest, not the secret it was made from"
CODE = "a code from a fixed list the code defines (never typed by a person)"
RULE = "rules data: a rule's key or its legal citation, the same for every case"
ORG = "an organisation's own public details (an agency, a municipality), not a person's"

ALLOWED: dict[tuple[str, str], str] = {
    ("audit_checkpoints", "hash"): HASH,
    ("audit_checkpoints", "signature"): HASH,
    ("audit_events", "prev_hash"): HASH,
    ("audit_events", "hash"): HASH,
    ("audit_head", "hash"): HASH,
    ("audit_key_changes", "hash"): HASH,
    ("audit_key_changes", "old_key"): HASH,
    ("audit_key_changes", "new_key"): HASH,
    ("audit_key_changes", "old_signature"): HASH,
    ("audit_key_changes", "new_signature"): HASH,
    ("audit_events", "action"): CODE,
    ("audit_events", "subject_type"): CODE,
    ("audit_events", "subject_id"): "a row's random identifier; read by the access review",
    ("audit_events", "details"): (
        "ids, codes and counts only (record() never takes content); hashed into the chain, "
        "which `flask audit verify` recomputes without keys to the fields"
    ),
    ("organisations", "slug"): ORG,
    ("organisations", "name"): ORG,
    ("organisations", "mailbox"): ORG,
    ("partner_profiles", "municipality"): ORG + "; the conflict check compares it",
    ("partner_profiles", "region"): ORG,
    ("partner_profiles", "services"): CODE,
    ("threat_groups", "name"): "the team's list of groups, chosen from, the same for all cases",
    ("site_settings", "key"): "an administrator's setting: periods, languages, a title",
    ("site_settings", "value"): "an administrator's setting: periods, languages, a title",
    ("users", "username"): (
        "looked up at every login; clients register under a pseudonym the page asks for"
    ),
    ("users", "password_hash"): "an argon2id hash",
    ("users", "locale"): CODE,
    ("recovery_codes", "code_hash"): HASH,
    ("passkey_challenges", "challenge_hash"): HASH,
    ("reminders_sent", "job"): CODE,
    ("reminders_sent", "subject"): "a kind and an id (deadline:<uuid>): no name, no reference",
    ("user_sessions", "token_hash"): HASH,
    ("user_sessions", "revoked_reason"): CODE,
    ("account_invitations", "token_hash"): HASH,
    ("cases", "reference"): "a serial number staff search and sort by; it names no one",
    ("cases", "personal_number_index"): HASH,
    ("client_requests", "reference"): "a serial number, shown to the client; it names no one",
    ("client_requests", "source"): CODE,
    ("client_requests", "language"): CODE,
    ("accessibility_feedback", "language"): CODE,
    ("client_requests", "contact_language"): CODE,
    ("client_requests", "closed_reason"): CODE,
    ("access_reviews", "period"): "a month, like 2026-11",
    ("consents", "purposes"): CODE,
    ("consents", "language"): CODE,
    ("consultations", "ical_uid"): "a random identifier of the calendar entry",
    ("interventions", "kind"): CODE,
    ("contact_attempts", "channel"): CODE,
    ("contact_attempts", "outcome"): CODE,
    ("deadlines", "rule_key"): RULE,
    ("deadlines", "citation"): RULE,
    ("disclosures", "what"): "the names of the fields disclosed, set by the code",
    ("disclosures", "purpose"): CODE,
    ("disclosures", "legal_ground"): RULE,
    ("outbox", "calendar_method"): "REQUEST or CANCEL",
    ("outbox", "message_id"): "a random Message-ID",
    ("outbox", "last_error"): "the class name of the last delivery error, never its text",
    ("key_fingerprints", "variable"): "the name of a configuration variable",
    ("key_fingerprints", "fingerprint"): "an HMAC of a fixed label under the key: reveals no key",
    ("job_runs", "job"): CODE,
    ("audit_verifications", "hash"): HASH,
    ("audit_verifications", "signature"): HASH,
    ("security_tallies", "kind"): CODE,
    ("security_tallies", "scope"): "the name of an endpoint, like auth.login",
    ("disclosed_fields", "name"): "the name of a field disclosed (its value is encrypted)",
}


def holds_text(column: sa.Column) -> bool:
    kind = column.type
    if isinstance(kind, sa.types.TypeDecorator):
        kind = kind.impl_instance
    return isinstance(kind, (sa.String, sa.Text, sa.JSON))


def plaintext_in(tables: list[sa.Table]) -> set[tuple[str, str]]:
    found = set()
    for table in tables:
        for column in table.columns:
            if isinstance(column.type, EncryptedText) or not holds_text(column):
                continue
            if isinstance(column.type, sa.Enum):
                continue  # a closed vocabulary stored by its code: it cannot carry free text
            found.add((table.name, column.name))
    return found


def plaintext_columns() -> set[tuple[str, str]]:
    return plaintext_in(Base.metadata.sorted_tables)


def test_every_text_column_is_encrypted_or_allowed_for_a_reason():
    unexplained = plaintext_columns() - set(ALLOWED)
    assert unexplained == set(), (
        "plaintext columns: make them EncryptedText (a blind index if they are searched), "
        "or add them to ALLOWED with the reason they hold nothing sensitive"
    )


def test_the_allow_list_names_only_columns_that_exist_in_plaintext():
    # An entry whose column went away or was encrypted would let a later one slip in.
    assert set(ALLOWED) - plaintext_columns() == set()


def test_the_walk_sees_every_table_and_the_columns_fixed_here():
    tables = {table.name for table in Base.metadata.sorted_tables}
    assert {"outbox", "placements", "placement_requests", "interventions"} <= tables
    for table, column in (
        ("outbox", "recipient"),
        ("outbox", "subject"),
        ("outbox", "body"),
        ("outbox", "calendar"),
        ("placements", "children_ages"),
        ("placements", "expected_duration"),
        ("placement_requests", "offer_housing_type"),
        ("interventions", "provider"),
    ):
        assert isinstance(Base.metadata.tables[table].c[column].type, EncryptedText)


def test_a_new_plaintext_column_would_be_caught():
    from app.core.db import text_enum
    from app.orgs.models import OrgKind

    probe = sa.Table(
        "probe",
        sa.MetaData(),
        sa.Column("note", sa.String(50)),
        sa.Column("story", sa.Text),
        sa.Column("answers", sa.JSON),
        sa.Column("secret", EncryptedText),
        sa.Column("kind", text_enum(OrgKind)),
        sa.Column("count", sa.Integer),
    )
    assert plaintext_in([probe]) == {("probe", "note"), ("probe", "story"), ("probe", "answers")}

"""What a client does: register, write and submit a request, follow it, leave."""

from __future__ import annotations

import json
import secrets
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from flask import current_app

from app.audit.services import record
from app.auth import services as auth_services
from app.auth.models import Role, User, UserSession
from app.auth.sessions import revoke_all, start_session
from app.core.clock import as_utc, utcnow
from app.extensions import db
from app.intake.models import (
    AgeBand,
    ClientRequest,
    RequestAddition,
    RequestDraft,
    RequestKind,
    RequestStatus,
    Urgency,
)
from app.messages.models import Message
from app.orgs.models import Organisation, OrgKind
from app.rules import rule
from app.rules.models import Deadline

REFERENCE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
_ADJECTIVES = ["lugn", "stilla", "klar", "mild", "ljus", "varm", "tyst", "fri", "trygg", "sval"]
_NOUNS = ["ek", "flod", "vind", "sten", "bark", "dimma", "hav", "gran", "strand", "kulle"]
CHILD_DEADLINES = ("child_protection_assessment", "child_investigation_decision")


class IntakeError(Exception):
    """The request cannot be taken as it stands; `reason` names what is missing."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def suggest_username() -> str:
    """A pseudonym that says nothing about the person, e.g. "stilla-flod-4821"."""
    for _ in range(20):
        number = secrets.randbelow(9000) + 1000
        candidate = f"{secrets.choice(_ADJECTIVES)}-{secrets.choice(_NOUNS)}-{number}"
        if auth_services.find_user(candidate) is None:
            return candidate
    return f"klient-{secrets.token_hex(4)}"


def register_client(username: str, password: str, locale: str) -> tuple[UserSession, str]:
    """Create a client account (no name, e-mail or phone) and a session awaiting enrolment."""
    user = auth_services.create_user(username, password, Role.CLIENT, None)
    user.locale = locale
    user_session, token = start_session(user)
    record("client.registered", subject=user, actor_id=user.id)
    return user_session, token


def intake_organisation() -> Organisation:
    """The exit team that receives self-service requests."""
    slug = current_app.config["INTAKE_ORGANISATION"]
    query = sa.select(Organisation).where(Organisation.kind == OrgKind.EXIT_TEAM)
    if slug:
        query = query.where(Organisation.slug == slug)
    teams = db.session.scalars(query.limit(2)).all()
    if len(teams) != 1:
        raise IntakeError("no_team")
    return teams[0]


def load_draft(client: User) -> dict[str, Any]:
    draft = db.session.get(RequestDraft, client.id)
    if draft is None:
        return {}
    data: dict[str, Any] = json.loads(draft.data)
    return data


def save_draft(client: User, updates: Mapping[str, Any]) -> dict[str, Any]:
    """Merge one step's answers into the client's draft (encrypted, server-side)."""
    draft = db.session.get(RequestDraft, client.id)
    data = json.loads(draft.data) if draft else {}
    data.update(updates)
    if draft is None:
        draft = RequestDraft(client_id=client.id, data="{}", updated_at=utcnow())
        db.session.add(draft)
    draft.data = json.dumps(data, ensure_ascii=False)
    draft.updated_at = utcnow()
    db.session.flush()
    return data


def discard_draft(client: User) -> None:
    db.session.execute(sa.delete(RequestDraft).where(RequestDraft.client_id == client.id))


def _new_reference() -> str:
    for _ in range(10):
        raw = "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(8))
        reference = f"U-{raw[:4]}-{raw[4:]}"
        exists = db.session.scalar(
            sa.select(ClientRequest.id).where(ClientRequest.reference == reference)
        )
        if not exists:
            return reference
    raise RuntimeError("could not find a free reference")


def submit_request(client: User, language: str) -> ClientRequest:
    """Turn the client's draft into a request, whole or not at all.

    Everything happens in the caller's transaction: the request, its deadlines, the audit
    row and the draft's removal commit together or not at all.
    """
    data = load_draft(client)
    for required in ("kind", "help_wanted", "urgency", "voicemail_ok", "sms_ok", "interpreter"):
        if required not in data:
            raise IntakeError(required)
    kind = RequestKind(data["kind"])
    # A relative who skipped the question about the person has no age band in the draft:
    # that is a missing answer (back to the step), not a server error.
    age_band = (
        AgeBand(data["age_band"]) if kind is RequestKind.RELATIVE and "age_band" in data else None
    )
    if kind is RequestKind.RELATIVE and (age_band is None or "relationship" not in data):
        raise IntakeError("person")
    urgency = Urgency(data["urgency"])
    now = utcnow()
    request = ClientRequest(
        reference=_new_reference(),
        client=client,
        organisation_id=intake_organisation().id,
        kind=kind,
        status=RequestStatus.RECEIVED,
        urgency=urgency,
        urgent=urgency is Urgency.ACUTE,
        language=language,
        submitted_at=now,
        age_band=age_band,
        concerns_child=bool(age_band and age_band.is_child),
        concerns_under_21=bool(age_band and age_band.is_under_21),
        relationship_to_person=data.get("relationship"),
        help_wanted=json.dumps(data["help_wanted"]),
        phone=data.get("phone") or None,
        safe_times=json.dumps(data.get("safe_times", [])),
        voicemail_ok=data["voicemail_ok"] == "yes",
        sms_ok=data["sms_ok"] == "yes",
        code_word=data.get("code_word") or None,
        contact_language=data.get("contact_language") or None,
        interpreter_needed=data["interpreter"] == "yes",
        identity_name=data.get("name") or None,
        identity_birth_year=data.get("birth_year") or None,
        account_text=data.get("account_text") or None,
    )
    db.session.add(request)
    db.session.flush()
    if request.concerns_child:
        # A relative's worry about a child is a report of concern: the law's clocks start now.
        for key in CHILD_DEADLINES:
            start_deadline(request, key)
    record(
        "request.submitted",
        subject=request,
        organisation_id=request.organisation_id,
        details={"kind": kind.value, "urgent": request.urgent, "child": request.concerns_child},
    )
    discard_draft(client)
    db.session.flush()
    return request


def start_deadline(request: ClientRequest, rule_key: str) -> Deadline:
    applied = rule(rule_key)
    deadline = Deadline(
        request_id=request.id,
        rule_key=rule_key,
        citation=applied.citation,
        due_at=applied.due(as_utc(request.submitted_at)),
    )
    db.session.add(deadline)
    return deadline


def requests_of(client: User) -> list[ClientRequest]:
    return list(
        db.session.scalars(
            sa.select(ClientRequest)
            .where(ClientRequest.client_id == client.id)
            .order_by(ClientRequest.submitted_at.desc())
        )
    )


def view_request(request: ClientRequest) -> None:
    """Reading a request is audited like any read of case data."""
    record("request.viewed", subject=request, organisation_id=request.organisation_id)


def add_information(request: ClientRequest, text: str) -> RequestAddition:
    if request.status in (RequestStatus.CLOSED, RequestStatus.WITHDRAWN):
        raise IntakeError("closed")
    addition = RequestAddition(request=request, text=text)
    db.session.add(addition)
    db.session.flush()
    record("request.information_added", subject=request, organisation_id=request.organisation_id)
    return addition


def withdraw_request(request: ClientRequest) -> None:
    if request.status in (RequestStatus.CLOSED, RequestStatus.WITHDRAWN):
        raise IntakeError("closed")
    request.status = RequestStatus.WITHDRAWN
    request.withdrawn_at = utcnow()
    record("request.withdrawn", subject=request, organisation_id=request.organisation_id)


def set_notification_address(client: User, email: str | None) -> None:
    client.notify_email = email or None
    record("client.notifications_changed", subject=client, details={"enabled": bool(email)})


def delete_client_account(client: User) -> dict[str, int]:
    """Delete the account and every request that did not become a case.

    A request that became a case is a social-services record that the law keeps: it stays,
    without any link to the deleted account.
    """
    kept = deleted = 0
    for request in requests_of(client):
        if request.became_case_at is None:
            db.session.delete(request)
            deleted += 1
        else:
            request.client_id = None
            kept += 1
    discard_draft(client)
    revoke_all(client, "account_deleted")
    record("client.account_deleted", subject=client, details={"deleted": deleted, "kept": kept})
    db.session.delete(client)
    db.session.flush()
    return {"deleted": deleted, "kept": kept}


def export_client_data(client: User) -> dict[str, Any]:
    """Everything the portal holds about the client (GDPR art. 15), as plain data."""
    record("client.data_exported", subject=client)
    return client_data(client)


def client_data(client: User) -> dict[str, Any]:
    """What "download my data" gives; a caseworker's register extract contains the same."""
    return {
        "account": {
            "username": client.username,
            "created_at": as_utc(client.created_at).isoformat(),
            "language": client.locale,
            "notification_email": client.notify_email,
            "second_factor_enrolled": client.has_totp,
        },
        "draft": load_draft(client) or None,
        "requests": [export_request(request) for request in requests_of(client)],
    }


def export_request(request: ClientRequest) -> dict[str, Any]:
    messages = db.session.scalars(
        sa.select(Message).where(Message.request_id == request.id).order_by(Message.created_at)
    )
    return {
        "reference": request.reference,
        "kind": request.kind.value,
        "status": request.status.value,
        "submitted_at": as_utc(request.submitted_at).isoformat(),
        "urgency": request.urgency.value,
        "age_band": request.age_band.value if request.age_band else None,
        "relationship": request.relationship_to_person,
        "help_wanted": json.loads(request.help_wanted),
        "phone": request.phone,
        "safe_times": json.loads(request.safe_times or "[]"),
        "voicemail_ok": request.voicemail_ok,
        "sms_ok": request.sms_ok,
        "code_word": request.code_word,
        "contact_language": request.contact_language,
        "interpreter_needed": request.interpreter_needed,
        "name": request.identity_name,
        "birth_year": request.identity_birth_year,
        "account": request.account_text,
        "added_information": [
            {"at": as_utc(a.created_at).isoformat(), "text": a.text} for a in request.additions
        ],
        "messages": [
            {
                "at": as_utc(m.created_at).isoformat(),
                "from": "you" if m.from_client else "team",
                "text": m.body,
            }
            for m in messages
        ],
    }


def stale_client_accounts(older_than: timedelta) -> list[User]:
    """Client accounts that never submitted a request and are older than the limit."""
    has_request = sa.exists().where(ClientRequest.client_id == User.id)
    return list(
        db.session.scalars(
            sa.select(User).where(
                User.role == Role.CLIENT,
                User.created_at < utcnow() - older_than,
                ~has_request,
            )
        )
    )

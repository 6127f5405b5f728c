"""What a client does: register, write and submit a request, follow it, leave."""

from __future__ import annotations

import json
import secrets
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from app.alerts.models import AlertKind
from app.alerts.services import notify, team_leads
from app.audit.services import record
from app.auth import passwords
from app.auth import services as auth_services
from app.auth.models import Role, User, UserSession
from app.auth.passkeys import passkeys_of
from app.auth.sessions import revoke_all, start_session
from app.core.clock import as_utc, utcnow
from app.core.db import begin_writing
from app.extensions import db
from app.intake.choices import INTERVENTIONS, RELATIVE_HELP
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
from app.orgs.models import Organisation
from app.orgs.services import receiving_team
from app.rules import clocks_for, rule
from app.rules.models import Deadline

REFERENCE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
# Client usernames are made by the portal, never chosen: so registration cannot tell anyone
# which names exist (staff names included), and a name says nothing about its owner. Lowercase
# consonants and digits type the same on any phone keyboard (Arabic, Persian and Tigrinya
# ones switch to Latin letters and digits alike); without vowels no word forms by chance, and
# without 0/o, 1/l/i nothing is misread. 27 symbols in three groups of three: 27**9 > 2**42.
USERNAME_ALPHABET = "bcdfghjkmnpqrstvwxz23456789"
USERNAME_GROUPS = 3
USERNAME_GROUP_LENGTH = 3
# A collision is a one-in-billions event; a few fresh names end the search.
USERNAME_ATTEMPTS = 5


class IntakeError(Exception):
    """The request cannot be taken as it stands; `reason` names what is missing."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def suggest_username() -> str:
    """A fresh pseudonym that says nothing about the person, e.g. "k7m-p3q-9tf".

    Nothing is looked up: whether a name is free is decided by the database when the
    account is inserted (see register_client), so the answer reaches no one.
    """
    groups = (
        "".join(secrets.choice(USERNAME_ALPHABET) for _ in range(USERNAME_GROUP_LENGTH))
        for _ in range(USERNAME_GROUPS)
    )
    return "-".join(groups)


def register_client(
    password: str, locale: str, offered: str | None = None
) -> tuple[UserSession, str]:
    """Create a client account (no name, e-mail or phone) and a session awaiting enrolment.

    The username is the one `offered` to this browser on the registration page (kept in its
    signed session, never taken from the form), or a fresh one if that is taken. The unique
    index decides, inside a savepoint, so two registrations at once never fail: the same
    form sent twice (a double click) reaches the account it made, with the same password;
    anything else gets a new name.
    """
    username = offered or suggest_username()
    begin_writing(db.session)
    for _attempt in range(USERNAME_ATTEMPTS):
        try:
            with db.session.begin_nested():
                user = auth_services.create_user(username, password, Role.CLIENT, None)
        except (auth_services.AccountError, IntegrityError) as error:
            taken = isinstance(error, IntegrityError) or auth_services.find_user(username)
            if not taken:
                raise
            repeated = _same_registration(username, password) if username == offered else None
            if repeated is not None:
                user_session, token = start_session(repeated)
                record("client.registration_repeated", subject=repeated, actor_id=repeated.id)
                return user_session, token
            username = suggest_username()
            continue
        user.locale = locale
        user_session, token = start_session(user)
        record("client.registered", subject=user, actor_id=user.id)
        return user_session, token
    raise RuntimeError("no free username after several fresh ones")


def _same_registration(username: str, password: str) -> User | None:
    """The account this browser's registration made a moment ago, if this is it again.

    The name was offered to this browser only, and the password must match; an account
    that has set up its second factor is past registration and is reached by logging in.
    """
    user = auth_services.find_user(username)
    if user is None or user.role is not Role.CLIENT or auth_services.has_second_factor(user):
        return None
    if not passwords.verify_password(user.password_hash, password):
        return None
    return user


def intake_organisation() -> Organisation:
    """The exit team that receives self-service requests."""
    team = receiving_team()
    if team is None:
        raise IntakeError("no_team")
    return team


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


class NothingToSubmit(Exception):
    """The client has no draft (any more): it became a request a moment ago, or never was."""


# A submission that finds its draft gone within this time is the same submission sent twice
# (a double click, a retry after a slow answer): the person is shown the request it became.
RESUBMISSION_WINDOW = timedelta(minutes=10)


# The step that asks each answer a request cannot go without; missing_step names it.
REQUIRED_ANSWERS = {
    "kind": "kind",
    "help_wanted": "help",
    "urgency": "help",
    "person": "person",
    "voicemail_ok": "contact",
    "sms_ok": "contact",
    "interpreter": "contact",
}


def help_codes_for(kind: str | None) -> Mapping[str, Any]:
    """The help a request of this kind may ask for: a relative's list is their own."""
    return RELATIVE_HELP if kind == RequestKind.RELATIVE.value else INTERVENTIONS


def _check_complete(data: Mapping[str, Any]) -> None:
    # In the order the steps ask them, so the person is sent to the first one missing.
    if not data.get("kind"):
        raise IntakeError("kind")
    if data["kind"] == RequestKind.RELATIVE.value and not (
        data.get("age_band") and data.get("relationship")
    ):
        raise IntakeError("person")
    for required in ("help_wanted", "urgency"):
        if not data.get(required):
            raise IntakeError(required)
    if not set(data["help_wanted"]) <= set(help_codes_for(data["kind"])):
        # The kind was changed after the help was chosen from the other list.
        raise IntakeError("help_wanted")
    # The questions about calls are asked of someone who gave a phone number, and only then.
    if data.get("phone"):
        for required in ("voicemail_ok", "sms_ok", "interpreter"):
            if data.get(required) not in ("yes", "no"):
                raise IntakeError(required)


def missing_step(data: Mapping[str, Any]) -> str | None:
    """The first step whose answers the request still needs, or None when it can be sent."""
    try:
        _check_complete(data)
    except IntakeError as error:
        return REQUIRED_ANSWERS[error.reason]
    return None


OPEN_STATUSES = (RequestStatus.RECEIVED, RequestStatus.CONTACTED, RequestStatus.IN_PROGRESS)


def open_request(client: User) -> ClientRequest | None:
    """The client's request that is still being handled: one at a time, so the team gets
    the whole story in one place and the person follows one thread."""
    return db.session.scalar(
        sa.select(ClientRequest)
        .where(ClientRequest.client_id == client.id, ClientRequest.status.in_(OPEN_STATUSES))
        .order_by(ClientRequest.submitted_at.desc())
        .limit(1)
    )


def _take_draft(client: User) -> dict[str, Any]:
    """Remove the client's draft and return what it held, in one guarded statement.

    Two submissions of one draft (a double click, two tabs, two instances) may both have
    read it, but only one DELETE finds the row: its row count, not the earlier read, decides
    which of them becomes the request. On PostgreSQL the second DELETE waits for the first
    transaction and then finds nothing; on SQLite writers take turns.
    """
    taken = db.session.execute(
        sa.delete(RequestDraft)
        .where(RequestDraft.client_id == client.id)
        .returning(RequestDraft.data, RequestDraft.updated_at)
    ).one_or_none()
    if taken is None:
        raise NothingToSubmit
    data: dict[str, Any] = json.loads(taken.data)
    try:
        # The draft may have changed since it was checked (another tab saved a step).
        _check_complete(data)
    except IntakeError:
        db.session.add(
            RequestDraft(client_id=client.id, data=taken.data, updated_at=taken.updated_at)
        )
        db.session.flush()
        raise
    return data


def submit_request(client: User, language: str) -> ClientRequest:
    """Turn the client's draft into a request, whole, once, or not at all.

    Everything happens in the caller's transaction: the request, its deadlines, the audit
    row and the draft's removal commit together or not at all. The draft is consumed first,
    so a second submission of the same draft raises NothingToSubmit instead of storing the
    request again.
    """
    checked = load_draft(client)
    if not checked:
        raise NothingToSubmit
    # The usual refusal (an answer missing) is decided before anything is written.
    _check_complete(checked)
    data = _take_draft(client)
    kind = RequestKind(data["kind"])
    phone = data.get("phone") or None
    now = utcnow()
    age_band = _age_band(kind, data, now.year)
    urgency = Urgency(data["urgency"])
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
        phone=phone,
        # Without a phone number the call questions were not asked: nothing of them is kept.
        safe_times=json.dumps((data.get("safe_times") or []) if phone else []),
        voicemail_ok=bool(phone) and data.get("voicemail_ok") == "yes",
        sms_ok=bool(phone) and data.get("sms_ok") == "yes",
        code_word=(data.get("code_word") or None) if phone else None,
        contact_language=data.get("contact_language") or None,
        interpreter_needed=bool(phone) and data.get("interpreter") == "yes",
        identity_name=data.get("name") or None,
        identity_birth_year=data.get("birth_year") or None,
        account_text=data.get("account_text") or None,
    )
    db.session.add(request)
    db.session.flush()
    # A relative's worry about a child is a report of concern, and a child's own request
    # starts the same duty: the law's clocks start now (which ones: app/rules/clocks.toml).
    source = "relative" if kind is RequestKind.RELATIVE else request.source
    for key in clocks_for(source, age_band.value if age_band else None):
        start_deadline(request, key)
    record(
        "request.submitted",
        subject=request,
        organisation_id=request.organisation_id,
        details={"kind": kind.value, "urgent": request.urgent, "child": request.concerns_child},
    )
    if request.urgent:
        # Nobody has the request yet: the team's leads hear of it at once.
        notify(AlertKind.ACUTE_REQUEST, team_leads(request.organisation_id), request.id)
    db.session.flush()
    return request


def _age_band(kind: RequestKind, data: Mapping[str, Any], this_year: int) -> AgeBand | None:
    """How old the person the request is about is: a relative says; a person asking for
    themselves may give their birth year, and a child's own request counts as one."""
    if kind is RequestKind.RELATIVE:
        return AgeBand(data["age_band"])
    year = str(data.get("birth_year") or "")
    if not year.isdigit() or not 1900 <= int(year) <= this_year:
        return None
    return AgeBand.from_birth_year(int(year), this_year)


def send_request(client: User, language: str) -> ClientRequest:
    """The client sends their draft as a request: refused while one of theirs is open.

    One at a time, so the team gets the whole story in one place. A draft sent twice
    (a double click) finds no draft the second time and says so first (NothingToSubmit),
    so the second click lands on the request the first one made, not on a refusal.
    """
    if not load_draft(client):
        raise NothingToSubmit
    if open_request(client) is not None:
        # The first click of a double click may have committed between the look at the
        # draft above and this one: then the draft is gone (asked afresh, past the session's
        # memory of it) and this click, too, lands on the request the first one made.
        still_there = db.session.scalar(
            sa.select(sa.exists().where(RequestDraft.client_id == client.id))
        )
        if not still_there:
            raise NothingToSubmit
        raise IntakeError("open_request")
    return submit_request(client, language)


def recent_submission(client: User) -> ClientRequest | None:
    """The request the client sent within the resubmission window, if any."""
    return db.session.scalar(
        sa.select(ClientRequest)
        .where(
            ClientRequest.client_id == client.id,
            ClientRequest.submitted_at >= utcnow() - RESUBMISSION_WINDOW,
        )
        .order_by(ClientRequest.submitted_at.desc())
        .limit(1)
    )


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


def iso_moment(moment: datetime) -> str:
    """A moment for machines: ISO 8601 in UTC, to the second (microseconds say nothing)."""
    return as_utc(moment).replace(microsecond=0).isoformat()


def export_client_data(client: User) -> dict[str, Any]:
    """Everything the portal holds about the client (GDPR art. 15), as plain data."""
    record("client.data_exported", subject=client)
    return client_data(client)


def client_data(client: User) -> dict[str, Any]:
    """What "download my data" gives; a caseworker's register extract contains the same."""
    return {
        "account": {
            "username": client.username,
            "created_at": iso_moment(client.created_at),
            "language": client.locale,
            "notification_email": client.notify_email,
            "second_factor_enrolled": auth_services.has_second_factor(client),
            "authenticator_app": client.has_totp,
            "passkeys": len(passkeys_of(client)),
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
        "submitted_at": iso_moment(request.submitted_at),
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
            {"at": iso_moment(a.created_at), "text": a.text} for a in request.additions
        ],
        "messages": [
            {
                "at": iso_moment(m.created_at),
                "from": "you" if m.from_client else "team",
                "text": m.body,
            }
            for m in messages
        ],
    }


def stale_client_accounts(older_than: timedelta) -> list[User]:
    """Client accounts that never submitted a request and have not been used for longer
    than the limit: not registered, logged in, seen or writing a draft within it (someone
    who registered a week ago may be halfway through an acute request right now)."""
    cutoff = utcnow() - older_than
    has_request = sa.exists().where(ClientRequest.client_id == User.id)
    seen_lately = sa.exists().where(
        UserSession.user_id == User.id, UserSession.last_seen_at >= cutoff
    )
    writing_lately = sa.exists().where(
        RequestDraft.client_id == User.id, RequestDraft.updated_at >= cutoff
    )
    return list(
        db.session.scalars(
            sa.select(User).where(
                User.role == Role.CLIENT,
                User.created_at < cutoff,
                sa.or_(User.last_login_at.is_(None), User.last_login_at < cutoff),
                ~has_request,
                ~seen_lately,
                ~writing_lately,
            )
        )
    )

"""The one check every disclosure goes through, and the record it leaves."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import sqlalchemy as sa

from app.audit.services import record
from app.auth.models import User
from app.cases.models import CASE_ID, Case
from app.consent.models import Consent, ConsentMethod, DisclosedField, Disclosure, Purpose
from app.core.clock import utcnow
from app.core.db import rows_matched
from app.extensions import db
from app.orgs.models import Organisation
from app.rules import LOCAL_TIME


class NotCovered(Exception):
    """No valid consent covers this disclosure."""


def _in_force(consent: Consent) -> bool:
    today = utcnow().astimezone(LOCAL_TIME).date()
    return (
        consent.withdrawn_at is None
        and consent.valid_from <= today
        and (consent.valid_until is None or today <= consent.valid_until)
    )


def deciding_consent(case: Case, agency: Organisation, purpose: Purpose) -> Consent | None:
    """The client's latest answer that names this agency and purpose, if any.

    A later refusal or a withdrawal outweighs an earlier yes: the newest decision is the
    one that counts.
    """
    consents = db.session.scalars(
        sa.select(Consent)
        .where(Consent.case_id == case.id, Consent.given.is_not(None))
        .order_by(Consent.answered_at.desc())
    )
    for consent in consents:
        if purpose in consent.purpose_set and any(a.id == agency.id for a in consent.agencies):
            return consent
    return None


def consent_covers(case: Case, agency: Organisation, purpose: Purpose) -> bool:
    """True only if the deciding consent is a yes that is still in force."""
    consent = deciding_consent(case, agency, purpose)
    return consent is not None and bool(consent.given) and _in_force(consent)


def record_disclosure(
    case: Case,
    agency: Organisation,
    purpose: Purpose,
    fields: Sequence[tuple[str, str | None]],
    by: User | None,
) -> Disclosure:
    """Disclose these fields, as they are now, on consent; refuses (and audits) without one.

    The values are frozen into the record, field by field: it is what the recipient reads
    from now on, whatever later happens to the case.
    """
    names = [name for name, _value in fields]
    if not names or len(set(names)) != len(names):
        raise ValueError("a disclosure names each field once")
    consent = deciding_consent(case, agency, purpose)
    if consent is None or not consent_covers(case, agency, purpose):
        record(
            "disclosure.refused",
            subject=case,
            organisation_id=case.organisation_id,
            details={"recipient": str(agency.id), "purpose": purpose.value},
        )
        raise NotCovered
    disclosure = Disclosure(
        case_id=case.id,
        recipient_id=agency.id,
        what=", ".join(names)[:200],
        purpose=purpose.value,
        consent_id=consent.id,
        disclosed_by_id=by.id if by else None,
        fields=[
            DisclosedField(name=name, position=position, value=value)
            for position, (name, value) in enumerate(fields)
        ],
    )
    db.session.add(disclosure)
    db.session.flush()
    record(
        "disclosure.made",
        subject=case,
        organisation_id=case.organisation_id,
        details={
            "disclosure": str(disclosure.id),
            "recipient": str(agency.id),
            "purpose": purpose.value,
            "what": disclosure.what,  # field names only, never the values
        },
    )
    return disclosure


def still_readable(disclosure: Disclosure, case: Case, recipient: Organisation) -> bool:
    """Whether the recipient may still read this snapshot.

    Only while the consent it was made on is in force and the client's newest decision for
    that recipient and purpose is still a yes: a withdrawal, a refusal or an expiry ends
    it at once. A disclosure with neither consent nor a named provision (its consent was
    deleted) is never readable.
    """
    if disclosure.recipient_id != recipient.id or disclosure.case_id != case.id:
        return False
    if disclosure.consent_id is None:
        return disclosure.legal_ground is not None
    consent = db.session.get(Consent, disclosure.consent_id)
    return (
        consent is not None
        and bool(consent.given)
        and _in_force(consent)
        and consent_covers(case, recipient, Purpose(disclosure.purpose))
    )


def latest_disclosure(
    case: Case, recipient: Organisation, purpose: Purpose, *, holding: str | None = None
) -> Disclosure | None:
    """The newest snapshot given to this recipient for this purpose, readable or not.

    `holding` names a field the snapshot must hold, where one purpose carries snapshots of
    different kinds (consent to consult covers both the case's needs and a meeting's
    minutes): the newest minutes are not the newest needs.
    """
    fields = sa.exists().where(DisclosedField.disclosure_id == Disclosure.id)
    if holding is not None:
        fields = fields.where(DisclosedField.name == holding)
    return db.session.scalar(
        sa.select(Disclosure)
        .where(
            Disclosure.case_id == case.id,
            Disclosure.recipient_id == recipient.id,
            Disclosure.purpose == purpose.value,
            # Records from before snapshots existed hold no values: nothing to show.
            fields,
        )
        .order_by(Disclosure.created_at.desc())
        .limit(1)
    )


def readable_disclosure(
    case: Case, recipient: Organisation, purpose: Purpose, *, holding: str | None = None
) -> Disclosure | None:
    """The snapshot the recipient may read now, if any: the newest, while it holds."""
    disclosure = latest_disclosure(case, recipient, purpose, holding=holding)
    if disclosure is None or not still_readable(disclosure, case, recipient):
        return None
    return disclosure


def read_disclosure(disclosure: Disclosure, case: Case, by: User) -> None:
    """A recipient reading a snapshot is audited like any read of case data.

    The case is the subject, so the team lead's access log shows the read under the case,
    as it shows the team's own reads.
    """
    record(
        "disclosure.viewed",
        subject=case,
        organisation_id=case.organisation_id,
        details={"disclosure": str(disclosure.id), "recipient": str(disclosure.recipient_id)},
    )


def refuse_read(case: Case, recipient: Organisation, purpose: Purpose) -> None:
    """A recipient asking for a snapshot it may no longer read: refused, and audited."""
    record(
        "disclosure.read_refused",
        subject=case,
        organisation_id=case.organisation_id,
        details={"recipient": str(recipient.id), "purpose": purpose.value},
    )


def disclosures_of(case: Case, purposes: Sequence[Purpose] = ()) -> list[Disclosure]:
    """The case's disclosure record, newest first, for the team's pages."""
    query = sa.select(Disclosure).where(Disclosure.case_id == case.id)
    if purposes:
        query = query.where(Disclosure.purpose.in_([p.value for p in purposes]))
    return list(db.session.scalars(query.order_by(Disclosure.created_at.desc())))


def record_consent(
    case: Case,
    recorded_by: User,
    *,
    agencies: list[Organisation],
    purposes: set[Purpose],
    method: ConsentMethod,
    given: bool,
    valid_from: date,
    valid_until: date | None,
) -> Consent:
    """Record a paper consent (given or refused) or propose a digital one to the client.

    A digital proposal stays unanswered until the client confirms or refuses it.
    """
    if not agencies or not purposes:
        raise ValueError("a consent names at least one agency and one purpose")
    if valid_until is not None and valid_until < valid_from:
        raise ValueError("valid_until before valid_from")
    paper = method is ConsentMethod.PAPER
    consent = Consent(
        case_id=case.id,
        purposes=",".join(sorted(p.value for p in purposes)),
        method=method,
        given=given if paper else None,
        answered_at=utcnow() if paper else None,
        valid_from=valid_from,
        valid_until=valid_until,
        recorded_by_id=recorded_by.id,
        agencies=agencies,
    )
    db.session.add(consent)
    db.session.flush()
    record(
        "consent.recorded" if paper else "consent.proposed",
        subject=case,
        organisation_id=case.organisation_id,
        details={"consent": str(consent.id), "given": consent.given, "method": method.value},
    )
    return consent


class AlreadyAnswered(ValueError):
    """The consent was answered already (by a parallel request too): the first answer counts."""


def answer_consent(consent: Consent, case: Case, *, given: bool, language: str) -> None:
    """The client's own answer, after a TOTP confirmation checked by the caller.

    One guarded UPDATE … WHERE given IS NULL decides: of two answers sent at once (a double
    click, two tabs, yes in one and no in the other) only the first takes effect and is
    recorded; the other raises AlreadyAnswered.
    """
    answered = db.session.execute(
        sa.update(Consent)
        .where(
            Consent.id == consent.id,
            Consent.method == ConsentMethod.DIGITAL,
            Consent.given.is_(None),
        )
        .values(given=given, answered_at=utcnow(), language=language)
        .execution_options(synchronize_session=False)
    )
    if rows_matched(answered) != 1:
        raise AlreadyAnswered
    db.session.refresh(consent)
    record(
        "consent.answered",
        subject=case,
        organisation_id=case.organisation_id,
        details={"consent": str(consent.id), "given": given},
    )


def withdraw_consent(consent: Consent, case: Case) -> None:
    """End a consent, once: one guarded update decides, so a double click, or the client
    and the team at the same moment, record one withdrawal at its first moment."""
    withdrawn = db.session.execute(
        sa.update(Consent)
        .where(Consent.id == consent.id, Consent.withdrawn_at.is_(None))
        .values(withdrawn_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    db.session.expire(consent, ["withdrawn_at"])
    if rows_matched(withdrawn) != 1:
        return
    record(
        "consent.withdrawn",
        subject=case,
        organisation_id=case.organisation_id,
        details={"consent": str(consent.id)},
    )


def consents_of(case: Case) -> list[Consent]:
    return list(db.session.scalars(_CONSENTS_OF, {"case_id": case.id}))


_CONSENTS_OF = sa.select(Consent).where(Consent.case_id == CASE_ID).order_by(Consent.created_at)

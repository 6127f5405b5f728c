"""The register extract (GDPR art. 15) for the person a case is about.

It gathers everything the portal holds on the person, in the same shape as the client's
own "download my data" where the two overlap, so what the team hands out and what the
client sees for themselves never disagree. It is raw material: before it is handed out,
the caseworker reviews it for secrecy (information about others, or from the police, may
have to be masked), which the page says.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _

from app.audit.services import record
from app.cases.identity import IdentityView
from app.cases.models import Case, Intervention, JournalEntry, NeedsAssessment, ThreatAssessment
from app.consent.models import Consent, Disclosure
from app.consultations.models import Action, Consultation
from app.core.clock import utcnow
from app.extensions import db
from app.intake.models import ClientRequest, RequestKind
from app.intake.services import client_data, export_request, iso_moment
from app.orgs.models import Organisation
from app.placements.models import Placement
from app.rules import municipalities, rule


def _when(moment: datetime | date | None) -> str | None:
    if moment is None:
        return None
    if isinstance(moment, datetime):
        return iso_moment(moment)
    return moment.isoformat()


def _all(model: Any, case: Case, order: Any) -> list[Any]:
    query = sa.select(model).where(model.case_id == case.id).order_by(order)
    return list(db.session.scalars(query))


def register_extract(case: Case, identity: IdentityView) -> dict[str, Any]:
    """Everything held about the case's person, and the facts art. 15 asks to be told.

    The identity comes through the one identity decision: an extract is only for those who
    may see it, so a redacted view is refused rather than half-exported.
    """
    if not identity.visible:
        raise PermissionError("the identity is hidden from the one asking")
    record("case.register_extracted", subject=case, organisation_id=case.organisation_id)
    requests = _all(ClientRequest, case, ClientRequest.submitted_at)
    own = [r for r in requests if r.kind is not RequestKind.RELATIVE and r.client is not None]
    names = {
        row.id: row.name
        for row in db.session.execute(sa.select(Organisation.id, Organisation.name))
    }
    records_rule = rule("records_deletion")
    return {
        "produced_at": iso_moment(utcnow()),
        "case": {
            "reference": case.reference,
            "status": case.status.value,
            "outcome": case.outcome.value if case.outcome else None,
            "source": case.source.value,
            "opened_at": _when(case.opened_at),
            "closed_at": _when(case.closed_at),
            "protection_level": case.protection_level.value,
            "name": identity.full_name,
            "personal_number": identity.personal_number,
            "phone": identity.phone,
            "address": identity.address,
            "municipality": municipalities.plain_name(identity.municipality),
            "household": {"adults": identity.adults, "children_ages": list(identity.children_ages)}
            if case.household
            else None,
        },
        # The person's own account, exactly as "download my data" shows it to them.
        "own_account": client_data(own[0].client) if own else None,
        # What others (relatives) told the team about the person; their own contact
        # details are theirs, not the person's, and stay out.
        "requests_from_others": [
            {
                key: value
                for key, value in export_request(r).items()
                if key in ("reference", "kind", "submitted_at", "help_wanted", "account")
            }
            for r in requests
            if r.kind is RequestKind.RELATIVE
        ],
        "journal": [
            {"on": _when(e.occurred_on), "text": e.body}
            for e in _all(JournalEntry, case, JournalEntry.occurred_on)
        ],
        "threat_assessments": [
            {
                "on": _when(t.assessed_on),
                "level": t.level.value,
                "by_police": t.assessed_by_police,
                "sources": t.sources,
                "areas_to_avoid": [
                    municipalities.plain_name(a) for a in json.loads(t.areas_to_avoid or "[]")
                ],
                "groups": [g.name for g in t.groups],
            }
            for t in _all(ThreatAssessment, case, ThreatAssessment.assessed_on)
        ],
        "needs_assessments": [
            {"on": _when(n.assessed_on), "notes": json.loads(n.notes)}
            for n in _all(NeedsAssessment, case, NeedsAssessment.assessed_on)
        ],
        "interventions": [
            {
                "kind": i.kind,
                "provider": i.provider,
                "from": _when(i.starts_on),
                "to": _when(i.ends_on),
                "status": i.status.value,
                "outcome": i.outcome,
            }
            for i in _all(Intervention, case, Intervention.created_at)
        ],
        "consents": [
            {
                "purposes": c.purposes.split(","),
                "agencies": sorted(a.name for a in c.agencies),
                "given": c.given,
                "valid_from": _when(c.valid_from),
                "valid_until": _when(c.valid_until),
                "withdrawn_at": _when(c.withdrawn_at),
            }
            for c in _all(Consent, case, Consent.created_at)
        ],
        # Art. 15(1)(c): the recipients the data was disclosed to.
        "disclosures": [
            {
                "at": _when(d.created_at),
                "to": names.get(d.recipient_id),
                "what": d.what,
                # Field by field, as recorded when it was disclosed (names, not values).
                "fields": d.field_names,
                "purpose": d.purpose,
                "consent_given_on": _when(d.consent.valid_from) if d.consent else None,
                "legal_ground": d.legal_ground,
            }
            for d in _all(Disclosure, case, Disclosure.created_at)
        ],
        "consultations": [
            {
                "at": _when(c.starts_at),
                "status": c.status.value,
                "agencies": sorted({names.get(i.organisation_id) or "" for i in c.invitations}),
                "minutes": c.minutes,
            }
            for c in _all(Consultation, case, Consultation.starts_at)
        ],
        "actions": [
            {
                "by": names.get(a.owner_organisation_id),
                "what": a.description,
                "due_on": _when(a.due_on),
                "status": a.status.value,
                "done_at": _when(a.done_at),
                "outcome": a.outcome,
            }
            for a in _all(Action, case, Action.due_on)
        ],
        "placements": [
            {
                "created_at": _when(p.created_at),
                "status": p.status.value,
                "partners_asked": sorted(names.get(r.partner_id) or "" for r in p.requests),
            }
            for p in _all(Placement, case, Placement.created_at)
        ],
        # Art. 15(1)(a), (d): why the data is held and for how long.
        "purpose": _("Support to leave a criminal group, and protection (social services)."),
        "kept_until": _(
            "%(years)d years after the last entry (%(citation)s)",
            years=records_rule.value,
            citation=records_rule.citation,
        ),
    }

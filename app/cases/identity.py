"""The one decision of who sees a case's identity and location, and the loader that
hands them out."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from flask_babel import lazy_gettext as _l

from app.audit.services import record
from app.auth.models import User
from app.cases.models import Case
from app.cases.permissions import can_see_identity, can_triage
from app.intake.models import ClientRequest
from app.messages.models import Message
from app.messages.services import thread

# The one identity decision ---------------------------------------------------------------
#
# Every team-side page, print view, export and mail that shows a person's identity or
# location — name, personal identity number, phone, address, municipality, children, and the
# free text that may hold them (messages, the request's story, minutes, decisions, actions)
# — gets it from here. The predicate is `can_see_identity`; whoever may not see the identity
# gets a view whose fields are empty and whose free text is withheld, and templates say
# "hidden: protected identity" instead. Reading through a visible view is audited.

HIDDEN_NOTE = _l("hidden: protected identity")


@dataclass(frozen=True)
class IdentityView:
    """A case's identity and location as one person may see them."""

    visible: bool
    full_name: str | None = None
    personal_number: str | None = None
    phone: str | None = None
    address: str | None = None
    municipality: str | None = None
    adults: int | None = None
    children_ages: tuple[int, ...] = ()

    @property
    def hidden_note(self) -> str:
        return str(HIDDEN_NOTE)

    def text(self, value: str | None) -> str | None:
        """Free text of the case (a message, a story, minutes): withheld when hidden."""
        return value if self.visible else None


@dataclass(frozen=True)
class RequestIdentityView:
    """The identity, contact details and story of a request, as one person may see them."""

    visible: bool
    name: str | None = None
    phone: str | None = None
    code_word: str | None = None
    story: str | None = None
    additions: tuple[tuple[datetime, str], ...] = ()

    @property
    def hidden_note(self) -> str:
        return str(HIDDEN_NOTE)


REDACTED = IdentityView(visible=False)
REDACTED_REQUEST = RequestIdentityView(visible=False)


def identity_of(case: Case, user: User, *, purpose: str) -> IdentityView:
    """The case's identity for `user`, decrypted only when they may see it; audited."""
    if not can_see_identity(user, case):
        return REDACTED
    record(
        "identity.viewed",
        subject=case,
        organisation_id=case.organisation_id,
        details={"purpose": purpose},
    )
    household = json.loads(case.household) if case.household else {}
    return IdentityView(
        visible=True,
        full_name=case.full_name,
        personal_number=case.personal_number,
        phone=case.phone,
        address=case.address,
        municipality=case.municipality,
        adults=household.get("adults"),
        children_ages=tuple(household.get("children_ages", ())),
    )


# A request not yet a case is the receiving team's to triage; once it is part of a case,
# its identity follows the case's: the same rule as who may open the request's page.
may_see_request_identity = can_triage


def identity_of_request(request: ClientRequest, user: User, *, purpose: str) -> RequestIdentityView:
    """The request's identity, contact details and story for `user`; audited when shown."""
    if not may_see_request_identity(user, request):
        return REDACTED_REQUEST
    if request.case_id is not None:
        record(
            "identity.viewed",
            subject_type="cases",
            subject_id=str(request.case_id),
            organisation_id=request.organisation_id,
            details={"purpose": purpose},
        )
    return RequestIdentityView(
        visible=True,
        name=request.identity_name,
        phone=request.phone,
        code_word=request.code_word,
        story=request.account_text,
        additions=tuple((a.created_at, a.text) for a in request.additions),
    )


def thread_of(request: ClientRequest, user: User) -> list[Message] | None:
    """The messages with the client, or None when they are hidden from `user`: a client
    writes where they live and who they are."""
    if not may_see_request_identity(user, request):
        return None
    return thread(request)

"""Need-to-know around placements: the case's team manages them; a partner sees its own."""

from __future__ import annotations

from app.auth.models import Role, User
from app.cases.models import Case
from app.cases.permissions import can_edit_case, can_see_identity
from app.extensions import db
from app.placements.models import Placement, PlacementRequest
from app.placements.services import handover_snapshot


def can_manage_placement(user: User, placement: Placement) -> bool:
    case = db.session.get(Case, placement.case_id)
    return case is not None and can_edit_case(user, case)


def can_direct_placement(user: User, placement: Placement) -> bool:
    """Choosing partners, confirming an offer and handing over the identity decide where the
    person goes, and the hand-over sends who they are: only for those who may know both."""
    case = db.session.get(Case, placement.case_id)
    return case is not None and can_edit_case(user, case) and can_see_identity(user, case)


def is_partner(user: User) -> bool:
    return user.is_authenticated and user.role is Role.PARTNER


def is_recipient(user: User, request: PlacementRequest) -> bool:
    """A partner sees only the requests sent to its own organisation."""
    return is_partner(user) and request.partner_id == user.organisation_id


def can_open_request(user: User, request: PlacementRequest) -> bool:
    """The recipient partner, and after hand-over only while the consent it rests on holds.

    Once the identity was handed over the request page is the hand-over page: when the
    placement consent is withdrawn or runs out, the partner loses all of it at once, and
    can no longer write reports onto the case either.
    """
    if not is_recipient(user, request):
        return False
    if request.handed_over_at is None:
        return True
    case = db.session.get(Case, request.placement.case_id)
    return case is not None and handover_snapshot(request, case) is not None


def belongs_to_placement(placement: Placement, request: PlacementRequest) -> bool:
    return request.placement_id == placement.id

"""Need-to-know around placements: the case's team manages them; a partner sees its own."""

from __future__ import annotations

from app.auth.models import Role, User
from app.cases.models import Case
from app.cases.permissions import can_edit_case
from app.extensions import db
from app.placements.models import Placement, PlacementRequest


def can_manage_placement(user: User, placement: Placement) -> bool:
    case = db.session.get(Case, placement.case_id)
    return case is not None and can_edit_case(user, case)


def is_partner(user: User) -> bool:
    return user.is_authenticated and user.role is Role.PARTNER


def is_recipient(user: User, request: PlacementRequest) -> bool:
    """A partner sees only the requests sent to its own organisation."""
    return is_partner(user) and request.partner_id == user.organisation_id


def belongs_to_placement(placement: Placement, request: PlacementRequest) -> bool:
    return request.placement_id == placement.id

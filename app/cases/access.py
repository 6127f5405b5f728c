"""Loading a case for the person asking, in one place: whoever reads or changes a case's
panel goes through these (the permission predicates are in app/cases/permissions.py)."""

from __future__ import annotations

import sqlalchemy as sa
from flask import abort
from flask_login import current_user

from app.auth.models import User
from app.cases.models import Case, CaseStatus
from app.cases.permissions import can_edit_case, can_view_case
from app.core.access import get_or_404

# The case with its caseworkers in one statement: the permission and every page's header
# read them (loaded apart, they were a second statement each time).
WITH_CASEWORKERS = (sa.orm.joinedload(Case.assignments),)


def get_case_or_404(case_id: str, *, for_user: User) -> Case:
    return get_or_404(
        Case, case_id, for_user=for_user, allowed=can_view_case, options=WITH_CASEWORKERS
    )


def editable_case(case_id: str, *, while_closed: bool = False) -> Case:
    """The case, for someone who may change it; 409 once it is closed.

    A closed case still takes journal notes and a recorded withdrawal of consent
    (`while_closed`): the record goes on after the work ends.
    """
    found = get_or_404(Case, case_id, for_user=current_user, allowed=can_edit_case)
    if found.status is CaseStatus.CLOSED and not while_closed:
        abort(409)
    return found

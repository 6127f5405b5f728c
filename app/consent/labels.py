"""The names of the fields a disclosure can carry, in words for the team's record."""

from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from app.cases.forms import NEED_LABELS

FIELD_LABELS = {
    "full_name": _l("Name"),
    "personal_number": _l("Personal identity number"),
    "phone": _l("Phone"),
    "threat_level": _l("Threat level"),
    "minutes": _l("Minutes"),
}


def field_label(name: str) -> str:
    """A field code ("phone", "need:housing", "decision:2") as the team reads it."""
    if name.startswith("decision:"):
        return str(_("Decision %(number)s", number=name.removeprefix("decision:")))
    if name.startswith("need:"):
        need = name.removeprefix("need:")
        return str(NEED_LABELS.get(need, need))
    return str(FIELD_LABELS.get(name, name))

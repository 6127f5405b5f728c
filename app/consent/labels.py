"""The names of the fields a disclosure can carry, in words for the team's record."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from app.cases.forms import NEED_LABELS

FIELD_LABELS = {
    "full_name": _l("Name"),
    "personal_number": _l("Personal identity number"),
    "phone": _l("Phone"),
    "threat_level": _l("Threat level"),
}


def field_label(name: str) -> str:
    """A field code ("phone", "need:housing") as the team reads it."""
    if name.startswith("need:"):
        need = name.removeprefix("need:")
        return str(NEED_LABELS.get(need, need))
    return str(FIELD_LABELS.get(name, name))

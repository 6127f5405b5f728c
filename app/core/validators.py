"""Input rules shared by every form: no control or direction-override characters."""

from __future__ import annotations

import re
from typing import Any

from flask_babel import lazy_gettext as _l
from wtforms.validators import ValidationError

# Bidirectional embeddings, overrides and isolates can make text display differently from
# what it is ("Trojan source"); marks (U+200E/F) that RTL writing needs are allowed.
BIDI_CONTROLS = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
_SINGLE_LINE_BAD = re.compile(f"[\\x00-\\x1f\\x7f-\\x9f{BIDI_CONTROLS}]")
_MULTI_LINE_BAD = re.compile(f"[\\x00-\\x08\\x0b\\x0c\\x0e-\\x1f\\x7f-\\x9f{BIDI_CONTROLS}]")


class SingleLine:
    """Refuses line breaks, control characters and direction overrides."""

    message = _l("Use ordinary letters, digits and punctuation on one line.")

    def __call__(self, form: Any, field: Any) -> None:
        if field.data and _SINGLE_LINE_BAD.search(field.data):
            raise ValidationError(str(self.message))


class PlainText:
    """Multi-line text: line breaks and tabs are fine, other control characters are not."""

    message = _l("The text contains characters that cannot be saved. Remove them and try again.")

    def __call__(self, form: Any, field: Any) -> None:
        if field.data and _MULTI_LINE_BAD.search(field.data):
            raise ValidationError(str(self.message))


class Honeypot:
    """A field people never see; bots that fill every field give themselves away."""

    message = _l("Leave this field empty.")

    def __call__(self, form: Any, field: Any) -> None:
        if field.data:
            raise ValidationError(str(self.message))

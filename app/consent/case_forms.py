"""The team's form for recording a consent on a case (staff: Swedish and English; the
client's own answers are in forms.py, whose words every public language has)."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import RadioField
from wtforms.validators import DataRequired, Optional

from app.consent.models import ConsentMethod, Purpose
from app.core.fields import CheckboxesField, DateField

REQUIRED = DataRequired(message=_l("This field is required."))


class ConsentForm(FlaskForm):
    agencies = CheckboxesField(_l("Agencies"), choices=[], validators=[REQUIRED])
    purposes = CheckboxesField(_l("Purposes"), choices=Purpose.choices(), validators=[REQUIRED])
    method = RadioField(
        _l("How"),
        choices=[
            (ConsentMethod.PAPER.value, _l("On paper, recorded by me")),
            (ConsentMethod.DIGITAL.value, _l("Digitally: the client confirms in their portal")),
        ],
        validators=[REQUIRED],
    )
    # Nothing is pre-selected: a consent recorded on paper is the client's answer, which the
    # caseworker must choose; a digital one is answered by the client and ignores it.
    given = RadioField(
        _l("On paper, the client"),
        choices=[("yes", _l("gave consent")), ("no", _l("refused"))],
        validators=[Optional()],
    )
    valid_from = DateField(_l("Valid from"), validators=[REQUIRED])
    valid_until = DateField(_l("Valid until"), validators=[Optional()])

    def validate(self, extra_validators: Any = None) -> bool:
        valid: bool = super().validate(extra_validators)
        if self.method.data == ConsentMethod.PAPER.value and self.given.data not in ("yes", "no"):
            self.given.errors = [_l("Choose whether the client gave or refused consent.")]
            return False
        return valid

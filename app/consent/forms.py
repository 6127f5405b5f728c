from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import RadioField, StringField
from wtforms.validators import DataRequired, Optional

from app.auth.forms import CODE_FILTERS, CODE_VALIDATORS
from app.consent.models import ConsentMethod, Purpose
from app.core.fields import CheckboxesField, DateField

REQUIRED = DataRequired(message=_l("This field is required."))


def code_field() -> StringField:
    return StringField(
        _l("6-digit code from your app"),
        validators=CODE_VALIDATORS,
        filters=CODE_FILTERS,
        render_kw={"autocomplete": "one-time-code", "inputmode": "numeric"},
    )


class ConsentAnswerForm(FlaskForm):
    answer = RadioField(
        _l("Your answer"),
        choices=[("yes", _l("Yes, I agree")), ("no", _l("No, I do not agree"))],
        validators=[DataRequired(message=_l("Choose yes or no."))],
    )
    code = code_field()


class ConsentWithdrawForm(FlaskForm):
    code = code_field()


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

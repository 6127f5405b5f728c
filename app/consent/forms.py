from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import RadioField, StringField
from wtforms.validators import DataRequired

from app.auth.forms import CODE_FILTERS, CODE_VALIDATORS


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

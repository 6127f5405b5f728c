from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, Field, Form, HiddenField
from wtforms.validators import UUID, Optional, ValidationError


class MarkReadForm(FlaskForm):
    """Mark one alert read (its id), or every unread one (no id)."""

    alert = HiddenField(validators=[Optional(), UUID(message=_l("That alert does not exist."))])


def checkbox_value(_form: Form, field: Field) -> None:
    """A checkbox sends "y" when ticked and nothing when not; anything else is not a
    browser's answer and is refused rather than read as "yes"."""
    if field.raw_data and field.raw_data[0] not in ("y", ""):
        raise ValidationError(_l("Tick the box, or leave it empty."))


class AlertMailForm(FlaskForm):
    alert_mail = BooleanField(
        _l("E-mail me when something needs my attention in the portal"),
        validators=[checkbox_value],
    )

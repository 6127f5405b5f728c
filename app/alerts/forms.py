from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField


class MarkReadForm(FlaskForm):
    """Mark one alert read (its id), or every unread one (no id)."""

    alert = HiddenField()


class AlertMailForm(FlaskForm):
    alert_mail = BooleanField(
        _l("E-mail me when something needs my attention in the portal"),
    )

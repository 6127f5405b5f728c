"""The form people report accessibility problems with (linked from the statement)."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, url_for
from flask_babel import get_locale
from flask_babel import gettext as _

from app.auth.guard import public
from app.core.http import form_status
from app.extensions import limiter
from app.feedback import bp, services
from app.feedback.forms import FeedbackForm


def _everyone() -> str:
    return "accessibility-feedback"


@bp.route("/accessibility/feedback", methods=["GET", "POST"])
@public
# Per address, and for everyone together: a stranger must not be able to fill the database
# (the reports are not in the audit chain, and an administrator reads each one).
@limiter.limit("5 per hour", methods=["POST"])
@limiter.limit("200 per day", methods=["POST"], key_func=_everyone)
def report() -> Any:
    form = FeedbackForm()
    if form.validate_on_submit():
        services.receive_feedback(form.message.data, form.reply_to.data, str(get_locale()))
        flash(_("Thank you. We have received your message."), "success")
        return redirect(url_for("public.accessibility"))
    return render_template("feedback/report.html", form=form), form_status()

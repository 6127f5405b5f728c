"""The team's side of secure messages: a minimal inbox and a thread per request."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app.core.access import get_or_404
from app.core.http import form_status
from app.intake.forms import MessageForm
from app.intake.models import ClientRequest
from app.messages import bp, services
from app.messages.models import Message
from app.messages.permissions import can_message_about, can_use_team_inbox


@bp.before_request
def team_only() -> None:
    if not can_use_team_inbox(current_user):
        abort(403)


def _thread(client_request: ClientRequest) -> list[Message] | None:
    # Imported on use: app.cases imports intake, which imports this blueprint while it
    # loads; the one identity loader lives with the cases.
    from app.cases.identity import thread_of

    return thread_of(client_request, current_user)


@bp.route("/inbox")
def inbox() -> str:
    # "unread": only the user's own requests and cases with unread client messages.
    unread_only = request.args.get("show") == "unread"
    if unread_only:
        rows = services.unread_threads_of(current_user)
    else:
        rows = services.team_inbox(current_user.organisation_id)
    visible = [(req, unread) for req, unread in rows if can_message_about(current_user, req)]
    return render_template("messages/inbox.html", rows=visible, unread_only=unread_only)


@bp.route("/inbox/<request_id>", methods=["GET", "POST"])
def conversation(request_id: str) -> Any:
    client_request = get_or_404(
        ClientRequest, request_id, for_user=current_user, allowed=can_message_about
    )
    # A client writes who they are and where they live: the thread follows the case's
    # identity decision, and so does answering it (no reply to a message one may not read).
    thread = _thread(client_request)
    form = MessageForm()
    if thread is not None and form.validate_on_submit():
        try:
            services.send_from_team(client_request, current_user, form.body.data)
        except services.MessagingClosed:
            abort(409)
        flash(_("Your message was sent."), "success")
        return redirect(url_for("messages.conversation", request_id=client_request.id))
    if thread is None:
        return render_template(
            "messages/conversation.html", req=client_request, thread=None, form=form
        ), (200 if request.method == "GET" else 403)
    services.mark_read(client_request, by_client=False)
    return (
        render_template("messages/conversation.html", req=client_request, thread=thread, form=form),
        form_status(),
    )

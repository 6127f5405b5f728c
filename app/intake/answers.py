"""A request's answers in words, question by question, for the person who gave them.

The review before sending, the client's "my data" page and the register extract all show
answers this way, so a person sees the same words wherever their request is shown.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from flask_babel import gettext as _

from app.i18n import language_name, local_list
from app.intake.choices import (
    HELP_LABELS,
    RELATIONSHIPS,
    RELATIVE_URGENCY_LABELS,
    SAFE_TIMES,
)
from app.intake.models import AgeBand, ClientRequest, RequestKind, Urgency

# plain text; "ltr": a number or code, isolated so a right-to-left page cannot reorder it;
# "word": a word the person typed, in any script, isolated in its own direction;
# "story": free text in any script, its own direction and line breaks kept.
Style = Literal["plain", "ltr", "word", "story"]


@dataclass(frozen=True)
class Answer:
    step: str
    question: str
    value: str
    style: Style = "plain"


def _label(labels: Mapping[Any, Any], code: Any) -> str:
    return str(labels[code]) if code in labels else _("Not given")


def _yes_no(value: Any) -> str:
    if value in ("yes", True):
        return str(_("Yes"))
    if value in ("no", False):
        return str(_("No"))
    return str(_("Not given"))


def _given(step: str, question: str, value: Any, style: Style = "plain") -> Answer:
    if value in (None, "", []):
        return Answer(step, question, _("Not given"))
    return Answer(step, question, str(value), style)


def draft_answers(draft: Mapping[str, Any]) -> list[Answer]:
    """Every answer of a request (a draft, or a sent request in the draft's words)."""
    relative = draft.get("kind") == RequestKind.RELATIVE.value
    answers = [
        Answer(
            "kind", _("Your situation"), _coded(RequestKind.labels(client=True), RequestKind, draft)
        )
    ]
    if relative:
        answers += [
            Answer(
                "person",
                _("How are you related to the person?"),
                _label(RELATIONSHIPS, draft.get("relationship")),
            ),
            Answer(
                "person",
                _("How old is the person?"),
                _coded(AgeBand.labels(client=True), AgeBand, draft, "age_band"),
            ),
        ]
    help_codes = draft.get("help_wanted") or []
    urgency_labels = RELATIVE_URGENCY_LABELS if relative else Urgency.labels(client=True)
    answers += [
        _given(
            "help",
            _("What would help you?") if relative else _("What help would you like?"),
            local_list(HELP_LABELS[c] for c in help_codes if c in HELP_LABELS),
        ),
        Answer("help", _("How urgent is it?"), _coded(urgency_labels, Urgency, draft, "urgency")),
    ]
    answers += _contact_answers(draft)
    answers += [
        _given("identity", _("Your name (optional)"), draft.get("name"), "word"),
        _given("identity", _("Year you were born (optional)"), draft.get("birth_year"), "ltr"),
        _given(
            "story",
            _("Tell us about your worry (optional)")
            if relative
            else _("Tell us what is happening (optional)"),
            draft.get("account_text"),
            "story",
        ),
    ]
    return answers


def _contact_answers(draft: Mapping[str, Any]) -> list[Answer]:
    language = draft.get("contact_language")
    answers = [
        _given(
            "contact",
            _("Which language do you want to speak?"),
            _("Another language") if language == "other" else language and language_name(language),
        )
    ]
    phone = draft.get("phone")
    if not phone:
        answers.append(
            Answer(
                "contact",
                _("A phone number where it is safe to call you"),
                _("No phone number: we answer through messages here."),
            )
        )
        return answers
    times = draft.get("safe_times") or []
    return [
        *answers,
        Answer("contact", _("A phone number where it is safe to call you"), phone, "ltr"),
        _given(
            "contact",
            _("When is it safe to call?"),
            local_list(SAFE_TIMES[t] for t in times if t in SAFE_TIMES),
        ),
        Answer("contact", _("Can we leave a voice message?"), _yes_no(draft.get("voicemail_ok"))),
        Answer("contact", _("Can we send a text message?"), _yes_no(draft.get("sms_ok"))),
        _given(
            "contact", _("A code word we will say when we call"), draft.get("code_word"), "word"
        ),
        Answer("contact", _("Do you need an interpreter?"), _yes_no(draft.get("interpreter"))),
    ]


def _coded(
    labels: Mapping[Any, Any], kind: type[Any], data: Mapping[str, Any], key: str = "kind"
) -> str:
    try:
        return _label(labels, kind(data.get(key)))
    except ValueError:
        return str(_("Not given"))


def request_answers(exported: Mapping[str, Any]) -> list[Answer]:
    """The answers of a sent request, from its export (see services.export_request)."""
    as_draft = {
        **exported,
        "interpreter": exported.get("interpreter_needed"),
        "account_text": exported.get("account"),
    }
    return draft_answers(as_draft)


@dataclass(frozen=True)
class ChosenCodes:
    """What a sent request's client chose from the lists, as codes (decrypted, decoded)."""

    help_wanted: list[str]
    safe_times: list[str]


NOTHING_CHOSEN = ChosenCodes(help_wanted=[], safe_times=[])


def chosen_codes(client_request: ClientRequest | None) -> ChosenCodes:
    """The help a request asks for and the times it is safe to call, for triage and the
    case file alike (nothing for a case no request brought)."""
    if client_request is None:
        return NOTHING_CHOSEN
    return ChosenCodes(
        help_wanted=json.loads(client_request.help_wanted),
        safe_times=json.loads(client_request.safe_times or "[]"),
    )

"""The words a client chooses from. Codes are stored; labels are translated at display."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from app.intake.models import RequestStatus, Urgency

# From the team's interventions (see the product brief), in plain words.
INTERVENTIONS = {
    "support_talks": _l("Someone to talk to"),
    "motivational_calls": _l("Regular phone calls to keep me going"),
    "financial_assistance": _l("Help with money"),
    "debt": _l("Help with debts"),
    "group": _l("A support group with others in the same situation"),
    "addiction": _l("Help with alcohol or drugs"),
    "employment": _l("Help to find work or studies"),
    "contact_person": _l("A contact person"),
    "relocation": _l("Help to move somewhere safe, with housing and support"),
    "protection": _l("Protection and safety planning"),
    "family": _l("Support for my family"),
    "unsure": _l("I do not know yet"),
}

# A relative asks for help for themselves and for the way to reach the person: the list
# written for the person leaving ("Help to move somewhere safe") does not fit them.
RELATIVE_HELP = {
    "advice": _l("Advice on what I can do"),
    "talk": _l("Someone to talk to about my worry"),
    "reach_person": _l("Help to reach the person and offer them support"),
    "family_support": _l("Support for me and the rest of the family"),
    "safety": _l("Advice on how to keep myself and my family safe"),
    "unsure": INTERVENTIONS["unsure"],
}

# Every help code a request may hold, for showing a request whoever wrote it.
HELP_LABELS = {**INTERVENTIONS, **RELATIVE_HELP}

# A relative answers about someone else: the acute choice is worded for them, the others are
# the enum's own words (a variant for one question, so it stays here rather than on Urgency).
RELATIVE_URGENCY_LABELS = {
    **Urgency.labels(),
    Urgency.ACUTE: _l("Someone is in danger right now"),
}

RELATIONSHIPS = {
    "parent": _l("I am their parent"),
    "sibling": _l("I am their brother or sister"),
    "partner": _l("I am their partner"),
    "relative": _l("I am another relative"),
    "friend": _l("I am a friend"),
    "other": _l("Other"),
}

SAFE_TIMES = {
    "weekday_morning": _l("Weekdays, morning"),
    "weekday_afternoon": _l("Weekdays, afternoon"),
    "weekday_evening": _l("Weekdays, evening"),
    "weekend": _l("Weekends"),
}

# The request's steps by name, in the order they come (see intake.views.steps_for).
STEP_NAMES = {
    "kind": _l("Your situation"),
    "person": _l("The person"),
    "help": _l("Help"),
    "contact": _l("Contact"),
    "identity": _l("About you"),
    "story": _l("In your own words"),
    "review": _l("Check and send"),
}

STATUS_TIMELINE = [
    RequestStatus.RECEIVED,
    RequestStatus.CONTACTED,
    RequestStatus.IN_PROGRESS,
    RequestStatus.CLOSED,
]

YES_NO = [("yes", _l("Yes")), ("no", _l("No"))]

# Asked only of someone who gave a phone number: without one the team answers through
# the portal's messages, and these answers would mean nothing (and are not kept).
PHONE_QUESTIONS = ("safe_times", "voicemail_ok", "sms_ok", "code_word", "interpreter")

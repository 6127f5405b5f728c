"""Which pages the quality checks render, for whom and in which languages.

Every GET route in the application's url_map is either rendered here or named in SKIPPED
with the reason. Routes without arguments are found by themselves: their audience comes
from ENDPOINT_AUDIENCE or else from the first matching URL prefix in PREFIX_AUDIENCE.
Routes with arguments need a line in WITH_IDS that builds their URLs from the scene. A new
route that fits neither fails `test_every_get_page_is_checked`, so no page is left out
without anyone deciding it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from flask import Flask

from app.workspace.casefile import PARTS
from config import PUBLIC_LANGUAGES, STAFF_LANGUAGES
from tests.quality import scene as s

# Who looks at a page, and which account (if any) the browser is logged in as.
PUBLIC = "public"  # nobody logged in
PENDING = "pending"  # a client whose password was right, code still to come
ENROLLING = "enrolling"  # a client setting up the second factor
PASSKEY = "passkey"  # a client whose only second factor is a passkey, at its login step
CLIENT = "client"
WRITER = "writer"  # a client writing a new request, with none open
CASEWORKER = "caseworker"
COLLEAGUE = "colleague"  # a caseworker of the team, not assigned to the case
TEAM_LEAD = "team_lead"
ADMIN = "admin"
AGENCY = "agency"
PARTNER = "partner"

ACCOUNTS = {
    PENDING: s.PENDING_CLIENT,
    ENROLLING: s.UNENROLLED_CLIENT,
    PASSKEY: s.PASSKEY_CLIENT,
    CLIENT: s.CLIENT,
    WRITER: s.WRITING_CLIENT,
    CASEWORKER: s.CASEWORKER,
    COLLEAGUE: s.COLLEAGUE,
    TEAM_LEAD: s.TEAM_LEAD,
    ADMIN: s.ADMIN,
    AGENCY: s.AGENCY_REP,
    PARTNER: s.PARTNER,
}
STAFF = (CASEWORKER, COLLEAGUE, TEAM_LEAD, ADMIN, AGENCY, PARTNER)
# Public and client pages in every public language; staff pages in the staff languages.
LANGUAGES = {
    audience: (STAFF_LANGUAGES if audience in STAFF else PUBLIC_LANGUAGES)
    for audience in (PUBLIC, PENDING, ENROLLING, PASSKEY, CLIENT, WRITER, *STAFF)
}

SKIPPED = {
    "static": "files (CSS, JavaScript), not pages",
    "public.healthz": "a status answer for load balancers, not a page",
    "intake.my_data_json": "a JSON download of the client's data, not a page",
    "cases.register_extract_json": "a JSON download of a case's register extract, not a page",
    "oversight.statistics_csv": "a CSV download, not a page",
    "oversight.statistics_chart": "a PNG image; its page (with the chart's text) is checked",
}

ENDPOINT_AUDIENCE: dict[str, tuple[str, ...]] = {
    "intake.register": (PUBLIC,),
    "auth.login": (PUBLIC,),
    "auth.second_factor": (PENDING, PASSKEY),
    "auth.recovery": (PENDING,),
    "auth.enrol": (ENROLLING,),
    "auth.step_up": (CLIENT, CASEWORKER),
    "home.index": (CASEWORKER, TEAM_LEAD, ADMIN, AGENCY, PARTNER),  # a client goes to /my/
    "cases.overview": (TEAM_LEAD,),
    "oversight.access_log": (TEAM_LEAD,),
    "oversight.statistics_page": (TEAM_LEAD,),
    "oversight.role_grants": (TEAM_LEAD,),
}
# First match wins; "/" (the rest) is public.
PREFIX_AUDIENCE: list[tuple[str, tuple[str, ...]]] = [
    ("/my/", (CLIENT,)),
    ("/account/", (CLIENT, CASEWORKER)),
    ("/team/", (CASEWORKER,)),
    ("/inbox", (CASEWORKER,)),
    ("/alerts/", (CASEWORKER,)),
    ("/admin/", (ADMIN,)),
    ("/agency/", (AGENCY,)),
    ("/partner/", (PARTNER,)),
    ("/", (PUBLIC,)),
]


@dataclass(frozen=True)
class Page:
    audience: str
    name: str  # unique per audience: the endpoint, and what tells its variants apart
    path: str
    status: int = 200
    # The page's form sent with every field emptied: the page is checked as the answer
    # shows it, with what is missing marked.
    sent_empty: bool = False


Urls = Callable[[s.Scene], list[tuple[str, str]]]  # (variant, path) pairs

# The pages where a case's parts are worked on.
CASE_PARTS = tuple(part.slug for part in PARTS)

INTAKE_STEPS = ("kind", "person", "help", "contact", "identity", "story", "review")

WITH_IDS: dict[str, tuple[str, Urls]] = {
    "intake.request_step": (
        WRITER,
        lambda sc: [(step, f"/my/request/{step}") for step in INTAKE_STEPS],
    ),
    "intake.status": (CLIENT, lambda sc: [("", f"/my/requests/{sc.request_id}")]),
    "intake.withdraw": (CLIENT, lambda sc: [("", f"/my/requests/{sc.request_id}/withdraw")]),
    "consent.answer": (CLIENT, lambda sc: [("", f"/my/consents/{sc.consent_id}")]),
    "join.join": (PUBLIC, lambda sc: [("", f"/join/{sc.join_token}")]),
    "cases.triage_request": (
        CASEWORKER,
        lambda sc: [("", f"/team/triage/{sc.waiting_request_id}")],
    ),
    "workspace.case": (CASEWORKER, lambda sc: [("", f"/team/cases/{sc.case_id}")]),
    "workspace.part": (
        CASEWORKER,
        lambda sc: [(slug, f"/team/cases/{sc.case_id}/{slug}") for slug in CASE_PARTS],
    ),
    "cases.register_extract": (CASEWORKER, lambda sc: [("", f"/team/cases/{sc.case_id}/extract")]),
    "admin.edit_organisation": (ADMIN, lambda sc: [("", f"/admin/organisations/{sc.agency_id}")]),
    "cases.break_glass": (COLLEAGUE, lambda sc: [("", f"/team/cases/{sc.case_id}/break-glass")]),
    "consultations.convene": (
        CASEWORKER,
        lambda sc: [("", f"/team/cases/{sc.case_id}/consultations/new")],
    ),
    "consultations.consultation": (
        CASEWORKER,
        lambda sc: [
            ("planned", f"/team/consultations/{sc.planned_consultation_id}"),
            ("held", f"/team/consultations/{sc.held_consultation_id}"),
        ],
    ),
    "consultations.print_minutes": (
        CASEWORKER,
        lambda sc: [("", f"/team/consultations/{sc.held_consultation_id}/print")],
    ),
    "placements.new_placement": (
        CASEWORKER,
        lambda sc: [("", f"/team/cases/{sc.case_id}/placements/new")],
    ),
    "placements.placement": (CASEWORKER, lambda sc: [("", f"/team/placements/{sc.placement_id}")]),
    "messages.conversation": (CASEWORKER, lambda sc: [("", f"/inbox/{sc.request_id}")]),
    "agency.attend": (
        AGENCY,
        lambda sc: [
            ("planned", f"/agency/consultations/{sc.planned_consultation_id}"),
            ("held", f"/agency/consultations/{sc.held_consultation_id}"),
        ],
    ),
    "partner.request_page": (
        PARTNER,
        lambda sc: [("", f"/partner/requests/{sc.partner_request_id}")],
    ),
}

# Error pages: what a person sees at an address that does not exist, or is not theirs.
ERROR_PAGES = [
    Page(PUBLIC, "error-404", "/no-such-page", 404),
    Page(CLIENT, "error-404", "/my/requests/no-such-request", 404),
    Page(CLIENT, "error-403", "/team/triage", 403),
    # One request at a time: a client whose request is open is told so, and where it is.
    Page(CLIENT, "intake.request_step-already-open", "/my/request/kind", 409),
    Page(CASEWORKER, "error-404", "/team/cases/no-such-case", 404),
]


# Forms sent empty: the same pages again, with what is missing marked (400). A message that
# is not announced, not tied to its field or not readable is where a frightened person gives
# up, so the error state is checked as carefully as the empty form.
EMPTY_FORMS = [
    Page(audience, f"{endpoint}-empty", path, 400, sent_empty=True)
    for audience, endpoint, path in [
        (PUBLIC, "auth.login", "/login"),
        (PUBLIC, "intake.register", "/my/register"),
        (PUBLIC, "feedback.report", "/accessibility/feedback"),
        *(
            (WRITER, f"intake.request_step-{step}", f"/my/request/{step}")
            for step in ("kind", "person", "help", "contact")
        ),
        (CLIENT, "account.change_password", "/account/password"),
        (CASEWORKER, "cases.new_case", "/team/cases/new"),
        (CASEWORKER, "account.change_password", "/account/password"),
        (ADMIN, "admin.invite", "/admin/users/invite"),
        (ADMIN, "admin.new_organisation", "/admin/organisations/new"),
    ]
]


def empty_case_forms(scene: s.Scene) -> list[Page]:
    """A case part's form sent empty: its page again, the error summary on top (400)."""
    return [
        Page(
            CASEWORKER,
            f"workspace.part-{slug}-empty",
            f"/team/cases/{scene.case_id}/{slug}",
            400,
            sent_empty=True,
        )
        for slug in ("threat", "journal")
    ]


def get_endpoints(app: Flask) -> dict[str, str]:
    """Every endpoint answering GET, with its URL rule."""
    return {
        rule.endpoint: rule.rule
        for rule in app.url_map.iter_rules()
        if "GET" in (rule.methods or set())
    }


def audience_of(endpoint: str, rule: str) -> tuple[str, ...]:
    if endpoint in ENDPOINT_AUDIENCE:
        return ENDPOINT_AUDIENCE[endpoint]
    return next(audiences for prefix, audiences in PREFIX_AUDIENCE if rule.startswith(prefix))


def pages_to_check(app: Flask, scene: s.Scene) -> list[Page]:
    """The pages to render: GET routes without arguments, those built from the scene, the
    error pages and the forms sent empty. Routes with arguments missing from WITH_IDS are
    left to the coverage test to report."""
    pages: list[Page] = []
    for rule in app.url_map.iter_rules():
        if "GET" not in (rule.methods or set()) or rule.endpoint in SKIPPED:
            continue
        if not rule.arguments:
            for audience in audience_of(rule.endpoint, rule.rule):
                pages.append(Page(audience, rule.endpoint, rule.rule))
        elif rule.endpoint in WITH_IDS:
            audience, urls = WITH_IDS[rule.endpoint]
            for variant, path in urls(scene):
                name = f"{rule.endpoint}-{variant}" if variant else rule.endpoint
                pages.append(Page(audience, name, path))
    return (
        sorted(pages, key=lambda p: (p.audience, p.name))
        + ERROR_PAGES
        + EMPTY_FORMS
        + empty_case_forms(scene)
    )

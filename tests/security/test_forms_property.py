"""Every form, fed hostile input: arbitrary Unicode, huge and over-long values, control and
direction-override characters, NUL bytes, missing and repeated fields, wrong methods, and
missing, foreign or expired CSRF tokens.

Whatever arrives, the answer is a redirect on success, or a 4xx with a message in the
person's language; never a server error, and a refusal leaves nothing behind: no row added
or removed anywhere, the form's own tables unchanged, and no audit event but reads and
refusals. The forms are found by looking in app/*/forms.py, so a new form without a target
here fails the test.
"""

from __future__ import annotations

import gettext
import html
import importlib
import os
import re
import time
import uuid
from collections.abc import Callable
from dataclasses import KW_ONLY, dataclass, field
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
import wtforms
from flask_wtf import FlaskForm
from hypothesis import HealthCheck, Phase, example, given, settings
from hypothesis import strategies as st
from hypothesis.database import DirectoryBasedExampleDatabase
from itsdangerous import TimestampSigner, URLSafeTimedSerializer
from werkzeug.datastructures import MultiDict

from app.audit.models import AuditEvent
from app.consultations import services as consultation_services
from app.consultations.models import Consultation
from app.extensions import db
from app.intake import services as intake_services
from app.intake.models import ClientRequest
from app.orgs.models import Organisation
from app.placements import services as placement_services
from tests.conftest import Browser
from tests.security.world import World, future_plan

ROOT = Path(__file__).resolve().parents[2]
# Random examples per form, on top of the held examples below (which run every time).
EXAMPLES = 15
# Held examples first, then what an earlier run found (locally), then new random input.
# No shrinking: a failure names its input already, and shrinking costs minutes per form.
PHASES = (Phase.explicit, Phase.reuse, Phase.generate)

# In CI (the CI variable set) every run tries the same input: a red build can be rerun and
# stays red. Locally, Hypothesis keeps what it found failing in .hypothesis/ (git-ignored)
# and tries it first next time, so a class of input found once is not lost to chance.
settings.register_profile("ci", derandomize=True, database=None)
settings.register_profile(
    "local", database=DirectoryBasedExampleDatabase(str(ROOT / ".hypothesis" / "examples"))
)
settings.load_profile("ci" if os.environ.get("CI") else "local")


@pytest.fixture(scope="module")
def world_language() -> str:
    # Swedish, the portal's own language: every message must come out translated.
    return "sv"


# What each form is tried on -------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    """Where a form is submitted, by whom, and which tables a refusal must leave untouched."""

    url: str  # formatted with the world's ids and the target's own objects
    persona: str
    tables: tuple[str, ...] = ()
    _: KW_ONLY
    method: str = "POST"
    # Objects of the target's own, made once, or for every example when a success would
    # change the object so that the next example could no longer reach the form.
    prepare: Callable[[World], dict[str, str]] | None = None
    every_example: bool = False
    fresh_browser: bool = False  # the form logs someone in: each example in a new browser


def fresh_case(world: World) -> dict[str, str]:
    from app.cases import services as case_services

    request_id = world.new_request("client")
    with world.app.test_request_context():
        request = db.session.get(ClientRequest, uuid.UUID(request_id))
        case = case_services.open_case(request, world.user("caseworker"))
        intervention = case_services.add_intervention(case, "support_talks", None, None, None)
        db.session.commit()
        return {"new_case": str(case.id), "new_intervention": str(intervention.id)}


def fresh_protected_case(world: World) -> dict[str, str]:
    """A protected case of the caseworker's, with a lowering the team lead asked for."""
    from app.cases.models import Case, ProtectionLevel
    from app.cases.protection import change_protection

    made = fresh_case(world)
    with world.app.test_request_context():
        case = db.session.get(Case, uuid.UUID(made["new_case"]))
        change_protection(case, ProtectionLevel.PROTECTED_REGISTRATION, world.user("caseworker"))
        waiting = change_protection(
            case, ProtectionLevel.NONE, world.user("team_lead"), "Inte längre hotad."
        )
        assert waiting is not None
        db.session.commit()
        return {**made, "new_change": str(waiting.id)}


def fresh_request(world: World) -> dict[str, str]:
    return {"new_request": world.new_request("client2")}


def fresh_consultation(world: World) -> dict[str, str]:
    return {"new_consultation": world.new_consultation()}


def fresh_action(world: World) -> dict[str, str]:
    with world.app.test_request_context():
        consultation = db.session.get(Consultation, uuid.UUID(world.ids["consultation"]))
        action = consultation_services.add_action(
            consultation,
            db.session.get(Organisation, uuid.UUID(world.ids["police"])),
            world.user("agency"),
            "Ring klienten.",
            future_plan().starts_at.date(),
        )
        db.session.commit()
        return {"new_action": str(action.id)}


def fresh_placement_request(world: World) -> dict[str, str]:
    from app.cases.models import Case

    with world.app.test_request_context():
        case = db.session.get(Case, uuid.UUID(world.ids["case"]))
        needs = placement_services.Needs(
            1, [], None, None, future_plan().starts_at.date(), None, None
        )
        placement = placement_services.create_placement(case, world.user("caseworker"), needs)
        vaxjo = db.session.scalar(sa.select(Organisation.id).where(Organisation.slug == "vaxjo"))
        placement_services.send_requests(placement, case, [vaxjo], world.user("caseworker"), None)
        db.session.commit()
        return {
            "new_placement": str(placement.id),
            "new_placement_request": str(placement.requests[0].id),
        }


def relative_draft(world: World) -> dict[str, str]:
    with world.app.test_request_context():
        intake_services.save_draft(world.user("writer"), {"kind": "relative"})
        db.session.commit()
    return {}


def defector_draft(world: World) -> dict[str, str]:
    with world.app.test_request_context():
        intake_services.save_draft(world.user("writer"), {"kind": "defector"})
        db.session.commit()
    return {}


def fresh_invitation(world: World) -> dict[str, str]:
    from app.auth.models import Role

    with world.app.test_request_context():
        police = db.session.get(Organisation, uuid.UUID(world.ids["police"]))
        _invitation, token = consultation_services.new_account_invitation(
            police, "ny@example.org", world.user("caseworker"), Role.AGENCY_REP
        )
        db.session.commit()
        return {"new_token": token}


CASE = "/team/cases/{new_case}"
TARGETS: dict[str, Target] = {
    # Logging in and one's own account.
    "auth.LoginForm": Target("/login", "anonymous", ("users",), fresh_browser=True),
    "auth.CodeForm": Target("/step-up", "caseworker", ("users",)),
    "auth.RecoveryForm": Target("/login/recovery", "half_logged_in", ("recovery_codes",)),
    "auth.PasswordChangeForm": Target("/account/password", "caseworker", ("users",)),
    "auth.ConfirmForm": Target("/account/recovery-codes", "caseworker", ("recovery_codes",)),
    "alerts.MarkReadForm": Target("/alerts/read", "caseworker", ("alerts",)),
    "alerts.AlertMailForm": Target("/alerts/mail", "caseworker", ("alert_preferences",)),
    "auth.PasskeyForm": Target("/account/passkeys", "client", ("passkeys", "passkey_challenges")),
    # The team's workspace.
    "cases.AssignForm": Target(
        "/team/triage/{new_request}/assign",
        "caseworker",
        ("client_requests",),
        prepare=fresh_request,
    ),
    "cases.ContactAttemptForm": Target(
        "/team/triage/{new_request}/contact",
        "caseworker",
        ("contact_attempts",),
        prepare=fresh_request,
    ),
    "cases.CloseRequestForm": Target(
        "/team/triage/{new_request}/close",
        "caseworker",
        ("client_requests",),
        prepare=fresh_request,
        every_example=True,
    ),
    "cases.LinkForm": Target(
        "/team/triage/{new_request}/link", "caseworker", ("client_requests",), prepare=fresh_request
    ),
    "cases.GrantForm": Target(
        CASE + "/reveal", "caseworker", ("access_grants",), prepare=fresh_case
    ),
    "cases.IdentityForm": Target(CASE + "/identity", "caseworker", ("cases",), prepare=fresh_case),
    "cases.ProtectionForm": Target(
        CASE + "/protection", "caseworker", ("cases",), prepare=fresh_case
    ),
    "cases.StatusForm": Target(CASE + "/status", "caseworker", ("cases",), prepare=fresh_case),
    "cases.LowerProtectionForm": Target(
        CASE + "/protection/lower",
        "caseworker",
        ("cases", "protection_changes"),
        prepare=fresh_protected_case,
        every_example=True,
    ),
    "cases.ApproveLoweringForm": Target(
        CASE + "/protection/{new_change}/approve",
        "caseworker",
        ("cases", "protection_changes"),
        prepare=fresh_protected_case,
        every_example=True,
    ),
    "cases.CloseCaseForm": Target(
        CASE + "/close", "caseworker", ("cases",), prepare=fresh_case, every_example=True
    ),
    "cases.AgeForm": Target(CASE + "/age", "caseworker", ("cases",), prepare=fresh_case),
    "cases.JournalForm": Target(
        CASE + "/journal", "caseworker", ("journal_entries",), prepare=fresh_case
    ),
    "cases.ThreatForm": Target(
        CASE + "/threat", "caseworker", ("threat_assessments",), prepare=fresh_case
    ),
    "cases.NeedsForm": Target(
        CASE + "/needs", "caseworker", ("needs_assessments",), prepare=fresh_case
    ),
    "consent.ConsentForm": Target(
        CASE + "/consents", "caseworker", ("consents",), prepare=fresh_case
    ),
    "cases.InterventionForm": Target(
        CASE + "/interventions", "caseworker", ("interventions",), prepare=fresh_case
    ),
    "cases.InterventionUpdateForm": Target(
        CASE + "/interventions/{new_intervention}",
        "caseworker",
        ("interventions",),
        prepare=fresh_case,
    ),
    "cases.NewCaseForm": Target("/team/cases/new", "caseworker", ("cases",)),
    "cases.CaseFilterForm": Target("/team/cases", "team_lead", method="GET"),
    "cases.GroupForm": Target("/team/groups", "caseworker", ("threat_groups",)),
    # The client's consent.
    "consent.ConsentAnswerForm": Target("/my/consents/{client_consent}", "client", ("consents",)),
    "consent.ConsentWithdrawForm": Target(
        "/my/consents/{consent}/withdraw", "client", ("consents",)
    ),
    # Consultations.
    "consultations.ConveneForm": Target(
        CASE + "/consultations/new", "caseworker", ("consultations",), prepare=fresh_case
    ),
    "consultations.PlanFields": Target(
        "/team/consultations/{new_consultation}/reschedule",
        "caseworker",
        ("consultations",),
        prepare=fresh_consultation,
    ),
    "consultations.RescheduleForm": Target(
        "/team/consultations/{new_consultation}/reschedule",
        "caseworker",
        ("consultations",),
        prepare=fresh_consultation,
    ),
    "consultations.MinutesForm": Target(
        "/team/consultations/{new_consultation}/minutes",
        "caseworker",
        ("consultations", "consultation_decisions"),
        prepare=fresh_consultation,
    ),
    "consultations.ActionForm": Target(
        "/team/consultations/{new_consultation}/actions",
        "caseworker",
        ("consultation_actions",),
        prepare=fresh_consultation,
    ),
    "consultations.RespondForm": Target(
        "/agency/consultations/{consultation}", "agency", ("consultation_invitations",)
    ),
    "consultations.ActionUpdateForm": Target(
        "/agency/actions/{new_action}",
        "agency",
        ("consultation_actions",),
        prepare=fresh_action,
        every_example=True,
    ),
    "consultations.JoinForm": Target(
        "/join/{new_token}",
        "anonymous",
        ("users", "account_invitations"),
        prepare=fresh_invitation,
        every_example=True,
        fresh_browser=True,
    ),
    # The client's pages.
    "intake.RegisterForm": Target("/my/register", "anonymous", ("users",), fresh_browser=True),
    # The steps are written by a client with no request open (one at a time).
    "intake.KindForm": Target("/my/request/kind", "writer", ("request_drafts",)),
    "intake.PersonForm": Target(
        "/my/request/person", "writer", ("request_drafts",), prepare=relative_draft
    ),
    "intake.HelpForm": Target(
        "/my/request/help", "writer", ("request_drafts",), prepare=defector_draft
    ),
    "intake.RelativeHelpForm": Target(
        "/my/request/help", "writer", ("request_drafts",), prepare=relative_draft
    ),
    "intake.ContactForm": Target("/my/request/contact", "writer", ("request_drafts",)),
    "intake.IdentityForm": Target("/my/request/identity", "writer", ("request_drafts",)),
    "intake.StoryForm": Target(
        "/my/request/story", "writer", ("request_drafts",), prepare=defector_draft
    ),
    "intake.RelativeStoryForm": Target(
        "/my/request/story", "writer", ("request_drafts",), prepare=relative_draft
    ),
    "intake.SubmitForm": Target("/my/request/review", "client", ("client_requests",)),
    "intake.AdditionForm": Target("/my/requests/{request}/add", "client", ("request_additions",)),
    "intake.MessageForm": Target("/my/requests/{request}/messages", "client", ("messages",)),
    "intake.NotificationForm": Target("/my/notifications", "client", ("users",)),
    # Oversight.
    "oversight.LogFilterForm": Target("/team/access-log", "team_lead", method="GET"),
    "oversight.ReviewForm": Target("/team/access-log/reviews", "team_lead", ("access_reviews",)),
    # Placements.
    "placements.PlacementForm": Target(
        CASE + "/placements/new", "caseworker", ("placements",), prepare=fresh_case
    ),
    "placements.SendForm": Target(
        "/team/placements/{new_placement}/send",
        "caseworker",
        ("placement_requests",),
        prepare=fresh_placement_request,
    ),
    "placements.OfferForm": Target(
        "/partner/requests/{new_placement_request}/accept",
        "partner",
        ("placement_requests",),
        prepare=fresh_placement_request,
        every_example=True,
    ),
    "placements.DeclineForm": Target(
        "/partner/requests/{new_placement_request}/decline",
        "partner",
        ("placement_requests",),
        prepare=fresh_placement_request,
        every_example=True,
    ),
    "placements.FollowUpForm": Target(
        "/partner/requests/{placement_request}/follow-up", "partner", ("placement_requests",)
    ),
    "placements.ProfileForm": Target("/partner/profile", "partner", ("partner_profiles",)),
    # Administration.
    "admin.OrganisationForm": Target("/admin/organisations/new", "admin", ("organisations",)),
    "admin.InviteForm": Target("/admin/users/invite", "admin", ("account_invitations",)),
    "admin.SettingsForm": Target("/admin/settings", "admin", ("site_settings",)),
    # The public pages.
    "feedback.FeedbackForm": Target(
        "/accessibility/feedback", "anonymous", ("accessibility_feedback",), fresh_browser=True
    ),
}


def discovered_forms() -> dict[str, type[FlaskForm]]:
    found = {}
    # Every feature's forms.py, and a feature's forms for another audience (case_forms.py).
    paths = [*(ROOT / "app").glob("*/forms.py"), *(ROOT / "app").glob("*/*_forms.py")]
    for path in sorted(paths):
        module = importlib.import_module(f"app.{path.parent.name}.{path.stem}")
        for name, obj in vars(module).items():
            if (
                isinstance(obj, type)
                and issubclass(obj, FlaskForm)
                and obj.__module__ == module.__name__
            ):
                found[f"{path.parent.name}.{name}"] = obj
    return found


def test_every_form_has_a_target():
    forms = discovered_forms()
    assert len(forms) > 40
    assert sorted(forms.keys() - TARGETS.keys()) == [], "forms no property test covers"
    assert sorted(TARGETS.keys() - forms.keys()) == [], "targets for forms that do not exist"


# Hostile input ----------------------------------------------------------------------------------

MISSING = object()
ONE_MEGABYTE = 1024 * 1024
HOSTILE = [
    "",
    " ",
    "\x00",
    "abc\x00def",
    "\u202eevil.exe\u202c",
    "\u2066isolated\u2069",
    "\u200f\u0645\u0631\u062d\u0628\u0627",
    "line\r\nbreak",
    "\x1b[31mred\x1b[0m",
    "\x7f\x85\x9f",
    "<script>alert(1)</script>",
    "' OR 1=1 --",
    "%s%s%n",
    "{{ 7*7 }}",
    "../../etc/passwd",
    "１２３ ４５６",
    "2026-02-30",
    "24:61",
    "-1",
    "99999999999999999999999",
    "1e309",
    "NaN",
    "00000000-0000-0000-0000-000000000000",
    "user:00000000-0000-0000-0000-000000000000",
    "x" * 257,
    "ö" * 5001,
    "9" * 20001,
]
# Digits of other scripts, as phones type them: Persian, Arabic-Indic, Bengali,
# full-width, Devanagari. `\d` matches them all; int() takes them; byte comparisons do not.
DIGIT_ZEROS = (0x06F0, 0x0660, 0x09E6, 0xFF10, 0x0966)


def in_script(text: str, zero: int) -> str:
    return "".join(chr(zero + int(c)) if c.isdigit() else c for c in text)


unicode_digits = st.builds(
    in_script,
    st.one_of(
        st.text("0123456789", min_size=1, max_size=12),
        st.sampled_from(["123456", "123 456", "1998", "070-123 45 67", "2026-02", "4, 9"]),
    ),
    st.sampled_from(DIGIT_ZEROS),
)

CSRF_VARIANTS = ["valid", "valid", "valid", "valid", "missing", "foreign", "expired", "garbage"]
METHODS = ["POST", "POST", "POST", "POST", "POST", "PUT", "DELETE", "PATCH", "GET"]


def fields_of(world: World, form_class: type[FlaskForm]) -> dict[str, list[str]]:
    """The form's field names, each with the choices it offers (if fixed in the form)."""
    with world.app.test_request_context():
        form = form_class(formdata=None, meta={"csrf": False})
        fields = {}
        for item in form:
            choices = getattr(item, "choices", None) or []
            fields[item.name] = [str(c[0]) for c in choices if isinstance(c, tuple | list) and c]
        return fields


def values_for(choices: list[str]) -> st.SearchStrategy[Any]:
    one = st.one_of(
        st.text(max_size=80),
        st.sampled_from(HOSTILE),
        unicode_digits,
        st.dates().map(lambda d: d.isoformat()),
        st.integers().map(str),
        *([st.sampled_from(choices)] if choices else []),
    )
    return st.one_of(
        st.just(MISSING),
        one.map(lambda v: [v]),
        st.lists(one, min_size=2, max_size=3),  # the same field repeated
    )


def payload_strategy(fields: dict[str, list[str]]) -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries({name: values_for(choices) for name, choices in fields.items()})


def as_form_data(payload: dict[str, Any], csrf: str | None) -> MultiDict[str, str]:
    data: MultiDict[str, str] = MultiDict()
    if csrf is not None:
        data.add("csrf_token", csrf)
    for name, values in payload.items():
        if values is MISSING:
            continue
        for value in values:
            data.add(name, value)
    return data


class _PastSigner(TimestampSigner):
    def get_timestamp(self) -> int:
        return int(time.time()) - 400 * 24 * 3600


def token_for(world: World, browser: Browser, variant: str) -> str | None:
    if variant == "valid":
        return browser.last_csrf
    if variant == "missing":
        return None
    if variant == "garbage":
        return "IjAwMDAi.not-a-token"
    if variant == "foreign":
        return world.browsers["anonymous"].last_csrf
    with browser.client.session_transaction() as session:
        raw = session["csrf_token"]
    expired = URLSafeTimedSerializer(
        world.app.config["SECRET_KEY"], salt="wtf-csrf-token", signer=_PastSigner
    )
    return str(expired.dumps(raw))


# Classes of input that have broken a form before, tried on every form at every run. Each
# is one value in every field (so the field that takes numbers gets it too), sent with a
# valid token by the form's own method.
PERSIAN_DIGITS = "۱۲۳۴۵۶"  # a code typed on a Persian phone: was a 500 on every code form
HELD_EXAMPLES = {
    "persian digits": PERSIAN_DIGITS,
    "arabic-indic digits": "١٢٣ ٤٥٦",
    "bengali digits": "১৯৯৮",
    "full-width digits": "１２３４５６",
    "bidi controls": "\u202e123456\u202c\u2066x\u2069",
    "nul byte": "12\x0034",
    "100k characters": "٩" * 100_000,
}


def held_examples(fields: dict[str, list[str]]) -> list[dict[str, Any]]:
    # A field with fixed choices gets a valid one, so the input reaches the fields that
    # take text (the consent's code behind its yes/no answer, say).
    payloads = [
        {name: [choices[0] if choices else value] for name, choices in fields.items()}
        for value in HELD_EXAMPLES.values()
    ]
    # Every field sent twice, with two different values.
    payloads.append({name: [PERSIAN_DIGITS, "1"] for name in fields})
    return payloads


# What a refusal may leave behind --------------------------------------------------------------

# Reads are audited even when what follows is refused; nothing else may be.
READ_OR_REFUSAL = re.compile(
    r"(\.viewed$|_refused$|^disclosure\.made$|^access\.denied$|^login\.failed$|^throttled$)"
)
# Sessions record when they were last used; the audit trail is checked by its actions;
# failed logins are counted (security_tallies) instead of chained; and showing an agency a
# case's consented data is a disclosure, recorded even when the form on the same page is
# refused.
NOT_COUNTED = {
    "user_sessions",
    "audit_events",
    "audit_head",
    "audit_checkpoints",
    "security_tallies",
    "disclosures",
}
# Wrong codes are counted, and the codes locked at the cap, whatever the answer: a guess
# refused with a 401 is still a guess.
KEPT_COLUMNS = {"users": {"totp_failures", "totp_locked_at"}}


@dataclass
class Snapshot:
    counts: dict[str, int]
    rows: dict[str, list[str]]
    audit_seq: int


def snapshot(world: World, tables: tuple[str, ...]) -> Snapshot:
    with world.app.app_context():
        known = db.metadata.tables
        counted = [t for name, t in known.items() if name not in NOT_COUNTED]
        query = sa.union_all(
            *(sa.select(sa.literal(t.name), sa.func.count()).select_from(t) for t in counted)
        )
        counts = {str(name): int(n) for name, n in db.session.execute(query)}
        rows = {
            name: sorted(
                repr(tuple(row))
                for row in db.session.execute(
                    sa.select(
                        *(
                            column
                            for column in known[name].columns
                            if column.name not in KEPT_COLUMNS.get(name, ())
                        )
                    )
                )
            )
            for name in tables
        }
        seq = db.session.scalar(sa.select(sa.func.max(AuditEvent.seq))) or 0
        db.session.rollback()
        return Snapshot(counts, rows, seq)


def new_audit_actions(world: World, since: int) -> list[str]:
    with world.app.app_context():
        return list(db.session.scalars(sa.select(AuditEvent.action).where(AuditEvent.seq > since)))


# Messages must be in the person's language ------------------------------------------------------


def _patterns(mo_file: Path) -> list[re.Pattern[str]]:
    with mo_file.open("rb") as handle:
        catalogue = gettext.GNUTranslations(handle)._catalog  # type: ignore[attr-defined]
    found = []
    for translated in catalogue.values():
        if not translated:
            continue
        escaped = re.escape(translated.strip())
        escaped = re.sub(r"%\\\(\w+\\\)[sd]", ".*?", escaped)
        found.append(re.compile(escaped, re.DOTALL))
    return found


SWEDISH = _patterns(ROOT / "app/translations/sv/LC_MESSAGES/messages.mo") + _patterns(
    Path(wtforms.__file__).parent / "locale/sv/LC_MESSAGES/wtforms.mo"
)
FIELD_ERRORS = re.compile(r'<ul class="field-errors"[^>]*>(.*?)</ul>', re.DOTALL)
FORM_ERRORS = re.compile(r'<div class="notice notice-error" role="alert">(.*?)</div>', re.DOTALL)
ITEMS = re.compile(r"<(?:li|p)>(.*?)</(?:li|p)>", re.DOTALL)
HEADING = re.compile(r"<h1[^>]*>(.*?)</h1>", re.DOTALL)


def messages_shown(page: str) -> list[str]:
    blocks = FIELD_ERRORS.findall(page) + FORM_ERRORS.findall(page)
    found = [html.unescape(item).strip() for block in blocks for item in ITEMS.findall(block)]
    return found or [html.unescape(h).strip() for h in HEADING.findall(page)]


def is_swedish(message: str) -> bool:
    return any(pattern.fullmatch(message) for pattern in SWEDISH)


# The property -----------------------------------------------------------------------------------


@dataclass
class Run:
    world: World
    target: Target
    objects: dict[str, str] = field(default_factory=dict)
    browser: Browser | None = None
    # The database as it was before the request; kept while requests are refused (a
    # refusal leaves it as it was, which is what is checked) and taken anew after a change.
    baseline: Snapshot | None = None

    def prepare(self, every: bool) -> None:
        if self.target.prepare is not None and self.target.every_example == every:
            self.objects.update(self.target.prepare(self.world))
            self.baseline = None
        if self.browser is None or (every and self.target.fresh_browser):
            self.browser = self.browser_for(self.target.persona)
            self.baseline = None

    def before(self) -> Snapshot:
        if self.baseline is None:
            self.baseline = snapshot(self.world, self.target.tables)
        return self.baseline

    def browser_for(self, persona: str) -> Browser:
        if persona in self.world.browsers and not self.target.fresh_browser:
            return self.world.browsers[persona]
        if persona == "half_logged_in":
            browser = Browser(self.world.app.test_client(), self.world.language)
            account = self.world.accounts["spare"]
            response = browser.post(
                "/login", {"username": account.username, "password": account.password}
            )
            assert response.status_code == 302
            refresh_csrf_on(browser, "/login/recovery")
            return browser
        browser = self.world.fresh_browser(persona)
        return browser

    def url(self) -> str:
        return self.target.url.format(**self.world.ids, **self.objects)

    def send(self, method: str, data: MultiDict[str, str]) -> Any:
        assert self.browser is not None
        if method == "GET":
            query = [(k, v) for k, v in data.items(multi=True) if k != "csrf_token"]
            return self.browser.client.get(self.url(), query_string=query)
        return self.browser.client.open(self.url(), method=method, data=data)


def refresh_csrf_on(browser: Browser, page: str) -> None:
    browser.get(page)
    assert browser.last_csrf, page


def check_answer(
    run: Run, response: Any, *, csrf: str, method: str, leaves_no_trace: bool = False
) -> None:
    before = run.before()
    status = response.status_code
    page = response.get_data(as_text=True)
    assert status < 500, (status, page[-500:])
    assert status in (200, 302, 400, 401, 404, 405, 409, 413), status
    if method != run.target.method and method != "GET":
        assert status == 405, status
    elif csrf != "valid" and method == "POST":
        assert status == 400, status
    if status >= 400:
        shown = messages_shown(page)
        assert shown, (status, page[-1500:])
        assert all(is_swedish(m) for m in shown), shown
    refused = status >= 400 or method != "POST" or csrf != "valid"
    if not (refused or leaves_no_trace):
        run.baseline = None  # a success may change anything
        return
    after = snapshot(run.world, run.target.tables)
    changed = {
        table: (n, after.counts[table])
        for table, n in before.counts.items()
        if after.counts[table] != n
    }
    assert changed == {}, "a refused request added or removed rows"
    assert after.rows == before.rows, "a refused request changed the form's tables"
    actions = new_audit_actions(run.world, before.audit_seq)
    assert all(READ_OR_REFUSAL.search(a) for a in actions), actions
    run.baseline = after


@pytest.mark.parametrize("name", sorted(TARGETS))
def test_hostile_input_is_refused_cleanly(world, name):
    """Given any input a person or an attacker could send to this form, the portal answers
    with a redirect or a translated 4xx, never a 500, and a refusal leaves no trace."""
    target = TARGETS[name]
    fields = fields_of(world, discovered_forms()[name])
    run = Run(world, target)
    run.prepare(every=False)

    # Fixed cases first: far over the size limit, nothing at all, and every field holding
    # a NUL byte and a direction override (PostgreSQL refuses NUL in text).
    too_large = {next(iter(fields), "x"): ["A" * (ONE_MEGABYTE + 10)]}
    poisoned = {name: ["ab\x00\u202ecd"] for name in fields}
    for payload in (too_large, {}, *([poisoned] if fields else [])):
        run.prepare(every=True)
        run.before()
        assert run.browser is not None
        data = as_form_data(payload, run.browser.last_csrf)
        response = run.send(target.method, data)
        check_answer(
            run, response, csrf="valid", method=target.method, leaves_no_trace=payload is poisoned
        )
        if payload is too_large and target.method == "POST":
            assert response.status_code == 413

    def hostile(payload: dict[str, Any], csrf: str, method: str) -> None:
        run.prepare(every=True)
        assert run.browser is not None
        run.before()
        data = as_form_data(payload, token_for(world, run.browser, csrf))
        response = run.send(method, data)
        check_answer(run, response, csrf=csrf, method=method)

    for payload in held_examples(fields):
        hostile = example(payload=payload, csrf="valid", method=target.method)(hostile)
    settings(
        max_examples=EXAMPLES,
        deadline=None,
        phases=PHASES,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )(
        given(
            payload=payload_strategy(fields),
            csrf=st.sampled_from(CSRF_VARIANTS),
            method=st.sampled_from(METHODS if target.method == "POST" else ["GET"]),
        )(hostile)
    )()

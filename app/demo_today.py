"""Today's open demo work: one case whose consultation and placement request reach the police
representative and the partner municipality, so every staff account starts with something to do.

Made through the features' own services, as a caseworker would make it through the pages:
the consent decides whom the consultation may invite, the agencies receive a disclosed
snapshot, the partner's request carries only the household and the services, and every step
leaves its audit event. The person is invented and obviously so: Tolvan Tolvansson is
Sweden's well-known test person, and the phone number is from the series the Swedish Post
and Telecom Authority keeps for fiction (070-174 06 xx).
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from app.auth.models import User
from app.cases.models import Case, CaseSource, CaseStatus, ThreatLevel
from app.cases.services import (
    IdentityChange,
    change_status,
    create_case,
    record_needs_assessment,
    record_threat_assessment,
    team_groups,
    update_identity,
)
from app.consent.models import ConsentMethod, Purpose
from app.consent.services import record_consent
from app.consultations.services import Plan, add_action, convene
from app.core.clock import LOCAL_TIME, utcnow
from app.orgs.models import Organisation
from app.placements.services import Needs, create_placement, send_requests
from app.rules import is_working_day
from app.rules.models import AgeBand

DEMO_NAME = "Tolvan Tolvansson"
DEMO_PHONE = "070-174 06 05"
DEMO_ADDRESS = "Demogatan 1"
# The case's needs, as the team writes them; what consent to consult lets the agencies read.
DEMO_NEEDS = {
    "housing": "Behöver boende utanför Malmö.",
    "debt": "Skulder hos Kronofogden.",
    "work_education": "Vill börja på en yrkesutbildning.",
}
# Who threatens and why: the team's own notes, disclosed to no one.
DEMO_THREAT_SOURCES = "Hot från den tidigare gruppen efter avhoppet."
DEMO_POLICE_ACTION = "Ta med en uppdaterad hotbildsbedömning till konsultationen."
DEMO_HOUSING_NEEDS = "Två rum och kök, nära förskola."
DEMO_SUPPORT_NEEDS = "Kontaktperson under de första månaderna."


def seed_open_case(
    team: Organisation,
    caseworker: User,
    police: Organisation,
    representative: User,
    social_services: Organisation,
    partner: Organisation,
) -> Case:
    """A police referral in consultation: police and social services invited a few days ahead,
    one action for the police, and a placement request waiting for the partner's answer."""
    today = utcnow().astimezone(LOCAL_TIME).date()
    case = create_case(
        team.id,
        CaseSource.POLICE,
        DEMO_NAME,
        caseworker,
        age_band=AgeBand.FROM_18_TO_20,
        reporting_organisation_id=police.id,
    )
    update_identity(
        case,
        IdentityChange(
            full_name=DEMO_NAME,
            personal_number=None,
            phone=DEMO_PHONE,
            address=DEMO_ADDRESS,
            municipality="1280",  # Malmö
            adults=1,
            children_ages=[3],
        ),
        caseworker,
    )
    groups = [g for g in team_groups(team.id) if g.name == "Nordligan"]
    record_threat_assessment(
        case,
        caseworker,
        level=ThreatLevel.HIGH,
        by_police=True,
        assessed_on=today,
        sources=DEMO_THREAT_SOURCES,
        group_ids=[str(g.id) for g in groups],
        areas_to_avoid=["1280"],  # Malmö: the move is away from the group
        next_review_on=today + timedelta(days=30),
    )
    record_needs_assessment(case, caseworker, today, DEMO_NEEDS)
    # Two signed forms, as the team records them: consulting the police and social services,
    # and a placement with the partner (whose hand-over of identity waits for its yes).
    valid_until = today + timedelta(days=365)
    for agencies, purpose in (
        ([police, social_services], Purpose.CONSULTATION),
        ([partner], Purpose.PLACEMENT),
    ):
        record_consent(
            case,
            caseworker,
            agencies=agencies,
            purposes={purpose},
            method=ConsentMethod.PAPER,
            given=True,
            valid_from=today,
            valid_until=valid_until,
        )
    meeting_day = _working_day_from(today + timedelta(days=3))
    consultation = convene(
        case,
        caseworker,
        Plan(
            starts_at=datetime.combine(meeting_day, time(9, 30), tzinfo=LOCAL_TIME),
            duration_minutes=90,
            place="Konferensrummet",
            agenda="Boende, skulder och utbildning inför flytten.",
        ),
        [police.id, social_services.id],
        [representative.id],
    )
    add_action(consultation, police, representative, DEMO_POLICE_ACTION, meeting_day)
    change_status(case, CaseStatus.CONSULTATION)
    placement = create_placement(
        case,
        caseworker,
        Needs(
            adults=1,
            children_ages=[3],
            housing_needs=DEMO_HOUSING_NEEDS,
            support_needs=DEMO_SUPPORT_NEEDS,
            earliest_move_on=today + timedelta(days=45),
            expected_duration="Minst ett år",
            free_text=None,
            services=["housing", "school", "support_staff"],
        ),
    )
    send_requests(placement, case, [partner.id], caseworker, None)
    return case


def _working_day_from(day: date) -> date:
    """The first working day on or after `day` (app.rules: weekends and Swedish public
    holidays off): consultations are held in office hours."""
    while not is_working_day(day):
        day += timedelta(days=1)
    return day

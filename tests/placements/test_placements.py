"""Placements: partners decide without knowing who; conflicts block; one confirmation."""

import threading
import uuid
from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from app.audit.models import AuditEvent
from app.auth.models import Role, User
from app.cases.models import Case, CaseAssignment, CaseStatus, ThreatLevel
from app.consent.models import ConsentMethod, Purpose
from app.consent.services import record_consent
from app.core.clock import utcnow
from app.extensions import db
from app.orgs.models import Organisation, OrgKind
from app.orgs.services import create_organisation
from app.placements import services as placement_services
from app.placements.models import (
    PartnerProfile,
    Placement,
    PlacementRequest,
    PlacementStatus,
    RequestStatus,
)
from app.rules import LOCAL_TIME, rule
from app.rules.municipalities import code_for_name

NAME = "Adam Testsson"
NUMBER = "19811218-9876"
ORIGIN = "1280"  # Malmö: the case's own municipality, which partners never learn


def add_partner(app, slug, municipality, capacity=2):
    with app.app_context():
        org = create_organisation(slug, f"{municipality} kommun", OrgKind.PARTNER)
        db.session.add(
            PartnerProfile(
                organisation_id=org.id,
                municipality=code_for_name(municipality),
                region="Region",
                services="housing",
                capacity=capacity,
                updated_at=utcnow(),
            )
        )
        db.session.commit()
        return org.id


@pytest.fixture
def partners(app, organisation):
    return {
        "vaxjo": add_partner(app, "vaxjo", "Växjö"),
        "lund": add_partner(app, "lund", "Lund"),
        "kalmar": add_partner(app, "kalmar", "Kalmar"),
    }


def threat(scene, areas, groups=()):
    return scene.owner_browser.post(
        f"/team/cases/{scene.case_id}/threat",
        {
            "level": "high",
            "by_police": "yes",
            "assessed_on": date.today().isoformat(),
            "areas_to_avoid": [code_for_name(a) for a in areas],
            "groups": [str(g) for g in groups],
        },
        form_page=f"/team/cases/{scene.case_id}",
    )


def new_placement(scene):
    response = scene.owner_browser.post(
        f"/team/cases/{scene.case_id}/placements/new",
        {
            "adults": "1",
            "children_ages": "4",
            "housing_needs": "Lägenhet, två rum.",
            # Later than the partners' answer period, which then decides the deadline.
            "earliest_move_on": (date.today() + timedelta(days=60)).isoformat(),
            "expected_duration": "1 år",
        },
        form_page=f"/team/cases/{scene.case_id}/placements/new",
    )
    assert response.status_code == 302, response.get_data(as_text=True)[-1500:]
    return response.headers["Location"].rsplit("/", 1)[-1]


def send(browser, placement_id, partner_ids, **extra):
    return browser.post(
        f"/team/placements/{placement_id}/send",
        {"partners": [str(p) for p in partner_ids], **extra},
        form_page=f"/team/placements/{placement_id}",
    )


@pytest.fixture
def partner_browser(app, partners, make_account, new_browser, log_in):
    def make(slug):
        browser = new_browser()
        log_in(browser, make_account(Role.PARTNER, org_slug=slug))
        return browser

    return make


def identify(scene):
    scene.owner_browser.post(
        f"/team/cases/{scene.case_id}/identity",
        {
            "full_name": NAME,
            "personal_number": NUMBER,
            "municipality": ORIGIN,
            "phone": "0701234567",
            "adults": "1",
        },
        form_page=f"/team/cases/{scene.case_id}",
    )


def test_areas_to_avoid_filter_the_partners(app, scene, partners):
    threat(scene, ["Lund"])
    placement_id = new_placement(scene)
    page = scene.owner_browser.get(f"/team/placements/{placement_id}").get_data(as_text=True)
    assert f'value="{partners["vaxjo"]}"' in page
    assert f'value="{partners["lund"]}"' not in page


def test_sending_to_a_partner_in_an_area_to_avoid_is_refused_by_the_service_itself(
    app, scene, partners
):
    """Given a case whose threat assessment names Lund, when a request to the partner in Lund
    is sent anyway (a crafted form: the page does not offer Lund), the placement service
    refuses it, stores no request and audits the block; a partner elsewhere is fine."""
    threat(scene, ["Lund"])
    placement_id = new_placement(scene)
    response = send(scene.owner_browser, placement_id, [partners["lund"]])
    assert response.status_code in (400, 409)
    with app.app_context():
        placement = db.session.get(Placement, uuid.UUID(placement_id))
        assert placement.requests == []
        # The service on its own, as any other caller (a job, a later page) would use it.
        case = db.session.get(Case, scene.case_id)
        owner = db.session.get(User, scene.owner.id)
        with pytest.raises(placement_services.ConflictFound):
            placement_services.send_requests(placement, case, [partners["lund"]], owner, None)
        assert placement.requests == []
        blocked = db.session.scalars(
            sa.select(AuditEvent.details).where(AuditEvent.action == "placement.conflict_blocked")
        ).all()
        assert len(blocked) == 1 and "area_to_avoid" in blocked[0]
        db.session.rollback()
    assert send(scene.owner_browser, placement_id, [partners["kalmar"]]).status_code == 302


def test_a_partner_never_sees_identity_before_hand_over(app, scene, partners, partner_browser):
    identify(scene)
    placement_id = new_placement(scene)
    assert send(scene.owner_browser, placement_id, [partners["vaxjo"]]).status_code == 302
    vaxjo = partner_browser("vaxjo")
    inbox = vaxjo.get("/partner/").get_data(as_text=True)
    with app.app_context():
        request_id = db.session.scalars(sa.select(PlacementRequest.id)).one()
        reference = db.session.get(Case, scene.case_id).reference
    page = vaxjo.get(f"/partner/requests/{request_id}").get_data(as_text=True)
    for html in (inbox, page):
        for secret in (NAME, NUMBER, "811218", reference, "Malmö"):
            assert secret not in html
    assert "Lägenhet, två rum." in page


def test_another_partner_cannot_open_the_request(app, scene, partners, partner_browser):
    placement_id = new_placement(scene)
    send(scene.owner_browser, placement_id, [partners["vaxjo"]])
    with app.app_context():
        request_id = db.session.scalars(sa.select(PlacementRequest.id)).one()
    assert partner_browser("lund").get(f"/partner/requests/{request_id}").status_code == 404


@pytest.fixture
def rival_placed_in_vaxjo(app, scene, partners):
    """Another case threatened by the same group already lives in Växjö."""
    from app.cases.services import add_group, record_threat_assessment

    with app.app_context():
        case = db.session.get(Case, scene.case_id)
        group = add_group(case.organisation_id, "Nordligan")
        other = Case(
            reference="K-2026-000777",
            organisation_id=case.organisation_id,
            status=CaseStatus.NEW,
            source="phone",
            opened_at=utcnow(),
        )
        db.session.add(other)
        db.session.flush()
        db.session.add(CaseAssignment(case_id=other.id, user_id=scene.owner.id))
        record_threat_assessment(
            other,
            db.session.get(User, scene.owner.id),
            level=ThreatLevel.HIGH,
            by_police=True,
            assessed_on=date.today(),
            sources=None,
            group_ids=[str(group.id)],
            areas_to_avoid=[],
            next_review_on=None,
        )
        placement = Placement(
            case_id=other.id,
            organisation_id=case.organisation_id,
            status=PlacementStatus.CONFIRMED,
            adults=1,
            earliest_move_on=date.today(),
        )
        db.session.add(placement)
        db.session.flush()
        db.session.add(
            PlacementRequest(
                placement_id=placement.id,
                partner_id=partners["vaxjo"],
                status=RequestStatus.CONFIRMED,
                respond_by=utcnow(),
            )
        )
        db.session.commit()
        return group.id


def test_a_group_conflict_blocks_sending_without_naming_the_other_case(
    app, scene, partners, rival_placed_in_vaxjo
):
    threat(scene, [], groups=[rival_placed_in_vaxjo])
    placement_id = new_placement(scene)
    response = send(scene.owner_browser, placement_id, [partners["vaxjo"]])
    assert response.status_code == 409
    html = response.get_data(as_text=True)
    assert "ask your team lead" in html and "K-2026-000777" not in html
    with app.app_context():
        assert (
            db.session.scalar(
                sa.select(sa.func.count(PlacementRequest.id)).where(
                    PlacementRequest.placement_id
                    == sa.select(Placement.id)
                    .where(Placement.case_id == scene.case_id)
                    .scalar_subquery()
                )
            )
            == 0
        )
        assert (
            db.session.scalar(
                sa.select(sa.func.count()).where(AuditEvent.action == "placement.conflict_blocked")
            )
            == 1
        )
    # Another municipality is fine.
    assert send(scene.owner_browser, placement_id, [partners["kalmar"]]).status_code == 302


def test_a_team_lead_may_override_a_conflict_with_a_reason(
    app, scene, partners, rival_placed_in_vaxjo, make_account, new_browser, log_in
):
    threat(scene, [], groups=[rival_placed_in_vaxjo])
    placement_id = new_placement(scene)
    ignored = send(
        scene.owner_browser, placement_id, [partners["vaxjo"]], override_reason="Jag tycker så."
    )
    assert ignored.status_code == 409  # a caseworker's reason is not an override
    lead = new_browser()
    log_in(lead, make_account(Role.TEAM_LEAD))
    response = send(
        lead, placement_id, [partners["vaxjo"]], override_reason="Polisen bedömer risken som låg."
    )
    assert response.status_code == 302
    with app.app_context():
        event = db.session.scalar(
            sa.select(AuditEvent).where(AuditEvent.action == "placement.conflict_overridden")
        )
        assert '"flagged":true' in event.details and "Polisen" not in event.details


def test_the_conflict_holds_in_the_other_direction(app, scene, partners, rival_placed_in_vaxjo):
    """A case listing the group can't go where a case threatened by that group lives — the
    shared group is symmetric, whichever case was placed first."""
    threat(scene, [], groups=[rival_placed_in_vaxjo])
    from app.placements.services import conflict_reasons

    with app.app_context():
        ours = db.session.get(Case, scene.case_id)
        vaxjo = db.session.get(PartnerProfile, partners["vaxjo"])
        assert conflict_reasons(ours, vaxjo) == ["group_conflict"]


def test_one_accepts_one_declines_and_confirmation_closes_the_rest(
    app, scene, partners, partner_browser
):
    placement_id = new_placement(scene)
    send(scene.owner_browser, placement_id, [partners["vaxjo"], partners["kalmar"]])
    with app.app_context():
        requests = {r.partner_id: r.id for r in db.session.scalars(sa.select(PlacementRequest))}
    vaxjo, kalmar = partner_browser("vaxjo"), partner_browser("kalmar")
    offer = {
        "housing_type": "Lägenhet",
        "move_in_on": (date.today() + timedelta(days=20)).isoformat(),
        "contact": "Eva, socialtjänsten",
    }
    assert (
        vaxjo.post(
            f"/partner/requests/{requests[partners['vaxjo']]}/accept",
            offer,
            form_page=f"/partner/requests/{requests[partners['vaxjo']]}",
        ).status_code
        == 302
    )
    assert (
        kalmar.post(
            f"/partner/requests/{requests[partners['kalmar']]}/decline",
            {"reason": "Fullt."},
            form_page=f"/partner/requests/{requests[partners['kalmar']]}",
        ).status_code
        == 302
    )
    confirm = scene.owner_browser.post(
        f"/team/placements/{placement_id}/requests/{requests[partners['vaxjo']]}/confirm",
        {},
        form_page=f"/team/placements/{placement_id}",
    )
    assert confirm.status_code == 302
    with app.app_context():
        statuses = {r.partner_id: r.status for r in db.session.scalars(sa.select(PlacementRequest))}
    assert statuses[partners["vaxjo"]] is RequestStatus.CONFIRMED
    assert statuses[partners["kalmar"]] is RequestStatus.DECLINED


def test_hand_over_is_refused_without_consent_and_recorded_with_it(
    app, scene, partners, partner_browser
):
    identify(scene)
    placement_id = new_placement(scene)
    send(scene.owner_browser, placement_id, [partners["vaxjo"]])
    with app.app_context():
        request_id = db.session.scalars(sa.select(PlacementRequest.id)).one()
    vaxjo = partner_browser("vaxjo")
    vaxjo.post(
        f"/partner/requests/{request_id}/accept",
        {"housing_type": "Lägenhet", "move_in_on": date.today().isoformat(), "contact": "Eva"},
        form_page=f"/partner/requests/{request_id}",
    )
    scene.owner_browser.post(
        f"/team/placements/{placement_id}/requests/{request_id}/confirm",
        {},
        form_page=f"/team/placements/{placement_id}",
    )
    scene.owner_browser.post(
        f"/team/placements/{placement_id}/requests/{request_id}/hand-over",
        {},
        form_page=f"/team/placements/{placement_id}",
    )
    assert NAME not in vaxjo.get(f"/partner/requests/{request_id}").get_data(as_text=True)
    with app.app_context():
        record_consent(
            db.session.get(Case, scene.case_id),
            db.session.get(User, scene.owner.id),
            agencies=[db.session.get(Organisation, partners["vaxjo"])],
            purposes={Purpose.PLACEMENT},
            method=ConsentMethod.PAPER,
            given=True,
            valid_from=date(2020, 1, 1),
            valid_until=None,
        )
        db.session.commit()
    scene.owner_browser.post(
        f"/team/placements/{placement_id}/requests/{request_id}/hand-over",
        {},
        form_page=f"/team/placements/{placement_id}",
    )
    page = vaxjo.get(f"/partner/requests/{request_id}").get_data(as_text=True)
    assert NAME in page and NUMBER in page


def test_unanswered_requests_expire_on_time(app, clock, scene, partners, partner_browser):
    placement_id = new_placement(scene)
    send(scene.owner_browser, placement_id, [partners["vaxjo"]])
    days = rule("partner_answer").value
    clock.shift(timedelta(days=days + 1))
    from app.placements.services import expire_due

    with app.app_context():
        assert expire_due() == 1
        db.session.commit()
        assert db.session.scalars(sa.select(PlacementRequest.status)).one() is RequestStatus.EXPIRED


def test_two_confirmations_at_once_leave_exactly_one(app, scene, partners):
    """Two caseworkers confirm two different offers in the same instant: one wins."""
    from app.placements.services import PlacementError, confirm

    placement_id = new_placement(scene)
    send(scene.owner_browser, placement_id, [partners["vaxjo"], partners["kalmar"]])
    with app.app_context():
        for request in db.session.scalars(sa.select(PlacementRequest)):
            request.status = RequestStatus.ACCEPTED
        db.session.commit()
        request_ids = list(db.session.scalars(sa.select(PlacementRequest.id)))
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def attempt(request_id):
        with app.app_context():
            placement = db.session.get(Placement, uuid.UUID(placement_id))
            chosen = db.session.get(PlacementRequest, request_id)
            barrier.wait()
            try:
                confirm(placement, chosen)
                db.session.commit()
                outcomes.append("confirmed")
            except (PlacementError, sa.exc.OperationalError):
                db.session.rollback()
                outcomes.append("refused")
            finally:
                db.session.remove()

    threads = [threading.Thread(target=attempt, args=(rid,)) for rid in request_ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(outcomes) == ["confirmed", "refused"]
    with app.app_context():
        statuses = sorted(s.value for s in db.session.scalars(sa.select(PlacementRequest.status)))
        assert statuses == ["closed", "confirmed"]
        assert db.session.scalars(sa.select(Placement.status)).one() is PlacementStatus.CONFIRMED


def test_partners_are_reminded_and_late_requests_expire(app, clock, scene, partners, make_account):
    from app.core.outbox import OutboxMessage

    account = make_account(Role.PARTNER, org_slug="vaxjo")
    with app.app_context():
        db.session.get(User, account.id).notify_email = "placering@vaxjo.example"
        db.session.commit()
    placement_id = new_placement(scene)
    send(scene.owner_browser, placement_id, [partners["vaxjo"]])
    days = rule("partner_answer").value
    clock.shift(timedelta(days=days - 3))
    result = app.test_cli_runner().invoke(args=["placements", "remind"])
    assert "expired 0, queued 1 reminders" in result.output
    with app.app_context():
        mail = db.session.scalars(sa.select(OutboxMessage)).one()
        reference = db.session.get(Case, scene.case_id).reference
    assert mail.recipient == "placering@vaxjo.example" and reference not in mail.body
    clock.shift(timedelta(days=5))
    assert "expired 1" in app.test_cli_runner().invoke(args=["placements", "remind"]).output


def test_the_service_sends_only_an_open_placement_to_known_partners_and_audits_it(
    app, scene, partners
):
    """Given a placement, the service refuses an unknown partner (alone or beside a known
    one) and a placement that is no longer open, storing nothing; a send it accepts is
    audited with the number of partners."""
    placement_id = new_placement(scene)
    unknown = uuid.uuid4()
    with app.app_context():
        placement = db.session.get(Placement, uuid.UUID(placement_id))
        case = db.session.get(Case, scene.case_id)
        owner = db.session.get(User, scene.owner.id)
        for chosen in ([unknown], [partners["vaxjo"], unknown], []):
            with pytest.raises(placement_services.PlacementError):
                placement_services.send_requests(placement, case, chosen, owner, None)
            assert placement.requests == []
        assert (
            placement_services.send_requests(placement, case, [partners["vaxjo"]], owner, None) == 1
        )
        sent = db.session.scalars(
            sa.select(AuditEvent.details).where(AuditEvent.action == "placement.sent")
        ).one()
        assert '"partners":1' in sent
        placement.status = PlacementStatus.CONFIRMED
        with pytest.raises(placement_services.PlacementError):
            placement_services.send_requests(placement, case, [partners["lund"]], owner, None)
        assert len(placement.requests) == 1
        db.session.rollback()


def test_only_this_cases_own_threat_decides_its_groups(app, scene, partners, rival_placed_in_vaxjo):
    """Given a rival of another group placed in Växjö, and a third case (not placed) that
    shares this case's group and was assessed last, sending this case to Växjö is fine:
    the conflict check reads each case's own latest assessment, not the latest of all."""
    from app.cases.services import add_group, record_threat_assessment

    with app.app_context():
        case = db.session.get(Case, scene.case_id)
        organisation_id = case.organisation_id
        ours_id = add_group(organisation_id, "Södergänget").id
        db.session.commit()
    threat(scene, "", groups=[ours_id])
    with app.app_context():
        third = Case(
            reference="K-2026-000888",
            organisation_id=organisation_id,
            status=CaseStatus.NEW,
            source="phone",
            opened_at=utcnow(),
        )
        db.session.add(third)
        db.session.flush()
        record_threat_assessment(
            third,
            db.session.get(User, scene.owner.id),
            level=ThreatLevel.HIGH,
            by_police=True,
            assessed_on=date.today(),
            sources=None,
            group_ids=[str(ours_id)],
            areas_to_avoid=[],
            next_review_on=None,
        )
        db.session.commit()
    placement_id = new_placement(scene)
    assert send(scene.owner_browser, placement_id, [partners["vaxjo"]]).status_code == 302


def test_the_answer_is_due_before_the_earliest_move_date(app, scene, partners):
    """Partners answer by the rule's period, but never after the day before the move."""
    soon = scene.owner_browser.post(
        f"/team/cases/{scene.case_id}/placements/new",
        {"adults": "1", "earliest_move_on": (date.today() + timedelta(days=10)).isoformat()},
        form_page=f"/team/cases/{scene.case_id}/placements/new",
    )
    placement_id = soon.headers["Location"].rsplit("/", 1)[-1]
    assert send(scene.owner_browser, placement_id, [partners["vaxjo"]]).status_code == 302
    with app.app_context():
        placement = db.session.get(Placement, uuid.UUID(placement_id))
        (request,) = placement.requests
        respond_by = request.respond_by.astimezone(LOCAL_TIME)
        assert respond_by.date() < placement.earliest_move_on
        assert respond_by < rule("partner_answer").due(utcnow())


def test_a_move_date_today_or_past_is_refused(app, scene):
    for day in (date.today(), date.today() - timedelta(days=3)):
        answer = scene.owner_browser.post(
            f"/team/cases/{scene.case_id}/placements/new",
            {"adults": "1", "earliest_move_on": day.isoformat()},
            form_page=f"/team/cases/{scene.case_id}/placements/new",
        )
        assert answer.status_code == 400
        assert "The earliest move date must be after today." in answer.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalars(sa.select(Placement)).first() is None

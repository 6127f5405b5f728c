"""A partner's inbox says what each request asks, a partner reads back its own answer, and
a request reaches a partner once, even when it is sent twice at the same moment."""
# ruff: noqa: F811  (fixtures shared with the feature's main test module are imported)

import re
import threading
import uuid
from datetime import date, timedelta

import pytest
import sqlalchemy as sa
from flask_babel import force_locale

from app.audit.models import AuditEvent
from app.auth.models import User
from app.cases.models import Case
from app.extensions import db
from app.i18n import local_date, local_datetime
from app.placements import services as placement_services
from app.placements.models import Placement, PlacementRequest
from app.rules import LOCAL_TIME
from tests.placements.test_placements import (  # noqa: F401  (fixtures)
    NAME,
    NUMBER,
    identify,
    partner_browser,
    partners,
    send,
)

MOVE_ON = date.today() + timedelta(days=60)


def new_placement(scene, services=("housing", "school"), children="4, 9"):
    response = scene.owner_browser.post(
        f"/team/cases/{scene.case_id}/placements/new",
        {
            "adults": "2",
            "children_ages": children,
            "housing_needs": "Fyra rum.",
            "earliest_move_on": MOVE_ON.isoformat(),
            "services": list(services),
        },
        form_page=f"/team/cases/{scene.case_id}/placements/new",
    )
    assert response.status_code == 302, response.get_data(as_text=True)[-1500:]
    return response.headers["Location"].rsplit("/", 1)[-1]


def only_request_id(app):
    with app.app_context():
        return db.session.scalars(sa.select(PlacementRequest.id)).one()


def inbox_row(html):
    return html.split("<tbody>")[1].split("</tbody>")[0]


def test_the_inbox_row_says_what_the_partner_must_decide_and_nothing_of_who(
    app, scene, partners, partner_browser
):
    """Given a request for two adults and two children asking for housing and school places,
    when Växjö opens its inbox, the row shows the date it was sent, the household's size,
    the services asked for, the earliest move date and the answer deadline; never the name,
    the identity number or the case's reference."""
    identify(scene)
    placement_id = new_placement(scene)
    assert send(scene.owner_browser, placement_id, [partners["vaxjo"]]).status_code == 302
    with app.test_request_context(), force_locale("en"):
        request = db.session.scalars(sa.select(PlacementRequest)).one()
        # As the page writes them, in the partner's language.
        sent_on = local_date(request.created_at.astimezone(LOCAL_TIME))
        answer_by = local_datetime(request.respond_by)
        move_on = local_date(MOVE_ON)
        reference = db.session.get(Case, scene.case_id).reference
    html = partner_browser("vaxjo").get("/partner/").get_data(as_text=True)
    row = inbox_row(html)
    # Each cell says which column it is, for the phone's stacked rows.
    labelled = re.findall(r'<td data-label="([^"]+)">(.*?)</td>', row)
    assert [label for label, _cell in labelled] == [
        "Received",
        "Status",
        "Answer by",
        "Household",
        "Services asked for",
        "Earliest move date",
    ]
    cells = [cell for _label, cell in labelled]
    assert sent_on in cells[0]
    assert cells[2] == answer_by
    assert cells[3] == "4 people"
    assert cells[4] == "Housing and School places"
    assert cells[5] == move_on
    for secret in (NAME, NUMBER, "811218", reference, "Malmö"):
        assert secret not in html
    with app.app_context():
        listed = db.session.scalars(
            sa.select(AuditEvent.subject_id).where(AuditEvent.action == "placement.request_listed")
        ).all()
    assert listed == [str(request.id)]  # the row's reading is recorded


def test_the_request_page_lists_the_services_asked_for(app, scene, partners, partner_browser):
    placement_id = new_placement(scene, services=("addiction_care",))
    send(scene.owner_browser, placement_id, [partners["vaxjo"]])
    page = partner_browser("vaxjo").get(f"/partner/requests/{only_request_id(app)}")
    assert "Addiction care" in page.get_data(as_text=True)


def test_a_service_not_on_the_list_is_refused_and_nothing_is_saved(app, scene):
    response = scene.owner_browser.post(
        f"/team/cases/{scene.case_id}/placements/new",
        {"adults": "1", "earliest_move_on": MOVE_ON.isoformat(), "services": ["weapons"]},
        form_page=f"/team/cases/{scene.case_id}/placements/new",
    )
    assert response.status_code == 400
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Placement.id))) == 0


def test_the_services_asked_for_are_encrypted_at_rest(app, scene):
    new_placement(scene, services=("addiction_care",))
    with app.app_context():
        raw = db.session.scalar(sa.select(sa.type_coerce(Placement.services, sa.Text)))
    assert raw and "addiction" not in raw


def test_a_partner_sees_its_own_offer_after_answering(app, scene, partners, partner_browser):
    """Given Växjö accepted with an offer, its request page shows what it offered (the
    housing, the move-in date, the contact person) and when; the offer form is gone."""
    placement_id = new_placement(scene)
    send(scene.owner_browser, placement_id, [partners["vaxjo"]])
    request_id = only_request_id(app)
    vaxjo = partner_browser("vaxjo")
    move_in = date.today() + timedelta(days=70)
    vaxjo.post(
        f"/partner/requests/{request_id}/accept",
        {"housing_type": "Trea i radhus", "move_in_on": move_in.isoformat(), "contact": "Eva Ek"},
        form_page=f"/partner/requests/{request_id}",
    )
    html = vaxjo.get(f"/partner/requests/{request_id}").get_data(as_text=True)
    offer = html.split('class="summary offer"')[1].split("</dl>")[0]
    assert "Trea i radhus" in offer and "Eva Ek" in offer
    assert move_in.isoformat() in offer or str(move_in.day) in offer
    assert f"/partner/requests/{request_id}/accept" not in html


def test_a_partner_sees_its_own_reason_after_declining(app, scene, partners, partner_browser):
    placement_id = new_placement(scene)
    send(scene.owner_browser, placement_id, [partners["kalmar"]])
    request_id = only_request_id(app)
    kalmar = partner_browser("kalmar")
    kalmar.post(
        f"/partner/requests/{request_id}/decline",
        {"reason": "Inga lediga fyror."},
        form_page=f"/partner/requests/{request_id}",
    )
    html = kalmar.get(f"/partner/requests/{request_id}").get_data(as_text=True)
    assert "Inga lediga fyror." in html.split('class="summary offer"')[1]
    # Another partner, asked for the same placement, never reads it.
    send(scene.owner_browser, placement_id, [partners["vaxjo"]])
    with app.app_context():
        vaxjo_request = db.session.scalar(
            sa.select(PlacementRequest.id).where(PlacementRequest.partner_id == partners["vaxjo"])
        )
    other = partner_browser("vaxjo").get(f"/partner/requests/{vaxjo_request}")
    assert "Inga lediga fyror." not in other.get_data(as_text=True)


def test_the_same_request_is_sent_to_a_partner_once(app, scene, partners):
    """Given a request sent to Växjö, the placement page no longer offers Växjö; a second
    send naming Växjö (another tab, a crafted form) is answered 409 with a message naming
    the partner asked already, sends nothing to anyone, and is recorded."""
    placement_id = new_placement(scene)
    assert send(scene.owner_browser, placement_id, [partners["vaxjo"]]).status_code == 302
    page = scene.owner_browser.get(f"/team/placements/{placement_id}").get_data(as_text=True)
    assert f'value="{partners["vaxjo"]}"' not in page
    assert f'value="{partners["kalmar"]}"' in page
    again = send(scene.owner_browser, placement_id, [partners["vaxjo"], partners["kalmar"]])
    assert again.status_code == 409
    html = again.get_data(as_text=True)
    assert "Växjö kommun" in html and "already" in html
    with app.app_context():
        assert db.session.scalars(sa.select(PlacementRequest.partner_id)).all() == [
            partners["vaxjo"]
        ]
        refused = db.session.scalar(
            sa.select(sa.func.count()).where(AuditEvent.action == "placement.already_asked")
        )
        assert refused == 1
    # Kalmar alone is still fine.
    assert send(scene.owner_browser, placement_id, [partners["kalmar"]]).status_code == 302


def test_the_database_refuses_a_second_copy_for_the_same_partner(app, scene, partners):
    """Whatever the service checks first, the table itself holds one copy per partner."""
    placement_id = new_placement(scene)
    send(scene.owner_browser, placement_id, [partners["vaxjo"]])
    with app.app_context():
        request = db.session.scalars(sa.select(PlacementRequest)).one()
        db.session.add(
            PlacementRequest(
                placement_id=request.placement_id,
                partner_id=request.partner_id,
                status=request.status,
                respond_by=request.respond_by,
            )
        )
        with pytest.raises(sa.exc.IntegrityError):
            db.session.flush()
        db.session.rollback()


def test_two_sends_of_the_same_request_to_the_same_partner_at_once_store_one(app, scene, partners):
    """Two caseworkers send the same request to Växjö in the same instant: both find it not
    yet sent, one stores it and the other is refused as asked already; one row, one alert
    per partner account, one 'sent' in the trail."""
    placement_id = new_placement(scene)
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def attempt():
        with app.app_context():
            placement = db.session.get(Placement, uuid.UUID(placement_id))
            case = db.session.get(Case, scene.case_id)
            owner = db.session.get(User, scene.owner.id)
            assert placement is not None and placement.requests == []
            barrier.wait()
            try:
                placement_services.send_requests(placement, case, [partners["vaxjo"]], owner, None)
                db.session.commit()
                outcomes.append("sent")
            except placement_services.AlreadyAsked:
                db.session.commit()  # the refusal's audit event
                outcomes.append("refused")
            except sa.exc.OperationalError:
                # SQLite: the database is locked by the other writer.
                db.session.rollback()
                outcomes.append("refused")
            finally:
                db.session.remove()

    threads = [threading.Thread(target=attempt) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(outcomes) == ["refused", "sent"]
    with app.app_context():
        assert db.session.scalars(sa.select(PlacementRequest.partner_id)).all() == [
            partners["vaxjo"]
        ]
        sent = db.session.scalar(
            sa.select(sa.func.count()).where(AuditEvent.action == "placement.sent")
        )
        assert sent == 1

"""Municipalities are chosen from Sweden's official list and stored as their codes, so no
collation, case folding or spelling decides whether a placement puts a person near a threat."""

import json
import re
import unicodedata
from datetime import date

import pytest
import sqlalchemy as sa
from flask_migrate import downgrade, upgrade

from app.auth.models import User
from app.cases.models import Case, CaseAssignment, CaseStatus, ThreatAssessment, ThreatLevel
from app.core.clock import utcnow
from app.core.crypto import keyring
from app.extensions import db
from app.placements.models import (
    PartnerProfile,
    Placement,
    PlacementRequest,
    PlacementStatus,
    RequestStatus,
)
from app.rules import municipalities
from tests.migrations import before
from tests.placements.test_placements import add_partner, new_placement, send, threat

# The three names the old check let through on SQLite (SQL lower() leaves Å, Ä, Ö alone).
SWEDISH_INITIALS = [("Örebro", "1880"), ("Östersund", "2380"), ("Åre", "2321")]


def test_the_list_is_swedens_290_municipalities_with_their_codes():
    listed = municipalities.MUNICIPALITIES
    assert len(listed) == 290
    assert len({m.name for m in listed.values()}) == 290
    counties = {"01", "03", "04", "05", "06", "07", "08", "09", "10", "12", "13", "14"}
    counties |= {"17", "18", "19", "20", "21", "22", "23", "24", "25"}
    assert {m.county_code for m in listed.values()} == counties
    known = {
        "0180": "Stockholm",
        "0330": "Knivsta",
        "0331": "Heby",
        "0980": "Gotland",
        "1280": "Malmö",
        "1480": "Göteborg",
        "1880": "Örebro",
        "2321": "Åre",
        "2380": "Östersund",
        "2584": "Kiruna",
    }
    assert {code: listed[code].name for code in known} == known


def test_the_choices_are_in_swedish_alphabetical_order():
    names = [name for _code, name in municipalities.choices()]
    assert names[0] == "Ale"
    # å, ä, ö come after z, in that order; a hyphen does not count before a letter
    assert names.index("Ystad") < names.index("Åre") < names.index("Älmhult")
    assert names.index("Älvsbyn") < names.index("Örebro")
    assert names.index("Upplands-Bro") < names.index("Upplands Väsby")
    assert names[-1] == "Övertorneå"


@pytest.mark.parametrize(("name", "code"), SWEDISH_INITIALS)
def test_a_rival_in_a_municipality_starting_with_a_swedish_letter_blocks_the_placement(
    app, scene, name, code
):
    # Given another case threatened by the same group, placed in (say) Örebro
    from app.cases.services import add_group, record_threat_assessment

    partner_id = add_partner(app, "partner-a", name)
    other_partner = add_partner(app, "partner-b", "Kalmar")
    with app.app_context():
        case = db.session.get(Case, scene.case_id)
        group_id = add_group(case.organisation_id, "Nordligan").id
        rival = Case(
            reference="K-2026-000778",
            organisation_id=case.organisation_id,
            status=CaseStatus.NEW,
            source="phone",
            opened_at=utcnow(),
        )
        db.session.add(rival)
        db.session.flush()
        db.session.add(CaseAssignment(case_id=rival.id, user_id=scene.owner.id))
        record_threat_assessment(
            rival,
            db.session.get(User, scene.owner.id),
            level=ThreatLevel.HIGH,
            by_police=True,
            assessed_on=date.today(),
            sources=None,
            group_ids=[str(group_id)],
            areas_to_avoid=[],
            next_review_on=None,
        )
        placed = Placement(
            case_id=rival.id,
            organisation_id=case.organisation_id,
            status=PlacementStatus.CONFIRMED,
            adults=1,
            earliest_move_on=date.today(),
        )
        db.session.add(placed)
        db.session.flush()
        db.session.add(
            PlacementRequest(
                placement_id=placed.id,
                partner_id=partner_id,
                status=RequestStatus.CONFIRMED,
                respond_by=utcnow(),
            )
        )
        db.session.commit()
        assert db.session.get(PartnerProfile, partner_id).municipality == code
    threat(scene, [], groups=[group_id])
    placement_id = new_placement(scene)
    # When the caseworker sends the request to a partner in the same municipality
    # Then it is blocked; elsewhere it goes
    assert send(scene.owner_browser, placement_id, [partner_id]).status_code == 409
    assert send(scene.owner_browser, placement_id, [other_partner]).status_code == 302


@pytest.mark.parametrize(("name", "code"), SWEDISH_INITIALS)
def test_an_area_to_avoid_starting_with_a_swedish_letter_hides_the_partner(app, scene, name, code):
    partner_id = add_partner(app, "partner-a", name)
    threat(scene, [name])
    with app.app_context():
        stored = db.session.scalars(sa.select(ThreatAssessment)).one().areas_to_avoid
    assert json.loads(stored) == [code]
    placement_id = new_placement(scene)
    page = scene.owner_browser.get(f"/team/placements/{placement_id}").get_data(as_text=True)
    assert f'value="{partner_id}"' not in page
    assert send(scene.owner_browser, placement_id, [partner_id]).status_code == 400


def test_an_unknown_municipality_is_refused_with_a_message_and_nothing_saved(app, scene):
    case_url = f"/team/cases/{scene.case_id}"
    refused = scene.owner_browser.post(
        f"{case_url}/identity",
        {"full_name": "Adam Testsson", "municipality": "9999", "adults": "1"},
        form_page=case_url,
    )
    assert refused.status_code == 400
    assert "Choose the municipality from the list." in refused.get_data(as_text=True)
    written = scene.owner_browser.post(
        f"{case_url}/threat",
        {
            "level": "high",
            "by_police": "yes",
            "assessed_on": date.today().isoformat(),
            "areas_to_avoid": ["1280", "Rosengård"],
        },
        form_page=case_url,
    )
    assert written.status_code == 400
    assert "Choose the municipality from the list." in written.get_data(as_text=True)
    # A name is not a code either
    by_name = scene.owner_browser.post(
        f"{case_url}/identity",
        {"municipality": "Malmö", "adults": "1"},
        form_page=case_url,
    )
    assert by_name.status_code == 400
    with app.app_context():
        case = db.session.get(Case, scene.case_id)
        assert case.full_name is None and case.municipality is None
        assert db.session.scalar(sa.select(sa.func.count(ThreatAssessment.id))) == 0


def test_the_selects_work_without_script_and_show_names(app, scene):
    case_url = f"/team/cases/{scene.case_id}"
    saved = scene.owner_browser.post(
        f"{case_url}/identity", {"municipality": "1880", "adults": "1"}, form_page=case_url
    )
    assert saved.status_code == 302
    assert "<dd>Örebro</dd>" in scene.owner_browser.get(case_url).get_data(as_text=True)
    page = scene.owner_browser.get(f"{case_url}/identity").get_data(as_text=True)
    assert '<option value="1880" selected>Örebro</option>' in page
    page = scene.owner_browser.get(f"{case_url}/threat").get_data(as_text=True)
    assert re.search(r'<select [^>]*id="areas_to_avoid" multiple name="areas_to_avoid"', page)
    assert "Hold Ctrl (Cmd on a Mac) to choose more than one." in page
    with app.app_context():
        # Stored as the code, and still encrypted: a code is a location too.
        raw = db.session.execute(
            sa.text("SELECT municipality FROM cases WHERE id = :i"), {"i": _key(scene.case_id)}
        ).scalar_one()
        assert "1880" not in raw and keyring().decrypt(raw) == "1880"


def _key(value):
    # Raw SQL sees the UUID as SQLite stores it (32 hex digits) or as PostgreSQL's uuid.
    return value.hex if db.engine.name == "sqlite" else value


def _raw(table, column, key_column, key, value):
    db.session.execute(
        sa.text(f"UPDATE {table} SET {column} = :v WHERE {key_column} = :k"),
        {"v": value, "k": key},
    )


def test_the_migration_turns_names_into_codes_and_keeps_what_it_cannot_read(app, scene):
    # Given values written by hand before the list: any case, any Unicode form, a district
    partner_id = add_partner(app, "partner-a", "Kalmar")
    legacy_partner = add_partner(app, "partner-b", "Kalmar")
    threat(scene, [])
    with app.app_context():
        ring = keyring()
        key = _key
        case = db.session.get(Case, scene.case_id)
        assessment = db.session.scalars(sa.select(ThreatAssessment)).one()
        nfd_ostersund = unicodedata.normalize("NFD", "ÖSTERSUND")
        _raw("cases", "municipality", "id", key(case.id), ring.encrypt(nfd_ostersund))
        areas = json.dumps(["örebro", "Åre", "åre", "Rosengård", "Lunds kommun"])
        _raw("threat_assessments", "areas_to_avoid", "id", key(assessment.id), ring.encrypt(areas))
        _raw("partner_profiles", "municipality", "organisation_id", key(partner_id), "  växjö ")
        _raw("partner_profiles", "municipality", "organisation_id", key(legacy_partner), "Malmo")
        db.session.commit()
        # When the installation is migrated (down to before the list, and up again)
        downgrade(revision=before("0019_municipality_codes"))
        upgrade()
        db.session.expire_all()
        # Then every recognised name is its code, still encrypted where it was
        case = db.session.get(Case, scene.case_id)
        assert case.municipality == "2380"
        assessment = db.session.scalars(sa.select(ThreatAssessment)).one()
        assert json.loads(assessment.areas_to_avoid) == ["1880", "2321", "Rosengård", "1281"]
        assert db.session.get(PartnerProfile, partner_id).municipality == "0780"
        # and what names no municipality is kept as written, never guessed
        assert db.session.get(PartnerProfile, legacy_partner).municipality == "Malmo"
        raw_case = db.session.execute(
            sa.text("SELECT municipality FROM cases WHERE id = :i"), {"i": key(case.id)}
        ).scalar_one()
        assert "2380" not in raw_case
        # Going down gives names back (the session lets go of its rows first: PostgreSQL
        # would make the migration wait for them)
        db.session.rollback()
        downgrade(revision=before("0019_municipality_codes"))
        db.session.expire_all()
        # (only the column: the model has columns that schema does not)
        municipality = sa.select(Case.municipality).where(Case.id == scene.case_id)
        assert db.session.scalar(municipality) == "Östersund"
        assert db.session.get(PartnerProfile, partner_id).municipality == "Växjö"
        db.session.rollback()
        upgrade()


def test_a_place_the_list_does_not_know_is_never_called_safe(app, scene):
    # Given a partner whose municipality was kept as text by the migration
    partner_id = add_partner(app, "partner-a", "Kalmar")
    with app.app_context():
        db.session.get(PartnerProfile, partner_id).municipality = "Kalmar stad centrum"
        db.session.commit()
    threat(scene, ["Lund"])
    placement_id = new_placement(scene)
    # Then sending to it needs a team lead's override, like any conflict
    assert send(scene.owner_browser, placement_id, [partner_id]).status_code == 409
    page = scene.owner_browser.get(f"/team/placements/{placement_id}").get_data(as_text=True)
    assert "Kalmar stad centrum (not on the list of municipalities: choose it again)" in page

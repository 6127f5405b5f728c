"""Every coded choice has its words beside it, and the words are the ones translators know."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest
from flask import Flask
from flask_babel import force_locale

from app.cases.models import CaseStatus, ProtectionLevel
from app.core.labels import LabelledEnum
from app.rules.models import AgeBand

ROOT = Path(__file__).resolve().parents[2]


def labelled_enums() -> list[type[LabelledEnum]]:
    for path in sorted((ROOT / "app").glob("*/models.py")):
        importlib.import_module(".".join(path.relative_to(ROOT).with_suffix("").parts))
    found: list[type[LabelledEnum]] = []
    pending = list(LabelledEnum.__subclasses__())
    while pending:
        kind = pending.pop()
        found.append(kind)
        pending += kind.__subclasses__()
    return sorted(found, key=lambda kind: kind.__qualname__)


def test_the_models_declare_their_words_beside_their_codes() -> None:
    assert len(labelled_enums()) >= 20


@pytest.mark.parametrize("kind", labelled_enums(), ids=lambda kind: kind.__qualname__)
def test_every_member_has_a_label_and_no_label_names_a_missing_member(
    kind: type[LabelledEnum],
) -> None:
    values = {member.value for member in kind}
    assert set(kind.__labels__) == values
    assert set(kind.__client_labels__) <= values


def test_a_client_reads_their_own_words_where_the_team_has_others(app: Flask) -> None:
    with app.test_request_context(), force_locale("en"):
        assert str(AgeBand.UNKNOWN.label) == "Not known yet"
        assert str(AgeBand.UNKNOWN.client_label) == "I do not know"
        # Where no client words are written, the team's are used.
        assert str(AgeBand.UNDER_15.client_label) == "Under 15"


def test_choices_and_options_keep_the_order_and_the_stored_codes(app: Flask) -> None:
    with app.test_request_context(), force_locale("sv"):
        options = ProtectionLevel.options("sv")
        assert [value for value, _ in options] == [level.value for level in ProtectionLevel]
        assert options[0] == ("none", "Inga")
        # Translated once per language: the same tuple on the next visit.
        assert ProtectionLevel.options("sv") is options
        choices = CaseStatus.choices(without=[CaseStatus.CLOSED])
        assert "closed" not in [value for value, _ in choices]
        assert CaseStatus.label_of("no-such-status") == "–"


# The client's words now live beside their enums, some in modules the client catalogue's
# extraction does not read (babel-client.cfg): this keeps them translated for every client.
CLIENT_ENUMS = [
    "app.rules.models.AgeBand",
    "app.consent.models.Purpose",
    "app.intake.models.RequestKind",
    "app.intake.models.RequestStatus",
    "app.intake.models.Urgency",
]


@pytest.mark.parametrize("language", ["sv", "en", "ar", "fa", "so", "bs", "pl", "ku", "tr", "ti"])
def test_the_words_a_client_reads_are_translated_in_every_public_language(language: str) -> None:
    from tests.i18n.test_catalogues import untranslated

    kinds = {f"{kind.__module__}.{kind.__qualname__}": kind for kind in labelled_enums()}
    read_by_clients = {
        str(label._args[0])
        for name in CLIENT_ENUMS
        for label in kinds[name].labels(client=True).values()
    }
    assert not read_by_clients & untranslated(language)

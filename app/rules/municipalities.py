"""Sweden's municipalities by their official codes (municipalities.toml).

Every place the portal records a municipality (where a person lives, the areas they must
avoid, where a partner is) stores the four-digit code, chosen from this list. Whether a
placement conflicts is then a comparison of codes: no collation, case folding or spelling
decides whether "Örebro" and "örebro" are the same town.
"""

from __future__ import annotations

import re
import tomllib
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from babel.lists import format_list
from flask_babel import gettext as _

from app.core.language import page_locale

MUNICIPALITIES_FILE = Path(__file__).with_name("municipalities.toml")
CODE_PATTERN = re.compile(r"^\d{4}$")
EXPECTED_COUNT = 290


@dataclass(frozen=True)
class Municipality:
    code: str
    name: str

    @property
    def county_code(self) -> str:
        return self.code[:2]


def fold(text: str) -> str:
    """The form two spellings of one name share: NFC, case-folded, single spaces."""
    return " ".join(unicodedata.normalize("NFC", text).casefold().split())


# Swedish alphabetical order: å, ä, ö come after z, in that order; v and w are two letters.
# Spaces and hyphens do not count at the first level ("Upplands-Bro" before "Upplands Väsby").
_SWEDISH_LETTERS = {"å": 1, "ä": 2, "ö": 3}
_LIKE = {"é": "e", "è": "e", "ü": "y", "æ": "ä", "ø": "ö"}


def swedish_sort_key(name: str) -> tuple[tuple[int, ...], str]:
    primary: list[int] = []
    for char in unicodedata.normalize("NFC", name).casefold():
        char = _LIKE.get(char, char)
        if char in _SWEDISH_LETTERS:
            primary.append(ord("z") + _SWEDISH_LETTERS[char])
        elif char.isalnum():
            primary.append(ord(char))
    return tuple(primary), name


def _load(path: Path) -> dict[str, Municipality]:
    """Read and check the list; a damaged file stops the start, not a placement later."""
    with path.open("rb") as handle:
        raw = tomllib.load(handle)
    found: dict[str, Municipality] = {}
    folded: set[str] = set()
    for code, name in raw.items():
        if not CODE_PATTERN.match(code) or not isinstance(name, str) or not name.strip():
            raise ValueError(f"{path.name}: {code!r} is not a municipality code with a name")
        if fold(name) in folded:
            raise ValueError(f"{path.name}: the name {name!r} is there twice")
        folded.add(fold(name))
        found[code] = Municipality(code, name)
    if len(found) != EXPECTED_COUNT:
        raise ValueError(f"{path.name}: {len(found)} municipalities, expected {EXPECTED_COUNT}")
    return found


MUNICIPALITIES: dict[str, Municipality] = _load(MUNICIPALITIES_FILE)
_BY_FOLDED_NAME = {fold(m.name): m.code for m in MUNICIPALITIES.values()}
IN_SWEDISH_ORDER: tuple[Municipality, ...] = tuple(
    sorted(MUNICIPALITIES.values(), key=lambda m: swedish_sort_key(m.name))
)


class UnknownMunicipality(ValueError):
    """A code that is not on the list."""


def is_code(value: str | None) -> bool:
    return value is not None and value in MUNICIPALITIES


def require_code(value: str) -> str:
    """The code itself, or UnknownMunicipality: services never store anything else."""
    if value not in MUNICIPALITIES:
        raise UnknownMunicipality(value)
    return value


def code_for_name(text: str) -> str | None:
    """The code of a name written by hand, or None: only for carrying old free text over.

    Besides the name itself (any case, any Unicode form), the ways people write a
    municipality's own name are recognised: "Lunds kommun", "Malmö stad", "Region Gotland".
    Nothing is guessed beyond that: "Malmo" or a district stays unrecognised.
    """
    folded = fold(text)
    if folded in _BY_FOLDED_NAME:
        return _BY_FOLDED_NAME[folded]
    stem = folded.removeprefix("region ")
    for suffix in (" kommun", " stad"):
        stem = stem.removesuffix(suffix)
    if stem in _BY_FOLDED_NAME:
        return _BY_FOLDED_NAME[stem]
    # "Lunds kommun": the genitive s of a name that does not end in s itself.
    if folded.endswith(" kommun") and stem.endswith("s"):
        return _BY_FOLDED_NAME.get(stem[:-1])
    return None


def choices() -> list[tuple[str, str]]:
    """(code, name) for a select, in Swedish alphabetical order."""
    return [(m.code, m.name) for m in IN_SWEDISH_ORDER]


def plain_name(value: str | None) -> str | None:
    """The name of a code, or text kept from before the list, as it was (for exports)."""
    if value is None:
        return None
    return MUNICIPALITIES[value].name if value in MUNICIPALITIES else value


def display(value: str | None) -> str:
    """What a person reads for a stored value: the name of a code, or the text written before
    the list existed, marked so that someone chooses the municipality again."""
    if not value:
        return "–"
    if value in MUNICIPALITIES:
        return MUNICIPALITIES[value].name
    return str(_("%(text)s (not on the list of municipalities: choose it again)", text=value))


def display_all(values: list[str]) -> str:
    names = [display(v) for v in values]
    return format_list(names, locale=page_locale()) if names else "–"

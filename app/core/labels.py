"""Enums whose members carry their words: the label is written beside the code it names.

    class CaseStatus(LabelledEnum):
        NEW = "new"
        CLOSED = "closed"

        __labels__ = labelled({NEW: _l("New"), CLOSED: _l("Closed")})

Inside the class body a member's name is still its plain value, so the labels are keyed by
value; `labelled(...)` keeps the class constant read-only. Where a client reads other words
than the team for the same code (a purpose of consent, "I do not know" for an unknown age),
`__client_labels__` holds those, and a member without one there falls back to the team's
words. tests/core/test_labels.py checks that every member of every labelled enum has its
label.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import Any, ClassVar, Self

from flask_babel import LazyString

from app.core.language import page_locale

# A label set in one language, per enum, audience and locale: the labels are class
# constants and the catalogues do not change while the application runs, so a list that
# is drawn on every visit (the case list's filter bar, its rows) is translated once.
_NAMES: dict[tuple[type[Any], bool, str], Mapping[Any, str]] = {}
_OPTIONS: dict[tuple[type[Any], bool, str], tuple[tuple[str, str], ...]] = {}


def labelled(labels: Mapping[str, LazyString]) -> Mapping[str, LazyString]:
    """An enum's labels by value, read-only (they are shared by every request)."""
    return MappingProxyType(dict(labels))


class LabelledEnum(enum.StrEnum):
    """A StrEnum whose members each carry a lazily translated label."""

    __labels__: ClassVar[Mapping[str, LazyString]] = MappingProxyType({})
    __client_labels__: ClassVar[Mapping[str, LazyString]] = MappingProxyType({})

    @property
    def label(self) -> LazyString:
        """The team's words for this member, translated when shown."""
        return type(self).__labels__[str(self)]

    @property
    def client_label(self) -> LazyString:
        """The client's words for this member (the team's where none are written)."""
        return type(self).__client_labels__.get(str(self)) or self.label

    def translated(self, *, client: bool = False) -> str:
        """The label in the current language, from the per-language cache.

        The language is looked up on every call, not kept: mail is written under force_locale.
        """
        return type(self).names(str(page_locale()), client=client)[self]

    @classmethod
    def labels(cls, *, client: bool = False) -> dict[Self, LazyString]:
        """Every member with its label, in declaration order."""
        return {m: m.client_label if client else m.label for m in cls}

    @classmethod
    def choices(
        cls, *, client: bool = False, without: Iterable[Self] = ()
    ) -> list[tuple[str, LazyString]]:
        """(value, label) pairs for a WTForms field, translated when the field is drawn."""
        left_out = set(without)
        return [(str(m), m.client_label if client else m.label) for m in cls if m not in left_out]

    @classmethod
    def names(cls, locale: str, *, client: bool = False) -> Mapping[Self, str]:
        """Every member's label in one language, translated once per language."""
        key = (cls, client, locale)
        if key not in _NAMES:
            _NAMES[key] = {m: str(label) for m, label in cls.labels(client=client).items()}
        return _NAMES[key]

    @classmethod
    def options(cls, locale: str, *, client: bool = False) -> tuple[tuple[str, str], ...]:
        """(value, words) in one language, for a list drawn without its widgets."""
        key = (cls, client, locale)
        if key not in _OPTIONS:
            _OPTIONS[key] = tuple(
                (str(m), name) for m, name in cls.names(locale, client=client).items()
            )
        return _OPTIONS[key]

    @classmethod
    def label_of(cls, code: object, *, client: bool = False, default: str = "–") -> str:
        """The label of a stored code, or `default` for a code this enum does not know."""
        try:
            return cls(str(code)).translated(client=client)
        except ValueError:
            return default

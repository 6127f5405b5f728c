"""Digits as people type them, made into the ASCII digits the rest of the code compares.

A Persian phone types ۱۲۳۴۵۶, an Arabic one ١٢٣٤٥٦, a Bengali one ১২৩৪৫৬, a Japanese input
method １２３４５６: all are the code 123456. Every field a person fills with a number
(one-time codes, recovery codes, year of birth, phone) goes through `ascii_digits` first, so
what is checked, compared and stored is one form of the number.
"""

from __future__ import annotations

import re
import unicodedata

# Spaces and dashes people put between groups of digits ("123 456", "123-456"): any
# Unicode space or dash, and the invisible direction marks an RTL keyboard may add.
_SEPARATORS = re.compile(r"[\s\u00ad\u200b-\u200f\u2010-\u2015\u2212\ufe58\ufe63\uff0d-]")


def ascii_digits(text: str) -> str:
    """The text with every decimal digit, of any script, written as 0-9."""
    # NFKC first: full-width and other compatibility forms become their plain letters and
    # digits, and decimal() then maps the digits of every script to their value.
    folded = unicodedata.normalize("NFKC", text)
    return "".join(
        str(unicodedata.decimal(char)) if not char.isascii() and char.isdecimal() else char
        for char in folded
    )


def without_separators(text: str) -> str:
    """The text with its grouping spaces, dashes and direction marks removed."""
    return _SEPARATORS.sub("", text)


def normalise_number(text: str | None) -> str:
    """Digits in ASCII, separators gone: the form a code is checked and compared in."""
    return without_separators(ascii_digits(text or ""))


def code_filter(value: object) -> object:
    """A WTForms filter for code fields: ASCII digits, separators gone, before checking."""
    if isinstance(value, str):
        return normalise_number(value)
    return value


def digits_filter(value: object) -> object:
    """A WTForms filter: a field's text with its digits in ASCII, trimmed, before checking."""
    if isinstance(value, str):
        return ascii_digits(value).strip()
    return value

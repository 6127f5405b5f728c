"""Make the Ethiopic fonts: Noto Sans Ethiopic cut down to the characters the Tigrinya
catalogue uses, as WOFF2, which Tigrinya pages load (a phone without an Ethiopic font shows
boxes); and a second cut with only the letters of Tigrinya's own name, which every page's
language list needs so that a Tigrinya speaker can find their language from any page.

Run it again after the Tigrinya catalogue changes (tests/i18n/test_ethiopic_font.py fails
while a character is missing):

    apt-get install fonts-noto-core    # or: apt-get download fonts-noto-core && dpkg-deb -x …
    .venv/bin/python scripts/subset_ethiopic_font.py \
        /usr/share/fonts/truetype/noto/NotoSansEthiopic-Regular.ttf [pending.json …]

Translations not yet in the catalogue can be added as JSON files ({msgid: {"ti": text}}).
Needs fonttools and brotli (the dev dependencies). The font is under the SIL Open Font
License 1.1 (app/static/fonts/OFL.txt); a subset is a Modified Version, which the licence
allows under the same licence.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from babel.messages.pofile import read_po
from fontTools import subset

ROOT = Path(__file__).resolve().parents[1]
CATALOGUE = ROOT / "app" / "translations" / "ti" / "LC_MESSAGES" / "messages.po"
OUTPUT = ROOT / "app" / "static" / "fonts" / "noto-sans-ethiopic-ti.woff2"
NAME_OUTPUT = ROOT / "app" / "static" / "fonts" / "noto-sans-ethiopic-name.woff2"
ETHIOPIC = range(0x1200, 0x13A0)  # Ethiopic and Ethiopic Supplement
LIMIT_BYTES = 60 * 1024


def tigrinya_characters(pending: list[str]) -> set[str]:
    """Every Ethiopic character in the Tigrinya catalogue (and the pending translations),
    with Ethiopic punctuation."""
    with CATALOGUE.open("rb") as handle:
        catalogue = read_po(handle, locale="ti")
    texts: list[str] = []
    for message in catalogue:
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        texts.extend(text for text in strings if text)
    for path in pending:
        texts.extend(entry.get("ti", "") for entry in json.loads(Path(path).read_text()).values())
    found = {chr(code) for code in range(0x1360, 0x1369)}  # ፠ ፡ ። ፣ ፤ ፥ ፦ ፧ ፨
    return found | {char for text in texts for char in text if ord(char) in ETHIOPIC}


def language_name() -> str:
    sys.path.insert(0, str(ROOT))
    from app.i18n import language_name as name_of

    return name_of("ti")


def cut(source: str, text: str, output: Path) -> int:
    options = subset.Options()
    options.flavor = "woff2"
    options.layout_features = ["*"]
    options.name_IDs = ["*"]  # keep the copyright and licence records
    options.notdef_outline = True
    font = subset.load_font(source, options)
    subsetter = subset.Subsetter(options)
    subsetter.populate(text=text)
    subsetter.subset(font)
    output.parent.mkdir(parents=True, exist_ok=True)
    subset.save_font(font, str(output), options)
    return output.stat().st_size


def main(source: str, pending: list[str]) -> None:
    characters = tigrinya_characters(pending)
    # Space and basic punctuation too: shaping runs through them between Ethiopic words.
    size = cut(source, "".join(sorted(characters)) + " .,:;!?()-–«»\"'", OUTPUT)
    print(f"{OUTPUT.relative_to(ROOT)}: {len(characters)} characters, {size} bytes")
    if size > LIMIT_BYTES:
        raise SystemExit(f"over the {LIMIT_BYTES}-byte budget")
    name = language_name()
    size = cut(source, name, NAME_OUTPUT)
    print(f"{NAME_OUTPUT.relative_to(ROOT)}: {name}, {size} bytes")


if __name__ == "__main__":
    if len(sys.argv) < 2:
        raise SystemExit(__doc__)
    main(sys.argv[1], sys.argv[2:])

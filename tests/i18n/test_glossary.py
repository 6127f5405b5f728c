"""The catalogues follow app/translations/GLOSSARY.md: the words that keep people safe.

"Code word" must never read as "password" (someone would type their password where staff
read it), and "log out" and "leave this page quickly" must never share a verb (someone in a
hurry must not have to read twice)."""

import re
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
GLOSSARY = ROOT / "app" / "translations" / "GLOSSARY.md"
LANGUAGES = ["sv", "en", "ar", "fa", "so", "bs", "pl", "ku", "tr", "ti"]
BUTTON = re.compile(r"<button[^>]*>\s*\{\{ _\(\"([^\"]+)\"\) \}\}\s*</button>")
CLIENT_TEMPLATES = [
    "base.html",
    "_forms.html",
    "_thread.html",
    "public",
    "intake",
    "auth",
    "account",
    "errors",
    "consent",
    "feedback",
]


def tables(markdown):
    """Every Markdown table in the text, as lists of rows of cells (header row first)."""
    found, current = [], []
    for line in markdown.splitlines():
        if line.startswith("|"):
            cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
            if not all(re.fullmatch(r":?-+:?", cell) for cell in cells):
                current.append(cells)
        elif current:
            found.append(current)
            current = []
    if current:
        found.append(current)
    return found


def glossary():
    """{term: {"msgid": ..., language: text}} and {language: words never in the code word}."""
    terms_table, never_table = (
        t for t in tables(GLOSSARY.read_text()) if t[0][0] in ("term", "sv")
    )
    header = terms_table[0]
    terms = {row[0]: dict(zip(header[1:], row[1:], strict=True)) for row in terms_table[1:]}
    never = dict(zip(never_table[0], never_table[1], strict=True))
    return terms, never


TERMS, NEVER_IN_CODE_WORD = glossary()


def catalogue(language):
    path = ROOT / "app" / "translations" / language / "LC_MESSAGES" / "messages.po"
    with path.open("rb") as handle:
        return read_po(handle, locale=language)


def translations(language):
    """{msgid: msgstr} of one language (the first form of a plural)."""
    found = {}
    for message in catalogue(language):
        if not message.id:
            continue
        msgid = message.id if isinstance(message.id, str) else message.id[0]
        text = message.string if isinstance(message.string, str) else message.string[0]
        found[msgid] = text
    return found


@pytest.fixture(scope="module", params=LANGUAGES)
def language(request):
    return request.param


@pytest.fixture(scope="module")
def strings(language):
    return translations(language)


def words(text):
    return [w for w in re.findall(r"\w+", text.casefold()) if len(w) >= 3]


def test_the_glossary_covers_every_language_and_term():
    assert set(TERMS) >= {"code word", "password", "quick exit", "log out", "caseworker"}
    assert {"consent"} <= set(TERMS)
    for term in TERMS.values():
        assert all(term[lang] for lang in LANGUAGES)
    assert set(NEVER_IN_CODE_WORD) == set(LANGUAGES)


@pytest.mark.parametrize("term", sorted(TERMS))
def test_the_catalogue_says_what_the_glossary_decided(language, strings, term):
    entry = TERMS[term]
    assert strings.get(entry["msgid"]) == entry[language], (language, term)


def test_code_word_and_password_are_different_words(language, strings):
    code_word = strings[TERMS["code word"]["msgid"]].casefold()
    password = strings[TERMS["password"]["msgid"]].casefold()
    assert code_word and password and code_word != password
    assert password not in code_word and code_word not in password


def test_nothing_about_the_code_word_says_password(language, strings):
    """Every string about the code word (label, question, hint) in every language."""
    forbidden = NEVER_IN_CODE_WORD[language].casefold()
    about_code_word = {m: s for m, s in strings.items() if "code word" in m.casefold()}
    assert about_code_word
    for msgid, text in about_code_word.items():
        assert forbidden not in text.casefold(), (language, msgid, text)


def test_log_out_and_quick_exit_share_no_word(language, strings):
    """Not even the stem: Turkish "Çıkış yap" and "hemen çık" are the same verb."""
    log_out = words(strings[TERMS["log out"]["msgid"]])
    quick_exit = words(strings[TERMS["quick exit"]["msgid"]])
    assert log_out and quick_exit
    shared = {a for a in log_out for b in quick_exit if a[:3] == b[:3]}
    assert not shared, (language, shared)


def test_every_log_out_button_uses_the_log_out_words(language, strings):
    """ "Log out everywhere" and "Cancel and log out" say log out the way the glossary does,
    never with the quick exit's verb."""
    quick_stems = {w[:3] for w in words(strings[TERMS["quick exit"]["msgid"]])}
    for msgid in ("Log out everywhere", "Cancel and log out"):
        text = strings[msgid]
        assert not quick_stems & {w[:3] for w in words(text)}, (language, msgid, text)


def button_msgids():
    """The msgids on the buttons of every page a client sees."""
    found = set()
    for name in CLIENT_TEMPLATES:
        path = ROOT / "app" / "templates" / name
        for template in [path] if path.is_file() else path.rglob("*.html"):
            found |= set(BUTTON.findall(template.read_text()))
    return found


def test_turkish_buttons_address_the_reader_formally():
    """Turkish uses "siz" everywhere: a button says "Gönderin", never "Gönder"; an answer
    in the person's own voice ends in the first person ("kabul ediyorum")."""
    turkish = translations("tr")
    buttons = button_msgids()
    assert "Log in" in buttons and "Send my request" in buttons
    informal = {
        msgid: turkish[msgid]
        for msgid in buttons
        if turkish.get(msgid)
        and not re.search(r"(ın|in|un|ün|ım|im|um|üm|lim|lım)$", turkish[msgid].rstrip(".!"))
    }
    assert not informal

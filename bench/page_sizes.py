"""Print the weight (HTML + CSS + script, uncompressed) of every public and client page,
and of the Ethiopic font that Tigrinya pages load on top.

Usage: .venv/bin/python bench/page_sizes.py   (uses a throwaway SQLite database)
"""

from __future__ import annotations

import re
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pyotp
import sqlalchemy as sa
from flask_migrate import upgrade

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app import create_app
from app.extensions import db
from app.intake.models import ClientRequest
from app.orgs.models import OrgKind
from app.orgs.services import create_organisation
from config import Settings, new_fernet_key

LANGUAGES = ("sv", "en", "ar", "fa", "so", "bs", "pl", "ku", "tr", "ti")
PASSWORD = "lugna-tallar-vid-havet"
CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')
LIMIT_KB = 30
FONT_LIMIT_KB = 60


@dataclass(frozen=True)
class PageSizes:
    assets_bytes: int
    # What a Tigrinya page loads besides (its stylesheet and font); no other page loads it.
    ethiopic_font_bytes: int
    # page -> KB per language, in the order of LANGUAGES (HTML + CSS + script)
    pages: dict[str, list[float]]

    @property
    def largest(self) -> tuple[str, str, float]:
        """The heaviest page: (page, language, KB)."""
        return max(
            (
                (page, code, size)
                for page, sizes in self.pages.items()
                for code, size in zip(LANGUAGES, sizes, strict=True)
            ),
            key=lambda item: item[2],
        )


def measure() -> PageSizes:
    tmp = Path(tempfile.mkdtemp())
    settings = Settings(
        mode="testing",
        secret_key="bench",
        database_url=f"sqlite:///{tmp / 'bench.sqlite3'}",
        field_encryption_keys=(new_fernet_key(),),
        blind_index_key="b",
        audit_key="a",
        instance_path=tmp,
        secure_cookies=False,
        password_hash_profile="fast-for-tests",
        ratelimit_enabled=False,
    )
    app = create_app(settings)
    with app.app_context():
        upgrade()
        create_organisation("team", "Team", OrgKind.EXIT_TEAM)
        db.session.commit()
    client = app.test_client()

    def post(url: str, data: dict[str, object]) -> object:
        token = CSRF.search(client.get(url).get_data(as_text=True)).group(1)  # type: ignore[union-attr]
        return client.post(url, data={"csrf_token": token, **data})

    post("/my/register", {"password": PASSWORD, "confirm_password": PASSWORD})
    key = client.get("/login/enrol").get_data(as_text=True).split("<code>")[1].split("<")[0]
    post("/login/enrol", {"code": pyotp.TOTP(key.replace(" ", "")).now()})
    post("/my/request/kind", {"kind": "relative"})
    post("/my/request/person", {"relationship": "parent", "age_band": "15_17"})
    post("/my/request/help", {"help_wanted": ["advice"], "urgency": "soon"})
    post(
        "/my/request/contact",
        {"voicemail_ok": "no", "sms_ok": "no", "interpreter": "no", "contact_language": "sv"},
    )
    post("/my/request/identity", {})
    post("/my/request/story", {"account_text": "x"})
    post("/my/request/review", {})
    with app.app_context():
        request_id = db.session.scalars(sa.select(ClientRequest.id)).one()
    post("/my/request/kind", {"kind": "relative"})
    public_pages = ["/", "/privacy", "/accessibility", "/login", "/my/register"]
    client_pages = [
        "/my/",
        "/my/request/kind",
        "/my/request/person",
        "/my/request/help",
        "/my/request/contact",
        "/my/request/story",
        "/my/request/review",
        f"/my/requests/{request_id}",
        "/my/data",
    ]
    anonymous = app.test_client()
    assets = sum(
        len(client.get(p).get_data()) for p in ("/static/css/app.css", "/static/js/quick-exit.js")
    )
    font_css = client.get("/static/css/ethiopic.css").get_data(as_text=True)
    font_file = re.search(r'url\("\.\./fonts/([^"]+)"\)', font_css).group(1)  # type: ignore[union-attr]
    ethiopic = len(font_css.encode()) + len(client.get(f"/static/fonts/{font_file}").get_data())
    pages = {}
    for page in public_pages + client_pages:
        browser = anonymous if page in public_pages else client
        sizes = []
        for code in LANGUAGES:
            browser.get(f"/?lang={code}")
            sizes.append((len(browser.get(page).get_data()) + assets) / 1024)
        label = page if "/requests/" not in page else "/my/requests/<id>"
        pages[label] = sizes
    return PageSizes(assets, ethiopic, pages)


def print_table(sizes: PageSizes) -> None:
    print(f"CSS + script: {sizes.assets_bytes} bytes (the same on every page)")
    print(
        f"Ethiopic font + its stylesheet: {sizes.ethiopic_font_bytes} bytes, Tigrinya pages only"
        f" (limit {FONT_LIMIT_KB} KB; not counted in the table)"
    )
    print(
        f"{'page':32}"
        + "".join(f"{code:>7}" for code in LANGUAGES)
        + f"   (KB, HTML + CSS + script; limit {LIMIT_KB})"
    )
    for label, row in sizes.pages.items():
        print(f"{label:32}" + "".join(f"{size:7.1f}" for size in row))


def main() -> None:
    print_table(measure())


if __name__ == "__main__":
    main()

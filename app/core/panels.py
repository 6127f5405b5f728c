"""The composed case file, reached from the features' panels without importing it.

The case file (app/workspace) stands above the features and puts their panels together.
Each panel's POST route belongs to its feature; a refused form must show the page of the part
that draws it again, with its errors and what was typed. The route asks for that page here,
and the workspace installs it when the application is made: the features never import the
pages that import them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from flask import current_app, redirect, url_for
from flask.sansio.app import App
from werkzeug.wrappers import Response

EXTENSION = "case_file"


class HasId(Protocol):
    @property
    def id(self) -> Any: ...


@dataclass(frozen=True)
class CaseFile:
    """The installed page: how to draw it (with some panels' forms given) and its endpoint."""

    render: Callable[..., Any]
    endpoint: str


def install_case_file(app: App, render: Callable[..., Any], endpoint: str) -> None:
    app.extensions[EXTENSION] = CaseFile(render, endpoint)


def _installed() -> CaseFile:
    installed: CaseFile = current_app.extensions[EXTENSION]
    return installed


def case_file(case: HasId, status: int = 200, **forms: Any) -> Any:
    """The page of the part that draws the named form, with it in place of the blank one."""
    return _installed().render(case, status, **forms)


def case_file_url(case: HasId, anchor: str = "") -> str:
    return url_for(_installed().endpoint, case_id=case.id) + anchor


def back_to_case_file(case: HasId, anchor: str = "") -> Response:
    """After a saved form: the case file's overview, at its part (post/redirect/get)."""
    return redirect(case_file_url(case, anchor))

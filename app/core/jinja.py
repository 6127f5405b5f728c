"""The templates' environment: Flask's, with each template's globals in one plain dict."""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import Any

from flask.templating import Environment


class TemplateEnvironment(Environment):
    """Every `{% from "…" import … %}` compares the importing page's globals with the
    imported template's. Jinja keeps a template's globals as a ChainMap over the
    environment's, and that comparison looks each of the sixty-odd helpers up in it: about
    80 µs an import, on a case page with eighteen of them. One dict per template makes it a
    set operation in C. The helpers are all registered when the application is made, before
    any template is loaded (app/templating.py), so a template's copy holds them all."""

    def make_globals(self, d: MutableMapping[str, Any] | None) -> MutableMapping[str, Any]:
        return {**self.globals, **(d or {})}

"""Reading a rendered report back: figure JSON blocks and visible notes."""

from __future__ import annotations

import json
import re
from typing import Any

_FIGURE = re.compile(r'<script type="application/json" data-figure-json="(?P<id>[^"]+)">(?P<json>.*?)</script>', re.S)
_NOTE = re.compile(r"<div class=\"note missing\" data-missing>(?P<text>.*?)</div>", re.S)


def figures(html: str) -> dict[str, dict[str, Any]]:
    """Every figure of the page by id, as the plotly JSON the browser draws."""
    return {m["id"]: json.loads(m["json"]) for m in _FIGURE.finditer(html)}


def missing_notes(html: str) -> list[str]:
    """The "not available: ..." notes shown in the page (HTML-unescaped)."""
    import html as html_lib

    return [html_lib.unescape(m["text"]).strip() for m in _NOTE.finditer(html)]

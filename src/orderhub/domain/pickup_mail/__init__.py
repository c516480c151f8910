"""The customer e-mails of pickup in store (ready, reminder, cancelled), one data file per language.

Each ``<language>.json`` holds a subject and a body per kind, with ``$name`` placeholders (string.Template:
nothing in a value is ever interpreted). The text part is the template filled in; the HTML part escapes every
value and the template's own text, so a customer named ``<script>`` or ``Zoë 😀`` reads as written.
"""

from __future__ import annotations

import functools
import html
import json
from dataclasses import dataclass
from pathlib import Path
from string import Template
from typing import Final

KINDS: Final = ("ready", "reminder", "cancelled")
DEFAULT_LANGUAGE: Final = "en"
# A store's language when the customer's is not known: by the store's country.
_COUNTRY_LANGUAGE: Final = {"FR": "fr", "BE": "fr", "LU": "fr", "MC": "fr", "DE": "de", "AT": "de", "CH": "de",
                            "LI": "de", "ES": "es", "MX": "es", "AR": "es", "CO": "es", "CL": "es", "PE": "es",
                            "JP": "ja"}
_DIR = Path(__file__).parent


@dataclass(frozen=True)
class Mail:
    subject: str
    text: str
    html: str


@functools.cache
def languages() -> tuple[str, ...]:
    return tuple(sorted(p.stem for p in _DIR.glob("*.json")))


@functools.cache
def _templates(language: str) -> dict[str, object]:
    data: dict[str, object] = json.loads((_DIR / f"{language}.json").read_text(encoding="utf-8"))
    return data


def language_for(customer_locale: str | None, store_country: str | None) -> str:
    """The customer's language if there is a template for it ("fr-CA" → fr), else the store's, else English."""
    for candidate in ((customer_locale or "").replace("_", "-").split("-")[0].strip().lower(),
                      _COUNTRY_LANGUAGE.get((store_country or "").upper(), "")):
        if candidate in languages():
            return candidate
    return DEFAULT_LANGUAGE


def render(kind: str, language: str, *, customer: str | None, order: str, store: str, address: str,
           collect_by: str, code: str | None = None) -> Mail:
    if kind not in KINDS:
        raise ValueError(f"no pickup e-mail of kind {kind!r}; kinds: {', '.join(KINDS)}")
    t = _templates(language if language in languages() else DEFAULT_LANGUAGE)
    part = t[kind]
    assert isinstance(part, dict)
    values = {"customer": customer or "", "order": order, "store": store, "address": address or store,
              "collect_by": collect_by, "code": code or ""}
    greeting = str(t["greeting"] if customer else t["greeting_anonymous"])
    subject = Template(part["subject"]).safe_substitute(values)
    paragraphs = [greeting, *str(part["body"]).split("\n\n"), str(t["signature"])]
    text = "\n\n".join(Template(p).safe_substitute(values) for p in paragraphs) + "\n"
    escaped = {k: html.escape(v, quote=True) for k, v in values.items()}
    if code:  # the code stands out, and is easy to read out
        escaped["code"] = f'<strong style="font-size:1.4em;letter-spacing:0.15em">{escaped["code"]}</strong>'
    body = "".join("<p>" + Template(html.escape(p, quote=True)).safe_substitute(escaped).replace("\n", "<br>")
                   + "</p>" for p in paragraphs)
    return Mail(subject=" ".join(subject.split()),  # a header never carries a line break
                text=text,
                html=f'<!DOCTYPE html><html lang="{language}"><head><meta charset="utf-8"></head><body>{body}'
                     "</body></html>")

"""The channels orderhub speaks, by kind: each one's translator (domain/channels.py), loaded when first asked.

A new channel is a new adapter package that provides a translator and a line here; the processor,
the error log, placement and the outbox do not change.
"""

from __future__ import annotations

import importlib

from orderhub.domain.channels import Translator

# kind -> the module whose TRANSLATOR reads that channel's inbox records
_MODULES = {
    "shopify": "orderhub.adapters.shopify.channel",
}
KINDS = tuple(_MODULES)
_loaded: dict[str, Translator] = {}


def translator(kind: str) -> Translator:
    found = _loaded.get(kind)
    if found is None:
        try:
            module = _MODULES[kind]
        except KeyError:
            raise LookupError(f"no channel of kind {kind!r}; orderhub knows {', '.join(KINDS)}") from None
        found = _loaded[kind] = importlib.import_module(module).TRANSLATOR
    return found

"""The channel an order was sold through, as orderhub names it (``orders.channel``).

Reports, per-channel stock and routing rules (a rule's ``channels``) tell orders apart by this code:

- ``pos``: sold at a store's POS (the POS invoiced it: it is never invoiced again);
- ``online``: the online store, the shop's apps, draft orders, and any sale nothing more is known of;
- ``amazon``, ``walmart``, ``tiktok``: a marketplace's own orders take their account's kind;
- ``instagram``, ``facebook``, ``tiktok``: social channels that sell through the merchant's Shopify
  checkout, recognised by the channel or app Shopify names;
- any code an operator gives one of a shop's own source names (``orderhub shop source-channel``).

Pure: the Shopify translator and the processor decide with these rules, nothing here reads a store.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

POS = "pos"
ONLINE = "online"
# Named by a channel definition or an app: the first one a name mentions is the channel.
SOCIAL = ("instagram", "facebook", "tiktok")
# Shopify's own sources (protected: no app can set them); every other source name is an app's id or one of
# its handles, a key of the shop's own that only the operator can name.
SHOPIFY_ONLINE_SOURCES = frozenset({"web", "iphone", "android", "shopify_draft_order"})
MARKETPLACES = ("amazon", "walmart", "tiktok")
BUILT_IN = (ONLINE, POS, *SOCIAL, "amazon", "walmart")

CODE = re.compile(r"[a-z0-9][a-z0-9_-]{0,31}")  # orders.channel holds 32 characters
SOURCE_MAX = 64  # the longest source name the Shopify translator keeps

_SOCIAL_NAME = re.compile(r"(?<![a-z0-9])(" + "|".join(SOCIAL) + r")(?![a-z0-9])")


@dataclass(frozen=True)
class ChannelInformation:
    """Shopify's word on where an order was sold (GraphQL ``Order.channelInformation``): the app that manages
    the sales channel and, when the app defines them, the channel and its sub-channel (e.g. channel
    "Facebook & Instagram", sub-channel "Instagram Shopping"). Webhook bodies do not carry it; orders read
    through the Admin API do."""

    app_title: str | None = None
    handle: str | None = None
    channel_name: str | None = None
    sub_channel_name: str | None = None

    def describe(self) -> str:
        """As a person reads it: ``Facebook & Instagram · Instagram Shopping``."""
        parts = [p for p in (self.channel_name or self.app_title, self.sub_channel_name) if p]
        return " · ".join(dict.fromkeys(parts)) or self.handle or ""


def social_named(text: str | None) -> str | None:
    """The social channel ``text`` names first (``Facebook & Instagram`` is facebook), or None."""
    found = _SOCIAL_NAME.search((text or "").lower())
    return found.group(1) if found else None


def classify(source_name: str | None, info: ChannelInformation | None = None) -> str:
    """The built-in channel of a Shopify order: the most specific thing Shopify names (sub-channel, channel,
    its handle, then the app) when it names Instagram, Facebook or TikTok; else ``pos`` for a POS sale and
    ``online`` for everything else (Shopify's own online sources and any source name not mapped)."""
    if info is not None:
        for text in (info.sub_channel_name, info.channel_name, info.handle, info.app_title):
            found = social_named(text)
            if found:
                return found
    return POS if (source_name or "").strip().lower() == POS else ONLINE


def is_guess(channel: str, source_name: str | None, info: ChannelInformation | None) -> bool:
    """True when ``channel`` says only that nothing more is known: ``online`` for a source name that is
    not Shopify's own, with no channel information. A newer version of a stored order that is a guess
    keeps the channel stored (a webhook after an Admin API read, which named the sub-channel)."""
    return (channel == ONLINE and info is None
            and (source_name or "").strip().lower() not in SHOPIFY_ONLINE_SOURCES)


def mapped(source_name: str | None, mapping: Mapping[str, str]) -> str | None:
    """The channel the shop's operator gave this source name (exactly as Shopify sends it), or None."""
    if not source_name or not mapping:
        return None
    return mapping.get(source_name.strip())


def check_code(code: str) -> str:
    """A channel code as orderhub stores it; a ValueError that says what is allowed otherwise."""
    value = (code or "").strip().lower()
    if not CODE.fullmatch(value):
        raise ValueError(f"{code!r} is not a channel code: use 1 to 32 lower-case letters, digits, '-' or '_', "
                         f"starting with a letter or digit (e.g. {', '.join(BUILT_IN)})")
    return value


def check_source(source_name: str) -> str:
    """A source name as Shopify sends it (kept as given: Shopify's handles are case-sensitive)."""
    value = (source_name or "").strip()
    if not value or len(value) > SOURCE_MAX or any(c.isspace() for c in value):
        raise ValueError(f"{source_name!r} is not a source name: give it as Shopify sends it in an order's "
                         f"source_name (1 to {SOURCE_MAX} characters, no spaces), e.g. the sales channel app's id")
    return value

"""The channels orderhub speaks, by kind: each one's translator (domain/channels.py), loaded when first asked,
and what an account of each kind is set up with.

A new channel is a new adapter package that provides a translator and a line here; the processor,
the error log, placement and the outbox do not change.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from orderhub.adapters.outbound import OutboundPolicy
from orderhub.domain.channels import OrderChannel, StockChannel, StockReader, Translator

# kind -> the module whose TRANSLATOR reads that channel's inbox records
_MODULES = {
    "shopify": "orderhub.adapters.shopify.channel",
    "walmart": "orderhub.adapters.walmart.channel",
    "tiktok": "orderhub.adapters.tiktok.channel",
    "amazon": "orderhub.adapters.amazon.channel",
    "pos": "orderhub.adapters.pos.channel",
}
KINDS = tuple(_MODULES)
TITLES = {"shopify": "Shopify", "amazon": "Amazon", "walmart": "Walmart", "tiktok": "TikTok Shop", "pos": "Store POS"}
_loaded: dict[str, Translator] = {}


def _module(kind: str) -> ModuleType:
    try:
        return importlib.import_module(_MODULES[kind])
    except KeyError:
        raise LookupError(f"no channel of kind {kind!r}; orderhub knows {', '.join(KINDS)}") from None


def order_channel(kind: str) -> Callable[..., OrderChannel] | None:
    """The kind's ``order_channel(account, hub)`` factory, or None when orderhub sends the kind no operations
    this way."""
    return getattr(_module(kind), "order_channel", None) if kind in _MODULES else None


# What channel operations send (adapters/store/channel_operations.py): a shipment, a cancellation, a refund.
OPERATIONS = frozenset({"ship", "cancel", "refund"})


def order_operations(kind: str) -> frozenset[str]:
    """The operations the kind takes through channel operations: those its module's ``OPERATIONS`` names beside
    its ``order_channel`` (Shopify: refunds only; its fulfilments and cancellations have jobs of their own), every
    one when it names none, none without an order channel."""
    if order_channel(kind) is None:
        return frozenset()
    return frozenset(getattr(_module(kind), "OPERATIONS", OPERATIONS)) & OPERATIONS


def consent_purposes(kind: str) -> frozenset[str]:
    """The marketing-consent purposes the kind's channel holds per customer (its module's ``CONSENT_PURPOSES``;
    Shopify: e-mail and SMS marketing), which orderhub keeps in step; none for a kind that holds none, so no
    preference is ever sent to a channel that does not keep it."""
    return frozenset(getattr(_module(kind), "CONSENT_PURPOSES", ())) if kind in _MODULES else frozenset()


def customer_channel(kind: str) -> Callable[..., Any] | None:
    """The kind's ``customer_channel(account, hub)`` factory (a :class:`~orderhub.domain.channels.CustomerChannel`:
    consent updates, erasure requests), or None when the kind has no API for its customers."""
    return getattr(_module(kind), "customer_channel", None) if kind in _MODULES else None


def stock_channel(kind: str) -> Callable[..., StockChannel] | None:
    """The kind's ``stock_channel(account, hub)`` factory, or None."""
    return getattr(_module(kind), "stock_channel", None) if kind in _MODULES else None


def stock_reader(kind: str) -> Callable[..., StockReader] | None:
    """The kind's ``stock_reader(account, hub)`` factory: what the channel shows per listing (the drift check;
    a reader that also has ``read_listings`` serves the listings sync), or None when orderhub cannot read it."""
    return getattr(_module(kind), "stock_reader", None) if kind in _MODULES else None


def translator(kind: str) -> Translator:
    found = _loaded.get(kind)
    if found is None:
        found = _loaded[kind] = _module(kind).TRANSLATOR
    return found


# -- accounts --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class AccountField:
    """One thing an account of a kind is set up with: a setting, or a secret (encrypted, never shown)."""

    name: str
    help: str
    secret: bool = False
    default: str | None = None  # the real service; tests and the demo point elsewhere
    choices: tuple[str, ...] = ()  # the values it may take (any, when empty)

    @property
    def required(self) -> bool:
        return self.default is None


# What `orderhub channel add KIND NAME` asks for, per kind of channel (Shopify shops: `orderhub shop add`).
ACCOUNT_FIELDS: dict[str, tuple[AccountField, ...]] = {
    "amazon": (
        AccountField("marketplace_id", "Amazon marketplace id, e.g. ATVPDKIKX0DER (amazon.com), A1PA6795UKMFR9 "
                                       "(amazon.de)."),
        AccountField("seller_id", "Selling partner id (merchant token), for the Listings API."),
        AccountField("client_id", "Login with Amazon client id of the SP-API app."),
        AccountField("client_secret", "Login with Amazon client secret of the SP-API app.", secret=True),
        AccountField("refresh_token", "Refresh token the seller granted the app.", secret=True),
        AccountField("endpoint", "Selling Partner API endpoint of the marketplace's region.",
                     default="https://sellingpartnerapi-na.amazon.com"),
        AccountField("lwa_endpoint", "Login with Amazon token endpoint.", default="https://api.amazon.com/auth/o2/token"),
    ),
    "walmart": (
        AccountField("client_id", "Client id of the seller's Marketplace API key."),
        AccountField("client_secret", "Client secret of that key.", secret=True),
        AccountField("endpoint", "Walmart Marketplace API endpoint.", default="https://marketplace.walmartapis.com"),
    ),
    "tiktok": (
        AccountField("app_key", "App key of the TikTok Shop app."),
        AccountField("app_secret", "App secret: signs requests, verifies webhooks.", secret=True),
        AccountField("access_token", "Access token the shop granted the app.", secret=True),
        AccountField("shop_cipher", "The shop's cipher (from the authorized shops list)."),
        AccountField("endpoint", "TikTok Shop Partner API endpoint.", default="https://open-api.tiktokglobalshop.com"),
        AccountField("cancellation_rule", "How buyers' cancellation requests are answered: approve-unpicked "
                                          "(approve while nothing of the order is picked, else reject) or manual "
                                          "(a person decides).", default="approve-unpicked",
                     choices=("approve-unpicked", "manual")),
    ),
}


def account_values(kind: str, given: dict[str, str | None]) -> tuple[dict[str, str], dict[str, str]]:
    """An account's settings and secrets from what a person gave: defaults filled in, every required one
    present, nothing unknown, and its endpoints ones orderhub may call (the outbound policy). Raises
    ValueError naming the problem."""
    try:
        fields = ACCOUNT_FIELDS[kind]
    except KeyError:
        raise ValueError(f"no channel kind {kind!r}; accounts are of kind {', '.join(ACCOUNT_FIELDS)} "
                         "(Shopify shops: orderhub shop add)") from None
    unknown = sorted(set(given) - {f.name for f in fields})
    if unknown:
        raise ValueError(f"a {kind} account has no {', '.join(unknown)}; it takes "
                         f"{', '.join(f.name for f in fields)}")
    values = {f.name: (given.get(f.name) or f.default or "").strip() for f in fields}
    missing = [f.name for f in fields if not values[f.name]]
    if missing:
        raise ValueError(f"a {kind} account needs {', '.join(missing)}")
    for f in fields:
        if f.choices and values[f.name] not in f.choices:
            raise ValueError(f"{f.name} of a {kind} account is one of {', '.join(f.choices)}, not "
                             f"{values[f.name][:40]!r}")
    policy = OutboundPolicy.from_env()
    for f in fields:
        if f.name.endswith("endpoint"):
            policy.check(values[f.name])
    return ({f.name: values[f.name] for f in fields if not f.secret},
            {f.name: values[f.name] for f in fields if f.secret})

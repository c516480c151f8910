"""The Admin API client of a shop orderhub holds as a channel account, for the channel operations orderhub sends
it (refunds, consent, erasure): its access token and API version read from the hub's database."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from orderhub.adapters.shopify import graphql
from orderhub.adapters.store import shops
from orderhub.adapters.store.accounts import Account
from orderhub.adapters.store.secrets import SecretKeyError
from orderhub.domain.channels import ChannelRefused

if TYPE_CHECKING:
    from orderhub.bootstrap import Hub


def for_account(account: Account, hub: Hub | None, **options: Any) -> tuple[graphql.AdminClient, shops.Shop]:
    """The shop's client (``options`` as AdminClient takes them) and the shop. Raises ChannelRefused saying what a
    person must set."""
    if hub is None:
        raise ChannelRefused(f"Shopify shop {account.name}: its access token is read from orderhub's database")
    try:
        with hub.db.read() as conn:
            shop = shops.by_id(conn, account.id)
        if shop is None:
            raise ChannelRefused(f"no Shopify shop {account.name}; `orderhub shop list` shows them")
        return graphql.for_shop(shop, **options), shop
    except (SecretKeyError, ValueError) as exc:
        raise ChannelRefused(f"Shopify shop {account.name}: {exc}") from None

"""Orders take the channel the shop's operator gave their source name (adapters/store/source_channels.py).

The processor reads every inbox record with :func:`translator_for`: the account's own translator, whose
orders are given the mapped channel when their source name is mapped. An operator's mapping wins over the
built-in recognition (domain/sales_channels.py), so a code set for a key always applies.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from orderhub.adapters import channels
from orderhub.adapters.store import shops as shop_store
from orderhub.adapters.store import source_channels
from orderhub.domain.channels import Inbound, Translator
from orderhub.domain.model import Order
from orderhub.domain.sales_channels import mapped


def with_mapping(order: Order, mapping: Mapping[str, str]) -> Order:
    """The order with the channel its source name is mapped to (the order itself when it is not mapped)."""
    channel = mapped(order.source_name, mapping)
    return order if channel is None or channel == order.channel else dataclasses.replace(order, channel=channel)


@dataclasses.dataclass(frozen=True)
class MappedTranslator:
    """A channel's translator whose orders take the account's mapping of source names."""

    inner: Translator
    mapping: Mapping[str, str]

    @property
    def kind(self) -> str:
        return self.inner.kind

    def translate(self, topic: str, payload: Any, notified_at: datetime) -> Inbound:
        record = self.inner.translate(topic, payload, notified_at)
        return with_mapping(record, self.mapping) if isinstance(record, Order) else record

    def describe(self, topic: str, payload: Any) -> str | None:
        return self.inner.describe(topic, payload)


def translator_for(conn: Connection, account_id: int) -> Translator:
    """The translator of the account's kind, with the account's mapping when it has one."""
    inner = channels.translator(shop_store.kind_of(conn, account_id))
    mapping = source_channels.of_account(conn, account_id)
    return MappedTranslator(inner, mapping) if mapping else inner

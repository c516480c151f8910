"""A store's POS as a channel (see domain/channels.py): each sale a terminal syncs is one inbox record of the
store's POS account, under the topic ``pos/sale`` and the identity ``sale:<the device's sale id>``, so a sale
sent again - by the same device or another, in any order, hours later - is one record and counts once.

The record holds the sale as the device sent it, beside what orderhub knows of the device (its id, name and
store, from its credential) and when the sale arrived: a sale is read for the store its device is enrolled in.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

import orjson

from orderhub.domain.channels import Inbound, UnknownTopic
from orderhub.domain.errors import InvalidRecord
from orderhub.domain.store_sales import read_sale

KIND = "pos"
SALE_TOPIC = "pos/sale"
TOPICS = (SALE_TOPIC,)
ACCOUNT_PREFIX = "pos-"


def account_name(store_code: str) -> str:
    """The name of the POS account that records a store's sales."""
    return ACCOUNT_PREFIX + store_code.strip().lower()


def identity(sale: Any) -> str:
    """The inbox identity of a sale: its id; a sale without a usable id is known by its digest (stored all the
    same, so the error log shows it, and a device that sends it again does not store it twice)."""
    sale_id = sale.get("id") if isinstance(sale, dict) else None
    if isinstance(sale_id, str | int) and not isinstance(sale_id, bool) and 0 < len(str(sale_id).strip()) <= 100:
        return f"sale:{str(sale_id).strip()}"
    return "body:" + hashlib.sha256(orjson.dumps(sale, option=orjson.OPT_SORT_KEYS)).hexdigest()


def envelope(sale: Any, *, device_id: int, device_name: str, store: str, received_at: datetime) -> dict[str, Any]:
    """The inbox payload of one sale: the device's words, and orderhub's of the device."""
    return {"device": {"id": device_id, "name": device_name, "store": store},
            "received_at": received_at.isoformat(), "sale": sale}


class PosTranslator:
    kind = KIND

    def translate(self, topic: str, payload: Any, notified_at: datetime) -> Inbound:
        if topic != SALE_TOPIC:
            raise UnknownTopic(f"POS topic {topic!r} is not one orderhub reads; it reads {', '.join(TOPICS)}")
        if not isinstance(payload, dict) or not isinstance(payload.get("device"), dict):
            raise InvalidRecord(None, "a POS record holds the device and the sale it sent")
        device = payload["device"]
        received = payload.get("received_at")
        at = datetime.fromisoformat(received) if isinstance(received, str) else notified_at
        device_id = device.get("id")
        return read_sale(payload.get("sale"), store=str(device.get("store")),
                         device_id=device_id if isinstance(device_id, int) and device_id > 0 else None,
                         device_name=str(device.get("name")), received_at=at)

    def describe(self, topic: str, payload: Any) -> str | None:
        if not isinstance(payload, dict):
            return None
        device = payload.get("device") if isinstance(payload.get("device"), dict) else {}
        sale = payload.get("sale") if isinstance(payload.get("sale"), dict) else {}
        which = sale.get("receipt") or (f"#{sale['sequence']}" if isinstance(sale.get("sequence"), int) else "")
        return (f"{topic} store sale {str(which)[:64]} on {str(device.get('store'))[:64]}/"
                f"{str(device.get('name'))[:100]} (sale id {str(sale.get('id'))[:100]})").replace("  ", " ")


TRANSLATOR = PosTranslator()

"""Helpers of the invoicing tests: the scene (see conftest), orders completed at its stores, files on SFTP."""

from __future__ import annotations

import gzip
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import orjson
import pytest

from orderhub.adapters.store import order_queries
from orderhub.bootstrap import Hub
from orderhub.config import Settings
from orderhub.services import fulfilment
from orderhub.simulators.retailpro.server import start_in_thread
from orderhub.simulators.retailpro.simulator import Simulator
from orderhub.testing.sftp_server import SftpServerInfo, SftpTestServer
from tests.oms_support import ingest, place
from tests.support import BIG_ID

USER, PASSWORD, WS = "orderhub", "pässwörd-🔑", "OMS01"
UPC_1, UPC_2 = "8720116122558", "8720116122565"  # the barcodes of SKU-1 and SKU-2


@dataclass
class Scene:
    shop: Any
    s1: int  # facility STORE-1, Retail Pro store SVA32: has 50 of SKU-1 and SKU-2
    s2: int  # facility STORE-2, Retail Pro store SVA26: has SKU-2 only
    sim: Simulator
    sftp: SftpServerInfo


def order_changes(order_id: int, **changes: Any) -> dict[str, Any]:
    """An order of 2 x SKU-1 and 1 x SKU-2 whose lines name their variants (so they have barcodes)."""
    return {"id": order_id, "name": f"#{order_id % 10000}", "order_number": order_id % 10000,
            "line_items": [
                {"id": order_id + 1, "sku": "SKU-1", "title": "T-shirt 👕", "quantity": 2, "price": "10.00",
                 "variant_id": BIG_ID + 100, "tax_lines": [{"price": "3.80", "rate": 0.19, "title": "MwSt"}]},
                {"id": order_id + 2, "sku": "SKU-2", "title": "Сувенир", "quantity": 1, "price": "10.00",
                 "total_discount": "0.00", "variant_id": BIG_ID + 101,
                 "discount_allocations": [{"amount": "2.50", "discount_application_index": 0}],
                 "tax_lines": [{"price": "1.90", "rate": 0.19, "title": "MwSt"}]}], **changes}


def complete(hub: Hub, scene: Scene, order_id: int = BIG_ID, **changes: Any) -> int:
    """Ingest, broker and ship an order; returns orderhub's id of it."""
    ingest(hub, scene, **order_changes(order_id, **changes))
    return place_and_ship(hub, order_id, f"TRACK-{order_id}")


def place_and_ship(hub: Hub, order_id: int, tracking: str) -> int:
    """Broker the stored order of Shopify id ``order_id``, then pick, pack and ship it; orderhub's id of it."""
    place(hub)
    with hub.db.write() as conn:
        oid = order_queries.find_order_id(conn, str(order_id))
        assert oid is not None
        why = fulfilment.Ctx("test", "shipped in the test")
        fulfilment.pick(conn, oid, why)
        fulfilment.pack(conn, oid, why, tracking_number=tracking)
        fulfilment.ship(conn, oid, why)
    return oid


# The real SFTP server and the Retail Pro simulator, one each per test module (fixtures: import them).
@pytest.fixture(scope="module")
def sftp_server() -> Iterator[SftpServerInfo]:
    with SftpTestServer() as info:
        yield info


@pytest.fixture(scope="module")
def retailpro() -> Iterator[tuple[Simulator, str]]:
    simulator, url, stop = start_in_thread({USER: PASSWORD}, (WS,), port=0)
    yield simulator, url
    stop()


def with_sftp_and_retailpro(settings: Settings, sftp_server: SftpServerInfo, retailpro_url: str, *,
                            timeout: float) -> Settings:
    """``settings`` pointing at both, the SFTP server's folders emptied first."""
    for child in sftp_server.root.iterdir():
        shutil.rmtree(child) if child.is_dir() else child.unlink()
    return replace(settings, sftp_host=sftp_server.host, sftp_port=sftp_server.port, sftp_user=sftp_server.username,
                   sftp_key_file=str(sftp_server.client_key_path), sftp_host_key_sha256=sftp_server.host_key_sha256,
                   retailpro_url=retailpro_url, retailpro_user=USER, retailpro_password=PASSWORD,
                   retailpro_workstation=WS, retailpro_timeout=timeout)


def lines_of(path: Path) -> list[dict[str, Any]]:
    data = path.read_bytes()
    if path.name.endswith(".gz"):
        data = gzip.decompress(data)
    return [orjson.loads(line) for line in data.splitlines() if line.strip()]


def files_in(info: SftpServerInfo, folder: str) -> list[str]:
    local = info.root / folder.lstrip("/")
    return sorted(p.name for p in local.iterdir()) if local.exists() else []

"""The scene of the invoicing tests: a shop whose two stores fulfil orders, a real SFTP server and the
Retail Pro simulator over loopback HTTP."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from orderhub.adapters.store import facilities, inventory_store, order_store
from orderhub.bootstrap import Hub
from orderhub.config import Settings
from orderhub.domain.inventory import LedgerReason
from orderhub.domain.model import Product, Variant
from orderhub.simulators.retailpro.simulator import Simulator
from orderhub.testing.sftp_server import SftpServerInfo
from tests.integration.invoicing import scene as shared
from tests.integration.invoicing.scene import UPC_1, UPC_2, Scene, with_sftp_and_retailpro
from tests.support import BIG_ID, add_shop

sftp_server = shared.sftp_server  # fixtures, one each per test module
retailpro = shared.retailpro


@pytest.fixture
def settings(settings: Settings, sftp_server: SftpServerInfo, retailpro: tuple[Simulator, str]) -> Settings:
    return with_sftp_and_retailpro(settings, sftp_server, retailpro[1], timeout=2.0)


@pytest.fixture
def scene(hub: Hub, sftp_server: SftpServerInfo, retailpro: tuple[Simulator, str]) -> Scene:
    sim = retailpro[0]
    sim.reset()
    sim.store.allow_negative = True
    sim.store.seed(["SVA32", "SVA26"], [UPC_1, UPC_2],
                   [("SVA32", UPC_1, 50), ("SVA32", UPC_2, 50), ("SVA26", UPC_2, 5)])
    shop = add_shop(hub)
    with hub.db.write() as conn:
        s1 = facilities.add(conn, "STORE-1", "San Salvador 🏬", "store", latitude=13.69, longitude=-89.19,
                            ship_from_store=True, pos_store_code="SVA32")
        s2 = facilities.add(conn, "STORE-2", "Santa Ana", "store", latitude=13.99, longitude=-89.56,
                            ship_from_store=True, pos_store_code="SVA26")
        for sku, fid, qty in (("SKU-1", s1, 50), ("SKU-2", s1, 50), ("SKU-2", s2, 5)):
            inventory_store.set_on_hand(conn, sku, fid, qty, reason=LedgerReason.RECEIVED, actor="test")
        order_store.apply_product(conn, shop.id, Product(
            shopify_id="900", updated_at=datetime(2026, 11, 1, tzinfo=timezone.utc), title="Tee",
            variants=(Variant(shopify_id=str(BIG_ID + 100), sku="SKU-1", barcode=UPC_1),
                      Variant(shopify_id=str(BIG_ID + 101), sku="SKU-2", barcode=UPC_2))))
    return Scene(shop, s1, s2, sim, sftp_server)



"""`orderhub channel listings / list-sku / unlist-sku`: which SKUs an account sells and what orderhub sends it."""

from __future__ import annotations

import orjson

from orderhub.adapters.store import accounts, channel_stock, facilities
from orderhub.bootstrap import Hub
from orderhub.services import inventory as inventory_service
from tests.e2e.test_channel_accounts_cli import _cli

WALMART = ["channel", "add", "walmart", "walmart-us", "--client-id", "c", "--client-secret", "s",
           "--endpoint", "http://127.0.0.1:9"]


def _stocked(hub: Hub, skus: dict[str, int]) -> None:
    with hub.db.write() as conn:
        facilities.add(conn, "WH-1", "Lager 🏭", "warehouse")
        for sku, quantity in skus.items():
            inventory_service.adjust(conn, sku, "WH-1", actor="test", reason="received", delta=quantity)


def test_skus_are_listed_shown_and_unlisted(hub: Hub, db_url: str) -> None:
    _cli(db_url, *WALMART)
    _stocked(hub, {"WM-MUG-CAFE": 7, "WM-TEE-Ω": 2})
    assert "lists no SKU" in _cli(db_url, "channel", "listings", "walmart-us")
    listed = _cli(db_url, "channel", "list-sku", "walmart-us", "WM-MUG-CAFE", "WM-TEE-Ω", "--ref", "WM-TEE-Ω=0ABC123")
    assert listed == "walmart account walmart-us: 2 SKU(s) newly listed, 0 listed already; 2 value(s) to send\n"
    again = _cli(db_url, "channel", "list-sku", "walmart-us", "WM-MUG-CAFE")
    assert "0 SKU(s) newly listed, 1 listed already" in again
    shown = orjson.loads(_cli(db_url, "channel", "listings", "walmart-us", "--json"))
    rows = {r["sku"]: r for r in shown["listings"]}
    assert (shown["account"], shown["kind"]) == ("walmart-us", "walmart")
    assert rows["WM-TEE-Ω"]["channel_ref"] == "0ABC123" and rows["WM-TEE-Ω"]["wanted"] == 2
    assert rows["WM-MUG-CAFE"]["pending"] is True and rows["WM-MUG-CAFE"]["sent"] is None
    table = _cli(db_url, "channel", "listings", "walmart-us")
    assert "WM-MUG-CAFE" in table and "0ABC123" in table and "yes" in table

    removed = _cli(db_url, "channel", "unlist-sku", "walmart-us", "WM-MUG-CAFE")
    assert removed == "walmart account walmart-us: 1 listing(s) removed; orderhub sends them no more stock\n"
    with hub.db.read() as conn:
        account = accounts.get(conn, "walmart-us", secrets=False)
        assert account is not None
        assert [r["sku"] for r in channel_stock.listed(conn, account.id)] == ["WM-TEE-Ω"]
        assert channel_stock.pending_count(conn, account.id) == 1  # WM-MUG-CAFE's value is no longer sent
    # Its stock moves: nothing comes back for the unlisted SKU.
    with hub.db.write() as conn:
        inventory_service.adjust(conn, "WM-MUG-CAFE", "WH-1", actor="test", reason="damaged", delta=-1)
        assert channel_stock.pending_count(conn, account.id) == 1


def test_mistakes_are_one_line(hub: Hub, db_url: str) -> None:
    _cli(db_url, *WALMART)
    _stocked(hub, {"WM-MUG-CAFE": 1})
    assert "no channel account nowhere" in _cli(db_url, "channel", "listings", "nowhere", ok=False)
    assert "no channel account nowhere" in _cli(db_url, "channel", "list-sku", "nowhere", "WM-MUG-CAFE", ok=False)
    unknown = _cli(db_url, "channel", "list-sku", "walmart-us", "WM-MUG-CAFE", "NO-SUCH-SKU", ok=False)
    assert "orderhub does not know SKU NO-SUCH-SKU" in unknown and "would show 0" in unknown
    assert "is not SKU=ID" in _cli(db_url, "channel", "list-sku", "walmart-us", "WM-MUG-CAFE", "--ref", "x",
                                   ok=False)
    assert "not among the SKUs listed" in _cli(db_url, "channel", "list-sku", "walmart-us", "WM-MUG-CAFE",
                                               "--ref", "OTHER=1", ok=False)
    assert "0 listing(s) removed" in _cli(db_url, "channel", "unlist-sku", "walmart-us", "WM-MUG-CAFE")
    with hub.db.read() as conn:
        account = accounts.get(conn, "walmart-us", secrets=False)
        assert account is not None and channel_stock.listed(conn, account.id) == []

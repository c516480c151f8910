"""/api/channels/accounts/{name}/listings: the SKUs an account lists, read by any token, changed by admin."""

from __future__ import annotations

import httpx

from orderhub.adapters.store import facilities, tokens
from orderhub.services import inventory as inventory_service
from tests.e2e.test_channel_accounts_api import WALMART

A = "/api/channels/accounts"


def test_listings_are_read_listed_and_unlisted_by_role(hub, hub_server):  # type: ignore[no-untyped-def]
    with hub.db.write() as conn:
        admin = tokens.create(conn, "admin")
        viewer = tokens.create(conn, "viewer", role="viewer")
        facilities.add(conn, "WH-1", "Lager", "warehouse")
        for sku in ("WM-MUG-CAFE", "WM-TEE-Ω"):
            inventory_service.adjust(conn, sku, "WH-1", actor="test", reason="received", delta=3)
    as_admin, as_viewer = {"Authorization": f"Bearer {admin}"}, {"Authorization": f"Bearer {viewer}"}
    listings = A + "/walmart-us/listings"
    with httpx.Client(base_url=hub_server.url) as client:
        assert client.post(A, json=WALMART, headers=as_admin).status_code == 201
        assert client.get(listings).status_code == 401
        assert client.get(listings, headers=as_viewer).json() == {"account": "walmart-us", "kind": "walmart",
                                                                  "listings": []}
        body = {"skus": ["WM-MUG-CAFE", "WM-TEE-Ω"], "refs": {"WM-TEE-Ω": "0ABC123"}}
        assert client.post(listings, json=body, headers=as_viewer).status_code == 403
        added = client.post(listings, json=body, headers=as_admin)
        assert added.status_code == 200, added.text
        assert added.json() == {"account": "walmart-us", "listed": 2, "pending": 2}
        rows = {r["sku"]: r for r in client.get(listings, headers=as_viewer).json()["listings"]}
        assert rows["WM-TEE-Ω"]["channel_ref"] == "0ABC123" and rows["WM-MUG-CAFE"]["wanted"] == 3
        assert rows["WM-MUG-CAFE"]["pending"] is True and rows["WM-MUG-CAFE"]["location"] == ""

        assert client.delete(listings, params={"sku": "WM-MUG-CAFE"}, headers=as_viewer).status_code == 403
        gone = client.delete(listings, params={"sku": ["WM-MUG-CAFE", "NOT-LISTED"]}, headers=as_admin)
        assert gone.json() == {"account": "walmart-us", "unlisted": 1}
        assert [r["sku"] for r in client.get(listings, headers=as_viewer).json()["listings"]] == ["WM-TEE-Ω"]

        refused = [client.post(listings, json=b, headers=as_admin) for b in (
            {"skus": ["NO-SUCH-SKU"]}, {"skus": []}, {"skus": ["x" * 256]}, {"skus": ["WM-MUG-CAFE"] * 1001},
            {"skus": ["WM-MUG-CAFE"], "location": "L" * 101})]
        assert [r.status_code for r in refused] == [422] * 5
        assert "orderhub does not know SKU NO-SUCH-SKU" in refused[0].text
        assert client.get(A + "/nowhere/listings", headers=as_viewer).status_code == 404
        assert client.post(A + "/nowhere/listings", json={"skus": ["WM-MUG-CAFE"]}, headers=as_admin).status_code == 404
        assert client.delete(A + "/nowhere/listings", params={"sku": "X"}, headers=as_admin).status_code == 404
        assert client.delete(listings, headers=as_admin).status_code == 422  # no sku named

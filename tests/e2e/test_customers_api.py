"""/api/customers over HTTP: admin tokens only; search by exact keys, a profile with orders of every channel,
lifetime value and consent, merges and their undoing, splits, consent and rules; every read of a person's data
kept in the access log under the token's name (the order API too); refusals are 4xx naming the record."""

from __future__ import annotations

import httpx
from sqlalchemy import select

from orderhub.adapters.store import tokens
from orderhub.adapters.store.schema import customer_access_log
from orderhub.bootstrap import Hub
from orderhub.testing.server import ServerThread
from tests.customers_support import identity_of_order, scene


def _tokens(hub: Hub) -> dict[str, dict[str, str]]:
    with hub.db.write() as conn:
        return {role: {"Authorization": f"Bearer {tokens.create(conn, 'desk-' + role, role=role)}"}
                for role in ("admin", "operator", "viewer")}


def _reads(hub: Hub, profile_id: int) -> list[tuple[str, str, str]]:
    a = customer_access_log.c
    with hub.db.read() as conn:
        return [tuple(r) for r in conn.execute(select(a.actor, a.via, a.what).where(a.profile_id == profile_id)
                                               .order_by(a.id))]


def test_profiles_are_searched_and_read_by_admins_and_every_read_is_kept(hub: Hub, hub_server: ServerThread
                                                                         ) -> None:
    s = scene(hub)
    as_ = _tokens(hub)
    with httpx.Client(base_url=hub_server.url, headers=as_["admin"]) as client:
        assert client.get("/api/customers", params={"email": "zoe@example.com"}, headers=as_["operator"]
                          ).status_code == 403
        assert client.get(f"/api/customers/{s['zoe']}", headers={"Authorization": "Bearer nope"}).status_code == 401
        found = client.get("/api/customers", params={"phone": "+49 (151) 234-56789"}).json()["profiles"]
        assert [p["id"] for p in found] == [s["zoe"]]
        assert client.get("/api/customers", params={"loyalty": "none"}).json() == {"profiles": []}
        nothing = client.get("/api/customers")
        assert nothing.status_code == 422 and "give an e-mail address" in nothing.json()["error"]
        assert client.get("/api/customers", params={"phone": "12"}).status_code == 422

        shown = client.get(f"/api/customers/{s['zoe']}", params={"orders": 2}).json()
        assert shown["asked_for"] == s["zoe"] and shown["merged_into"] is None
        assert [o["name"] for o in shown["orders"]] == ["#5003", "#5002"] and shown["orders_total"] == 3
        assert {(v["channel"], v["currency"], v["net"]) for v in shown["lifetime_value"]} == {
            ("amazon", "JPY", "5000"), ("online", "EUR", "30.00")}
        assert client.get("/api/customers/999").status_code == 404
        assert "no customer profile 999" in client.get("/api/customers/999").json()["error"]
        assert client.get("/api/customers/0").status_code == 422

        order = client.get(f"/api/orders/{s['web']}").json()  # the order API shows the customer: a read too
        assert order["customer_profile_id"] == s["zoe"]
        log = client.get(f"/api/customers/{s['zoe']}/access").json()["access"]
    assert [(r["actor"], r["via"], r["what"]) for r in log] == [
        ("api:desk-admin", "api", "order"), ("api:desk-admin", "api", "profile"), ("api:desk-admin", "api", "search")]
    assert log[0]["detail"] == "order #5001"
    assert ("api:desk-admin", "api", "search") in _reads(hub, s["zoe"])
    assert _reads(hub, s["ann"]) == []  # nobody looked at Ann


def test_merges_splits_consent_and_rules_change_through_the_api(hub: Hub, hub_server: ServerThread) -> None:
    s = scene(hub)
    zoe, till = s["zoe"], s["till_profile"]
    as_ = _tokens(hub)
    with httpx.Client(base_url=hub_server.url, headers=as_["admin"]) as client:
        body = {"kept": zoe, "merged": till, "reason": "the same person"}
        assert client.post("/api/customers/merge", json=body, headers=as_["operator"]).status_code == 403
        merged = client.post("/api/customers/merge", json=body)
        assert merged.status_code == 201
        merge_id = merged.json()["merge_id"]
        again = client.post("/api/customers/merge", json=body)
        assert again.status_code == 409 and f"customer profile {till} was merged into profile {zoe}" in \
            again.json()["error"]
        assert client.post("/api/customers/merge", json={"kept": zoe, "merged": zoe}).status_code == 422
        assert client.post("/api/customers/merge", json={"kept": zoe, "merged": 999}).status_code == 404
        assert client.post("/api/customers/merge", json={"kept": zoe, "merged": 2**64}).status_code == 422
        assert client.post("/api/customers/merge", json={"kept": zoe, "merged": till,
                                                         "reason": "x" * 501}).status_code == 422

        via_merged = client.get(f"/api/customers/{till}").json()  # the merged profile answers with the kept one
        assert via_merged["profile"]["id"] == zoe and via_merged["merged_into"] == zoe
        assert via_merged["orders_total"] == 4 and via_merged["merges"][0]["id"] == merge_id

        consent = client.post(f"/api/customers/{till}/consent", json={"purpose": "email_marketing",
                                                                      "state": "withdrawn"})
        assert consent.status_code == 201
        assert consent.json() | {"sent_to": None} == {
            "profile_id": zoe, "asked_for": till, "merged_into": zoe, "recorded": True, "purpose": "email_marketing",
            "state": "withdrawn", "scope": "*", "sent_to": None}
        assert consent.json()["sent_to"] == ["zoe-shop.myshopify.com"]
        wrong = client.post(f"/api/customers/{zoe}/consent", json={"purpose": "telepathy", "state": "granted"})
        assert wrong.status_code == 422 and "unknown purpose 'telepathy'" in wrong.json()["error"]

        undone = client.post(f"/api/customers/merges/{merge_id}/undo", json={"reason": "two people after all"})
        assert undone.json() == {"merge_id": merge_id, "kept": zoe, "restored": till}
        twice = client.post(f"/api/customers/merges/{merge_id}/undo")
        assert twice.status_code == 409 and "was undone already" in twice.json()["error"]
        assert client.post("/api/customers/merges/999/undo").status_code == 404
        assert client.get(f"/api/customers/{till}").json()["merged_into"] is None

        identity = identity_of_order(hub, s["market"])
        split = client.post(f"/api/customers/identities/{identity}/split")
        assert split.status_code == 201 and split.json()["apart_from"] == zoe
        alone = client.post(f"/api/customers/identities/{identity}/split")
        assert alone.status_code == 409 and "only identity" in alone.json()["error"]
        assert client.post("/api/customers/identities/999/split").status_code == 404

        assert client.get("/api/customers/rules").json()["rules"]["walmart"] == ["phone"]
        changed = client.put("/api/customers/rules", json={"kind": "walmart", "keys": ["phone", "email"]}).json()
        assert changed["keys"] == ["email", "phone"] and "relink" in changed["note"]
        bad = client.put("/api/customers/rules", json={"kind": "walmart", "keys": ["name"]})
        assert bad.status_code == 422 and "unknown key 'name'" in bad.json()["error"]
        assert client.put("/api/customers/rules", json={"kind": "ebay", "keys": []}).status_code == 422
        assert client.put("/api/customers/rules", json={"kind": "walmart", "keys": ["a"] * 4}).status_code == 422

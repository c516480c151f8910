"""/api/channels/accounts: channel accounts over HTTP, secrets in and never out, admin to change."""

from __future__ import annotations

import httpx

from orderhub.adapters.store import accounts, tokens

A = "/api/channels/accounts"
WALMART = {"kind": "walmart", "name": "Walmart-US",
           "settings": {"client_id": "wm-client", "client_secret": "wm-secret-Ω", "endpoint": "http://127.0.0.1:9"}}


def test_accounts_are_added_read_and_switched_off_by_role(hub, hub_server):  # type: ignore[no-untyped-def]
    with hub.db.write() as conn:
        admin = tokens.create(conn, "admin")
        viewer = tokens.create(conn, "viewer", role="viewer")
    with httpx.Client(base_url=hub_server.url) as client:
        as_admin, as_viewer = {"Authorization": f"Bearer {admin}"}, {"Authorization": f"Bearer {viewer}"}
        assert client.get(A).status_code == 401
        assert client.post(A, json=WALMART, headers=as_viewer).status_code == 403
        added = client.post(A, json=WALMART, headers=as_admin)
        assert added.status_code == 201, added.text
        assert added.json() == {"id": added.json()["id"], "kind": "walmart", "name": "walmart-us", "status": "active",
                                "sales_channel": None,
                                "settings": {"client_id": "wm-client", "endpoint": "http://127.0.0.1:9"},
                                "credentials": ["client_secret"]}
        listed = client.get(A, headers=as_viewer)
        assert [a["name"] for a in listed.json()["accounts"]] == ["walmart-us"]
        assert client.get(A + "/walmart-us", headers=as_viewer).json()["kind"] == "walmart"
        for response in (added, listed, client.get(A + "/walmart-us", headers=as_viewer)):
            assert "wm-secret" not in response.text
        assert client.post(A + "/walmart-us/disable", headers=as_viewer).status_code == 403
        assert client.post(A + "/walmart-us/disable", headers=as_admin).json()["status"] == "disabled"
        assert client.post(A + "/walmart-us/enable", headers=as_admin).json()["status"] == "active"
        assert client.get(A + "/nowhere", headers=as_viewer).status_code == 404
        assert client.post(A + "/nowhere/disable", headers=as_admin).status_code == 404

        refused = [client.post(A, json=body, headers=as_admin) for body in (
            WALMART | {"kind": "myspace"},
            WALMART | {"settings": {"client_id": "x"}},
            WALMART | {"settings": WALMART["settings"] | {"shop_cipher": "x"}},
            WALMART | {"settings": WALMART["settings"] | {"endpoint": "http://169.254.169.254/latest"}},
            WALMART | {"sales_channel": "nowhere"})]
        assert [r.status_code for r in refused] == [422] * 5
        assert "no channel kind 'myspace'" in refused[0].text
        assert "needs client_secret" in refused[1].text
        assert "has no shop_cipher" in refused[2].text
        assert "link-local" in refused[3].text or "private" in refused[3].text
        assert "no sales channel nowhere" in refused[4].text
    with hub.db.read() as conn:
        account = accounts.get(conn, "walmart-us")
    assert account is not None and account.credentials == {"client_secret": "wm-secret-Ω"}

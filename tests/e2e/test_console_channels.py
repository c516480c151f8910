"""The console's channel pages over HTTP: every account with its health, one account's orders, the stock it
offers and the operations it owes, and never a secret."""

from __future__ import annotations

import html

from sqlalchemy import update

from orderhub.adapters.store import accounts as account_store
from orderhub.adapters.store import channel_stock, facilities
from orderhub.adapters.store.schema import shops as shops_table
from orderhub.bootstrap import Hub
from orderhub.services import inventory as inventory_service
from orderhub.services.console import accounts
from orderhub.testing.server import ServerThread
from tests.e2e.test_console_http import PASSWORD, sign_in

SECRET = "tts-app-secret-do-not-show"


def test_the_channel_pages_show_health_stock_and_operations(hub: Hub, hub_server: ServerThread) -> None:
    accounts.add_user(hub.db, "vera", PASSWORD, "viewer")
    with hub.db.write() as conn:
        facilities.add(conn, "WH-1", "Lager", "warehouse")
        inventory_service.adjust(conn, "MUG-🦋", "WH-1", actor="test", reason="received", delta=4)
        account = account_store.add(conn, "tiktok", "tiktok-uk", {"app_key": "k", "shop_cipher": "GCP_1",
                                                                   "endpoint": "http://127.0.0.1:9"},
                                    {"app_secret": SECRET, "access_token": SECRET})
        channel_stock.list_skus(conn, account.id, ["MUG-🦋"])
        quiet = account_store.add(conn, "walmart", "walmart-us", {"client_id": "c", "endpoint": "http://127.0.0.1:9"},
                                  {"client_secret": SECRET})
        conn.execute(update(shops_table).where(shops_table.c.id == quiet.id).values(status="disabled"))
    with sign_in(hub_server.url, "vera") as browser:
        listing = browser.get("/channels")
        page = browser.get("/channels/tiktok-uk")
        missing = browser.get("/channels/nowhere")
    assert listing.status_code == 200 and SECRET not in listing.text
    assert 'data-account="tiktok-uk" data-state="lagging"' in listing.text  # never read yet
    assert 'data-account="walmart-us"' in listing.text and ">disabled<" in listing.text
    assert page.status_code == 200 and SECRET not in page.text
    text = html.unescape(page.text)
    assert "secrets set</dt><dd>access_token, app_secret" in text
    assert 'data-sku="MUG-🦋" class="pending"' in text and ">4<" in text  # should show 4, not sent yet
    assert missing.status_code == 404 and "no channel account nowhere" in html.unescape(missing.text)

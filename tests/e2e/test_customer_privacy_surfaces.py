"""A person's export and erasure through the command line, the admin API and the console: who may, how the
person is confirmed, what each answers, and the record each leaves (privacy_requests, the access log)."""

from __future__ import annotations

import html
import io
import re
import zipfile

import click
import httpx
import orjson
from click.testing import CliRunner
from sqlalchemy import select

from orderhub.adapters.store import customer_links, tokens
from orderhub.adapters.store.schema import customer_access_log, customer_profiles, customers, privacy_requests
from orderhub.bootstrap import Hub
from orderhub.entrypoints.cli_customer_privacy import COMMANDS
from orderhub.services.console import accounts
from orderhub.testing.server import ServerThread
from tests.e2e.test_console_http import PASSWORD, sign_in
from tests.support import BIG_ID, add_shop, drain, order_payload, put

EMAIL = "ottilie.vandermeer@example.net"


def a_customer(hub: Hub, first: str = "Ottilie", last: str = "Vandermeer", email: str = EMAIL,
               order_id: int = BIG_ID) -> int:
    shop = add_shop(hub) if order_id == BIG_ID else None
    account = shop.id if shop else 1
    put(hub, "orders/create", order_payload(
        order_id, email=email, customer={"id": order_id + 7, "email": email, "first_name": first, "last_name": last},
        shipping_address={"name": f"{first} {last}", "address1": "9 Juniper Row", "city": "Leeds",
                          "country_code": "GB"}), shop_id=account)
    drain(hub)
    with hub.db.read() as conn:
        [profile] = customer_links.find(conn, email=email)
    return profile


def cli() -> click.Group:
    group = click.Group("customer")
    for command in COMMANDS:
        group.add_command(command)
    return group


def erased(hub: Hub, profile: int) -> bool:
    with hub.db.read() as conn:
        return conn.execute(select(customer_profiles.c.erased_at).where(
            customer_profiles.c.id == profile)).scalar_one() is not None


def records(hub: Hub) -> list[tuple[str, str, str]]:
    with hub.db.read() as conn:
        asked = [(r.kind, r.actor, "") for r in conn.execute(select(privacy_requests).order_by(privacy_requests.c.id))]
        read = [(r.what, r.actor, r.via) for r in conn.execute(select(customer_access_log)
                                                                .order_by(customer_access_log.c.id))]
    return asked + read


def test_the_command_line_exports_and_erases_once_the_person_is_confirmed(hub: Hub, tmp_path) -> None:  # type: ignore[no-untyped-def]
    profile = a_customer(hub)
    db = ["--db", hub.settings.database_url]
    runner = CliRunner()
    out = tmp_path / "person.zip"
    shown = runner.invoke(cli(), ["export", str(profile), "-o", str(out), "--json", *db])
    assert shown.exit_code == 0, shown.output
    manifest = orjson.loads(shown.stdout)
    assert manifest["profile_id"] == profile and manifest["found"]["orders"] == 1
    with zipfile.ZipFile(out) as archive:
        assert EMAIL in archive.read("tables/orders.json").decode()

    declined = runner.invoke(cli(), ["erase", str(profile), *db], input="n\n")
    assert declined.exit_code == 1 and "Erase Ottilie Vandermeer (profile" in declined.output
    assert not erased(hub, profile)
    done = runner.invoke(cli(), ["erase", str(profile), "--reason", "ticket 42", *db], input="y\n")
    assert done.exit_code == 0, done.output
    assert f"erased profile {profile} as P-" in done.output
    assert "shopify account test-shop.myshopify.com: asked to erase its customer" in done.output
    assert erased(hub, profile)
    again = runner.invoke(cli(), ["erase", str(profile), "--yes", "--json", *db])
    assert again.exit_code == 1 and f"customer profile {profile} was erased already" in again.output
    missing = runner.invoke(cli(), ["export", "999999", "-o", str(tmp_path / "x.zip"), *db])
    assert missing.exit_code == 1 and "no customer profile 999999" in missing.output
    user = records(hub)
    assert [(kind, via) for kind, _, via in user] == [("export", ""), ("erase", ""), ("export", "cli"),
                                                      ("erase", "cli")]
    assert all(actor.startswith("cli") for _, actor, _ in user)
    with hub.db.read() as conn:
        result = conn.execute(select(privacy_requests.c.result).where(privacy_requests.c.kind == "erase")).scalar_one()
    assert "ticket 42" in result and "vandermeer" not in result.lower() and EMAIL not in result


def test_the_api_needs_an_admin_and_a_confirmation_that_names_the_person(hub: Hub, hub_server: ServerThread) -> None:
    profile = a_customer(hub)
    with hub.db.write() as conn:
        auth = {role: {"Authorization": f"Bearer {tokens.create(conn, role, role=role)}"}
                for role in ("viewer", "operator", "admin")}
    base = f"{hub_server.url}/api/customers/{profile}"
    with httpx.Client(timeout=60) as client:
        assert client.post(f"{base}/export").status_code == 401
        assert client.post(f"{base}/export", headers=auth["operator"]).status_code == 403
        archive = client.post(f"{base}/export", headers=auth["admin"])
        wrong = client.post(f"{base}/erase", headers=auth["admin"], json={"confirm": "Someone Else"})
        missing = client.post(f"{hub_server.url}/api/customers/424242/erase", headers=auth["admin"],
                              json={"confirm": "424242"})
        hostile = client.post(f"{hub_server.url}/api/customers/99999999999999999999/erase", headers=auth["admin"],
                              json={"confirm": "x"})
        done = client.post(f"{base}/erase", headers=auth["admin"],
                           json={"confirm": "  ottilie   VANDERMEER ", "reason": "letter of 3 May"})
        again = client.post(f"{base}/erase", headers=auth["admin"], json={"confirm": str(profile)})
    assert archive.status_code == 200 and archive.headers["content-type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(archive.content)) as z:
        assert orjson.loads(z.read("manifest.json"))["profile_id"] == profile
    assert wrong.status_code == 422 and "does not name the person" in wrong.json()["error"]
    assert missing.status_code == 404 and hostile.status_code == 422
    assert done.status_code == 200, done.text
    report = done.json()
    assert report["pseudonym"].startswith("P-") and report["profile_id"] == profile and report["orders"] == 1
    assert again.status_code == 409 and "erased already" in again.json()["error"]
    with hub.db.read() as conn:
        identity = conn.execute(select(customers).where(customers.c.profile_id == profile)).one()
    assert identity.email is None and identity.first_name == report["pseudonym"] and identity.redacted_at
    assert [(what, actor, via) for what, actor, via in records(hub) if via] == [
        ("export", "api:admin", "api"), ("erase", "api:admin", "api")]


def _csrf(page: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', page)
    assert found
    return found.group(1)


def test_the_console_page_is_for_admins_and_erases_only_when_the_name_is_typed(hub: Hub,
                                                                               hub_server: ServerThread) -> None:
    profile = a_customer(hub, first="<b>Ottilie</b>")
    accounts.add_user(hub.db, "vera", PASSWORD, "viewer")
    accounts.add_user(hub.db, "ada", PASSWORD, "admin")
    url = f"/customers/{profile}/privacy"
    with sign_in(hub_server.url, "vera") as browser:
        assert browser.get(url).status_code == 403
    with sign_in(hub_server.url, "ada") as browser:
        page = browser.get(url)
        token = _csrf(page.text)
        forged = browser.post(f"{url}/erase", data={"csrf": "not-the-token", "confirm": str(profile)})
        download = browser.post(f"{url}/export", data={"csrf": token})
        wrong = browser.post(f"{url}/erase", data={"csrf": token, "confirm": "Vandermeer"})
        missing = browser.get("/customers/31337/privacy")
        done = browser.post(f"{url}/erase", data={"csrf": token, "confirm": "<b>Ottilie</b> Vandermeer"})
        gone = browser.get(url)
    assert page.status_code == 200 and "<b>Ottilie" not in page.text
    assert "&lt;b&gt;Ottilie&lt;/b&gt; Vandermeer" in page.text and EMAIL in page.text
    assert forged.status_code == 403
    assert download.status_code == 200 and download.headers["content-type"] == "application/zip"
    assert wrong.status_code == 422 and "type the person" in html.unescape(wrong.text)
    assert missing.status_code == 404
    assert done.status_code == 200 and 'data-test="erased"' in done.text and erased(hub, profile)
    assert gone.status_code == 409 and "erased already" in html.unescape(gone.text)
    assert [(what, actor, via) for what, actor, via in records(hub) if via] == [
        ("export", "console:ada", "console"), ("erase", "console:ada", "console")]

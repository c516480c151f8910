"""The console's routing pages over real HTTP: rules edited and reordered by an admin and validated by
the domain, the run in use chosen, and a dry run that explains an order's brokering and writes nothing."""

from __future__ import annotations

import re
from html import unescape
from typing import Any

import httpx
from sqlalchemy import select

from orderhub.adapters.store import facilities as facility_store
from orderhub.adapters.store import inventory_store, routing_store
from orderhub.adapters.store.schema import metadata
from orderhub.bootstrap import Hub
from orderhub.domain.inventory import LedgerReason
from orderhub.services import brokering
from orderhub.services.console import accounts
from orderhub.testing.server import ServerThread
from tests.e2e.test_console_http import PASSWORD, _token, sign_in
from tests.e2e.test_console_inventory import table
from tests.oms_support import ingest, make_oms, order, place

RULE_FIELDS = ("name", "facility_groups_in", "facility_groups_out", "max_distance_km", "brokering_safety_stock",
               "split", "min_shipment_value", "action_kind", "action_queue", "auto_cancel_days")


def _waiting_order(hub: Hub) -> dict[str, Any]:
    """Order #1993: its SKU-2 unit waits in backorder parking (WH-BER has none), and WH-MUC, in group
    "munich", has since received three."""
    oms = make_oms(hub)
    with hub.db.write() as conn:
        inventory_store.set_on_hand(conn, "SKU-2", oms.wh1, 0, reason=LedgerReason.CYCLE_COUNT, actor="test")
    ingest(hub, oms)
    place(hub)
    with hub.db.write() as conn:
        inventory_store.set_on_hand(conn, "SKU-2", oms.wh2, 3, reason=LedgerReason.RECEIVED, actor="test")
        facility_store.add_to_group(conn, "munich", "WH-MUC")
    return order(hub)


def _form(page: str) -> dict[str, str]:
    """The rule form's fields as the browser would send them."""
    data = {"csrf": _token(page)}
    for name in ("run", "version", "routing", "rule", *RULE_FIELDS, "sort1", "sort2", "sort3"):
        found = re.search(rf'<input[^>]*name="{name}"[^>]*value="([^"]*)"', page)
        if found:
            data[name] = found.group(1).replace("&#39;", "'").replace("&amp;", "&")
            continue
        select_ = re.search(rf'<select name="{name}".*?</select>', page, re.S)
        if select_:
            chosen = re.search(r'<option value="([^"]*)" selected>', select_.group(0))
            data[name] = chosen.group(1) if chosen else ""
    for box in ("respect_capacity", "ship_from_store_only", "clear_auto_cancel"):
        if re.search(rf'name="{box}" value="1" checked', page):
            data[box] = "1"
    return data


def _snapshot(hub: Hub) -> dict[str, list[str]]:
    """Every row of every table but the console's own (sessions are touched by every request)."""
    with hub.db.read() as conn:
        return {t.name: sorted(repr(tuple(r)) for r in conn.execute(select(t)))
                for t in metadata.sorted_tables if not t.name.startswith("console_")}


def _active(hub: Hub) -> dict[str, Any] | None:
    with hub.db.read() as conn:
        name = routing_store.active_name(conn)
        return routing_store.get_run(conn, name) if name else None


def test_an_admin_edits_a_rule_and_the_domain_validates_it(hub: Hub, hub_server: ServerThread) -> None:
    make_oms(hub)
    accounts.add_user(hub.db, "ada", PASSWORD, "admin")
    with sign_in(hub_server.url, "ada") as client:
        page = client.get("/routing")
        assert page.status_code == 200 and 'data-test="run-state">in use' in page.text
        names = re.findall(r'<tr id="rule-0-\d+" data-rule="([^"]+)"', page.text)
        assert names == [r["name"] for r in brokering.DEFAULT_RUN["routings"][0]["rules"]]
        edit = client.get("/routing/rule", params={"run": "", "routing": 0, "rule": 0})
        form = _form(edit.text)
        assert form["name"] == "nearest facility with everything" and form["sort1"] == "proximity"
        assert form["sort2"] == "facility_sequence" and form["split"] == "none" and form["respect_capacity"] == "1"

        bad = client.post("/routing/rule", data=form | {"max_distance_km": "-5"})
        assert bad.status_code == 422
        assert ("rule “nearest facility with everything” of routing “all orders”: max_distance_km must be a "
                "number of kilometres above 0 (got -5)") in bad.text
        assert 'name="max_distance_km" value="-5" inputmode="decimal" maxlength="30" aria-invalid="true"' in bad.text
        bad = client.post("/routing/rule", data=form | {"sort2": "proximity"})
        assert bad.status_code == 422 and "sorts[1] 'proximity' is listed twice" in unescape(bad.text)
        bad = client.post("/routing/rule", data=form | {"name": "nearest facilities, split"})
        assert bad.status_code == 422 and "is already used by" in bad.text
        assert _active(hub) is None  # nothing stored: brokering still uses the built-in default

        saved = client.post("/routing/rule", data=form | {
            "name": "near 🚚 und schnell", "facility_groups_out": "munich, outlet", "max_distance_km": "800",
            "brokering_safety_stock": "2", "sort3": "inventory_balance", "split": "ship_group",
            "min_shipment_value": "25.00", "action_kind": "queue", "action_queue": "backorder_parking",
            "auto_cancel_days": "14"} | {"respect_capacity": ""})
        assert saved.status_code == 200 and "Rule “near 🚚 und schnell” saved." in saved.text
        assert "It is saved as the stored run “default”." in saved.text
    run = _active(hub)
    assert run is not None and run["name"] == "default" and run["active"] is True
    assert run["routings"][0]["rules"][0] == {
        "name": "near 🚚 und schnell", "facility_groups_out": ["munich", "outlet"], "max_distance_km": 800.0,
        "brokering_safety_stock": 2, "respect_capacity": False,
        "sorts": ["proximity", "facility_sequence", "inventory_balance"], "split": "ship_group",
        "min_shipment_value": "25.00", "action": {"kind": "queue", "queue": "backorder_parking",
                                                  "auto_cancel_days": 14}}
    assert run["routings"][0]["rules"][1] == brokering.DEFAULT_RUN["routings"][0]["rules"][1]


def test_rules_and_routings_move_up_and_down_and_a_stale_page_changes_nothing(
        hub: Hub, hub_server: ServerThread) -> None:
    make_oms(hub)
    two = {"name": "two ⛵", "routings": [
        {"name": "express", "filters": {"shipping_methods": ["express"]},
         "rules": [{"name": "nearest", "sorts": ["proximity"]}]},
        {"name": "everything else", "rules": [{"name": "a"}, {"name": "b"}, {"name": "c"}]}]}
    with hub.db.write() as conn:
        routing_store.save_run(conn, two)
    accounts.add_user(hub.db, "ada", PASSWORD, "admin")
    with sign_in(hub_server.url, "ada") as client:
        page = client.get("/routing")
        assert "two ⛵" in page.text and "shipping method express" in page.text
        version = re.search(r'name="version" value="([^"]+)"', page.text)
        assert version
        base = {"csrf": _token(page.text), "run": "two ⛵", "version": version.group(1)}
        moved = client.post("/routing/move", data=base | {"routing": "1", "rule": "2", "step": "up"})
        assert moved.status_code == 200 and "“c” moved up." in moved.text
        assert moved.url.fragment == "rule-1-1"
        # The page the admin had is now out of date: a second change from it is refused.
        stale = client.post("/routing/move", data=base | {"routing": "1", "rule": "0", "step": "down"})
        assert stale.status_code == 409 and "was changed by someone else since this page was shown" in stale.text
        fresh = re.search(r'name="version" value="([^"]+)"', client.get("/routing").text)
        assert fresh
        base["version"] = fresh.group(1)
        first = client.post("/routing/move", data=base | {"routing": "1", "rule": "0", "step": "up"})
        assert "Nothing moved: “a” is already first." in first.text
        swapped = client.post("/routing/move", data=base | {"routing": "1", "step": "up"})
        assert "“everything else” moved up." in swapped.text
    run = _active(hub)
    assert run is not None
    assert [r["name"] for r in run["routings"]] == ["everything else", "express"]
    assert [r["name"] for r in run["routings"][0]["rules"]] == ["a", "c", "b"]


def test_an_admin_chooses_the_run_brokering_uses(hub: Hub, hub_server: ServerThread) -> None:
    make_oms(hub)
    with hub.db.write() as conn:
        routing_store.save_run(conn, {"name": "spare", "routings": [{"name": "all", "rules": [{"name": "any"}]}]},
                               active=False)
    accounts.add_user(hub.db, "ada", PASSWORD, "admin")
    with sign_in(hub_server.url, "ada") as client:
        def switch(run: str, in_use: str) -> httpx.Response:
            page = client.get("/routing", params={"run": run})
            version = re.search(r'name="version" value="([^"]+)"', page.text)
            assert version
            return client.post("/routing/use", data={"csrf": _token(page.text), "run": run,
                                                     "version": version.group(1), "in_use": in_use})
        assert "Brokering now uses “spare”." in switch("spare", "yes").text
        assert _active(hub) is not None and _active(hub)["name"] == "spare"  # type: ignore[index]
        page = client.get("/routing")
        assert 'data-test="run-state">in use' in page.text and "Stop using it" in page.text
        assert "Brokering now uses the built-in default." in switch("spare", "no").text
        assert _active(hub) is None
        switch("spare", "yes")
        assert "Brokering now uses the built-in default." in switch("", "yes").text
        assert _active(hub) is None


def test_a_dry_run_explains_where_an_order_would_go_and_writes_nothing(hub: Hub, hub_server: ServerThread) -> None:
    placed = _waiting_order(hub)
    accounts.add_user(hub.db, "vera", PASSWORD, "viewer")
    before = _snapshot(hub)
    with hub.db.read() as conn:
        expected = brokering.preview(conn, [placed["id"]])["decisions"][0]
    with sign_in(hub_server.url, "vera") as client:
        listing = client.get("/routing/dry-run")
        assert listing.status_code == 200 and f'href="/routing/dry-run?order={placed["id"]}">#1993</a>' in listing.text
        for ref in ("#1993", "1993", str(placed["id"]), str(placed["shopify_id"])):
            page = client.get("/routing/dry-run", params={"order": ref})
            assert page.status_code == 200, ref
            assert re.search(r'data-test="rule">nearest facility with everything<', page.text)
            fates = {a["data-unit"]: cells for a, cells in table(page.text, "fates")}
            waiting = next(u for u in placed["units"] if u["sku"] == "SKU-2")
            assert fates == {str(waiting["id"]): [str(waiting["id"]), "SKU-2", "backorder parking",
                                                  "facility WH-MUC"]}
            assert expected["allocations"] == [{"unit": waiting["id"], "sku": "SKU-2", "facility": "WH-MUC"}]
            lines = re.findall(r"<li>([^<]*)</li>", page.text.split('data-test="explanation"')[1].split("</ol>")[0])
            assert [line.replace("&#34;", '"') for line in lines] == expected["explanation"]
        missing = client.get("/routing/dry-run", params={"order": "#404"})
        assert missing.status_code == 404 and "no order #404: give an order number" in missing.text
    assert _snapshot(hub) == before


def test_a_dry_run_follows_an_edited_rule(hub: Hub, hub_server: ServerThread) -> None:
    placed = _waiting_order(hub)
    waiting = next(u for u in placed["units"] if u["sku"] == "SKU-2")
    accounts.add_user(hub.db, "ada", PASSWORD, "admin")
    with sign_in(hub_server.url, "ada") as client:
        form = _form(client.get("/routing/rule", params={"run": "", "routing": 0, "rule": 0}).text)
        client.post("/routing/rule", data=form | {"facility_groups_out": "munich"})
        before = _snapshot(hub)
        page = client.get("/routing/dry-run", params={"order": "#1993"})
    text = unescape(page.text)
    assert 'rule "nearest facility with everything": WH-MUC passed over: in excluded facility group munich' in text
    assert re.search(r'data-test="rule">nearest facilities, split<', page.text)  # the next rule places it
    assert [cells[-1] for _, cells in table(page.text, "fates")] == ["facility WH-MUC"]
    assert _snapshot(hub) == before
    assert next(u for u in order(hub)["units"] if u["id"] == waiting["id"])["facility"] is None


def test_viewers_and_operators_may_not_change_routing(hub: Hub, hub_server: ServerThread) -> None:
    make_oms(hub)
    with hub.db.write() as conn:
        routing_store.save_run(conn, {"name": "mine", "routings": [{"name": "all", "rules": [
            {"name": "a"}, {"name": "b"}]}]})
    before = _snapshot(hub)
    for name, role in (("vera", "viewer"), ("otto", "operator")):
        accounts.add_user(hub.db, name, PASSWORD, role)
        with sign_in(hub_server.url, name) as client:
            page = client.get("/routing")
            assert page.status_code == 200 and 'action="/routing/move"' not in page.text
            rule = client.get("/routing/rule", params={"run": "mine", "routing": 0, "rule": 0})
            assert "<fieldset disabled>" in rule.text and "Save rule" not in rule.text
            form = _form(rule.text)  # the user's own valid CSRF token and the current version
            for path, data in (("/routing/rule", form | {"name": "forged"}),
                               ("/routing/move", {"csrf": form["csrf"], "run": "mine", "version": form["version"],
                                                  "routing": "0", "rule": "1", "step": "up"}),
                               ("/routing/use", {"csrf": form["csrf"], "run": "mine", "version": form["version"],
                                                 "in_use": "no"})):
                forged = client.post(path, data=data, follow_redirects=False)
                assert forged.status_code == 403, path
                assert f"Your role ({role}) may not do this; it needs admin." in forged.text
    assert _snapshot(hub) == before

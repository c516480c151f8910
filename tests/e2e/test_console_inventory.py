"""The console's inventory pages over real HTTP: a SKU's figures are the inventory service's, its
ledger is shown a page at a time, and facilities are changed by an admin only."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from typing import Any
from urllib.parse import quote

import httpx

from orderhub.adapters.store import facilities as facility_store
from orderhub.adapters.store import inventory_store
from orderhub.adapters.store import thresholds as threshold_store
from orderhub.bootstrap import Hub
from orderhub.domain.inventory import LedgerReason
from orderhub.services import inventory as inventory_service
from orderhub.services.console import accounts
from orderhub.testing.server import ServerThread
from tests.e2e.test_console_http import PASSWORD, _token, sign_in
from tests.oms_support import ingest, make_oms, place

ODD_SKU = "TEE/渋谷-🦋 #1"  # a slash, a hash, CJK and an emoji: the SKU page's address must carry them


class _Tables(HTMLParser):
    """The rows of every ``<table data-test=...>``: each row's attributes and its cells' text."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, list[tuple[dict[str, str], list[str]]]] = {}
        self._table: str | None = None
        self._row: tuple[dict[str, str], list[str]] | None = None
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = {k: v or "" for k, v in attrs}
        if tag == "table" and "data-test" in found:
            self._table = found["data-test"]
            self.tables[self._table] = []
        elif tag == "tr" and self._table:
            self._row = (found, [])
        elif tag in ("td", "th") and self._row is not None:
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._row is not None and self._cell is not None:
            self._row[1].append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif tag == "tr" and self._row is not None and self._table:
            if self._row[0] or not self.tables[self._table]:
                self.tables[self._table].append(self._row)
            self._row = None
        elif tag == "table":
            self._table = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def table(html: str, name: str) -> list[tuple[dict[str, str], list[str]]]:
    """The body rows of ``<table data-test=name>`` (rows with attributes; the header row is left out)."""
    parser = _Tables()
    parser.feed(html)
    assert name in parser.tables, f"no table {name} in the page"
    return [row for row in parser.tables[name] if row[0]]


def figure(html: str, name: str) -> int:
    found = re.search(rf'data-test="{name}">([^<]*)<', html)
    assert found, name
    return int(found.group(1).replace(",", ""))


def sku_url(sku: str) -> str:
    return "/inventory/" + quote(sku, safe="")


def _stocked(hub: Hub) -> Any:
    """Two warehouses (WH-BER holds SKU-1 and SKU-2), an order placed (reservations), safety stock,
    a second warehouse holding SKU-1, and a channel with a threshold that sells from one group."""
    oms = make_oms(hub)
    ingest(hub, oms)
    place(hub)
    with hub.db.write() as conn:
        inventory_service.adjust(conn, "SKU-1", "WH-BER", actor="test", reason="adjusted", safety_stock=1)
        inventory_service.adjust(conn, "SKU-1", "WH-MUC", actor="test", reason="received", delta=7,
                                 note="Lieferung 🚚")
        inventory_service.adjust(conn, ODD_SKU, "WH-MUC", actor="test", reason="received", delta=4)
        facility_store.add_to_group(conn, "south", "WH-MUC")
        facility_store.set_channel(conn, "pos", name="Stores 🏬", threshold=2, groups=("south",))
        facility_store.set_channel(conn, "online", threshold=1)
        threshold_store.save(conn, "sku", "SKU-1", "online", 3, actor="test")
    return oms


def test_the_sku_page_shows_what_the_inventory_service_reports(hub: Hub, hub_server: ServerThread) -> None:
    _stocked(hub)
    accounts.add_user(hub.db, "vera", PASSWORD, "viewer")
    with hub.db.read() as conn:
        core = inventory_service.view(conn, "SKU-1")
        ledger = inventory_service.ledger(conn, "SKU-1")
    with sign_in(hub_server.url, "vera") as client:
        page = client.get(sku_url("SKU-1"))
    assert page.status_code == 200
    rows = {attrs["data-facility"]: cells for attrs, cells in table(page.text, "facilities")}
    assert rows == {r["facility"]: [r["facility"], rows[r["facility"]][1], "warehouse", str(r["on_hand"]),
                                    str(r["reserved"]), str(r["safety_stock"]), str(r["atp"])]
                    for r in core["facilities"]}
    assert rows["WH-BER"][1] == "Berlin 🏭" and rows["WH-BER"][3:] == ["5", "2", "1", "2"]  # 2 reserved by the order
    assert figure(page.text, "atp") == core["atp"] == 9
    assert figure(page.text, "on-hand") == 12 and figure(page.text, "reserved") == 2
    channels = {attrs["data-channel"]: cells for attrs, cells in table(page.text, "channels")}
    assert {code: int(cells[-1]) for code, cells in channels.items()} == core["channels"] == {"online": 6, "pos": 5}
    assert channels["online"][2:4] == ["3", "sku SKU-1"]  # the SKU's own threshold wins over the channel's 1
    assert channels["pos"][0] == "pos Stores 🏬" and channels["pos"][1] == "south"
    entries = table(page.text, "ledger")
    assert [int(attrs["data-entry"]) for attrs, _ in entries] == [e["id"] for e in ledger]
    newest = entries[0][1]
    assert newest[2:4] == ["WH-MUC", "received"] and newest[4] == "+7 0 → 7" and "Lieferung 🚚" in newest[6]
    reserved = next(cells for _, cells in entries if cells[3] == "reserved")
    assert reserved[5].startswith("+1") and reserved[6].startswith("order #1993") and reserved[7] == "placement"


def test_the_ledger_is_shown_a_page_at_a_time(hub: Hub, hub_server: ServerThread) -> None:
    make_oms(hub)
    with hub.db.write() as conn:
        for n in range(61):
            inventory_service.adjust(conn, "SKU-1", "WH-MUC", actor="test", reason="received", delta=1,
                                     note=f"delivery {n}")
        everything = [e["id"] for e in inventory_service.ledger(conn, "SKU-1", limit=1000)]
    assert len(everything) == 62
    accounts.add_user(hub.db, "vera", PASSWORD, "viewer")
    with sign_in(hub_server.url, "vera") as client:
        first = client.get(sku_url("SKU-1"))
        shown = [int(a["data-entry"]) for a, _ in table(first.text, "ledger")]
        older = re.search(r'rel="next" href="([^"]+)"', first.text)
        assert older and len(shown) == 50
        second = client.get(older.group(1).replace("&amp;", "&"))
        shown += [int(a["data-entry"]) for a, _ in table(second.text, "ledger")]
        assert 'rel="next"' not in second.text and "Newest entries" in second.text
    assert shown == everything


def test_finding_a_sku_by_part_of_it_any_case_a_page_at_a_time(hub: Hub, hub_server: ServerThread) -> None:
    oms = make_oms(hub)
    with hub.db.write() as conn:
        for n in range(55):
            inventory_store.set_on_hand(conn, f"MUG-{n:03d}", oms.wh2, n, reason=LedgerReason.RECEIVED, actor="t")
        inventory_store.set_on_hand(conn, ODD_SKU, oms.wh2, 4, reason=LedgerReason.RECEIVED, actor="t")
        inventory_store.set_on_hand(conn, "100%_COTTON", oms.wh2, 1, reason=LedgerReason.RECEIVED, actor="t")
    accounts.add_user(hub.db, "vera", PASSWORD, "viewer")
    with sign_in(hub_server.url, "vera") as client:
        first = client.get("/inventory", params={"q": "mug-"})
        found = [cells[0] for _, cells in table(first.text, "sku-list")]
        assert found == [f"MUG-{n:03d}" for n in range(50)]
        more = re.search(r'rel="next" href="([^"]+)"', first.text)
        assert more
        rest = client.get(more.group(1).replace("&amp;", "&"))
        assert [cells[0] for _, cells in table(rest.text, "sku-list")] == [f"MUG-{n:03d}" for n in range(50, 55)]
        line = next(cells for _, cells in table(rest.text, "sku-list") if cells[0] == "MUG-054")
        assert line[2:] == ["1", "54", "0", "54"]
        assert [c[0] for _, c in table(client.get("/inventory", params={"q": "%_"}).text, "sku-list")] == [
            "100%_COTTON"]  # LIKE wildcards are searched for, not matched by
        odd = client.get("/inventory", params={"q": "渋谷"})
        assert [c[0] for _, c in table(odd.text, "sku-list")] == [ODD_SKU]
        link = re.search(r'<a href="(/inventory/TEE[^"]+)"', odd.text)
        assert link
        page = client.get(link.group(1))
        assert page.status_code == 200 and f'data-test="sku">{ODD_SKU}</h1>' in page.text
        assert figure(page.text, "on-hand") == 4
        missing = client.get(sku_url("NO-SUCH-SKU"))
        assert missing.status_code == 404 and "No SKU NO-SUCH-SKU" in missing.text


def _facility(hub: Hub, code: str) -> facility_store.FacilityRecord:
    with hub.db.read() as conn:
        return next(f for f in facility_store.all_facilities(conn) if f.code == code)


def _edit_form(client: httpx.Client, code: str) -> dict[str, str]:
    page = client.get(f"/inventory/facilities/{code}")
    assert page.status_code == 200
    version = re.search(r'name="version" value="([^"]+)"', page.text)
    assert version
    return {"csrf": _token(page.text), "version": version.group(1), "name": "Lager 🏭 מחסן ברלין",
            "daily_capacity": "120", "sequence": "-3", "active": "no", "pos_store_code": "DE-BER-01"}


def test_an_admin_changes_a_facility_and_mistakes_are_named(hub: Hub, hub_server: ServerThread) -> None:
    make_oms(hub)
    accounts.add_user(hub.db, "ada", PASSWORD, "admin")
    with sign_in(hub_server.url, "ada") as client:
        listing = client.get("/inventory/facilities")
        rows = {a["data-facility"]: cells for a, cells in table(listing.text, "facility-list")}
        assert rows["WH-BER"][:5] == ["WH-BER", "Berlin 🏭", "warehouse", "WH-BER (its code)", "unlimited"]
        form = _edit_form(client, "WH-BER")
        done = client.post("/inventory/facilities/WH-BER", data=form)
        assert done.status_code == 200 and done.url.path == "/inventory/facilities"
        assert ("Facility WH-BER changed: name Berlin 🏭 → Lager 🏭 מחסן ברלין, daily capacity none → 120, "
                "sequence 0 → -3, active yes → no, POS store code none → DE-BER-01.") in done.text
        after = _facility(hub, "WH-BER")
        assert (after.name, after.daily_capacity, after.sequence, after.active, after.pos_store_code) == (
            "Lager 🏭 מחסן ברלין", 120, -3, False, "DE-BER-01")
        stale = client.post("/inventory/facilities/WH-BER", data=form | {"daily_capacity": "99"})
        assert stale.status_code == 409 and "Facility WH-BER was changed by someone else" in stale.text
        form = _edit_form(client, "WH-BER")
        again = client.post("/inventory/facilities/WH-BER", data=form)
        assert "Facility WH-BER: nothing changed." in again.text
        wrong = client.post("/inventory/facilities/WH-BER", data=form | {"daily_capacity": "-4"})
        assert wrong.status_code == 422 and "facility WH-BER: daily capacity cannot be negative (got -4)" in wrong.text
        wrong = client.post("/inventory/facilities/WH-BER", data=form | {"sequence": "soon"})
        assert wrong.status_code == 422 and 'value="soon"' in wrong.text
        assert "facility WH-BER: the sequence must be a whole number (got &#39;soon&#39;)" in wrong.text
        assert _facility(hub, "WH-BER") == after
        form = _edit_form(client, "WH-BER")
        cleared = client.post("/inventory/facilities/WH-BER", data=form | {"daily_capacity": "", "pos_store_code": "",
                                                                           "active": "yes"})
        assert "daily capacity 120 → none" in cleared.text
        assert (_facility(hub, "WH-BER").daily_capacity, _facility(hub, "WH-BER").pos_store_code) == (None, None)
        assert client.post("/inventory/facilities/WH-NOPE", data=form).status_code == 404


def test_operators_and_viewers_may_not_change_a_facility(hub: Hub, hub_server: ServerThread) -> None:
    make_oms(hub)
    before = _facility(hub, "WH-BER")
    for name, role in (("otto", "operator"), ("vera", "viewer")):
        accounts.add_user(hub.db, name, PASSWORD, role)
        with sign_in(hub_server.url, name) as client:
            page = client.get("/inventory/facilities/WH-BER")
            assert page.status_code == 200 and 'action="/inventory/facilities/WH-BER"' not in page.text
            assert "Only an admin may change a facility." in page.text
            # A forged form with the user's own valid CSRF token: refused by role, on the server.
            forged = client.post("/inventory/facilities/WH-BER", data={
                "csrf": _token(page.text), "daily_capacity": "0", "active": "no"}, follow_redirects=False)
            assert forged.status_code == 403 and f"Your role ({role}) may not do this" in forged.text
    assert _facility(hub, "WH-BER") == before

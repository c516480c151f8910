"""GET /v3/items (getAllItems) against Walmart's Item Management document: the published example fits the
published model, the simulator's answers fit it without inventing fields, and it pages by nextCursor or
offset as the operation's description says."""

from __future__ import annotations

from orderhub.simulators.walmart.schema_check import check, sample
from tests.simulators import test_walmart_helpers as helpers
from tests.simulators.test_walmart_helpers import SELLER_A, SELLER_B, WalmartClient

walmart_server, wm = helpers.walmart_server, helpers.wm  # the shared fixtures


def test_the_published_example_departs_only_where_recorded_and_the_check_finds_departures() -> None:
    problems = check(sample("items.all.response.json"), "items", "ItemResponses")
    assert len(problems) == 20 and all(".price.amount: expected string, got " in p for p in problems)
    assert check({"ItemResponse": [{"wpid": 5}]}, "items", "ItemResponses") == [
        "$.ItemResponse[0]: missing required 'sku'", "$.ItemResponse[0].wpid: expected string, got int 5"]


def test_every_item_comes_a_page_at_a_time_by_cursor(wm: WalmartClient) -> None:
    for n in range(55):
        wm.control("POST", "/inventory", {"seller": SELLER_A.client_id, "sku": f"WM-EXTRA-{n:02d}", "quantity": n})
    seen: list[dict[str, object]] = []
    cursor, pages = "*", 0
    while True:
        answer = wm.ok("GET", "/v3/items", params={"nextCursor": cursor, "limit": "50"})
        assert check(answer, "items", "ItemResponses", strict=True) == []
        seen += answer["ItemResponse"]
        pages += 1
        cursor = answer.get("nextCursor")
        if not cursor:
            break
    total = answer["totalItems"]
    assert pages == 2 and len(seen) == total == len({i["sku"] for i in seen}) >= 55
    mug = next(i for i in seen if i["sku"] == "WM-MUG-CAFE")
    assert mug["productName"] == "Café Crème Mug ☕" and len(str(mug["wpid"])) == 12
    assert (mug["publishedStatus"], mug["lifecycleStatus"]) == ("PUBLISHED", "ACTIVE")
    # The same item has the same wpid on every read; another seller's items are not listed.
    again = wm.ok("GET", "/v3/items", params={"sku": "WM-MUG-CAFE"})
    assert again["ItemResponse"] == [mug] and again["totalItems"] == 1
    other = wm.ok("GET", "/v3/items", seller=SELLER_B, params={"limit": "50", "offset": "0"})
    assert not {i["sku"] for i in other["ItemResponse"]} & {f"WM-EXTRA-{n:02d}" for n in range(55)}
    by_offset = wm.ok("GET", "/v3/items", params={"offset": "50", "limit": "10"})
    assert [i["sku"] for i in by_offset["ItemResponse"]] == [i["sku"] for i in seen[50:60]]


def test_mistakes_are_answered_as_walmart_answers_them(wm: WalmartClient) -> None:
    for params, status, field in (({"limit": "51"}, 400, "limit"), ({"nextCursor": "not-ours"}, 400, "nextCursor"),
                                  ({"sku": "NO-SUCH"}, 404, "sku")):
        answer = wm.call("GET", "/v3/items", params=params)
        assert answer.status_code == status, answer.text
        (error,) = answer.json()["errors"]
        assert error["field"] == field and error["code"].endswith(".GMP_ITEM_QUERY_API")
        assert check(answer.json(), "items", "ItemResponses")  # an error answer is not a list of items

"""searchListingsItems against Amazon's Listings Items model 2021-08-01: the published sandbox samples fit
ItemSearchResults, the simulator's answers fit it too, and it pages, narrows and refuses as the model says."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from orderhub.simulators.amazon.models import check
from orderhub.simulators.amazon.samples import load
from tests.simulators.test_amazon_support import SELLER_A, US, Amazon, SwitchApp, fresh, serve

SEARCH = f"/listings/2021-08-01/items/{SELLER_A}"


@pytest.fixture(scope="module")
def _server() -> Iterator[tuple[SwitchApp, httpx.Client, str]]:
    yield from serve()


@pytest.fixture
def amazon(_server: tuple[SwitchApp, httpx.Client, str]) -> Iterator[Amazon]:
    yield from fresh(*_server)


def test_the_published_search_sample_fits_the_model_and_the_check_is_not_a_rubber_stamp() -> None:
    (ok,) = [s for s in load("listings_2021_08_01_samples.json")["searchListingsItems"] if s["status"] == 200]
    assert check(ok["response"], "listings_2021_08_01", "ItemSearchResults") == []
    assert check({"items": [{"summaries": []}]}, "listings_2021_08_01", "ItemSearchResults") == [
        "body: numberOfResults is required", "items[0]: sku is required"]


def test_the_seller_s_listings_come_a_page_at_a_time_in_the_model_s_shape(amazon: Amazon) -> None:
    amazon.control("POST", "/listings", {"listings": [{"sku": f"EXTRA-{n:02d}-ß", "quantity": n} for n in range(15)]})
    seen, token, pages = [], None, 0
    while True:
        params = {"marketplaceIds": US, "pageSize": 10, "sortBy": "sku", "sortOrder": "ASC",
                  "includedData": "summaries,fulfillmentAvailability", **({"pageToken": token} if token else {})}
        amazon.advance(1)
        answer = amazon.get(SEARCH, params=params)
        assert answer.status_code == 200, answer.text
        assert answer.headers["x-amzn-RateLimit-Limit"] == "5.0"
        body = answer.json()
        assert check(body, "listings_2021_08_01", "ItemSearchResults") == []
        assert body["numberOfResults"] == 23  # the catalogue's 8 and 15 more
        seen += [(i["sku"], i["summaries"][0]["asin"], i["fulfillmentAvailability"]) for i in body["items"]]
        pages += 1
        token = body.get("pagination", {}).get("nextToken")
        if not token:
            break
    assert pages == 3 and [s for s, _, _ in seen] == sorted(s for s, _, _ in seen) and len(seen) == 23
    assert ("MUG-CAFE", "B0ORDHUB02", [{"fulfillmentChannelCode": "DEFAULT", "quantity": 0}]) in seen


def test_identifiers_narrow_the_search_and_mistakes_are_answered_400(amazon: Amazon) -> None:
    found = amazon.get(SEARCH, params={"marketplaceIds": US, "identifiersType": "SKU",
                                       "identifiers": "MUG-CAFE,SOAP-LAV,NOT-LISTED",
                                       "includedData": "fulfillmentAvailability"}).json()
    assert sorted(i["sku"] for i in found["items"]) == ["MUG-CAFE", "SOAP-LAV"] and "pagination" not in found
    by_asin = amazon.get(SEARCH, params={"marketplaceIds": US, "identifiersType": "ASIN",
                                         "identifiers": "B0ORDHUB03"}).json()
    assert [i["sku"] for i in by_asin["items"]] == ["MUG-MSK"]
    for params in ({"identifiers": "MUG-CAFE"}, {"pageSize": 21}, {"sortBy": "price"},
                   {"identifiersType": "SKU", "identifiers": ",".join(f"S{n}" for n in range(21))},
                   {"pageToken": "bm90LW91cnM="}):
        amazon.advance(1)  # the usage plan's burst is 5; a second refills it
        refused = amazon.get(SEARCH, params={"marketplaceIds": US, **params})
        assert refused.status_code == 400, params
        assert refused.json()["errors"][0]["code"] == "BAD_REQUEST"
    assert amazon.get(SEARCH, params={}).status_code == 400  # marketplaceIds is required

"""Properties: applying any permutation of versions, with repeats, ends at the latest version."""

from __future__ import annotations

import itertools

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.integration.test_processor import order_of, put
from tests.support import BIG_ID, add_shop, drain, order_payload

_ids = itertools.count(1)

version_strategy = st.lists(
    st.tuples(st.integers(min_value=0, max_value=3000),  # seconds after a base time: distinct versions
              st.sampled_from(["pending", "authorized", "paid", "refunded"]),
              st.text(min_size=0, max_size=20)),  # any Unicode note, emoji included
    min_size=1, max_size=6, unique_by=lambda v: v[0])


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(versions=version_strategy, data=st.data())
def test_any_arrival_order_with_repeats_ends_at_latest(hub, versions, data):  # type: ignore[no-untyped-def]
    shop = add_shop(hub)
    order_id = BIG_ID + 1000 * next(_ids)
    payloads = []
    for seconds, status, note in versions:
        hh, rest = divmod(seconds, 3600)
        mm, ss = divmod(rest, 60)
        payloads.append(order_payload(order_id, updated_at=f"2026-11-24T{hh:02d}:{mm:02d}:{ss:02d}Z",
                                      financial_status=status, note=note))
    arrivals = data.draw(st.permutations(payloads + data.draw(st.lists(st.sampled_from(payloads), max_size=4))))
    for i, p in enumerate(arrivals):
        put(hub, "orders/updated" if i else "orders/create", p, shop_id=shop.id)
    drain(hub)
    latest = max(payloads, key=lambda p: p["updated_at"])
    stored = order_of(hub, order_id)
    assert stored["source_financial_status"] == latest["financial_status"]
    assert stored["note"] == latest["note"].replace("\x00", "")  # NUL is dropped: PostgreSQL text cannot hold it
    assert stored["source_updated_at"].startswith(latest["updated_at"][:19])
    # Each distinct version is applied at most once: version counts applied changes only.
    assert 1 <= stored["version"] <= len(payloads)
    assert sum(1 for t in stored["timeline"] if t["kind"] in ("created", "updated")) == stored["version"]

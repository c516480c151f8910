"""When Amazon fails the import job: refused credentials, 5xx, timeouts and 429 each give an error naming the
account and the operation, never a secret, and nothing is lost (the watermark moves only after storing)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import select

from orderhub.adapters.amazon.client import RATE_MARGIN, AmazonAuthFailed, AmazonUnavailable, SpApiClient, forget_tokens
from orderhub.adapters.store import job_store
from orderhub.adapters.store.schema import inbox, rate_buckets
from orderhub.bootstrap import Hub
from orderhub.services.jobs.amazon_jobs import IMPORT_JOB, WATERMARK, import_orders
from orderhub.simulators.amazon import defaults
from tests.e2e.test_amazon_orders import Sim, add_account, running_simulator

pytestmark = pytest.mark.timeout(180)
NO_WAIT = {"sleep": lambda seconds: None}


@pytest.fixture
def amazon_sim() -> Iterator[Sim]:
    with running_simulator() as sim:
        yield sim



def watermark(hub: Hub, account_id: int) -> object:
    with hub.db.read() as conn:
        return job_store.time_watermark(conn, IMPORT_JOB, account_id, WATERMARK)


def stored(hub: Hub) -> int:
    with hub.db.read() as conn:
        return len(conn.execute(select(inbox.c.id)).all())


def test_refused_credentials_name_the_account_and_never_the_secret(hub: Hub, amazon_sim: Sim) -> None:
    account = add_account(hub, amazon_sim, refresh_token="Atzr|not-this-one-🔑")
    with pytest.raises(AmazonAuthFailed) as refused:
        import_orders(hub, account, {}, **NO_WAIT)
    message = str(refused.value)
    assert message.startswith("amazon account amazon-us, Login with Amazon: refused the app's credentials")
    assert "invalid_grant" in message and "orderhub channel add amazon amazon-us" in message
    for secret in ("Atzr|not-this-one-🔑", defaults.DEFAULT_CLIENT_SECRET):
        assert secret not in message and secret not in repr(refused.value)
    assert watermark(hub, account.id) is None


def test_5xx_and_timeouts_leave_the_watermark_and_the_next_run_gets_everything(hub: Hub, amazon_sim: Sim) -> None:
    account = add_account(hub, amazon_sim)
    amazon_sim.post("/_sim/orders", {"count": 3})
    amazon_sim.later()
    amazon_sim.post("/_sim/failures", {"operation": "getOrders", "outcome": "error", "status": 503, "times": 4})
    with pytest.raises(AmazonUnavailable, match=r"^amazon account amazon-us, getOrders: Amazon answered 503 "
                                                r"ServiceUnavailable 4 times$"):
        import_orders(hub, account, {}, **NO_WAIT)
    # getOrderItems of the second order holds its answer past the client's timeout, every time.
    amazon_sim.post("/_sim/failures", {"operation": "getOrderItems", "outcome": "timeout", "seconds": 1.5,
                                       "after": 1, "times": 4})
    with pytest.raises(AmazonUnavailable, match=r"^amazon account amazon-us, getOrderItems: timed out after 4 "
                                                r"attempts$"):
        import_orders(hub, account, {}, timeout=0.5, **NO_WAIT)
    assert watermark(hub, account.id) is None and stored(hub) == 0  # the page was not stored, nor the mark moved
    amazon_sim.control.delete("/_sim/failures")
    assert import_orders(hub, account, {}, **NO_WAIT)["stored"] == 3
    assert watermark(hub, account.id) is not None


def test_429_with_amazon_s_headers_pauses_the_shared_bucket_and_says_when(hub: Hub, amazon_sim: Sim) -> None:
    account = add_account(hub, amazon_sim)
    amazon_sim.post("/_sim/config", {"rate_limits": {"getOrders": {"rate": 0.002, "burst": 1}}})
    import_orders(hub, account, {}, **NO_WAIT)  # the one request Amazon's bucket holds
    with pytest.raises(AmazonUnavailable) as throttled:
        import_orders(hub, account, {}, **NO_WAIT)
    assert str(throttled.value).startswith("amazon account amazon-us, getOrders: throttled by Amazon (429")
    # Amazon's 429 carries no rate header: the wait follows the x-amzn-RateLimit-Limit of its last answer.
    assert throttled.value.retry_after == pytest.approx(500.0 / RATE_MARGIN)
    with hub.db.read() as conn:
        bucket = conn.execute(select(rate_buckets).where(
            rate_buckets.c.name == f"amazon:{account.id}:getOrders")).one()
    assert bucket.paused_until is not None  # every process waits, not only this one


def test_tokens_are_reused_and_renewed_when_amazon_forgets_them(hub: Hub, amazon_sim: Sim) -> None:
    account = add_account(hub, amazon_sim)
    forget_tokens()
    client = SpApiClient(account, hub.limiter, **NO_WAIT)
    query = {"MarketplaceIds": defaults.DEFAULT_MARKETPLACE_ID, "LastUpdatedAfter": "2026-01-01T00:00:00Z"}
    for _ in range(3):
        client.call("getOrders", "GET", "/orders/v0/orders", params=query)
    logins = [r for r in amazon_sim.get("/_sim/requests")["requests"] if r["operation"] == "lwaToken"]
    assert len(logins) == 1
    amazon_sim.post("/_sim/tokens/expire", {})
    client.call("getOrders", "GET", "/orders/v0/orders", params=query)  # refused once, then logged in again
    logins = [r for r in amazon_sim.get("/_sim/requests")["requests"] if r["operation"] == "lwaToken"]
    assert len(logins) == 2


def test_one_account_failing_does_not_keep_another_from_its_orders(hub: Hub, amazon_sim: Sim) -> None:
    from orderhub.adapters.store.schema import orders
    from orderhub.domain.channels import ChannelUnavailable
    from orderhub.services.jobs.amazon_jobs import run_import
    from tests.support import drain

    good = add_account(hub, amazon_sim)
    add_account(hub, amazon_sim, name="amazon-revoked", refresh_token="Atzr|revoked")
    amazon_sim.post("/_sim/orders", {"count": 2})
    amazon_sim.later()
    with pytest.raises(ChannelUnavailable, match=r"^amazon account amazon-revoked, Login with Amazon: refused"):
        run_import(hub, {})
    drain(hub)
    with hub.db.read() as conn:
        assert len(conn.execute(select(orders.c.id).where(orders.c.shop_id == good.id)).all()) == 2
    assert watermark(hub, good.id) is not None

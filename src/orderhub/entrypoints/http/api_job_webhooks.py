"""The admin API of a category's Shopify webhook subscriptions, per shop (operator role: it calls Shopify).

``GET /api/jobs/categories/{code}/webhooks?shop=`` reports each topic's state;
``POST`` the same path with ``{shop, action: subscribe|unsubscribe, address}`` changes them.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Path, Query
from pydantic import BaseModel, Field

from orderhub.adapters.shopify.graphql import ShopifyError
from orderhub.adapters.store import shops
from orderhub.adapters.store.shops import Shop
from orderhub.bootstrap import Hub
from orderhub.domain.jobs import CATEGORY_CODES
from orderhub.entrypoints.http.api import hub_of, require_role, require_token
from orderhub.services import webhook_categories
from orderhub.services.webhook_categories import TopicState, WebhookError

router = APIRouter(prefix="/api", dependencies=[Depends(require_token)])
HubDep = Annotated[Hub, Depends(hub_of)]
Code = Annotated[str, Path(min_length=1, max_length=32)]


def _shop(hub: Hub, domain: str) -> Shop:
    with hub.db.read() as conn:
        found = shops.by_domain(conn, domain)
    if found is None:
        raise HTTPException(404, f"no shop {domain}")
    return found


def _category(code: str) -> str:
    if code not in CATEGORY_CODES:
        raise HTTPException(404, f"unknown category {code!r}; categories: {', '.join(sorted(CATEGORY_CODES))}")
    return code


def _answer(shop: Shop, code: str, action: str, states: list[TopicState]) -> dict[str, Any]:
    errors = [s.error for s in states if s.error]
    return {"shop": shop.domain, "category": code, "action": action, "ok": not errors, "errors": errors,
            "topics": [s.as_dict() for s in states]}


def _refused(shop: Shop, code: str, exc: Exception) -> HTTPException:
    if isinstance(exc, ShopifyError):  # Shopify (or the way to it) failed: a bad gateway, not a bad request
        return HTTPException(502, f"{code} webhooks of {shop.domain}: {exc}")
    return HTTPException(422, f"{code} webhooks of {shop.domain}: {exc}")


@router.get("/jobs/categories/{code}/webhooks", dependencies=[require_role("operator")])
def webhook_state(code: Code, hub: HubDep, shop: str = Query(..., min_length=1, max_length=255),
                  address: str | None = Query(None, max_length=1000)) -> dict[str, Any]:
    """Each topic of the category at Shopify: subscribed (id, callback), missing, or other-address."""
    target, code = _shop(hub, shop), _category(code)
    try:
        states = webhook_categories.state(hub, target, code, address=address)
    except (WebhookError, ValueError, ShopifyError) as exc:
        raise _refused(target, code, exc) from None
    return _answer(target, code, "state", states)


class WebhookAction(BaseModel):
    shop: str = Field(min_length=1, max_length=255)
    action: Literal["subscribe", "unsubscribe"]
    address: str | None = Field(None, max_length=1000)


@router.post("/jobs/categories/{code}/webhooks", dependencies=[require_role("operator")])
def change_webhooks(code: Code, body: WebhookAction, hub: HubDep) -> dict[str, Any]:
    """Subscribe the category's topics to ``address``, or remove them; answers each topic's state."""
    target, code = _shop(hub, body.shop), _category(code)
    try:
        if body.action == "subscribe":
            states = webhook_categories.subscribe(hub, target, code, body.address or "")
        else:
            if body.address:
                raise WebhookError("unsubscribe removes the category's subscriptions whatever their address; "
                                   "leave out address")
            states = webhook_categories.unsubscribe(hub, target, code)
    except (WebhookError, ValueError, ShopifyError) as exc:
        raise _refused(target, code, exc) from None
    return _answer(target, code, body.action, states)

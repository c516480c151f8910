"""Managing a shop's webhook subscriptions through the Admin GraphQL API.

From API version 2025-10 a subscription's address is its ``uri`` (``callbackUrl`` and
``endpoint`` are deprecated: https://shopify.dev/changelog/consolidate-webhook-graphql-surfaces);
before, ``callbackUrl``. The client's version decides which the requests use.
"""

from __future__ import annotations

from typing import Any

from orderhub.adapters.shopify.graphql import AdminClient, ShopifyError
from orderhub.adapters.shopify.webhooks import SUPPORTED_TOPICS

CREATE = """
mutation Subscribe($topic: WebhookSubscriptionTopic!, $url: String!) {
  webhookSubscriptionCreate(topic: $topic, webhookSubscription: {uri: $url, format: JSON}) {
    webhookSubscription { id topic }
    userErrors { field message }
  }
}
"""
CREATE_BEFORE_2025_10 = """
mutation Subscribe($topic: WebhookSubscriptionTopic!, $url: URL!) {
  webhookSubscriptionCreate(topic: $topic, webhookSubscription: {callbackUrl: $url, format: JSON}) {
    webhookSubscription { id topic }
    userErrors { field message }
  }
}
"""

DELETE = """
mutation Unsubscribe($id: ID!) {
  webhookSubscriptionDelete(id: $id) { deletedWebhookSubscriptionId userErrors { field message } }
}
"""

LIST = """
query Subscriptions($after: String) {
  webhookSubscriptions(first: 100, after: $after) {
    pageInfo { hasNextPage endCursor }
    nodes { id topic uri }
  }
}
"""
LIST_BEFORE_2025_10 = """
query Subscriptions($after: String) {
  webhookSubscriptions(first: 100, after: $after) {
    pageInfo { hasNextPage endCursor }
    nodes { id topic endpoint { __typename ... on WebhookHttpEndpoint { callbackUrl } } }
  }
}
"""


def enum_topic(topic: str) -> str:
    """``orders/create`` -> ``ORDERS_CREATE``."""
    return topic.replace("/", "_").upper()


_FROM_ENUM = {enum_topic(t): t for t in SUPPORTED_TOPICS}


def subscribe(client: AdminClient, topic: str, callback_url: str) -> dict[str, Any]:
    query = CREATE if client.has("webhook_uri") else CREATE_BEFORE_2025_10
    data = client.execute(query, {"topic": enum_topic(topic), "url": callback_url})["webhookSubscriptionCreate"]
    errors = data.get("userErrors") or []
    if errors and any("already been taken" in (e.get("message") or "") for e in errors):
        return {"topic": topic, "status": "already subscribed"}
    if errors:
        raise ShopifyError(f"subscribing {topic}: " + "; ".join(e.get("message", "") for e in errors))
    return {"topic": topic, "status": "subscribed", "id": data["webhookSubscription"]["id"]}


def list_subscriptions(client: AdminClient) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    after = None
    query = LIST if client.has("webhook_uri") else LIST_BEFORE_2025_10
    while True:
        page = client.execute(query, {"after": after})["webhookSubscriptions"]
        for node in page.get("nodes") or []:
            address = node["uri"] if "uri" in node else (node.get("endpoint") or {}).get("callbackUrl")
            found.append({"id": node["id"], "topic": _FROM_ENUM.get(node["topic"], node["topic"]),
                          "callback_url": address})
        if not (page.get("pageInfo") or {}).get("hasNextPage"):
            return found
        after = page["pageInfo"]["endCursor"]


def unsubscribe(client: AdminClient, subscription_id: str) -> None:
    data = client.execute(DELETE, {"id": subscription_id})["webhookSubscriptionDelete"]
    if data.get("userErrors"):
        raise ShopifyError("; ".join(e.get("message", "") for e in data["userErrors"]))

"""The HTTP API reference: every operation of the OpenAPI document, the role it needs, and the other doors."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi import FastAPI
from starlette.routing import Route

from orderhub.reference import http_api

PAGE = Path(__file__).resolve().parents[2] / "docs" / "reference" / "http-api.md"


@pytest.fixture(scope="module")
def app() -> FastAPI:
    return http_api.build_app()


def test_every_operation_has_its_section_with_summary_parameters_and_answers(app: FastAPI) -> None:
    text = http_api.reference(app)
    operations = [(method, path, op) for path, item in app.openapi()["paths"].items()
                  for method, op in item.items() if method in http_api.METHODS]
    assert len(operations) > 40
    for method, path, op in operations:
        anchor = http_api.operation_anchor(method, path)
        assert f"### `{method.upper()} {path}` {{#{anchor}}}\n\n**{op['summary']}**" in text
        assert f"[`{method.upper()} {path}`](#{anchor})" in text
    assert http_api.operation_anchor("GET", "/api/orders/{ref}") == "get-api-orders-ref"
    section = text.split("{#post-api-subscriptions}", 1)[1].split("\n### ", 1)[0]
    assert "**Request body** (required): `application/json`: [`NewSubscription`](#schema-NewSubscription)" in section
    assert "| `201` | Successful Response |" in section
    assert "### `NewSubscription` {#schema-NewSubscription}" in text
    listing = text.split("{#get-api-orders}", 1)[1].split("\n### ", 1)[0]
    assert "| `limit` | query | integer | no | `50` | ≥ `1`, ≤ `500` |" in listing


def test_the_role_each_operation_needs_comes_from_its_route(app: FastAPI) -> None:
    roles = http_api.required_roles(app)
    assert roles[("GET", "/api/orders")] == "viewer"
    assert roles[("POST", "/api/orders/{ref}/hold")] == "operator"
    assert roles[("POST", "/api/invoicing/setup")] == "admin"
    assert roles[("POST", "/api/subscriptions")] == "admin"
    documented = {(m.upper(), p) for p, item in app.openapi()["paths"].items() for m in item}
    assert documented == set(roles), "every /api operation needs a token, and says which role"
    text = http_api.reference(app)
    section = text.split("{#post-api-invoicing-setup}", 1)[1].split("\n### ", 1)[0]
    assert "Needs: a bearer token of scope `api` with role `admin` or above." in section


def test_every_door_outside_the_api_is_in_the_pages_introduction(app: FastAPI) -> None:
    doors = {r.path for r in app.routes if type(r) is Route}  # the API and the console are included routers
    assert {"/webhooks/shopify", "/webhooks/eventbridge", "/healthz", "/metrics", "/openapi.json"} <= doors
    intro = PAGE.read_text(encoding="utf-8").split("<!-- orderhub-reference:", 1)[0]
    missing = sorted(d for d in doors if f"`{d}`" not in intro)
    assert not missing, f"doors missing from docs/reference/http-api.md: {missing}"

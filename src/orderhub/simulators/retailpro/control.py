"""The simulator's control API under ``/_sim``: seed data, faults, settings, and what it stored and saw.

Not part of Retail Pro: it is how tests and the demo set the scene. No session is needed;
errors answer in the service's error shape.

- ``POST /_sim/reset`` forget stores, stock, invoices, slips, sessions, faults, the request log.
- ``POST /_sim/seed`` ``{"stores": [...], "upcs": [...], "inventory": [{"store", "upc", "qty"}],
  "users": [{"usr", "pwd"}], "workstations": [...]}`` (inventory *sets* quantities).
- ``GET /_sim/inventory`` every store's on-hand quantities.
- ``GET``/``POST /_sim/config`` ``session_idle_seconds``, ``allow_negative_inventory``.
- ``POST /_sim/latency`` ``{"fixed": s, "jitter": s, "path": prefix}``; ``DELETE`` removes it.
- ``POST /_sim/failures`` a rule (see :mod:`.faults`); ``GET`` lists rules with uses; ``DELETE`` clears.
- ``POST /_sim/receipts`` ``{"receipts": [...]}`` sales and returns rung at stores' registers (see
  :mod:`.receipts`); ``GET /_sim/receipts`` every sales document, invoices included.
- ``GET /_sim/invoices``, ``GET /_sim/transfers``, ``GET /_sim/requests``, ``GET /_sim/sessions``.
- ``POST /_sim/sessions/expire`` drop every session (like a Prism restart).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timezone
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from orderhub.simulators.retailpro.errors import PrismError, fail, json_response
from orderhub.simulators.retailpro.faults import Latency, parse_latency, parse_rule
from orderhub.simulators.retailpro.receipts import MAX_RECEIPTS, parse_receipt
from orderhub.simulators.retailpro.simulator import Simulator
from orderhub.simulators.retailpro.validation import Problems

Handler = Callable[[dict[str, Any]], Any]


def _guard(handler: Handler, status: int = 200) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        raw = await request.body()
        try:
            try:
                body = orjson.loads(raw) if raw.strip() else {}
            except orjson.JSONDecodeError as exc:
                raise fail(400, "BODY_INVALID", f"The request body is not valid JSON: {exc}.") from None
            if not isinstance(body, dict):
                raise fail(400, "BODY_INVALID", "The request body must be a JSON object.")
            return json_response(handler(body), status)
        except PrismError as exc:
            return json_response(exc.body(), exc.status)

    return endpoint


def _strings(body: dict[str, Any], key: str) -> list[str]:
    values = body.get(key, [])
    if not isinstance(values, list) or not all(isinstance(v, str) and v for v in values):
        raise fail(400, "FIELD_INVALID", f"{key} must be a list of non-empty strings.", key)
    return values


def _quantities(body: dict[str, Any]) -> list[tuple[str, str, int]]:
    rows = body.get("inventory", [])
    if not isinstance(rows, list):
        raise fail(400, "FIELD_INVALID", "inventory must be a list of {store, upc, qty}.", "inventory")
    out = []
    for i, row in enumerate(rows):
        if not (isinstance(row, dict) and isinstance(row.get("store"), str) and row["store"]
                and isinstance(row.get("upc"), str) and row["upc"]
                and isinstance(row.get("qty"), int) and not isinstance(row.get("qty"), bool)):
            raise fail(400, "FIELD_INVALID", f"inventory[{i}] must be {{store, upc, qty}} with a whole qty.",
                       f"inventory[{i}]")
        out.append((row["store"], row["upc"], row["qty"]))
    return out


class ControlApi:
    def __init__(self, simulator: Simulator) -> None:
        self.sim = simulator

    def routes(self) -> list[Route]:
        return [
            Route("/_sim/reset", _guard(self.reset), methods=["POST"]),
            Route("/_sim/seed", _guard(self.seed), methods=["POST"]),
            Route("/_sim/inventory", _guard(lambda _: {"inventory": self.sim.store.inventory()}), methods=["GET"]),
            Route("/_sim/config", _guard(lambda _: self.sim.settings()), methods=["GET"]),
            Route("/_sim/config", _guard(self.configure), methods=["POST"]),
            Route("/_sim/latency", _guard(self.latency), methods=["POST"]),
            Route("/_sim/latency", _guard(self.no_latency), methods=["DELETE"]),
            Route("/_sim/failures", _guard(self.add_failure, 201), methods=["POST"]),
            Route("/_sim/failures", _guard(lambda _: {"failures": self.sim.faults.rules()}), methods=["GET"]),
            Route("/_sim/failures", _guard(self.clear_failures), methods=["DELETE"]),
            Route("/_sim/receipts", _guard(self.add_receipts, 201), methods=["POST"]),
            Route("/_sim/receipts", _guard(lambda _: {"receipts": self.sim.store.documents()}), methods=["GET"]),
            Route("/_sim/invoices", _guard(lambda _: {"invoices": self.sim.store.invoices()}), methods=["GET"]),
            Route("/_sim/transfers", _guard(lambda _: {"transfers": self.sim.store.slips()}), methods=["GET"]),
            Route("/_sim/requests", _guard(lambda _: {"requests": self.sim.requests()}), methods=["GET"]),
            Route("/_sim/sessions", _guard(lambda _: {"sessions": self.sim.sessions.sessions()}), methods=["GET"]),
            Route("/_sim/sessions/expire", _guard(self.expire_sessions), methods=["POST"]),
        ]

    def reset(self, body: dict[str, Any]) -> Any:
        self.sim.reset()
        return {"reset": True}

    def seed(self, body: dict[str, Any]) -> Any:
        unknown = sorted(set(body) - {"stores", "upcs", "inventory", "users", "workstations"})
        if unknown:
            raise fail(400, "FIELD_UNKNOWN", f"Unknown key {unknown[0]!r}; expected stores, upcs, inventory, users, "
                                             "workstations.", unknown[0])
        users = body.get("users", [])
        if not isinstance(users, list) or not all(
                isinstance(u, dict) and isinstance(u.get("usr"), str) and u["usr"] and isinstance(u.get("pwd"), str)
                for u in users):
            raise fail(400, "FIELD_INVALID", "users must be a list of {usr, pwd}.", "users")
        stores, upcs, workstations = _strings(body, "stores"), _strings(body, "upcs"), _strings(body, "workstations")
        quantities = _quantities(body)
        self.sim.store.seed(stores, upcs, quantities)
        for user in users:
            self.sim.sessions.add_user(user["usr"], user["pwd"])
        for name in workstations:
            self.sim.sessions.add_workstation(name)
        return {"stores": self.sim.store.stores(), "inventory": self.sim.store.inventory()}

    def add_receipts(self, body: dict[str, Any]) -> Any:
        raw = body.get("receipts")
        if not isinstance(raw, list) or not raw or len(raw) > MAX_RECEIPTS:
            raise fail(400, "FIELD_INVALID", f"receipts must be a list of 1 to {MAX_RECEIPTS} receipts.", "receipts")
        problems = Problems()
        checked = [parse_receipt(r, i, problems) for i, r in enumerate(raw)]
        if problems:
            raise PrismError(400, problems.entries)
        return {"receipts": self.sim.store.add_receipts(checked, datetime.now(timezone.utc))}

    def configure(self, body: dict[str, Any]) -> Any:
        unknown = sorted(set(body) - {"session_idle_seconds", "allow_negative_inventory"})
        if unknown:
            raise fail(400, "FIELD_UNKNOWN", f"Unknown setting {unknown[0]!r}; expected session_idle_seconds, "
                                             "allow_negative_inventory.", unknown[0])
        if "session_idle_seconds" in body:
            idle = body["session_idle_seconds"]
            if isinstance(idle, bool) or not isinstance(idle, (int, float)) or idle <= 0:
                raise fail(400, "FIELD_INVALID", "session_idle_seconds must be a positive number.",
                           "session_idle_seconds")
            self.sim.sessions.idle_seconds = float(idle)
        if "allow_negative_inventory" in body:
            if not isinstance(body["allow_negative_inventory"], bool):
                raise fail(400, "FIELD_INVALID", "allow_negative_inventory must be true or false.",
                           "allow_negative_inventory")
            self.sim.store.allow_negative = body["allow_negative_inventory"]
        return self.sim.settings()

    def latency(self, body: dict[str, Any]) -> Any:
        self.sim.faults.latency = parse_latency(body)
        return self.sim.settings()["latency"]

    def no_latency(self, body: dict[str, Any]) -> Any:
        self.sim.faults.latency = Latency()
        return self.sim.settings()["latency"]

    def add_failure(self, body: dict[str, Any]) -> Any:
        rule = parse_rule(body)
        return {"failure": rule.describe(), "position": self.sim.faults.add(rule)}

    def clear_failures(self, body: dict[str, Any]) -> Any:
        self.sim.faults.reset_rules()
        return {"failures": []}

    def expire_sessions(self, body: dict[str, Any]) -> Any:
        return {"expired": self.sim.sessions.expire_all()}

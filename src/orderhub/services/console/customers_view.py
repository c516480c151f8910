"""What the console shows of customers: the search by exact e-mail address, phone number or loyalty id, and a
profile's page (identities, orders from every channel, lifetime value, consent in force and its history, merges,
who read it). The pages record each read of a person's data (console/customers.py)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection

from orderhub.adapters.store import customer_views
from orderhub.domain.customers import EVERYWHERE, PURPOSES, STATES

ORDER_ROWS = 100  # orders on a profile's page; `orderhub customer show --orders` and the API show more
ACCESS_ROWS = 50
FIELDS = ("email", "phone", "region", "loyalty")


@dataclass
class Search:
    values: dict[str, str] = field(default_factory=dict)
    problem: str | None = None
    results: list[customer_views.Summary] | None = None  # None: nothing searched yet

    @property
    def asked(self) -> bool:
        return any(self.values.get(k) for k in ("email", "phone", "loyalty"))


def parse(params: dict[str, str]) -> Search:
    return Search({k: (params.get(k) or "").strip()[:320] for k in FIELDS})


def search(conn: Connection, found: Search) -> Search:
    """The profiles ``found`` asks for (its problem instead when it cannot be searched)."""
    values = found.values
    email, phone, loyalty = values["email"] or None, values["phone"] or None, values["loyalty"] or None
    region = values["region"] or None
    try:
        customer_views.check_search(email, phone, loyalty, region)
    except ValueError as exc:
        found.problem = str(exc)
        return found
    found.results = customer_views.search(conn, email=email, phone=phone, loyalty=loyalty, region=region)
    return found


def searched_by(found: Search) -> str:
    v = found.values
    return "by " + " or ".join(k for k, x in (("e-mail", v["email"]), ("phone", v["phone"]),
                                              ("loyalty id", v["loyalty"])) if x)


def profile_page(conn: Connection, profile_id: int) -> dict[str, Any] | None:
    """The page of a live profile; None when there is no such profile."""
    found = customer_views.profile(conn, profile_id, orders_limit=ORDER_ROWS)
    if found is None:
        return None
    return {"p": found, "s": found.summary, "value": [v.public() for v in found.value],
            "orders": [o.public() for o in found.orders], "consent": found.consent.public(),
            "purposes": PURPOSES, "states": STATES, "everywhere": EVERYWHERE,
            "scopes": [EVERYWHERE, *found.summary.accounts]}

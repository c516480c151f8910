"""What reading an order as Shopify means it costs: discounts, refunds and the totals check, per order.

Orders come from the simulator's generator (1-5 lines, a third with one or two discounts, some
with free shipping, prices with and without tax), serialised once before any clock starts. Each
step is timed over the same bodies, side by side, in one run:

* ``parse``     - ``orjson.loads`` only: the floor;
* ``translate`` - parse, then ``translate.order`` (allocations, applications, refunds, money sets);
* ``validate``  - all of that and ``validate_order``, which checks the figures add up
  (``domain.order_totals.reconcile``): what the processor does for every order record.

    .venv/bin/python bench/translate.py [--orders 20000] [--rounds 5]
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

import orjson

from orderhub.adapters.shopify import translate
from orderhub.domain.validation import validate_order
from orderhub.services.process import known_country, known_currency
from orderhub.simulators.shopify.generator import OrderGenerator
from orderhub.simulators.shopify.store import Store


def bodies(count: int) -> list[bytes]:
    store = Store()
    generator = OrderGenerator(20261207, store.next_id)
    now = datetime(2026, 12, 7, 12, tzinfo=timezone.utc)
    products = generator.catalogue(now, timezone.utc)
    return [orjson.dumps(generator.order(products, number=1001 + i, now=now, tz=timezone.utc, currency="EUR",
                                         taxes_included=i % 2 == 0)) for i in range(count)]


def _parse(body: bytes) -> Any:
    return orjson.loads(body)


def _translate(body: bytes) -> Any:
    return translate.order(orjson.loads(body))


def _validate(body: bytes) -> Any:
    order = translate.order(orjson.loads(body))
    validate_order(order, known_currency=known_currency, known_country=known_country)
    return order


STEPS: dict[str, Callable[[bytes], Any]] = {"parse": _parse, "translate": _translate, "validate": _validate}


def best_of(step: Callable[[bytes], Any], data: list[bytes], rounds: int) -> float:
    best = float("inf")
    for _ in range(rounds):
        start = time.perf_counter()
        for body in data:
            step(body)
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--orders", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    data = bodies(args.orders)
    discounted = sum(1 for b in data if orjson.loads(b)["discount_applications"])
    seconds = {name: best_of(step, data, args.rounds) for name, step in STEPS.items()}
    per_order = {name: s / len(data) * 1e6 for name, s in seconds.items()}
    print(f"{len(data)} orders ({discounted} with discounts), best of {args.rounds} rounds")
    print(f"{'step':<10} {'µs/order':>10} {'orders/s':>10} {'vs parse':>9}")
    for name in STEPS:
        print(f"{name:<10} {per_order[name]:>10.1f} {1e6 / per_order[name]:>10.0f} "
              f"{per_order[name] / per_order['parse']:>8.1f}x")
    check = per_order["validate"] - per_order["translate"]
    print(f"the totals check and validation add {check:.1f} µs per order "
          f"({check / per_order['validate'] * 100:.0f}% of reading one)")
    print(orjson.dumps({"bench": "translate", "orders": len(data), "discounted": discounted,
                        "us_per_order": {k: round(v, 2) for k, v in per_order.items()},
                        "check_us_per_order": round(check, 2)}).decode())


if __name__ == "__main__":
    main()

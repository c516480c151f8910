"""The search part of bench/customers.py: N identities with their profiles loaded in bulk, then
``customer_links.find`` by e-mail, phone and loyalty id, beside the same lookups without the key indexes.

The identities, by their number ``i`` (so a lookup value is made again, never stored in the bench):

* 7 in 10 are Shopify customers: own profile, e-mail (as typed, a fifth of them capitalised) and phone keys;
* 2 in 10 are POS loyalty members (``loyalty:<id>``) who are also one of those Shopify customers: same profile,
  same e-mail, a loyalty key;
* 1 in 10 are Walmart buyers (``order:<id>``) with the phone of one of those Shopify customers: same profile,
  phone key only.

So N identities make 0.7 N profiles. Phones are US numbers (+1, six area codes), unique per Shopify customer;
the bench checks the lookup values are valid numbers the way ``find`` reads them.
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import text

from orderhub.adapters.store import accounts, customer_links, migrate, shops
from orderhub.bootstrap import build
from orderhub.config import Settings

AREAS = ("415", "212", "312", "646", "617", "206")
_FIRST = ("zoe", "juergen", "soren", "misaki", "oleg", "siobhan", "hong", "amara", "luis", "chloe")
_DOMAINS = ("example.com", "example.de", "mail.example.org", "example.fr")
CHUNK = 50_000


def kind_of(i: int) -> str:
    r = i % 10
    return "shopify" if r < 7 else "pos" if r < 9 else "walmart"


def owner_of(i: int) -> int:
    """The Shopify customer whose person identity ``i`` is (itself for a Shopify customer)."""
    r = i % 10
    return i if r < 7 else i - 7 if r < 9 else i - 9


def email_of(i: int) -> str:
    o = owner_of(i)
    return f"{_FIRST[o % len(_FIRST)]}.{o}@{_DOMAINS[o % len(_DOMAINS)]}"


def phone_of(i: int) -> tuple[str, str]:
    """(as written, E.164) of the person of identity ``i``."""
    o = owner_of(i)
    area, rest = AREAS[o % len(AREAS)], 2_000_000 + (o * 7919) % 8_000_000  # 7919 is prime: unique below 8e6
    return f"+1 {area}-{str(rest)[:3]}-{str(rest)[3:]}", f"+1{area}{rest}"


def loyalty_of(i: int) -> str:
    return f"LY{i:09d}"


def profile_of(i: int) -> int:
    """Profiles are numbered by their Shopify customer: 7 per 10 identities."""
    o = owner_of(i)
    return (o // 10) * 7 + o % 10 + 1


def rows(n: int, accounts_by_kind: dict[str, int], at: datetime) -> Iterator[tuple[Any, ...]]:
    """(id, shop_id, shopify_id, email, phone, profile_id, email_key, phone_key, loyalty_key, linked_by,
    source_updated_at) of each identity."""
    for i in range(n):
        kind = kind_of(i)
        email = email_of(i)
        written, e164 = phone_of(i)
        typed = email.capitalize() if i % 5 == 0 else email
        if kind == "shopify":
            yield (i + 1, accounts_by_kind[kind], str(7_000_000_000_000 + i), typed, written, profile_of(i), email,
                   e164, None, "new", at)
        elif kind == "pos":
            yield (i + 1, accounts_by_kind[kind], "loyalty:" + loyalty_of(i), typed, None, profile_of(i), email,
                   None, loyalty_of(i), "email", at)
        else:
            yield (i + 1, accounts_by_kind[kind], f"order:{9_000_000_000_000 + i}", None, e164[2:], profile_of(i),
                   None, e164, None, "phone", at)


COLUMNS = ("id", "shop_id", "shopify_id", "email", "phone", "profile_id", "email_key", "phone_key", "loyalty_key",
           "linked_by", "source_updated_at")


def load(url: str, n: int, work: Path) -> dict[str, Any]:
    """Migrate, add the accounts, insert the profiles and ``n`` identities, ANALYZE. Returns timings."""
    hub = build(Settings(database_url=url, secret_key_file=str(work / "bench.keys")))
    try:
        migrate.upgrade(hub.db)
        with hub.db.write() as conn:
            ids = {"shopify": shops.add(conn, "bench-search.myshopify.com", "bench-secret").id,
                   "pos": accounts.add(conn, "pos", "bench-store-tills", {}, {}).id,
                   "walmart": accounts.add(conn, "walmart", "bench-search-walmart",
                                           {"client_id": "bench", "endpoint": "http://127.0.0.1:9"},
                                           {"client_secret": "x"}).id}
        at = datetime(2026, 12, 1, tzinfo=UTC)
        profiles = sum(1 for i in range(n) if kind_of(i) == "shopify")
        began = time.perf_counter()
        if hub.db.is_postgres:
            _copy_pg(hub, n, ids, at, profiles)
        else:
            _insert_sqlite(hub, n, ids, at, profiles)
        loaded = time.perf_counter() - began
        began = time.perf_counter()
        with hub.db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("ANALYZE")
        return {"identities": n, "profiles": profiles, "load_seconds": loaded,
                "analyze_seconds": time.perf_counter() - began}
    finally:
        hub.close()


def _insert_sqlite(hub: Any, n: int, ids: dict[str, int], at: datetime, profiles: int) -> None:
    stamp = at.isoformat(sep=" ")  # orderhub's UTCDateTime stores UTC text on SQLite; lookups never read it
    with hub.db.write() as conn:
        conn.exec_driver_sql("INSERT INTO customer_profiles (id, created_at, updated_at) VALUES (?, ?, ?)",
                             [(p, stamp, stamp) for p in range(1, profiles + 1)])
        sql = f"INSERT INTO customers ({', '.join(COLUMNS)}) VALUES ({', '.join('?' for _ in COLUMNS)})"
        batch: list[tuple[Any, ...]] = []
        for r in rows(n, ids, at):
            batch.append((*r[:-1], stamp))
            if len(batch) == CHUNK:
                conn.exec_driver_sql(sql, batch)
                batch = []
        if batch:
            conn.exec_driver_sql(sql, batch)


def _copy_pg(hub: Any, n: int, ids: dict[str, int], at: datetime, profiles: int) -> None:
    with hub.db.write() as conn:
        cursor = conn.connection.driver_connection.cursor()
        with cursor.copy("COPY customer_profiles (id, created_at, updated_at) FROM STDIN") as copy:
            for p in range(1, profiles + 1):
                copy.write_row((p, at, at))
        with cursor.copy(f"COPY customers ({', '.join(COLUMNS)}) FROM STDIN") as copy:
            for r in rows(n, ids, at):
                copy.write_row(r)


def _existing(rng: random.Random, n: int, kind: str) -> int:
    while True:
        i = rng.randrange(n)
        if kind == "email" or (kind == "phone" and kind_of(i) != "pos") or (kind == "loyalty" and kind_of(i) == "pos"):
            return i


def lookups(kind: str, n: int, count: int, rng: random.Random) -> list[tuple[str, bool, int]]:
    """``count`` existing and ``count`` missing values to look up by ``kind``: (value, exists, its profile)."""
    out: list[tuple[str, bool, int]] = []
    for exists in (True, False):
        for _ in range(count):
            # missing: a Shopify customer's number past the loaded ones (their own person: nobody loaded)
            i = _existing(rng, n, kind) if exists else (n // 10 + 1 + rng.randrange(n)) * 10 + rng.randrange(7)
            value = {"email": email_of(i).upper() if rng.random() < 0.3 else email_of(i),
                     "phone": phone_of(i)[0], "loyalty": loyalty_of(i)}[kind]
            out.append((value, exists, profile_of(i)))
    rng.shuffle(out)
    return out


# The same lookups without the keys' indexes: the raw columns, as a search without profiles would read them.
NAIVE = {
    "email": "SELECT DISTINCT profile_id FROM customers WHERE lower(email) = lower(:v) AND profile_id IS NOT NULL "
             "LIMIT 100",
    "phone": "SELECT DISTINCT profile_id FROM customers WHERE phone = :v AND profile_id IS NOT NULL LIMIT 100",
    "loyalty": "SELECT DISTINCT profile_id FROM customers WHERE shopify_id = 'loyalty:' || :v "
               "AND profile_id IS NOT NULL LIMIT 100",
}


def percentile(values: list[float], p: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, max(0, round(p / 100 * (len(s) - 1))))]


def measure(url: str, n: int, work: Path, count: int, naive_count: int, seed: int = 7) -> list[dict[str, Any]]:
    """Time ``find`` and the naive lookup for each key; check what each found."""
    hub = build(Settings(database_url=url, secret_key_file=str(work / "bench.keys")))
    rng = random.Random(seed)
    out = []
    try:
        with hub.db.read() as conn:
            for kind in ("email", "phone", "loyalty"):
                values = lookups(kind, n, count, rng)
                for _ in range(20):  # warm the connection and the statement cache
                    customer_links.find(conn, **{kind: values[0][0]})
                times, wrong = [], 0
                for value, exists, profile in values:
                    began = time.perf_counter()
                    found = customer_links.find(conn, **{kind: value})
                    times.append(time.perf_counter() - began)
                    wrong += found != ([profile] if exists else [])
                naive_times, naive_wrong = [], 0
                for value, exists, profile in values[:naive_count]:
                    began = time.perf_counter()
                    found = sorted(conn.execute(text(NAIVE[kind]), {"v": value}).scalars())
                    naive_times.append(time.perf_counter() - began)
                    naive_wrong += found != ([profile] if exists else [])
                out.append({"key": kind, "lookups": len(times), "p50_ms": 1e3 * percentile(times, 50),
                            "p99_ms": 1e3 * percentile(times, 99), "max_ms": 1e3 * max(times), "wrong": wrong,
                            "naive_lookups": len(naive_times), "naive_p50_ms": 1e3 * percentile(naive_times, 50),
                            "naive_max_ms": 1e3 * max(naive_times), "naive_wrong": naive_wrong})
    finally:
        hub.close()
    return out

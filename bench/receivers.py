"""The three webhook receivers compared by bench/ingest.py, each served the same way.

All three run under uvicorn with uvloop and httptools, one process, no access log,
behind the same route (``POST /webhooks/shopify``):

* ``ceiling``  - verifies the Shopify HMAC and answers 200. Nothing is stored: the
  most any receiver on this server stack can do.
* ``naive``    - what one writes first: verify the HMAC, then one SQLAlchemy ORM
  insert of the inbox row and a commit, in a Session per request, in a sync
  handler run on the threadpool (as FastAPI runs ``def`` endpoints). Same SQLite
  file settings as orderhub (WAL, synchronous=FULL: durable before 200), same
  table and indexes (the database is migrated by orderhub).
* ``orderhub`` - the real application, ``create_app(build(Settings(...)))``, with
  no embedded processor (``orderhub serve --no-worker``).

Run: ``python bench/receivers.py KIND --db sqlite:///PATH --port N`` (bench/ingest.py does).
"""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from typing import Any

import orjson
import uvicorn
from sqlalchemy import create_engine, event
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, sessionmaker
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from orderhub.adapters.shopify.webhooks import identity, verify
from orderhub.adapters.store import shops

_JSON = "application/json"


def _shops(url: str) -> dict[str, tuple[int, str]]:
    """domain -> (shop id, webhook secret), read once at start-up."""
    engine = create_engine(url)
    with engine.connect() as conn:  # secrets are encrypted at rest: read them as orderhub does
        found = shops.all_shops(conn)
    engine.dispose()
    return {s.domain: (s.id, s.webhook_secret) for s in found}


# -- (a) ceiling -----------------------------------------------------------------------------------

def ceiling_app(url: str) -> Starlette:
    shops = _shops(url)

    async def webhook(request: Request) -> Response:
        body = await request.body()
        shop = shops.get(request.headers.get("x-shopify-shop-domain", "").lower())
        if shop is None or not verify(shop[1], body, request.headers.get("x-shopify-hmac-sha256")):
            return Response(b'{"error":"invalid signature"}', status_code=401, media_type=_JSON)
        return Response(b'{"status":"accepted"}', media_type=_JSON)

    return Starlette(routes=[Route("/webhooks/shopify", webhook, methods=["POST"])])


# -- (b) naive ---------------------------------------------------------------------------------------

class Base(DeclarativeBase):
    pass


class InboxMessage(Base):
    """The inbox row as a plain ORM class (the same ``inbox`` table orderhub migrates)."""

    __tablename__ = "inbox"

    id: Mapped[int] = mapped_column(primary_key=True)
    shop_id: Mapped[int]
    source: Mapped[str]
    topic: Mapped[str]
    identity: Mapped[str]
    webhook_id: Mapped[str | None]
    event_id: Mapped[str | None]
    api_version: Mapped[str | None]
    triggered_at: Mapped[datetime | None]
    received_at: Mapped[datetime]
    payload: Mapped[str]
    status: Mapped[str]
    attempts: Mapped[int] = mapped_column(default=0)
    available_at: Mapped[datetime]


def naive_app(url: str) -> Starlette:
    engine = create_engine(url)  # the defaults: QueuePool, pysqlite's 5 s busy timeout

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_conn: Any, _record: Any) -> None:
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=FULL")
        cur.close()

    Session = sessionmaker(engine)
    shops = _shops(url)

    def handle(headers: dict[str, str], body: bytes) -> Response:
        shop = shops.get(headers.get("x-shopify-shop-domain", "").lower())
        if shop is None or not verify(shop[1], body, headers.get("x-shopify-hmac-sha256")):
            return Response(b'{"error":"invalid signature"}', status_code=401, media_type=_JSON)
        topic = headers.get("x-shopify-topic", "")
        webhook_id = headers.get("x-shopify-webhook-id")
        try:
            payload = orjson.loads(body)
        except orjson.JSONDecodeError:
            return Response(b'{"error":"invalid JSON"}', status_code=400, media_type=_JSON)
        triggered = headers.get("x-shopify-triggered-at")
        now = datetime.now(UTC).replace(tzinfo=None)
        message = InboxMessage(
            shop_id=shop[0], source="webhook", topic=topic, identity=identity(topic, payload, webhook_id),
            webhook_id=webhook_id, event_id=headers.get("x-shopify-event-id"),
            api_version=headers.get("x-shopify-api-version"),
            triggered_at=datetime.fromisoformat(triggered).astimezone(UTC).replace(tzinfo=None)
            if triggered else None,
            received_at=now, payload=body.decode(), status="pending", attempts=0, available_at=now)
        with Session() as session:
            session.add(message)
            try:
                session.commit()
            except IntegrityError:
                session.rollback()
                return Response(b'{"status":"duplicate"}', media_type=_JSON)
        return Response(b'{"status":"accepted"}', media_type=_JSON)

    async def webhook(request: Request) -> Response:
        # What FastAPI does for a ``def`` endpoint: read the body, then run the handler on the threadpool.
        body = await request.body()
        return await run_in_threadpool(handle, dict(request.headers), body)

    return Starlette(routes=[Route("/webhooks/shopify", webhook, methods=["POST"])])


# -- (c) orderhub -----------------------------------------------------------------------------------

def orderhub_app(url: str, variants: frozenset[str] = frozenset()) -> Any:
    """The real app. ``variants`` are diagnostic changes for ``ingest.py --breakdown`` only:

    * ``nostore``      - the inbox writer acknowledges without touching the database
    * ``sync-normal``  - SQLite synchronous=NORMAL (not durable on power loss; not what ships)
    * ``nothread``     - with ``nostore``: the (idle) writer thread is not started either
    * ``batchstats``   - count and time the group-commit batches; printed to stderr at exit
    * ``switch-500us`` - ``sys.setswitchinterval(0.0005)``: a thread waiting for the GIL waits less
    * ``gcstats``      - count and time the cyclic garbage collector's passes; printed at exit
    """
    import dataclasses

    from orderhub import logs
    from orderhub.bootstrap import build
    from orderhub.config import Settings
    from orderhub.entrypoints.http.app import create_app

    settings = Settings(database_url=url)  # synchronous=FULL, as shipped
    if "sync-normal" in variants:
        settings = dataclasses.replace(settings, sqlite_synchronous="NORMAL")
    logs.configure(settings.log_level, settings.log_json)  # as ``orderhub serve`` does
    hub = build(settings)
    if "nostore" in variants:
        async def put(entry: Any) -> bool:
            return True
        hub.writer.put = put  # type: ignore[method-assign]
    if "nothread" in variants:
        hub.writer.start = lambda: None  # type: ignore[method-assign]
    app = create_app(hub)  # no Worker: ``orderhub serve --no-worker``
    if "batchstats" in variants:
        report = _batch_stats()
        stop = hub.writer.stop

        def stop_and_report() -> None:
            stop()
            report()
        hub.writer.stop = stop_and_report  # type: ignore[method-assign]
    if "switch-500us" in variants:
        import sys

        sys.setswitchinterval(0.0005)
    if "gcstats" in variants:
        gc_report = _gc_stats()
        stop2 = hub.writer.stop

        def stop_and_gc_report() -> None:
            stop2()
            gc_report()
        hub.writer.stop = stop_and_gc_report  # type: ignore[method-assign]
    return app


def _gc_stats() -> Any:
    import gc
    import sys
    import time

    pauses: dict[int, list[float]] = {0: [], 1: [], 2: []}
    started: list[float] = [0.0]

    def cb(phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            started[0] = time.perf_counter()
        else:
            pauses[info["generation"]].append(time.perf_counter() - started[0])

    gc.callbacks.append(cb)

    def report() -> None:
        print(orjson.dumps({"gcstats": {
            f"gen{g}": {"count": len(v), "total_ms": 1e3 * sum(v), "max_ms": 1e3 * max(v, default=0.0)}
            for g, v in pauses.items()}, "tracked_objects": len(gc.get_objects())}).decode(), file=sys.stderr,
            flush=True)

    return report


def _batch_stats() -> Any:
    import sys
    import time

    from orderhub.adapters.store import inbox

    real = inbox.insert_entries
    calls: list[tuple[int, float, float]] = []

    def timed(db: Any, entries: Any) -> list[bool]:
        t0, c0 = time.perf_counter(), time.thread_time()
        try:
            return real(db, entries)
        finally:
            calls.append((len(entries), time.perf_counter() - t0, time.thread_time() - c0))

    inbox.insert_entries = timed  # the writer thread looks it up in the module at each batch

    def _report() -> None:
        if not calls:
            return
        rows_so_far = sum(c[0] for c in calls)
        if getattr(_report, "done", 0) == rows_so_far:
            return
        _report.done = rows_so_far  # type: ignore[attr-defined]
        rows = sum(c[0] for c in calls)
        wall = sum(c[1] for c in calls)
        cpu = sum(c[2] for c in calls)
        sizes = sorted(c[0] for c in calls)
        walls = sorted(c[1] for c in calls)
        print(orjson.dumps({"batchstats": {
            "wall_p99_ms": 1e3 * walls[int(0.99 * (len(walls) - 1))], "wall_max_ms": 1e3 * walls[-1],
            "batches": len(calls), "rows": rows, "mean_batch": rows / len(calls),
            "p50_batch": sizes[len(sizes) // 2], "max_batch": sizes[-1],
            "wall_per_batch_ms": 1e3 * wall / len(calls), "cpu_per_batch_ms": 1e3 * cpu / len(calls),
            "cpu_per_row_us": 1e6 * cpu / rows, "wall_per_row_us": 1e6 * wall / rows}}).decode(),
            file=sys.stderr, flush=True)

    return _report


APPS = {"ceiling": ceiling_app, "naive": naive_app, "orderhub": orderhub_app}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description="Serve one of the benchmark's webhook receivers.")
    ap.add_argument("kind", help="ceiling, naive, orderhub or orderhub+VARIANT+... (see orderhub_app)")
    ap.add_argument("--db", required=True, help="database URL (migrated, with the bench shop added)")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--host", default="127.0.0.1")
    args = ap.parse_args(argv)
    kind, *variants = args.kind.split("+")
    if kind not in APPS or (variants and kind != "orderhub"):
        ap.error(f"unknown receiver {args.kind!r}")
    app = orderhub_app(args.db, frozenset(variants)) if kind == "orderhub" else APPS[kind](args.db)
    # As `orderhub serve` runs it (serving.server_options): no proxy-headers middleware, for every receiver.
    uvicorn.run(app, host=args.host, port=args.port, loop="uvloop", http="httptools", lifespan="on",
                log_level="warning", access_log=False, proxy_headers=False)


if __name__ == "__main__":
    main()

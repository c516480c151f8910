"""The naive design for bench/pos.py: one HTTP request and one commit per sale line.

A Starlette app under uvicorn (the server stack orderhub's own uses), run as its own process:

    python bench/pos_naive.py DATABASE_URL WORK_DIR PORT

``POST /sale-line`` with the device's bearer credential and ``{"sale": id, "line": n, "sku", "quantity",
"unit_price", "device_time"}``: the credential is checked (``pos_devices.identify``, as orderhub's API
does), then one transaction records the line as a sale of its own - its inbox record and the same rows
orderhub's recording writes (``store_sales.record_many``: the order, its completed units, the store's
stock, the ledger, ``inventory.changed`` and every channel's wanted quantity) - and commits before the
answer. The work per line is orderhub's; what differs is one request and one commit per sale line.
"""

from __future__ import annotations

import sys
from pathlib import Path

import orjson
import uvicorn
from sqlalchemy import insert
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

sys.path.insert(0, str(Path(__file__).resolve().parent))
from channel_senders import hub_settings

from orderhub.adapters.pos.channel import SALE_TOPIC, TRANSLATOR, envelope, identity
from orderhub.adapters.store import pos_devices
from orderhub.adapters.store.schema import inbox
from orderhub.bootstrap import build
from orderhub.clock import utcnow
from orderhub.services import store_sales
from orderhub.services.pos_sync import store_account


def create_app(url: str, work: str) -> Starlette:
    hub = build(hub_settings(url, Path(work)))

    accounts: dict[str, int] = {}

    def record(token: str, body: bytes) -> int:
        line = orjson.loads(body)
        with hub.db.read() as conn:
            device = pos_devices.identify(conn, token)
        if device is None:
            return 401
        if device.store not in accounts:
            accounts[device.store] = store_account(hub.db, device.store)
        account_id = accounts[device.store]
        sale = {"id": f"{line['sale']}:{line['line']}", "device_time": line["device_time"], "currency": "USD",
                "lines": [{"sku": line["sku"], "quantity": line["quantity"], "unit_price": line["unit_price"]}]}
        payload = envelope(sale, device_id=device.id, device_name=device.name, store=device.store,
                           received_at=utcnow())
        with hub.db.write() as conn:
            now = utcnow()
            inbox_id = conn.execute(insert(inbox).values(
                shop_id=account_id, source="pos", topic=SALE_TOPIC, identity=identity(sale), received_at=now,
                payload=orjson.dumps(payload).decode(), status="done", outcome="applied", attempts=1,
                available_at=now, processed_at=now).returning(inbox.c.id)).scalar_one()
            recorded = store_sales.record_many(conn, account_id, [(inbox_id, TRANSLATOR.translate(
                SALE_TOPIC, payload, now))])
        return 200 if recorded else 409

    async def sale_line(request: Request) -> Response:
        token = request.headers.get("authorization", "").partition(" ")[2]
        status = await run_in_threadpool(record, token, await request.body())
        return Response(b'{"status":"recorded"}' if status == 200 else b"{}", status_code=status,
                        media_type="application/json")

    return Starlette(routes=[Route("/sale-line", sale_line, methods=["POST"])])


if __name__ == "__main__":
    database_url, work_dir, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
    uvicorn.run(create_app(database_url, work_dir), host="127.0.0.1", port=port, loop="uvloop", http="httptools",
                lifespan="off", access_log=False, log_level="warning")

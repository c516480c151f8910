"""The naive design for bench/pos.py: one HTTP request and one commit per sale line.

A Starlette app under uvicorn (the server stack orderhub's own uses), run as its own process:

    python bench/pos_naive.py DATABASE_URL WORK_DIR PORT

``POST /sale-line`` with the device's bearer credential and ``{"sale": id, "sku", "quantity"}``: the
credential is checked (``pos_devices.identify``, as orderhub's API does), then in one transaction the
line's units leave the store's stock through ``inventory_store.move`` (ledger, ``inventory.changed`` and
every channel's wanted quantity, like orderhub), and it commits before the answer. No batch, no inbox, no
sale counted once: a line sent twice leaves the stock twice.
"""

from __future__ import annotations

import sys
from pathlib import Path

import orjson
import uvicorn
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

sys.path.insert(0, str(Path(__file__).resolve().parent))
from channel_senders import hub_settings

from orderhub.adapters.store import pos_devices
from orderhub.adapters.store.inventory_store import Movement, move
from orderhub.bootstrap import build
from orderhub.domain.inventory import LedgerReason


def create_app(url: str, work: str) -> Starlette:
    hub = build(hub_settings(url, Path(work)))

    def record(token: str, body: bytes) -> int:
        with hub.db.write() as conn:
            device = pos_devices.identify(conn, token)
            if device is None:
                return 401
            line = orjson.loads(body)
            move(conn, [Movement(str(line["sku"]), device.facility_id, int(line["quantity"]))],
                 reason=LedgerReason.SOLD, actor="store", on_hand_sign=-1, note=f"sale {line['sale']}")
        return 200

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

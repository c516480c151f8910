"""Wires adapters into services, once per process."""

from __future__ import annotations

import gc
import os
import socket
from dataclasses import dataclass, field

from orderhub.adapters.store import secrets as secret_box
from orderhub.adapters.store.db import Database
from orderhub.adapters.store.inbox import InboxWriter
from orderhub.adapters.store.ratelimit import SharedRateLimiter
from orderhub.adapters.store.shops import ShopCache
from orderhub.config import Settings
from orderhub.services.process import Processor
from orderhub.services.workflow import Engine, Fault


def freeze_start_up() -> None:
    """Everything loaded at start-up lives for the whole process: keep it out of the garbage collector's full
    passes, which otherwise walk it all again and again (stalling requests; about 2 % of a worker's time)."""
    gc.collect()
    gc.freeze()


def node_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


@dataclass
class Hub:
    settings: Settings
    db: Database
    shops: ShopCache
    writer: InboxWriter
    limiter: SharedRateLimiter
    node: str = field(default_factory=node_name)

    def processor(self) -> Processor:
        s = self.settings
        batch = s.worker_batch_size or (100 if self.db.is_postgres else 25)
        return Processor(self.db, batch_size=batch, max_attempts=s.max_attempts,
                         backoff_base=s.backoff_base_seconds, backoff_max=s.backoff_max_seconds,
                         limiter=self.limiter)

    def placement(self, fault: Fault | None = None) -> Engine:
        """The order-placement workflow engine, with the payment gateway when one is configured."""
        from orderhub.services import placement

        s = self.settings
        gateway = None
        if s.payment_gateway_url:
            from orderhub.adapters.payments import PaymentGateway

            gateway = PaymentGateway(s.payment_gateway_url, s.payment_gateway_key or "")
        return placement.engine(self.db, gateway=gateway, worker=self.node, batch_size=s.placement_batch_size,
                                fault=fault)

    def close(self) -> None:
        self.writer.stop()
        self.db.dispose()


def build(settings: Settings | None = None) -> Hub:
    settings = settings or Settings.from_env()
    db = Database(settings.database_url, sqlite_synchronous=settings.sqlite_synchronous)
    secret_box.configure(db.engine, secret_box.KeySource(settings.secret_key, settings.secret_key_file))
    return Hub(settings=settings, db=db, shops=ShopCache(db), writer=InboxWriter(db, settings.inbox_batch_max),
               limiter=SharedRateLimiter(db))

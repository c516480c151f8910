"""Routing runs as rows: runs, their ordered routings and each routing's ordered rules.

A run is saved from its JSON form after the domain has validated it, so a stored run
always parses.
"""

from __future__ import annotations

from typing import Any

import orjson
from sqlalchemy import Connection, delete, insert, select, update

from orderhub.adapters.store.schema import routing_rules, routing_runs, routings
from orderhub.clock import utcnow
from orderhub.domain.routing import parse_run, run_to_dict


def save_run(conn: Connection, data: dict[str, Any], *, active: bool = True) -> None:
    """Create or replace the run named in ``data``; an active run makes the others inactive."""
    body = {k: v for k, v in data.items() if k != "active"}
    run = run_to_dict(parse_run(body))  # raises RoutingConfigError naming the bad field
    existing = conn.execute(select(routing_runs.c.id).where(routing_runs.c.name == run["name"])).first()
    if existing is None:
        run_id = int(conn.execute(insert(routing_runs).values(name=run["name"], active=active,
                                                              created_at=utcnow())
                                  .returning(routing_runs.c.id)).scalar_one())
    else:
        run_id = int(existing.id)
        conn.execute(delete(routing_rules).where(routing_rules.c.routing_id.in_(
            select(routings.c.id).where(routings.c.run_id == run_id))))
        conn.execute(delete(routings).where(routings.c.run_id == run_id))
        conn.execute(update(routing_runs).where(routing_runs.c.id == run_id).values(active=active))
    if active:
        conn.execute(update(routing_runs).where(routing_runs.c.id != run_id).values(active=False))
    for seq, routing in enumerate(run["routings"]):
        config = {k: v for k, v in routing.items() if k not in ("name", "rules")}
        routing_id = int(conn.execute(insert(routings).values(
            run_id=run_id, name=routing["name"], seq=seq, config=orjson.dumps(config).decode())
            .returning(routings.c.id)).scalar_one())
        for rule_seq, rule in enumerate(routing["rules"]):
            conn.execute(insert(routing_rules).values(
                routing_id=routing_id, name=rule["name"], seq=rule_seq,
                config=orjson.dumps({k: v for k, v in rule.items() if k != "name"}).decode()))


def get_run(conn: Connection, name: str) -> dict[str, Any] | None:
    run = conn.execute(select(routing_runs).where(routing_runs.c.name == name)).first()
    if run is None:
        return None
    out: dict[str, Any] = {"name": run.name, "active": run.active, "routings": []}
    for r in conn.execute(select(routings).where(routings.c.run_id == run.id).order_by(routings.c.seq)):
        rules = [{"name": x.name} | orjson.loads(x.config) for x in conn.execute(
            select(routing_rules).where(routing_rules.c.routing_id == r.id).order_by(routing_rules.c.seq))]
        out["routings"].append({"name": r.name} | orjson.loads(r.config) | {"rules": rules})
    return out


def all_runs(conn: Connection) -> list[dict[str, Any]]:
    names = [r.name for r in conn.execute(select(routing_runs.c.name).order_by(routing_runs.c.id))]
    return [run for run in (get_run(conn, n) for n in names) if run is not None]


def active_name(conn: Connection) -> str | None:
    row = conn.execute(select(routing_runs.c.name).where(routing_runs.c.active.is_(True))
                       .order_by(routing_runs.c.id)).first()
    return None if row is None else str(row.name)

"""Retention: what may be deleted from the queue and history tables, one bounded batch at a time.

Each ``purge_*`` function deletes at most ``limit`` rows in the caller's transaction and says how
many went, so a job can commit between batches (short write locks on SQLite, short row locks on
PostgreSQL) and stop between them. The rules, the same on both databases:

- the error log is never deleted, and nothing an open or retrying entry points to is either:
  its inbox record, its HTTP delivery (and that delivery's inbox record), its subscription
  delivery (and that delivery's outbox event), or the job run that recorded it;
- inbox records go once ``done`` (failed ones are in the error log), when no HTTP delivery made
  from them is still waiting to be sent;
- HTTP deliveries and subscription deliveries go once delivered;
- outbox events go once fanned out and every subscription delivery of them was delivered or
  dismissed (their deliveries go with them);
- finished job runs go with their logs and files, except the newest run and the newest
  successful run of each job and shop (what the catalogue shows, and what ``requires`` checks);
- the dashboard's per-minute traffic counts go by their minute.

Every candidate is selected and then deleted under the same conditions again, in one transaction.
Each condition starts with a range on an existing index (status and due time, fan-out time) and
probes the others by their unique keys, so a batch reads about as many rows as it deletes, on
SQLite as on PostgreSQL, however large the tables are.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, delete, exists, func, or_, select, tuple_
from sqlalchemy.sql.elements import ColumnElement

from orderhub.adapters.store.job_store import FINISHED
from orderhub.adapters.store.schema import (
    deliveries,
    destinations,
    error_log,
    inbox,
    job_run_files,
    job_run_logs,
    job_runs,
    outbox,
    subscription_deliveries,
    subscriptions,
    traffic_minutes,
)
from orderhub.adapters.store.subscriptions import RECORD_TYPE as SUBSCRIPTION_RECORD

ACTIVE_ERRORS = ("open", "retrying")
WAITING_DELIVERY = ("pending", "sending")  # an HTTP delivery still to be sent reads its inbox record
SETTLED = ("delivered", "dismissed")  # subscription deliveries that will never be sent again


@dataclass(frozen=True)
class Purged:
    """Rows one batch deleted, per table."""

    rows: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.rows.values())


def _active_error(record_type: str, record_id: Any) -> ColumnElement[bool]:
    """An open or retrying error-log entry of the record (by the entry's unique key)."""
    return exists().where(error_log.c.record_type == record_type, error_log.c.record_id == record_id,
                          error_log.c.status.in_(ACTIVE_ERRORS))


def _batch(conn: Connection, table: Any, condition: ColumnElement[bool], limit: int,
           order: tuple[Any, ...] = ()) -> list[int]:
    """The ids of up to ``limit`` rows meeting ``condition`` (in the order of the index it ranges over)."""
    return [r[0] for r in conn.execute(select(table.c.id).where(condition).order_by(*order).limit(limit))]


def _delete(conn: Connection, table: Any, ids: list[int], condition: ColumnElement[bool]) -> int:
    if not ids:
        return 0
    return int(conn.execute(delete(table).where(table.c.id.in_(ids), condition)).rowcount)


# -- inbox and HTTP deliveries ---------------------------------------------------------------------------

def _inbox_condition(cutoff: datetime) -> ColumnElement[bool]:
    # Probed by the deliveries' unique key (destination, inbox record): every destination is named.
    held_by_delivery = exists().where(
        deliveries.c.destination_id.in_(select(destinations.c.id)), deliveries.c.inbox_id == inbox.c.id,
        or_(deliveries.c.status.in_(WAITING_DELIVERY), _active_error("delivery", deliveries.c.id)))
    # A retried record's available_at moved on: it stays until that, too, is past the cutoff.
    return and_(inbox.c.status == "done", inbox.c.available_at < cutoff, inbox.c.received_at < cutoff,
                ~_active_error("inbox", inbox.c.id), ~held_by_delivery)


def purge_inbox(conn: Connection, cutoff: datetime, limit: int) -> Purged:
    """Inbox records processed (``done``) that arrived before ``cutoff``."""
    condition = _inbox_condition(cutoff)
    ids = _batch(conn, inbox, condition, limit, (inbox.c.available_at, inbox.c.id))
    return Purged({"inbox": _delete(conn, inbox, ids, condition)})


def _delivery_condition(cutoff: datetime) -> ColumnElement[bool]:
    return and_(deliveries.c.destination_id.in_(select(destinations.c.id)), deliveries.c.status == "done",
                deliveries.c.available_at < cutoff, deliveries.c.delivered_at < cutoff,
                ~_active_error("delivery", deliveries.c.id))


def purge_deliveries(conn: Connection, cutoff: datetime, limit: int) -> Purged:
    """HTTP deliveries (to destinations) delivered before ``cutoff``."""
    condition = _delivery_condition(cutoff)
    return Purged({"deliveries": _delete(conn, deliveries, _batch(conn, deliveries, condition, limit), condition)})


# -- outbox and subscription deliveries ----------------------------------------------------------------

def _subscription_delivery_condition(cutoff: datetime) -> ColumnElement[bool]:
    d = subscription_deliveries
    return and_(d.c.status == "delivered", d.c.available_at < cutoff, d.c.delivered_at < cutoff,
                ~_active_error(SUBSCRIPTION_RECORD, d.c.id))


def purge_subscription_deliveries(conn: Connection, cutoff: datetime, limit: int) -> Purged:
    """Outbound webhook deliveries delivered before ``cutoff`` (their events may stay a while longer)."""
    d = subscription_deliveries
    condition = _subscription_delivery_condition(cutoff)
    ids = _batch(conn, d, condition, limit, (d.c.status, d.c.available_at, d.c.id))
    return Purged({"subscription_deliveries": _delete(conn, d, ids, condition)})


def _outbox_condition(cutoff: datetime) -> ColumnElement[bool]:
    d = subscription_deliveries
    # Probed by the deliveries' unique key (subscription, event): every subscription is named.
    unsettled = exists().where(d.c.subscription_id.in_(select(subscriptions.c.id)), d.c.outbox_id == outbox.c.id,
                               or_(d.c.status.not_in(SETTLED), _active_error(SUBSCRIPTION_RECORD, d.c.id)))
    return and_(outbox.c.fanned_out_at < cutoff, outbox.c.created_at < cutoff, ~unsettled)


def purge_outbox(conn: Connection, cutoff: datetime, limit: int) -> Purged:
    """Events created before ``cutoff``, fanned out, every delivery of them delivered or dismissed."""
    condition = _outbox_condition(cutoff)
    ids = _batch(conn, outbox, condition, limit, (outbox.c.fanned_out_at, outbox.c.id))
    if not ids:
        return Purged({"outbox": 0, "subscription_deliveries": 0})
    # Their deliveries first (all settled, checked again here), then the events still meeting the rule.
    d = subscription_deliveries
    settled = and_(d.c.subscription_id.in_(select(subscriptions.c.id)), d.c.outbox_id.in_(ids),
                   d.c.status.in_(SETTLED), ~_active_error(SUBSCRIPTION_RECORD, d.c.id))
    gone = int(conn.execute(delete(d).where(settled)).rowcount)
    return Purged({"outbox": _delete(conn, outbox, ids, condition), "subscription_deliveries": gone})


# -- job runs ------------------------------------------------------------------------------------------

def _run_condition(cutoff: datetime) -> ColumnElement[bool]:
    """Finished before ``cutoff``; a newer run of its job and shop exists (and, for a success, a newer
    success: the newest success is what ``requires`` checks); no open error-log entry names it."""
    newer = job_runs.alias("newer")
    later_run = exists().where(newer.c.job == job_runs.c.job, newer.c.scope == job_runs.c.scope,
                               newer.c.id > job_runs.c.id)
    later_success = exists().where(newer.c.job == job_runs.c.job, newer.c.scope == job_runs.c.scope,
                                   newer.c.id > job_runs.c.id, newer.c.status == "succeeded")
    recorded_error = exists().where(error_log.c.job_run_id == job_runs.c.id, error_log.c.status.in_(ACTIVE_ERRORS))
    return and_(job_runs.c.status.in_(FINISHED), job_runs.c.available_at < cutoff,
                func.coalesce(job_runs.c.finished_at, job_runs.c.queued_at) < cutoff, later_run,
                or_(job_runs.c.status != "succeeded", later_success), ~recorded_error)


def purge_job_runs(conn: Connection, cutoff: datetime, limit: int) -> Purged:
    """Finished runs that ended before ``cutoff``, with their log lines and files."""
    ids = _batch(conn, job_runs, _run_condition(cutoff), limit)
    if not ids:
        return Purged({"job_runs": 0, "job_run_logs": 0, "job_run_files": 0})
    # Logs and files explicitly (they cascade too) so the run's statistics can count them.
    logs = int(conn.execute(delete(job_run_logs).where(job_run_logs.c.run_id.in_(ids))).rowcount)
    files = int(conn.execute(delete(job_run_files).where(job_run_files.c.run_id.in_(ids))).rowcount)
    runs = int(conn.execute(delete(job_runs).where(job_runs.c.id.in_(ids))).rowcount)
    return Purged({"job_runs": runs, "job_run_logs": logs, "job_run_files": files})


# -- traffic counts ------------------------------------------------------------------------------------

def purge_traffic(conn: Connection, cutoff: datetime, limit: int) -> Purged:
    """Per-minute traffic counts of minutes before ``cutoff`` (the oldest first)."""
    t = traffic_minutes.c
    key = tuple_(t.minute, t.series, t.name, t.shard)
    oldest = select(t.minute, t.series, t.name, t.shard).where(t.minute < cutoff).order_by(t.minute).limit(limit)
    return Purged({"traffic_minutes": int(conn.execute(delete(traffic_minutes).where(key.in_(oldest))).rowcount)})

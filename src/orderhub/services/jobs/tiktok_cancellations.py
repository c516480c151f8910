"""TikTok Shop buyers' cancellation requests, answered by the account's rule or left to a person.

A buyer may ask to cancel an order that awaits shipment; TikTok then waits for the seller to approve or
reject the request. ``decide-tiktok-cancellations`` reads each account's pending requests (Search
Cancellations, status CANCELLATION_REQUEST_PENDING) and answers them by the account's ``cancellation_rule``
setting:

- ``approve-unpicked`` (the default): approve while no unit of the order is picked, packed or shipped in
  orderhub (the goods are still on the shelf); otherwise reject with TikTok's reason for a packed parcel.
- ``manual``: answer nothing; a person decides (``orderhub channel cancellations`` and ``cancellation``, or
  ``/api/channels/accounts/{name}/cancellations``).

A request for an order orderhub does not have yet waits for the next run. Every answer goes on the order's
timeline with who decided (the rule or the person) and why. TikTok out of reach: the request waits for the
next run. TikTok refusing an answer: an error-log entry naming the order and the request, and the rule
leaves that request alone until a person retries the entry (the next run answers it again) or decides it.

After an approval TikTok cancels the order. The run fetches the orders it approved (as the fetch job does),
so orderhub's own flow cancels their units and releases their stock; a cancellation the channel made is
never told back to it (services/channel_notices.py).

TikTok's cancellation notifications (type 11) are signals for this job (adapters/tiktok/channel.py): each
starts a run at once, and the run first fetches the orders they name.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
import structlog
from sqlalchemy import Connection, delete, select

from orderhub.adapters.store import accounts, error_log, timeline
from orderhub.adapters.store.schema import error_log as error_table
from orderhub.adapters.store.schema import job_state, order_units, orders
from orderhub.adapters.tiktok import api
from orderhub.adapters.tiktok.channel import DECIDE_JOB, client_for
from orderhub.adapters.tiktok.client import TikTokClient, TikTokError
from orderhub.adapters.tiktok.operations import DEFAULT_REJECT_REASON, TikTokOrders, as_channel_errors, should_approve
from orderhub.bootstrap import Hub
from orderhub.domain.channels import ChannelRefused, ChannelUnavailable
from orderhub.domain.jobs import Definition, Param, ParamKind
from orderhub.services.channel_listings import record_id
from orderhub.services.errors import TIKTOK_CANCELLATION
from orderhub.services.jobs.registry import register
from orderhub.services.jobs.tiktok_jobs import store_orders, tiktok_accounts

log = structlog.get_logger(__name__)

RULES = ("approve-unpicked", "manual")
DEFAULT_RULE = "approve-unpicked"
DECISIONS = ("approve", "reject")
DONE = {"approve": "approved", "reject": "rejected"}
PENDING = "CANCELLATION_REQUEST_PENDING"
MAX_REQUESTS = 1000  # pending requests one run or one listing reads per account; the rest wait for the next
MAX_REASON = 500
# A unit in one of these has left the shelf: cancelling now costs a pick, a parcel or a return.
PICKED = frozenset({"picked", "packed", "shipped", "completed", "returned"})
HELD = ("open", "dismissed")  # a refused request's error entry: a person has it, the rule leaves it alone


@dataclass(frozen=True)
class Request:
    """A buyer's cancellation request as Search Cancellations lists it."""

    cancel_id: str
    order_ref: str
    status: str
    reason: str
    requested_at: datetime | None


@dataclass(frozen=True)
class Proposal:
    """What the approve-unpicked rule does with a request: approve, reject or wait (order not in orderhub)."""

    action: str
    why: str
    order_id: int | None  # orderhub's id of the order


def rule_of(account: accounts.Account) -> str:
    """The account's rule; one orderhub does not know leaves every request to a person."""
    rule = str(account.settings.get("cancellation_rule") or DEFAULT_RULE)
    return rule if rule in RULES else "manual"


def _request(raw: Any) -> Request | None:
    if not isinstance(raw, dict) or not str(raw.get("cancel_id") or "").isdigit() \
            or not str(raw.get("order_id") or "").isdigit():
        return None
    created = raw.get("create_time")
    return Request(str(raw["cancel_id"])[:40], str(raw["order_id"])[:40], str(raw.get("cancel_status") or "")[:64],
                   str(raw.get("cancel_reason_text") or raw.get("cancel_reason") or "")[:MAX_REASON],
                   datetime.fromtimestamp(created, tz=UTC) if isinstance(created, int) and created > 0 else None)


def pending(client: TikTokClient, limit: int = MAX_REQUESTS) -> tuple[list[Request], bool]:
    """The account's pending requests, oldest first, at most ``limit``; and whether more are waiting."""
    found: dict[str, Request] = {}
    for page in api.search_cancellations(client, statuses=(PENDING,)):
        for raw in page:
            request = _request(raw)
            if request is not None and request.status == PENDING:
                found.setdefault(request.cancel_id, request)
        if len(found) >= limit:
            return list(found.values())[:limit], True
    return list(found.values()), False


def propose(conn: Connection, account: accounts.Account, request: Request) -> Proposal:
    order_id = conn.execute(select(orders.c.id).where(orders.c.shop_id == account.id,
                                                      orders.c.shopify_id == request.order_ref)).scalar()
    if order_id is None:
        return Proposal("wait", f"TikTok order {request.order_ref} is not in orderhub yet", None)
    statuses = conn.execute(select(order_units.c.status).where(order_units.c.order_id == order_id)).scalars().all()
    picked = sum(1 for s in statuses if s in PICKED)
    if should_approve(has_picked_units=picked > 0):
        return Proposal("approve", "no unit of the order is picked, packed or shipped in orderhub", int(order_id))
    return Proposal("reject", f"{picked} unit(s) of the order are picked, packed or shipped in orderhub",
                    int(order_id))


def _error_id(account: accounts.Account, cancel_id: str) -> int:
    return record_id(TIKTOK_CANCELLATION, account.id, cancel_id)


def _entries(conn: Connection, account: accounts.Account, cancel_ids: Iterable[str]) -> dict[str, tuple[int, str]]:
    """The error entries (id, status) of these requests, by request."""
    by_record = {_error_id(account, c): c for c in cancel_ids}
    found: dict[str, tuple[int, str]] = {}
    keys = sorted(by_record)
    for start in range(0, len(keys), 500):
        for row in conn.execute(select(error_table.c.id, error_table.c.record_id, error_table.c.status).where(
                error_table.c.record_type == TIKTOK_CANCELLATION,
                error_table.c.record_id.in_(keys[start:start + 500]))):
            found[by_record[row.record_id]] = (int(row.id), row.status)
    return found


def _reject_terms(reason: str | None) -> tuple[str, str | None]:
    """TikTok's reject reason and the seller's comment: a reason that is one of TikTok's names is sent as it is;
    other words go as the comment, under TikTok's reason for a packed parcel."""
    if reason and reason.startswith("seller_reject_") and reason.replace("_", "").isalnum():
        return reason, None
    return DEFAULT_REJECT_REASON, reason or None


def _answer(ops: TikTokOrders, request: Request, action: str, reason: str | None) -> str | None:
    """Approve or reject at TikTok; returns the reject reason sent (None for an approval)."""
    if action == "approve":
        ops.approve_cancellation(request.order_ref, request.cancel_id)
        return None
    reject_reason, comment = _reject_terms(reason)
    ops.reject_cancellation(request.order_ref, request.cancel_id, reject_reason, comment)
    return reject_reason


def _decided(conn: Connection, account: accounts.Account, request: Request, order_id: int | None, action: str,
             *, actor: str, decided_by: str, why: str, reject_reason: str | None) -> None:
    """The answer on the order's timeline, and the request's error entry (if any) resolved."""
    if order_id is not None:
        detail: dict[str, Any] = {"request": request.cancel_id, "buyer_reason": request.reason,
                                  "decided_by": decided_by, "why": why}
        if reject_reason:
            detail["reject_reason"] = reject_reason
        timeline.add(conn, [timeline.Entry(order_id, f"cancel_request_{DONE[action]}", detail, actor)])
    error_log.resolve_open(conn, TIKTOK_CANCELLATION, [_error_id(account, request.cancel_id)])


def _refused(conn: Connection, account: accounts.Account, request: Request, action: str, error: str,
             run_id: int | None) -> int:
    payload = {"account": account.name, "request": request.cancel_id, "order": request.order_ref, "action": action,
               "buyer_reason": request.reason}
    error = error.removeprefix(f"TikTok account {account.name}: ")  # the entry names the account once
    return error_log.record(conn, error_log.Failure(
        record_type=TIKTOK_CANCELLATION, record_id=_error_id(account, request.cancel_id), shop_id=account.id,
        topic="tiktok/cancellation", source="channel", kind="channel_refused", payload=orjson.dumps(payload).decode(),
        job_run_id=run_id,
        error=(f"TikTok account {account.name}: TikTok refused to {action} the buyer's cancellation request "
               f"{request.cancel_id} of order {request.order_ref}: {error}. Decide it by hand (`orderhub channel "
               f"cancellation {account.name} {request.cancel_id} approve|reject`), retry this entry (the next "
               "decide-tiktok-cancellations run answers it again), or dismiss it to leave the request alone.")))


def _answered_meanwhile(client: TikTokClient, request: Request) -> bool:
    """Whether the request is no longer pending at TikTok (False when that cannot be read now)."""
    try:
        found = api.cancellation(client, request.order_ref, request.cancel_id)
    except TikTokError:
        return False
    return found is not None and found.get("cancel_status") != PENDING


def _fetch(hub: Hub, account: accounts.Account, client: TikTokClient, order_refs: Iterable[str]) -> dict[str, int]:
    """Store these orders as TikTok has them now, as the fetch job does (one record per version)."""
    refs = sorted(set(order_refs))
    if not refs:
        return {"fetched": 0, "stored": 0}
    found = api.order_details(client, refs)
    return {"fetched": len(found), "stored": store_orders(hub, account, found)["stored"]}


def _signals(hub: Hub, account: accounts.Account) -> dict[str, str]:
    with hub.db.read() as conn:
        return {r.key: r.value for r in conn.execute(select(job_state.c.key, job_state.c.value).where(
            job_state.c.job == DECIDE_JOB, job_state.c.shop_id == account.id))}


def _clear(hub: Hub, account: accounts.Account, signals: dict[str, str]) -> None:
    with hub.db.write() as conn:
        for key, value in signals.items():  # only those read: a newer notification for the order stays
            conn.execute(delete(job_state).where(job_state.c.job == DECIDE_JOB, job_state.c.shop_id == account.id,
                                                 job_state.c.key == key, job_state.c.value == value))


def decide_account(hub: Hub, account: accounts.Account, *, client: TikTokClient | None = None,
                   run_id: int | None = None, limit: int = MAX_REQUESTS,
                   between: Callable[[], None] = lambda: None) -> dict[str, Any]:
    """One run for one account: fetch the orders notifications named, then answer the pending requests by the
    account's rule. TikTok out of reach while reading leaves everything for the next run (TikTokError)."""
    client = client or client_for(account, hub)
    rule = rule_of(account)
    stats: dict[str, Any] = {"account": account.name, "rule": rule, "notified": 0, "pending": 0, "approved": 0,
                             "rejected": 0, "waiting": 0, "left": 0, "held": 0, "refused": 0, "unavailable": 0,
                             "answered_elsewhere": 0}
    signals = _signals(hub, account)
    stats["notified"] = len(signals)
    fetched = _fetch(hub, account, client, signals)
    requests, more = pending(client, limit)
    _clear(hub, account, signals)  # only now: a failure above leaves them for the next run
    stats.update(pending=len(requests), more=more)
    if rule == "manual":
        stats["left"] = len(requests)
        return stats | fetched
    with hub.db.read() as conn:
        entries = _entries(conn, account, [r.cancel_id for r in requests])
    ops, approved = TikTokOrders(client), []
    for n, request in enumerate(requests):
        between()
        if entries.get(request.cancel_id, (0, ""))[1] in HELD:
            stats["held"] += 1
            continue
        with hub.db.read() as conn:  # read just before answering: a unit may have been picked meanwhile
            proposal = propose(conn, account, request)
        if proposal.action == "wait":
            stats["waiting"] += 1
            continue
        try:
            reject_reason = _answer(ops, request, proposal.action, None)
        except ChannelUnavailable as exc:  # TikTok is out of reach: this and the rest wait for the next run
            stats["unavailable"] = len(requests) - n
            log.warning("tiktok_cancellations_unavailable", account=account.name, error=str(exc))
            break
        except ChannelRefused as exc:
            if _answered_meanwhile(client, request):  # a person (or TikTok itself) answered it first
                stats["answered_elsewhere"] += 1
                continue
            with hub.db.write() as conn:
                _refused(conn, account, request, proposal.action, str(exc), run_id)
            stats["refused"] += 1
            continue
        with hub.db.write() as conn:
            _decided(conn, account, request, proposal.order_id, proposal.action, actor=f"rule:{rule}",
                     decided_by=f"rule {rule}", why=proposal.why, reject_reason=reject_reason)
        stats[DONE[proposal.action]] += 1
        if proposal.action == "approve":
            approved.append(request.order_ref)
    try:  # TikTok cancelled the approved orders: bring them in now, not at the next poll
        after = _fetch(hub, account, client, approved)
        fetched = {k: fetched[k] + after[k] for k in fetched}
    except TikTokError as exc:
        log.warning("tiktok_cancelled_orders_not_fetched", account=account.name, error=str(exc))
    return stats | fetched


# -- a person decides (CLI and API) -------------------------------------------------------------------------------

def tiktok_account(hub: Hub, name: str) -> accounts.Account:
    """The TikTok account of that name, secrets read; LookupError naming what to do when there is none."""
    try:
        return tiktok_accounts(hub, name)[0]
    except ValueError as exc:
        raise LookupError(str(exc)) from None


def list_pending(hub: Hub, name: str, *, client: TikTokClient | None = None,
                 limit: int = MAX_REQUESTS) -> dict[str, Any]:
    """The account's pending requests, each with what the rule would do with it and why. LookupError: no such
    account; ChannelUnavailable / ChannelRefused: TikTok's answer."""
    account = tiktok_account(hub, name)
    rule = rule_of(account)
    with as_channel_errors():
        requests, more = pending(client or client_for(account, hub), limit)
    with hub.db.read() as conn:
        entries = _entries(conn, account, [r.cancel_id for r in requests])
        proposals = [propose(conn, account, r) for r in requests]
    rows = []
    for request, proposal in zip(requests, proposals, strict=True):
        entry = entries.get(request.cancel_id)
        if rule == "manual":
            would = "leave it to a person"
        elif entry is not None and entry[1] in HELD:
            would = f"leave it: TikTok refused an answer (error {entry[0]})"
        elif proposal.action == "wait":
            would = "wait for the order"
        else:
            would = proposal.action
        rows.append({"request": request.cancel_id, "order": request.order_ref, "reason": request.reason,
                     "requested_at": request.requested_at.isoformat() if request.requested_at else None,
                     "in_orderhub": proposal.order_id is not None, "suggestion": proposal.action,
                     "why": proposal.why, "rule_would": would,
                     "error_id": entry[0] if entry is not None and entry[1] in HELD else None})
    return {"account": account.name, "rule": rule, "requests": rows, "more": more}


def decide_by_hand(hub: Hub, name: str, cancel_id: str, decision: str, *, actor: str, reason: str | None = None,
                   client: TikTokClient | None = None) -> dict[str, Any]:
    """A person approves or rejects one request. LookupError: no such account or request; ValueError: the
    request is not pending or the decision is not one; ChannelUnavailable / ChannelRefused: TikTok's answer."""
    if decision not in DECISIONS:
        raise ValueError(f"a decision is {' or '.join(DECISIONS)}, not {decision[:20]!r}")
    reason = (reason or "").strip() or None
    if reason is not None and len(reason) > MAX_REASON:
        raise ValueError(f"a reason has at most {MAX_REASON} characters")
    account = tiktok_account(hub, name)
    if not cancel_id.isdigit() or len(cancel_id) > 40:
        raise LookupError(f"{cancel_id[:40]!r} is not a TikTok cancellation id; `orderhub channel cancellations "
                          f"{account.name}` lists the pending ones")
    client = client or client_for(account, hub)
    with as_channel_errors():
        found = next((r for page in api.search_cancellations(client, cancel_ids=(cancel_id,))
                      for r in map(_request, page) if r is not None and r.cancel_id == cancel_id), None)
    if found is None:
        raise LookupError(f"TikTok account {account.name} has no cancellation request {cancel_id}; `orderhub channel "
                          f"cancellations {account.name}` lists the pending ones")
    if found.status != PENDING:
        raise ValueError(f"cancellation request {cancel_id} of TikTok order {found.order_ref} is {found.status}; "
                         "only a pending request can be approved or rejected")
    reject_reason = _answer(TikTokOrders(client), found, decision, reason)
    with hub.db.write() as conn:
        proposal = propose(conn, account, found)
        _decided(conn, account, found, proposal.order_id, decision, actor=actor, decided_by="person",
                 why=reason or "decided by hand", reject_reason=reject_reason)
    if decision == "approve":
        try:
            _fetch(hub, account, client, [found.order_ref])
        except TikTokError as exc:
            log.warning("tiktok_cancelled_orders_not_fetched", account=account.name, error=str(exc))
    return {"account": account.name, "request": cancel_id, "order": found.order_ref, "decision": decision,
            "reject_reason": reject_reason, "in_orderhub": proposal.order_id is not None}


# -- the job -------------------------------------------------------------------------------------------------------

def _run(ctx: Any) -> dict[str, Any]:
    results, failures = [], {}
    for account in tiktok_accounts(ctx.hub, ctx.params.get("account")):
        try:
            results.append(decide_account(ctx.hub, account, run_id=ctx.run_id, between=ctx.check))
        except TikTokError as exc:  # one account out of reach does not stop the others; the run says which
            failures[account.name] = str(exc)
            log.warning("tiktok_job_account_failed", account=account.name, error=str(exc))
    totals = {k: sum(r.get(k, 0) for r in results)
              for k in ("pending", "approved", "rejected", "waiting", "left", "held", "refused", "unavailable")}
    if failures and not results:
        raise RuntimeError("; ".join(failures.values()))
    return {"accounts": results, "failed_accounts": failures, **totals, "read": totals["pending"],
            "processed": totals["approved"] + totals["rejected"], "failed": totals["refused"]}


register(Definition(name=DECIDE_JOB, category="orders", per_shop=False,
                    description="TikTok cancellation requests: approve or reject buyers' pending requests by each "
                                "account's rule (approve-unpicked or manual)",
                    default_schedule="every-5-minutes",
                    params=(Param("account", ParamKind.TEXT,
                                  "the TikTok account's name (default: every active TikTok account)"),)),
         _run)

"""The listings sync: which SKUs a channel account sells, read from the channel itself.

Every SKU the channel lists and orderhub knows (its inventory or its product catalogue) becomes a listing of
the account (adapters/store/channel_stock.py), with the channel's own id as its ``channel_ref``; from then on
its stock goes to the account. A SKU orderhub does not know goes to the error log once per account and SKU,
naming both, however often the sync runs; when orderhub knows it later, the sync lists it and resolves that
entry. A SKU the channel no longer lists stays listed in orderhub until a person unlists it.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import orjson
import structlog
from sqlalchemy import Connection, select

from orderhub.adapters.store import accounts, channel_stock, error_log
from orderhub.adapters.store.accounts import Account
from orderhub.adapters.store.db import Database
from orderhub.adapters.store.schema import error_log as error_table
from orderhub.domain.channels import ChannelListing, ListingReader
from orderhub.services.errors import LISTING

log = structlog.get_logger(__name__)

RECORD_TYPE = LISTING  # error-log entries of SKUs a channel lists and orderhub does not know


def record_id(*parts: object) -> int:
    """A stable positive 63-bit id for an error-log entry that has no row of its own (account and SKU)."""
    digest = hashlib.blake2b("\x00".join(map(str, parts)).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") >> 1


@dataclass
class SyncReport:
    read: int = 0  # listings the channels have
    listed: int = 0  # new listings in orderhub
    known: int = 0  # listings whose SKU orderhub knows (new or not)
    unknown: int = 0  # listings whose SKU orderhub does not know
    reported: int = 0  # of those, new in the error log
    accounts: list[str] = field(default_factory=list)


def sync_account(db: Database, account: Account, reader: ListingReader, *, run_id: int | None = None,
                 report: SyncReport | None = None) -> SyncReport:
    """List on ``account`` every SKU its channel lists that orderhub knows, a page at a time."""
    report = report if report is not None else SyncReport()
    for page in reader.read_listings():
        report.read += len(page)
        with db.write() as conn:
            _take_page(conn, account, page, run_id, report)
    report.accounts.append(account.name)
    return report


def _take_page(conn: Connection, account: Account, page: list[ChannelListing], run_id: int | None,
               report: SyncReport) -> None:
    known = channel_stock.known_skus(conn, {listing.sku for listing in page})
    by_location: dict[str, dict[str, str | None]] = defaultdict(dict)
    unknown: list[ChannelListing] = []
    for listing in page:
        if listing.sku in known:
            by_location[listing.location][listing.sku] = listing.channel_ref
        else:
            unknown.append(listing)
    for location, refs in by_location.items():
        report.listed += channel_stock.list_skus(conn, account.id, refs, location=location,
                                                 refs={s: r for s, r in refs.items() if r})
        report.known += len(refs)
    _resolve(conn, [record_id(account.id, sku) for sku in known])
    report.unknown += len(unknown)
    report.reported += _report_unknown(conn, account, unknown, run_id)


def _report_unknown(conn: Connection, account: Account, unknown: list[ChannelListing], run_id: int | None) -> int:
    """An error-log entry for each unknown SKU not reported before (whatever became of that entry)."""
    ids = {record_id(account.id, listing.sku): listing for listing in unknown}
    if not ids:
        return 0
    seen = set(conn.execute(select(error_table.c.record_id).where(
        error_table.c.record_type == RECORD_TYPE, error_table.c.record_id.in_(sorted(ids)))).scalars())
    new = 0
    for rid, listing in ids.items():
        if rid in seen:
            continue
        payload: dict[str, Any] = {"account": account.name, "kind": account.kind, "sku": listing.sku,
                                   "location": listing.location, "channel_ref": listing.channel_ref}
        error_log.record(conn, error_log.Failure(
            record_type=RECORD_TYPE, record_id=rid, shop_id=account.id, topic=f"{account.kind}/listing",
            source="channel", kind="unknown_sku", field="sku", payload=orjson.dumps(payload).decode(),
            error=(f"{account.kind} account {account.name} lists SKU {listing.sku}"
                   + (f" ({listing.channel_ref})" if listing.channel_ref else "")
                   + ", which orderhub does not know: add the product to orderhub (its stock then goes to the "
                     "account at the next sync-channel-listings), or dismiss this entry if orderhub should "
                     "leave that listing alone"),
            job_run_id=run_id))
        new += 1
    return new


def _resolve(conn: Connection, ids: list[int]) -> None:
    """SKUs reported unknown that orderhub knows now: their entries are resolved."""
    error_log.resolve_open(conn, RECORD_TYPE, ids)


# -- listings a person manages (CLI and API) ------------------------------------------------------------------

MAX_SKUS = 1000  # SKUs one command or request lists or unlists
MAX_SKU, MAX_LOCATION, MAX_REF = 255, 100, 255  # the columns' sizes


def _account(conn: Connection, name: str) -> Account:
    found = accounts.get(conn, name, secrets=False)
    if found is None:
        raise LookupError(f"no channel account {name}; `orderhub channel list` shows them")
    return found


def _checked(skus: list[str], location: str) -> list[str]:
    wanted = list(dict.fromkeys(s.strip() for s in skus if s.strip()))
    if not wanted:
        raise ValueError("name at least one SKU")
    if len(wanted) > MAX_SKUS:
        raise ValueError(f"at most {MAX_SKUS} SKUs at once; {len(wanted)} given")
    too_long = [s for s in wanted if len(s) > MAX_SKU]
    if too_long:
        raise ValueError(f"SKU {too_long[0][:40]}... is longer than {MAX_SKU} characters")
    if len(location) > MAX_LOCATION:
        raise ValueError(f"a location is at most {MAX_LOCATION} characters")
    return wanted


def list_by_hand(conn: Connection, name: str, skus: list[str], *, location: str = "",
                 refs: dict[str, str] | None = None) -> tuple[Account, int]:
    """List SKUs orderhub knows on the account ``name`` (at ``location``), with the channel's ids where
    given. Returns the account and how many listings are new. Raises LookupError (no such account) or
    ValueError naming what is wrong (an unknown SKU, which would show 0 on the channel, is refused)."""
    account = _account(conn, name)
    wanted = _checked(skus, location)
    refs = {k.strip(): v.strip() for k, v in (refs or {}).items()}
    stray = sorted(set(refs) - set(wanted))
    if stray:
        raise ValueError(f"a channel ref is given for {', '.join(stray[:5])}, which is not among the SKUs listed")
    if any(len(r) > MAX_REF for r in refs.values()):
        raise ValueError(f"a channel ref is at most {MAX_REF} characters")
    unknown = sorted(set(wanted) - channel_stock.known_skus(conn, wanted))
    if unknown:
        raise ValueError(f"orderhub does not know SKU {', '.join(unknown[:10])}{' ...' if len(unknown) > 10 else ''}"
                         " (no stock, no product): listing it would show 0 on the channel; receive its stock or "
                         "import the product first")
    return account, channel_stock.list_skus(conn, account.id, wanted, location=location, refs=refs or None)


def unlist_by_hand(conn: Connection, name: str, skus: list[str], *, location: str | None = None) -> tuple[Account, int]:
    """Stop sending stock of these SKUs to the account ``name`` (at ``location``; everywhere when None).
    Returns the account and how many listings went."""
    account = _account(conn, name)
    wanted = _checked(skus, location or "")
    return account, channel_stock.unlist(conn, account.id, wanted, location=location)

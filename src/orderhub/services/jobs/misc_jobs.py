"""Housekeeping jobs of the misc category: retention, the error-log digest, and the webhook check.

- ``purge-retention`` deletes what the queues and the run history no longer need, in batches,
  by the rules of :mod:`orderhub.adapters.store.retention` (the error log is never deleted);
- ``error-log-digest`` e-mails what is new in the error log and what is still open;
- ``check-webhooks`` re-creates Shopify webhook subscriptions Shopify removed, and back-fills
  what they missed (:mod:`orderhub.services.webhook_categories`).
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import getaddresses, parseaddr
from typing import Any

import orjson
from sqlalchemy import Connection, func, select

from orderhub.adapters.mail import Mailer, MailError, required_config
from orderhub.adapters.store import retention
from orderhub.adapters.store.db import upsert
from orderhub.adapters.store.schema import error_log, job_state, shops
from orderhub.clock import utcnow
from orderhub.domain.jobs import Definition, Param, ParamKind
from orderhub.services import webhook_categories
from orderhub.services.jobs.context import JobContext
from orderhub.services.jobs.registry import register

# -- purge-retention --------------------------------------------------------------------------------------

PURGE = "purge-retention"
Purge = Callable[[Connection, datetime, int], retention.Purged]


def _at_least(job: str, name: str, value: int, low: int, high: int | None = None) -> int:
    if value < low or (high is not None and value > high):
        bound = f"between {low} and {high}" if high is not None else f"at least {low}"
        raise ValueError(f"job {job}: parameter {name!r} must be {bound}, got {value}")
    return value


def purge_retention(ctx: JobContext) -> dict[str, Any]:
    """Delete, a batch per transaction, what is older than the retention periods and no longer needed."""
    days = _at_least(PURGE, "days", ctx.params["days"], 1)
    run_days = _at_least(PURGE, "job_run_days", ctx.params["job_run_days"], 1)
    batch = _at_least(PURGE, "batch_size", ctx.params["batch_size"], 1, 10_000)
    now = utcnow()
    records_before, runs_before = now - timedelta(days=days), now - timedelta(days=run_days)
    steps: list[tuple[str, str, Purge, datetime]] = [
        ("HTTP deliveries delivered", "deliveries", retention.purge_deliveries, records_before),
        ("outbound webhook deliveries delivered", "subscription_deliveries",
         retention.purge_subscription_deliveries, records_before),
        ("outbox events fanned out and settled", "outbox", retention.purge_outbox, records_before),
        ("inbox records done", "inbox", retention.purge_inbox, records_before),
        ("finished job runs", "job_runs", retention.purge_job_runs, runs_before),
        ("traffic counts of the dashboard", "traffic_minutes", retention.purge_traffic, records_before),
    ]
    deleted = dict.fromkeys(("deliveries", "subscription_deliveries", "outbox", "inbox", "job_runs",
                             "job_run_logs", "job_run_files", "traffic_minutes"), 0)
    batches = 0
    for label, table, purge, cutoff in steps:
        before = deleted[table]
        while True:
            ctx.check()
            with ctx.hub.db.write() as conn:
                purged = purge(conn, cutoff, batch)
            batches += 1
            for name, n in purged.rows.items():
                deleted[name] += n
            ctx.count(processed=purged.total)
            if purged.rows.get(table, 0) < batch:
                break
        ctx.log(f"{label} before {cutoff.isoformat(timespec='seconds')}: deleted {deleted[table] - before}")
    return {"deleted": deleted, "days": days, "job_run_days": run_days, "cutoff": records_before.isoformat(),
            "job_run_cutoff": runs_before.isoformat(), "batches": batches}


# -- error-log-digest ---------------------------------------------------------------------------------

DIGEST = "error-log-digest"
DIGEST_STATE_KEY = "last_digest"
MAX_RECIPIENTS = 50
ERROR_CHARS = 600  # of each error in the mail; `orderhub errors show` has the whole of it
_ADDRESS = re.compile(r"[^@\s<>()\[\],;:\"\\]+@[^@\s<>()\[\],;:\"\\.]+(\.[^@\s<>()\[\],;:\"\\.]+)+")


def _display_name(name: str) -> str:
    """A display name as a header takes it: quoted when it holds characters with a meaning there."""
    if not any(c in name for c in ',;:<>@()"[]\\'):
        return name
    return '"' + name.replace("\\", "").replace('"', "") + '"'


def parse_recipients(text: str) -> list[str]:
    """Comma-separated addresses (``ops@shop.example``, ``Ops <ops@shop.example>``, ``"Doe, Jo" <jo@x.example>``),
    each checked; returned as ``Name <addr>`` or ``addr``, duplicates dropped."""
    if any(c in text for c in "\r\n"):
        raise ValueError(f"job {DIGEST}: parameter 'recipients' has a line break; list addresses comma-separated")
    out: list[str] = []
    for name, addr in getaddresses([text]):
        if not name and not addr:
            continue
        if not _ADDRESS.fullmatch(addr):
            shown = f"{name} <{addr}>" if name else addr
            raise ValueError(f"job {DIGEST}: recipient {shown[:100]!r} is not an e-mail address "
                             "(use name@domain.example, comma-separated)")
        item = f"{_display_name(name)} <{addr}>" if name else addr
        if all(addr.lower() != parseaddr(known)[1].lower() for known in out):
            out.append(item)
    if not out:
        raise ValueError(f"job {DIGEST}: parameter 'recipients' names no address")
    if len(out) > MAX_RECIPIENTS:
        raise ValueError(f"job {DIGEST}: {len(out)} recipients; at most {MAX_RECIPIENTS}, use a mailing list")
    return out


@dataclass(frozen=True)
class Digest:
    since_id: int
    since_at: datetime | None
    through_id: int
    new_count: int
    new: list[Any]
    open_count: int
    by_kind_topic: list[tuple[str, str, int]]
    oldest_open: list[Any]
    now: datetime


def _entries() -> Any:
    return (select(error_log.c.id, error_log.c.created_at, error_log.c.kind, error_log.c.status, error_log.c.topic,
                   error_log.c.error, shops.c.domain.label("shop"))
            .outerjoin(shops, shops.c.id == error_log.c.shop_id))


def _read_state(conn: Connection) -> tuple[int, datetime | None]:
    value = conn.execute(select(job_state.c.value).where(
        job_state.c.job == DIGEST, job_state.c.shop_id == 0, job_state.c.key == DIGEST_STATE_KEY)).scalar()
    if value is None:
        return 0, None
    data = orjson.loads(value)
    return int(data["last_id"]), datetime.fromisoformat(data["sent_at"])


def _save_state(conn: Connection, last_id: int, sent_at: datetime) -> None:
    upsert(conn, job_state, dict(job=DIGEST, shop_id=0, key=DIGEST_STATE_KEY,
                                 value=orjson.dumps({"last_id": last_id, "sent_at": sent_at.isoformat()}).decode()),
           keys=("job", "shop_id", "key"), update=("value",))


def collect(conn: Connection, listed: int) -> Digest:
    """What the digest says: entries since the last one, open entries by kind and topic, the oldest open."""
    since_id, since_at = _read_state(conn)
    through_id = int(conn.execute(select(func.coalesce(func.max(error_log.c.id), 0))).scalar_one())
    new_filter = (error_log.c.id > since_id, error_log.c.id <= through_id)
    new_count = int(conn.execute(select(func.count()).select_from(error_log).where(*new_filter)).scalar_one())
    new = list(conn.execute(_entries().where(*new_filter).order_by(error_log.c.id).limit(listed)))
    is_open = error_log.c.status == "open"
    groups = [(r.kind, r.topic, int(r.n)) for r in conn.execute(
        select(error_log.c.kind, error_log.c.topic, func.count().label("n")).where(is_open)
        .group_by(error_log.c.kind, error_log.c.topic).order_by(func.count().desc(), error_log.c.kind,
                                                                 error_log.c.topic))]
    oldest = list(conn.execute(_entries().where(is_open).order_by(error_log.c.created_at, error_log.c.id)
                               .limit(listed)))
    return Digest(since_id, since_at, through_id, new_count, new, sum(n for _k, _t, n in groups), groups, oldest,
                  utcnow())


def _when(value: datetime) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC")


def _clip(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= ERROR_CHARS else text[:ERROR_CHARS - 1] + "…"


def _plural(n: int, word: str, many: str | None = None) -> str:
    return f"{n} {word if n == 1 else many or word + 's'}"


def _age(open_for: timedelta) -> str:
    if open_for >= timedelta(days=1):
        return f"open {_plural(open_for.days, 'day')}"
    return f"open {_plural(int(open_for.total_seconds() // 3600), 'hour')}"


def subject(d: Digest) -> str:
    return f"orderhub error log: {_plural(d.new_count, 'new entry', 'new entries')}, {d.open_count} open"


def _link(base_url: str | None, entry_id: int) -> str | None:
    return f"{base_url.rstrip('/')}/api/errors/{entry_id}" if base_url else None


WORK_COMMANDS = (
    ("orderhub errors list --status open", "every open entry, with filters (--shop --topic --kind --since)"),
    ("orderhub errors show ID", "the error, the failing field, every attempt, the payload"),
    ("orderhub errors retry ID [--payload fixed.json]", "put the record back in its queue (optionally corrected)"),
    ('orderhub errors dismiss ID --reason "..."', "close it for good, saying why"),
)


def _intro(d: Digest) -> str:
    since = f"the last digest ({_when(d.since_at)})" if d.since_at else "the log began"
    return (f"{_plural(d.new_count, 'new entry', 'new entries')} since {since}; "
            f"{d.open_count} open in all.")


def render_text(d: Digest, base_url: str | None) -> str:
    lines = [f"orderhub error-log digest, {_when(d.now)}", "", _intro(d), ""]
    if d.new:
        lines.append("New entries" + (f" (the first {len(d.new)})" if d.new_count > len(d.new) else ""))
        for e in d.new:
            lines.append(f"  #{e.id}  {_when(e.created_at)}  {e.status}  {e.kind}  {e.topic}  {e.shop or '-'}")
            lines.append(f"      {_clip(e.error)}")
        lines.append("")
    if d.by_kind_topic:
        lines.append("Open entries by kind and topic")
        width = max(len(k) for k, _t, _n in d.by_kind_topic)
        twidth = max(len(t) for _k, t, _n in d.by_kind_topic)
        lines += [f"  {k:<{width}}  {t:<{twidth}}  {n}" for k, t, n in d.by_kind_topic]
        lines.append("")
    if d.oldest_open:
        lines.append("Oldest open entries")
        for e in d.oldest_open:
            lines.append(f"  #{e.id}  {_when(e.created_at)} ({_age(d.now - e.created_at)})  {e.kind}  {e.topic}  "
                         f"{e.shop or '-'}")
            lines.append(f"      {_clip(e.error)}")
            link = _link(base_url, e.id)
            lines.append(f"      orderhub errors show {e.id}" + (f"   {link}" if link else ""))
        lines.append("")
    lines.append("To work them:")
    lines += [f"  {cmd:<48} {what}" for cmd, what in WORK_COMMANDS]
    return "\n".join(lines) + "\n"


def _h(value: Any) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def _html_entry_rows(entries: Sequence[Any], d: Digest, base_url: str | None, *, with_age: bool) -> str:
    rows = []
    for e in entries:
        link = _link(base_url, e.id)
        ref = f'<a href="{_h(link)}">#{e.id}</a>' if link else f"#{e.id}"
        age = f" ({_h(_age(d.now - e.created_at))})" if with_age else ""
        rows.append(f"<tr><td>{ref}</td><td>{_h(_when(e.created_at))}{age}</td><td>{_h(e.kind)}</td>"
                    f"<td>{_h(e.topic)}</td><td>{_h(e.shop or '-')}</td>"
                    f'<td style="white-space:pre-wrap">{_h(_clip(e.error))}</td>'
                    f"<td><code>orderhub errors show {e.id}</code></td></tr>")
    head = "<tr>" + "".join(f"<th>{c}</th>" for c in ("entry", "created", "kind", "topic", "shop", "error",
                                                       "work it")) + "</tr>"
    return f'<table border="1" cellpadding="4" cellspacing="0">{head}{"".join(rows)}</table>'


def render_html(d: Digest, base_url: str | None) -> str:
    parts = [f"<h2>orderhub error-log digest, {_h(_when(d.now))}</h2>", f"<p>{_h(_intro(d))}</p>"]
    if d.new:
        more = f" (the first {len(d.new)})" if d.new_count > len(d.new) else ""
        parts += [f"<h3>New entries{_h(more)}</h3>", _html_entry_rows(d.new, d, base_url, with_age=False)]
    if d.by_kind_topic:
        rows = "".join(f"<tr><td>{_h(k)}</td><td>{_h(t)}</td><td>{n}</td></tr>" for k, t, n in d.by_kind_topic)
        parts += ["<h3>Open entries by kind and topic</h3>",
                  f'<table border="1" cellpadding="4" cellspacing="0"><tr><th>kind</th><th>topic</th>'
                  f"<th>open</th></tr>{rows}</table>"]
    if d.oldest_open:
        parts += ["<h3>Oldest open entries</h3>", _html_entry_rows(d.oldest_open, d, base_url, with_age=True)]
    commands = "".join(f"<li><code>{_h(cmd)}</code>: {_h(what)}</li>" for cmd, what in WORK_COMMANDS)
    parts.append(f"<h3>To work them</h3><ul>{commands}</ul>")
    return "<!DOCTYPE html><html><head><meta charset=\"utf-8\"></head><body>" + "".join(parts) + "</body></html>"


def error_log_digest(ctx: JobContext) -> dict[str, Any]:
    """Mail the digest to the recipients, unless nothing is new (and ``send_empty`` is off)."""
    config = required_config(ctx.hub.settings, f"job {DIGEST}")
    recipients = parse_recipients(ctx.params["recipients"])
    listed = _at_least(DIGEST, "listed", ctx.params["listed"], 1, 200)
    base_url = (ctx.params.get("base_url") or "").strip() or None
    if base_url and not re.match(r"https?://[^\s/]+", base_url):
        raise ValueError(f"job {DIGEST}: base_url {base_url[:100]!r} is not an http(s) URL")
    with ctx.hub.db.read() as conn:
        digest = collect(conn, listed)
    stats: dict[str, Any] = {"new": digest.new_count, "open": digest.open_count, "since_id": digest.since_id,
                             "through_id": digest.through_id, "recipients": len(recipients), "sent": False}
    if digest.new_count == 0 and not ctx.params["send_empty"]:
        ctx.log(f"nothing new in the error log since entry {digest.since_id} ({digest.open_count} open); "
                "no mail sent (send_empty=true sends one anyway)")
        return stats
    try:
        sent = Mailer(config).send_mail(recipients, subject(digest), render_text(digest, base_url),
                                        html=render_html(digest, base_url))
    except MailError as exc:
        raise RuntimeError(f"job {DIGEST}: the digest was not sent: {exc}") from exc
    with ctx.hub.db.write() as conn:
        _save_state(conn, digest.through_id, digest.now)
    if sent.refused:
        ctx.log(f"{len(sent.refused)} of {len(recipients)} recipients were refused: "
                + "; ".join(f"{addr}: {code} {text}" for addr, (code, text) in sent.refused.items()), "warning")
    ctx.log(f"digest sent to {len(recipients) - len(sent.refused)} recipient(s): {digest.new_count} new, "
            f"{digest.open_count} open (entries {digest.since_id + 1} to {digest.through_id})")
    ctx.count(read=digest.new_count, processed=1)
    return stats | {"sent": True, "message_id": sent.message_id, "refused": len(sent.refused)}


# -- check-webhooks ---------------------------------------------------------------------------------

CHECK = "check-webhooks"


def check_webhooks(ctx: JobContext) -> dict[str, Any]:
    """Re-create the shop's recorded webhook subscriptions Shopify removed; back-fill their gap."""
    assert ctx.shop is not None
    code = (ctx.params.get("category") or "").strip()
    report = webhook_categories.check(
        ctx.hub, ctx.shop, categories=[code] if code else [], address=ctx.params.get("address") or None,
        buffer=timedelta(seconds=ctx.params["buffer"]), run_backfill=bool(ctx.params["run_backfill"]),
        parent_run_id=ctx.run_id, log=ctx.log)
    ctx.count(read=report.checked, processed=len(report.recreated), skipped=len(report.present),
              failed=len(report.failed))
    if report.failed:
        raise RuntimeError(f"job {CHECK}: {ctx.shop.domain}: could not re-create "
                           + "; ".join(f"{topic} ({error})" for topic, error in report.failed.items()))
    return report.as_dict()


register(Definition(
    name=PURGE, category="misc",
    description="Retention: delete processed inbox records, settled outbox events and deliveries, and old job "
                "runs (never the error log, nor what an open entry needs)",
    default_schedule="hourly", min_interval_seconds=3600, per_shop=False,
    params=(Param("days", ParamKind.INT, "keep inbox, outbox and deliveries this many days", default=30),
            Param("job_run_days", ParamKind.INT, "keep job runs (logs, files) this many days", default=90),
            Param("batch_size", ParamKind.INT, "rows deleted per transaction", default=1000)),
), purge_retention)

register(Definition(
    name=DIGEST, category="misc",
    description="Error-log digest: e-mail new and open error-log entries to the people who work them",
    default_schedule="daily", per_shop=False,
    params=(Param("recipients", help="comma-separated e-mail addresses", required=True, max_len=4000),
            Param("send_empty", ParamKind.BOOL, "send a digest even when nothing is new", default=False),
            Param("listed", ParamKind.INT, "entries listed per section", default=20),
            Param("base_url", help="orderhub's public URL, for links to /api/errors/ID")),
), error_log_digest)

register(Definition(
    name=CHECK, category="misc",
    description="Webhook check: re-create Shopify webhook subscriptions Shopify removed, and back-fill the gap "
                "with the category's batch job",
    default_schedule="every-15-minutes", per_shop=True,
    params=(Param("address", help="re-create removed subscriptions at this callback URL (default: where each was)"),
            Param("category", help="only this category's subscriptions"),
            Param("buffer", ParamKind.DURATION, "back-fill from this long before the last webhook received",
                  default=600),
            Param("run_backfill", ParamKind.BOOL, "run the back-fill here and wait (default: queue it)",
                  default=False)),
), check_webhooks)

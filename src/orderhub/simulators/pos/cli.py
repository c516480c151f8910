"""``orderhub simulate pos``: one store till against a running orderhub; registered on the CLI's ``simulate``
group by :func:`add_cli`."""

from __future__ import annotations

import random
import sys
from decimal import Decimal
from pathlib import Path

import click
import httpx
import orjson

RATE_UNITS = {"s": 1.0, "sec": 1.0, "second": 1.0, "m": 60.0, "min": 60.0, "minute": 60.0}


def parse_rate(text: str) -> float:
    """Sales per second from ``30`` (a minute), ``30/min`` or ``2/s``."""
    number, _, unit = text.strip().partition("/")
    try:
        value = float(number)
    except ValueError:
        raise click.BadParameter(f"{text!r} is not a rate such as 30 (a minute), 30/min or 2/s") from None
    per = RATE_UNITS.get(unit.strip().lower() or "min")
    if per is None or value <= 0:
        raise click.BadParameter(f"{text!r} is not a rate such as 30 (a minute), 30/min or 2/s")
    return value / per


def _probability(_ctx: click.Context, _param: click.Parameter, value: float) -> float:
    if not 0 <= value <= 1:
        raise click.BadParameter(f"{value} is not a share between 0 and 1")
    return value


def add_cli(simulate_group: click.Group) -> click.Command:
    """Add the ``pos`` command to ``simulate_group``; returns the command."""

    @simulate_group.command("pos")
    @click.option("--url", default="http://127.0.0.1:8000", show_default=True, help="orderhub's base URL.")
    @click.option("--store", required=True, help="The store's facility code (the till checks its enrolment).")
    @click.option("--device", "name", required=True, help="The till's name in its store.")
    @click.option("--code", default=None, help="A one-time enrolment code; needed only until the till is enrolled.")
    @click.option("--state", "state_path", type=click.Path(dir_okay=False), default=None,
                  help="The till's own SQLite file (queue, sequence, credential). Default: pos-STORE-DEVICE.db.")
    @click.option("--skus", default=None, metavar="SKU:PRICE,...", help="What the till sells, with prices.")
    @click.option("--catalogue", type=click.Path(exists=True, dir_okay=False), default=None,
                  help="What the till sells: JSON [{sku, price, title}] or CSV sku,price[,title].")
    @click.option("--token", default=None,
                  help="An admin API token: the catalogue is read from orderhub (SKUs listed on channels and held "
                       "by the store), each at --price.")
    @click.option("--price", default="19.99", show_default=True, help="Price of SKUs read from orderhub.")
    @click.option("--rate", default="30/min", show_default=True, help="Sales per minute (30, 30/min) or second (2/s).")
    @click.option("--duration", type=float, default=None, help="Seconds of selling (default 60 unless --sales).")
    @click.option("--sales", "n_sales", type=click.IntRange(min=0), default=None, help="Sales to make.")
    @click.option("--offline-for", type=click.FloatRange(min=0), default=0.0,
                  help="Seconds at the start without network: sales stay queued on the till.")
    @click.option("--sync-every", type=click.FloatRange(min=0), default=1.0, show_default=True,
                  help="Seconds between syncs while online.")
    @click.option("--fail-rate", type=float, default=0.0, callback=_probability,
                  help="Share of requests that fail on the network (refused, or the answer lost).")
    @click.option("--batch", type=click.IntRange(1, 500), default=50, show_default=True, help="Sales per request.")
    @click.option("--resend", type=click.IntRange(min=0), default=0,
                  help="Send the whole history again this many times at the end, on purpose.")
    @click.option("--duplicate", type=float, default=0.0, callback=_probability,
                  help="Share of sales sent twice within one batch.")
    @click.option("--shuffle", is_flag=True, help="Send batches, and the sales in them, out of order.")
    @click.option("--returns", type=float, default=0.0, callback=_probability,
                  help="Share of sales that bring back goods of an earlier sale of this till.")
    @click.option("--clock-skew", type=float, default=0.0, help="Seconds the till's clock is off (negative: late).")
    @click.option("--seed", type=int, default=None, help="Seed: the same seed makes the same baskets and failures.")
    @click.option("--json", "as_json", is_flag=True, help="Print the summary as one JSON object.")
    def simulate_pos(url: str, store: str, name: str, code: str | None, state_path: str | None, skus: str | None,
                     catalogue: str | None, token: str | None, price: str, rate: str, duration: float | None,
                     n_sales: int | None, offline_for: float, sync_every: float, fail_rate: float, batch: int,
                     resend: int, duplicate: float, shuffle: bool, returns: float, clock_skew: float,
                     seed: int | None, as_json: bool) -> None:
        """Play a store's POS till against orderhub: sell, keep sales on disk while offline, sync in batches."""
        code_ = play(url=url, store=store, name=name, code=code, state_path=state_path, skus=skus,
                     catalogue=catalogue, token=token, price=price, rate=parse_rate(rate), duration=duration,
                     n_sales=n_sales, offline_for=offline_for, sync_every=sync_every, fail_rate=fail_rate,
                     batch=batch, resend=resend, duplicate=duplicate, shuffle=shuffle, returns=returns,
                     clock_skew=clock_skew, seed=seed, as_json=as_json)
        sys.exit(code_)

    return simulate_pos


def play(*, url: str, store: str, name: str, code: str | None, state_path: str | None, skus: str | None,
         catalogue: str | None, token: str | None, price: str, rate: float, duration: float | None,
         n_sales: int | None, offline_for: float, sync_every: float, fail_rate: float, batch: int, resend: int,
         duplicate: float, shuffle: bool, returns: float, clock_skew: float, seed: int | None,
         as_json: bool) -> int:
    """The command's work; returns its exit status (0: every sale acknowledged, 1: some still queued,
    2: the till cannot run, 3: the device was revoked)."""
    from orderhub.simulators.pos import catalogue as cat
    from orderhub.simulators.pos.local_queue import LocalState
    from orderhub.simulators.pos.sales import SaleMaker
    from orderhub.simulators.pos.session import Plan, run, summary
    from orderhub.simulators.pos.terminal import DeviceRevoked, NotEnrolled, Options, Terminal

    def say(message: str) -> None:
        click.echo(f"[{name}] {message}", err=True)

    rng = random.Random(seed)
    state = LocalState(state_path or Path(f"pos-{store}-{name}.db"))
    terminal = Terminal(url, state, name=name, rng=rng, fail_rate=fail_rate, log=say,
                        options=Options(batch=batch, duplicate=duplicate, shuffle=shuffle))
    try:
        try:
            if terminal.credential is None or code is not None:
                if code is None:
                    raise NotEnrolled(f"till {name!r} is not enrolled: give --code (an enrolment code for store "
                                      f"{store})")
                terminal.enrol(code)
            if terminal.store != store:
                raise NotEnrolled(f"till {name!r} is enrolled in store {terminal.store}, not {store}; use another "
                                  "--state file, or enrol it with a code of this store")
            if skus:
                items = cat.parse_skus(skus)
            elif catalogue:
                items = cat.read_file(catalogue)
            elif token:
                with httpx.Client(base_url=url, timeout=30) as client:
                    items = cat.from_orderhub(client, store, token, Decimal(price))
            else:
                raise cat.CatalogueError("give what the till sells: --skus, --catalogue or --token")
        except (NotEnrolled, cat.CatalogueError, httpx.HTTPError) as exc:
            click.echo(f"error: {exc}", err=True)
            return 2
        maker = SaleMaker(items, rng, returns=returns, clock_skew=clock_skew)
        plan = Plan(rate=rate, duration=duration if duration is not None or n_sales is not None else 60.0,
                    sales=n_sales, offline_for=offline_for, sync_every=sync_every, resend=resend)
        revoked = None
        try:
            shift = run(terminal, maker, plan, log=say)
        except DeviceRevoked as exc:
            from orderhub.simulators.pos.session import Shift

            revoked = str(exc)
            say(revoked)
            shift = Shift(revoked=revoked)
        report = summary(terminal, shift) | {"made": state.counts()["made"]}
        if as_json:
            click.echo(orjson.dumps(report).decode())
        else:
            _print(report)
        if revoked:
            return 3
        return 0 if report["queue_left"] == 0 else 1
    finally:
        terminal.close()
        state.close()


def _print(report: dict[str, object]) -> None:
    rows = [("sold (sales made this run)", report["sold"]), ("  of which returns", report["returns"]),
            ("units sold / brought back", f"{report['units_sold']} / {report['units_returned']}"),
            ("sales sent (every copy)", report["sent"]), ("  sent again on purpose", report["resent"]),
            ("sync requests answered", report["requests"]), ("acknowledged (left the queue)", report["acknowledged"]),
            ("answered recorded", report["recorded"]), ("answered duplicate", report["duplicates_answered"]),
            ("answered error_logged", report["errors"]), ("answered queued (sent again later)",
                                                           report["queued_answers"]),
            ("network failures (retried)", report["network_failures"]), ("batches not taken (400)",
                                                                         report["refused_batches"]),
            ("still queued on the till", report["queue_left"])]
    width = max(len(label) for label, _ in rows)
    click.echo(f"till {report['device']} of store {report['store']}, {report['seconds']} s")
    for label, value in rows:
        click.echo(f"  {label:<{width}}  {value}")
    if report.get("revoked"):
        click.echo(f"  stopped: {report['revoked']}")

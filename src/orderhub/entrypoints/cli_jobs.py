"""``orderhub jobs ...``: the job manager from the terminal."""

from __future__ import annotations

import sys
from datetime import datetime
from typing import Any

import click

from orderhub.adapters.store import shops
from orderhub.adapters.store.shops import Shop
from orderhub.bootstrap import Hub
from orderhub.clock import utcnow
from orderhub.domain.errors import message
from orderhub.domain.jobs import CATEGORY_CODES, FREQUENCIES, MissedPolicy, parse_duration, parse_start
from orderhub.entrypoints import cli_progress
from orderhub.entrypoints.cli_support import JSON_HELP, print_json, read_only_hub, table, writing_hub
from orderhub.services.jobs import admin

CHANGE_ERRORS = (LookupError, ValueError)


def _params(values: tuple[str, ...]) -> dict[str, str]:
    params = {}
    for v in values:
        key, sep, val = v.partition("=")
        if not sep or not key.strip():
            raise click.BadParameter(f"{v!r}: use --param key=value")
        params[key.strip()] = val
    return params


def _shops(hub: Hub, domains: tuple[str, ...], all_shops: bool = False) -> list[Shop | None]:
    with hub.db.read() as conn:
        if all_shops:
            found = shops.all_shops(conn)
            if not found:
                raise click.ClickException("no shops yet; add one with `orderhub shop add`")
            return list(found)
        out: list[Shop | None] = []
        for domain in domains:
            shop = shops.by_domain(conn, domain)
            if shop is None:
                raise click.ClickException(f"no shop {domain}; add it with `orderhub shop add {domain} --secret ...`")
            out.append(shop)
    return out or [None]


def _fail(exc: Exception) -> click.ClickException:
    return click.ClickException(message(exc))


def _local(iso: str | None) -> str:
    """A time as the person at this terminal reads it (their local timezone)."""
    return "" if iso is None else datetime.fromisoformat(iso).astimezone().strftime("%Y-%m-%d %H:%M %Z")


def _in_zone(iso: str | None, zone: str) -> str:
    """A time in the schedule's own timezone, named by it."""
    return "" if iso is None else f"{datetime.fromisoformat(iso):%Y-%m-%d %H:%M} {zone}"


def _pairs(params: dict[str, Any] | None) -> str:
    return ", ".join(f"{k}={v}" for k, v in (params or {}).items())


def _counts(run: dict[str, Any]) -> str:
    c = run["counts"]
    return f"{c['read']}/{c['processed']}/{c['skipped']}/{c['failed']}"


def register(main: click.Group) -> None:
    @main.group()
    def jobs() -> None:
        """The job manager: the catalogue, schedules, runs and their history."""

    @jobs.command("list")
    @click.option("--category", type=click.Choice(sorted(CATEGORY_CODES)), default=None,
                  help="Only the jobs of this category.")
    @click.option("--json", "as_json", is_flag=True, help=JSON_HELP)
    @read_only_hub
    def jobs_list(hub: Hub, category: str | None, as_json: bool) -> None:
        """The jobs of the catalogue, with their schedules and last run."""
        found = admin.jobs(hub, category)
        if as_json:
            print_json(found)
            return
        table("Jobs" + (f" — {category}" if category else ""),
              ["job", "category", "schedule", "next run", "last run", "what"],
              [[j["name"], j["category"], _schedules(j["schedules"]),
                min((_local(s["next_run_at"]) for s in j["schedules"] if s["enabled"]), default=""),
                f"{j['last_run']['status']} (run {j['last_run']['id']})" if j["last_run"] else "",
                j["description"].split(":")[0]] for j in found])

    def _schedules(schedules: list[dict[str, Any]]) -> str:
        if not schedules:
            return "-"
        expressions = sorted({s["expression"] for s in schedules})
        off = sum(1 for s in schedules if not s["enabled"])
        shops = sum(1 for s in schedules if s["shop"])
        return (", ".join(expressions) + (f" ({shops} shops)" if shops > 1 else "")
                + (f" ({off} off)" if off else ""))

    @jobs.command("show")
    @click.argument("name")
    @click.option("--json", "as_json", is_flag=True, help=JSON_HELP)
    @read_only_hub
    def jobs_show(hub: Hub, name: str, as_json: bool) -> None:
        """A job (NAME): what it does, its parameters, schedules, chains and recent runs."""
        try:
            d = admin.describe(hub, name)
        except LookupError as exc:
            raise _fail(exc) from None
        if as_json:
            print_json(d)
            return
        p = d["policy"]
        click.echo(f"{d['name']}  ({d['category']}{', per shop' if d['per_shop'] else ''})\n  {d['description']}")
        click.echo(f"  default schedule {d['default_schedule']}; overlapping runs "
                   f"{'allowed' if p['allow_overlap'] else 'never'}; timeout {p['timeout_seconds']} s; "
                   f"{p['max_retries']} retries; missed ticks: {p['missed']}"
                   + (f"; needs {', '.join(d['requires'])} first" if d["requires"] else "")
                   + ("\n  ALL JOBS ARE PAUSED (orderhub jobs resume)" if d["paused"] else ""))
        if d["params"]:
            table("Parameters", ["name", "kind", "required", "default", "help"],
                  [[x["name"], x["kind"], "yes" if x["required"] else "", x["default"], x["help"]]
                   for x in d["params"]])
        if d["schedules"]:
            table("Schedules", ["shop", "schedule", "timezone", "next run (job's zone)", "next run (yours)",
                                "enabled", "params"],
                  [[s["shop"] or "-", s["expression"] + (" (skip next)" if s["skip_next"] else ""), s["timezone"],
                    _in_zone(s["next_run_local"], s["timezone"]), _local(s["next_run_at"]), s["enabled"],
                    _pairs(s["params"])]
                   for s in d["schedules"]])
        for c in d["chains"]:
            click.echo(f"  chain: {c['then']} runs {c['delay_seconds']} s after {c['after']} "
                       f"{'succeeds' if c['trigger_on'] == 'succeeded' else 'finishes'}")
        _runs_table(d["runs"], "Recent runs")

    def _runs_table(runs: list[dict[str, Any]], title: str) -> None:
        table(title, ["run", "job", "shop", "status", "trigger", "started", "read / processed / skipped / failed",
                      "error"],
              [[r["id"], r["job"], r["shop"] or "", r["status"], r["trigger"] + (f" #{r['attempt']}"
                                                                               if r["attempt"] > 1 else ""),
                _local(r["started_at"] or r["queued_at"]), _counts(r), r["error"] or ""] for r in runs],
              drop_empty=("shop", "error"))

    @jobs.command("run")
    @click.argument("name")
    @click.option("--shop", "domain", default=None, help="Shop to run for (jobs that run per shop).")
    @click.option("--param", "params", multiple=True, help="key=value, repeatable.")
    @click.option("--json", "as_json", is_flag=True, help=JSON_HELP)
    @writing_hub
    def jobs_run(hub: Hub, name: str, domain: str | None, params: tuple[str, ...], as_json: bool) -> None:
        """Run a job (NAME) now, in this process (whatever its schedule says), and print what it did."""
        from orderhub.services.jobs.manager import JobBusy, JobManager

        shop = _shops(hub, (domain,))[0] if domain else None
        try:
            result = JobManager(hub).run_now(name, shop, _params(params), progress=[cli_progress.terminal()])
        except (JobBusy, *CHANGE_ERRORS) as exc:
            raise _fail(exc) from None
        if as_json:
            print_json({"run_id": result.run_id, "status": result.status, "stats": result.stats,
                        "error": result.error})
        elif result.status == "succeeded":
            click.echo(f"run {result.run_id} of {name} succeeded: "
                       + ", ".join(f"{k}={v}" for k, v in result.stats.items()))
        if result.status != "succeeded":
            raise click.ClickException(f"job {name} run {result.run_id} {result.status}: {result.error}")

    @jobs.command("schedule")
    @click.argument("name")
    @click.option("--shop", "domains", multiple=True, help="Shop(s) to run it for; repeatable.")
    @click.option("--all-shops", is_flag=True, help="Schedule it for every shop.")
    @click.option("--every", default=None, help=f"A frequency ({', '.join(FREQUENCIES)}) or an interval like 90s.")
    @click.option("--cron", default=None, help="A cron expression, e.g. '*/10 * * * *' (6 fields: seconds last).")
    @click.option("--tz", default="UTC", show_default=True, help="Timezone the schedule runs in (IANA name).")
    @click.option("--start", default="now", show_default=True, help="now, +5m, +1h, tomorrow or an ISO time.")
    @click.option("--missed", type=click.Choice([m.value for m in MissedPolicy]), default=None,
                  help="Ticks missed during downtime: run once, or skip (default: the job's).")
    @click.option("--overlap/--no-overlap", default=None, help="Allow runs to overlap (default: the job's).")
    @click.option("--timeout", default=None, help="Fail a run still going after this long, e.g. 30m.")
    @click.option("--retries", type=click.IntRange(0, 20), default=None, help="Retries after a failure.")
    @click.option("--param", "params", multiple=True, help="key=value, repeatable.")
    @click.option("--disable", is_flag=True, help="Keep the schedule but do not run it.")
    @writing_hub
    def jobs_schedule(hub: Hub, name: str, domains: tuple[str, ...], all_shops: bool, every: str | None,
                      cron: str | None, tz: str, start: str, missed: str | None, overlap: bool | None,
                      timeout: str | None, retries: int | None, params: tuple[str, ...], disable: bool) -> None:
        """Run a job (NAME) on a schedule (by `orderhub worker` or `orderhub serve`), for one or many shops."""
        from orderhub.services.jobs.manager import JobManager

        if every and cron:
            raise click.UsageError("give --every or --cron, not both")
        expression = cron or (f"every {every}" if every and every not in FREQUENCIES else every)
        targets = _shops(hub, domains, all_shops)
        try:
            JobManager(hub).schedule(
                name, targets, expression=expression, tz=tz, start=parse_start(start, utcnow(), tz),
                params=_params(params), enabled=not disable, missed=MissedPolicy(missed) if missed else None,
                allow_overlap=overlap, timeout_seconds=parse_duration(timeout) if timeout else None,
                max_retries=retries)
        except CHANGE_ERRORS as exc:
            raise _fail(exc) from None
        d = admin.describe(hub, name)
        for s in d["schedules"]:
            if s["shop"] in [t.domain if t else None for t in targets]:
                at = _in_zone(s["next_run_local"], s["timezone"])
                click.echo(f"{name}{' for ' + s['shop'] if s['shop'] else ''}: {s['expression']} ({s['timezone']}), "
                           f"next run {at} (yours: {_local(s['next_run_at'])})"
                           + ("" if s["enabled"] else " — disabled"))

    @jobs.command("schedules")
    @click.option("--json", "as_json", is_flag=True, help=JSON_HELP)
    @read_only_hub
    def jobs_schedules(hub: Hub, as_json: bool) -> None:
        """Every schedule: job, shop, expression, timezone, next run and whether it is enabled."""
        found = admin.schedules(hub)
        if as_json:
            print_json(found)
            return
        table("Schedules", ["job", "shop", "schedule", "timezone", "next run (yours)", "enabled"],
              [[s["job"], s["shop"] or "-", s["expression"], s["timezone"], _local(s["next_run_at"]), s["enabled"]]
               for s in found])

    def _switch(command: str, enabled: bool) -> None:
        @jobs.command(command, help=f"{'Enable' if enabled else 'Disable'} a job's (NAME) schedule(s).")
        @click.argument("name")
        @click.option("--shop", "domains", multiple=True, help="Only the schedule of this shop; repeatable.")
        @writing_hub
        def switch(hub: Hub, name: str, domains: tuple[str, ...]) -> None:
            try:
                n = admin.set_enabled(hub, name, _shops(hub, domains) if domains else None, enabled)
            except CHANGE_ERRORS as exc:
                raise _fail(exc) from None
            click.echo(f"{name}: {n} schedule(s) {'enabled' if enabled else 'disabled'}")

    _switch("enable", True)
    _switch("disable", False)

    @jobs.command("skip-next")
    @click.argument("name")
    @click.option("--shop", "domains", multiple=True, help="Only the schedule of this shop; repeatable.")
    @writing_hub
    def jobs_skip_next(hub: Hub, name: str, domains: tuple[str, ...]) -> None:
        """Skip the next scheduled run of a job (NAME) once (recorded as skipped); the ones after run as usual."""
        try:
            n = admin.skip_next(hub, name, _shops(hub, domains) if domains else None)
        except CHANGE_ERRORS as exc:
            raise _fail(exc) from None
        click.echo(f"{name}: the next run of {n} schedule(s) will be skipped")

    @jobs.command("pause")
    @writing_hub
    def jobs_pause(hub: Hub) -> None:
        """Pause every schedule (runs already queued or running finish; `jobs run` still works)."""
        admin.set_paused(hub, True)
        click.echo("all job schedules paused; ticks missed meanwhile follow each job's missed-tick policy on resume")

    @jobs.command("resume")
    @writing_hub
    def jobs_resume(hub: Hub) -> None:
        """Resume the schedules after `jobs pause`."""
        admin.set_paused(hub, False)
        click.echo("job schedules resumed")

    @jobs.command("history")
    @click.argument("name", required=False)
    @click.option("--shop", "domain", default=None, help="Only runs for this shop.")
    @click.option("--status", default=None, help="Only runs in this status: queued, running, succeeded, failed, ...")
    @click.option("--limit", type=click.IntRange(1, 1000), default=20, show_default=True,
                  help="Show at most this many runs.")
    @click.option("--before", "before_id", type=int, default=None, help="Runs older than this run id (paging).")
    @click.option("--json", "as_json", is_flag=True, help=JSON_HELP)
    @read_only_hub
    def jobs_history(hub: Hub, name: str | None, domain: str | None, status: str | None, limit: int,
                     before_id: int | None, as_json: bool) -> None:
        """Runs (of every job, or of NAME), newest first: status, counts and the reason a run failed."""
        shop = _shops(hub, (domain,))[0] if domain else None
        runs = admin.history(hub, job=name, shop=shop, status=status, limit=limit, before_id=before_id)
        if as_json:
            print_json(runs)
        else:
            _runs_table(runs, "Job runs")

    @jobs.command("log")
    @click.argument("run_id", type=int)
    @click.option("--json", "as_json", is_flag=True, help=JSON_HELP)
    @read_only_hub
    def jobs_log(hub: Hub, run_id: int, as_json: bool) -> None:
        """One run (RUN_ID): what it did, its log, its files and the error-log entries it made."""
        try:
            d = admin.run_detail(hub, run_id)
        except LookupError as exc:
            raise _fail(exc) from None
        if as_json:
            print_json(d)
            return
        click.echo(f"run {d['id']} of {d['job']}{' for ' + d['shop'] if d['shop'] else ''}: {d['status']} "
                   f"({d['trigger']}, attempt {d['attempt']}) on {d['node'] or '-'}")
        click.echo(f"  started {_local(d['started_at'])}, finished {_local(d['finished_at'])}; "
                   f"read/processed/skipped/failed {_counts(d)}")
        if d["error"]:
            click.echo(f"  error: {d['error']}")
        if d["input_file"]:
            click.echo(f"  input file: {d['input_file']}")
        for f in d["files"]:
            click.echo(f"  file ({f['kind']}): {f['name']}, {f['size']} bytes — orderhub jobs file {run_id} "
                       f"--kind {f['kind']}")
        if d["error_log_entries"]:
            click.echo("  error-log entries: " + ", ".join(map(str, d["error_log_entries"])))
        if d["log"]:
            table("Log", ["at", "level", "message"], [[x["at"][11:19], x["level"], x["message"]] for x in d["log"]])

    @jobs.command("file")
    @click.argument("run_id", type=int)
    @click.option("--kind", type=click.Choice(["failed", "input", "output"]), default="failed", show_default=True,
                  help="Which of the run's files.")
    @click.option("-o", "--output", type=click.Path(dir_okay=False, writable=True), default=None,
                  help="Write it to this file (default: standard output).")
    @read_only_hub
    def jobs_file(hub: Hub, run_id: int, kind: str, output: str | None) -> None:
        """Download a run's (RUN_ID) file: the records it could not process (failed), its input or its output."""
        try:
            name, content = admin.run_file(hub, run_id, kind)
        except LookupError as exc:
            raise _fail(exc) from None
        if output:
            with open(output, "wb") as fh:
                fh.write(content)
            click.echo(f"{name}: {len(content)} bytes written to {output}", err=True)
        else:
            sys.stdout.buffer.write(content)

    @jobs.command("release")
    @click.argument("run_id", type=int)
    @writing_hub
    def jobs_release(hub: Hub, run_id: int) -> None:
        """End a run (RUN_ID) left 'running' by a node that is gone, so its job can run again."""
        from orderhub.services.jobs.manager import JobManager

        try:
            JobManager(hub).release(run_id, by="cli")
        except LookupError as exc:
            raise _fail(exc) from None
        click.echo(f"run {run_id} released (marked failed)")

    @jobs.command("chain")
    @click.argument("upstream")
    @click.argument("downstream")
    @click.option("--delay", default="0s", show_default=True, help="Wait this long after UPSTREAM succeeds.")
    @click.option("--param", "params", multiple=True, help="key=value for DOWNSTREAM, repeatable.")
    @click.option("--on", "trigger_on", type=click.Choice(["succeeded", "finished"]), default="succeeded",
                  show_default=True, help="After UPSTREAM succeeds, or after it ends in any way (failed too).")
    @writing_hub
    def jobs_chain(hub: Hub, upstream: str, downstream: str, delay: str, params: tuple[str, ...],
                   trigger_on: str) -> None:
        """Run DOWNSTREAM after each successful (or each finished) run of UPSTREAM (for the same shop)."""
        try:
            admin.chain(hub, upstream, downstream, delay=delay, params=_params(params), trigger_on=trigger_on)
        except CHANGE_ERRORS as exc:
            raise _fail(exc) from None
        which = "successful" if trigger_on == "succeeded" else "finished"
        click.echo(f"{downstream} will run {delay} after each {which} run of {upstream}")

    @jobs.command("unchain")
    @click.argument("upstream")
    @click.argument("downstream")
    @writing_hub
    def jobs_unchain(hub: Hub, upstream: str, downstream: str) -> None:
        """Remove a chain: DOWNSTREAM no longer runs after UPSTREAM."""
        try:
            admin.unchain(hub, upstream, downstream)
        except LookupError as exc:
            raise _fail(exc) from None
        click.echo(f"{downstream} no longer follows {upstream}")

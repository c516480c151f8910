"""``orderhub customer export`` and ``orderhub customer erase``: a person's privacy requests from the command line
(services/privacy/). ``COMMANDS`` are added to the ``orderhub customer`` group. Both are recorded in
``privacy_requests`` and the customer access log, as the command's user (``cli:<user>``)."""

from __future__ import annotations

from pathlib import Path

import click

from orderhub.bootstrap import Hub
from orderhub.entrypoints.cli_oms import cli_actor
from orderhub.entrypoints.cli_support import JSON_HELP, print_json, writing_hub
from orderhub.services.privacy import PrivacyError
from orderhub.services.privacy.erase import erase_person, who
from orderhub.services.privacy.export import export_with_manifest


def _problem(exc: Exception) -> click.ClickException:
    return click.ClickException(str(exc).strip("'\""))


@click.command("export")
@click.argument("profile_id", type=click.IntRange(1, 2**63 - 1))
@click.option("--output", "-o", type=click.Path(dir_okay=False, writable=True, path_type=Path), required=True,
              help="Where to write the zip archive (it holds the person's data: keep it safe).")
@click.option("--json", "as_json", is_flag=True, help="Print the archive's manifest as JSON.")
@writing_hub
def export(hub: Hub, profile_id: int, output: Path, as_json: bool) -> None:
    """Everything orderhub holds on the person of PROFILE_ID, as a zip archive: JSON per kind of record, the raw
    records channels sent, the lines of files on SFTP about them, and a manifest of what was searched."""
    try:
        archive, manifest = export_with_manifest(hub, profile_id, actor=cli_actor(), via="cli")
    except (LookupError, PrivacyError) as exc:
        raise _problem(exc) from None
    output.write_bytes(archive)
    if as_json:
        print_json(manifest)
        return
    found = manifest["found"]
    click.echo(f"wrote {output} ({len(archive)} bytes): profile {profile_id}, "
               f"{found.get('customers', 0)} identities, {found.get('orders', 0)} orders, "
               f"{sum(found.values())} records in {len(found)} tables, "
               f"{len(manifest['contents']['sftp'])} files on SFTP")


@click.command("erase")
@click.argument("profile_id", type=click.IntRange(1, 2**63 - 1))
@click.option("--reason", default=None, help="Why (kept with the request's record), e.g. the ticket it came from.")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation (the erasure cannot be undone).")
@click.option("--json", "as_json", is_flag=True, help=JSON_HELP)
@writing_hub
def erase(hub: Hub, profile_id: int, reason: str | None, yes: bool, as_json: bool) -> None:
    """Erase the person of PROFILE_ID everywhere orderhub holds them: what the law keeps (orders, invoices) stays
    under a pseudonym, the rest goes; channels with an API are asked to erase them too. Cannot be undone."""
    try:
        with hub.db.read() as conn:
            person = who(conn, profile_id)
        if not yes:
            click.confirm(f"Erase {person.name} (profile {profile_id}: {person.identities} identities, "
                          f"{person.orders} orders) everywhere? This cannot be undone", abort=True)
        report = erase_person(hub, profile_id, actor=cli_actor(), reason=reason, via="cli")
    except (LookupError, PrivacyError) as exc:
        raise _problem(exc) from None
    if as_json:
        print_json(report.to_dict())
        return
    click.echo(f"erased profile {profile_id} as {report.pseudonym}: {report.identities} identities, "
               f"{report.orders} orders, {sum(report.rows.values())} records in {len(report.rows)} tables, "
               f"{len(report.files)} files on SFTP rewritten")
    for channel in report.channels:
        said = "asked to erase its customer" if channel["asked"] else channel["how"]
        click.echo(f"  {channel['kind']} account {channel['account']}: {said}")


COMMANDS = [export, erase]

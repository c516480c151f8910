"""Exporting everything orderhub holds on a person, as a zip archive a machine can read:

- ``manifest.json``: who asked and when, what was searched (every table, the rows the content search read, the
  SFTP folders and files) and what each part of the archive holds;
- ``person.json``: the profile and its identities;
- ``tables/<table>.json``: the rows about the person, table by table (sealed text opened; secrets and hashes
  left out);
- ``raw/inbox/<id>.json``: the records channels sent, as they arrived;
- ``files/job_run_files/<id>-<name>``: files jobs kept that mention the person, as kept;
- ``sftp/<path>``: the lines of each file on the SFTP server that are about the person (never the rest of a
  file: that is other people's).

Exporting is recorded (``privacy_requests`` kind ``export``, and the access log) without any personal data.
"""

from __future__ import annotations

import io
import zipfile
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import orjson
from sqlalchemy import Connection

from orderhub.adapters.store import customer_access
from orderhub.adapters.store import privacy_rows as rows
from orderhub.adapters.store import secrets as secret_box
from orderhub.clock import utcnow
from orderhub.services.privacy import columns as cols
from orderhub.services.privacy import remote_files
from orderhub.services.privacy.erase import PrivacyError, record, require_profile
from orderhub.services.privacy.locate import Located, Scope, locate

if TYPE_CHECKING:
    from orderhub.bootstrap import Hub

FORMAT = 1


def _default(value: Any) -> Any:
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, bytes):
        return None
    raise TypeError(type(value).__name__)


def dumps(value: Any) -> bytes:
    return orjson.dumps(value, default=_default, option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS)


def table_rows(conn: Connection, located: Located) -> dict[str, list[dict[str, Any]]]:
    """The located rows of each table, as JSON-ready dicts (secrets left out, sealed text opened, file content
    named by where it is in the archive)."""
    out: dict[str, list[dict[str, Any]]] = {}
    for name in sorted(set(located.linked) | set(located.found)):
        keys = located.keys(name)
        if not keys:
            continue
        t = rows.table(name)
        treatments = cols.TABLES.get(name, {})
        shown = [c.name for c in t.c if treatments.get(c.name) != cols.SECRET]
        listed = []
        for r in rows.read(conn, t, keys, shown):
            item = dict(r._mapping)
            for column in cols.columns(name, cols.SEALED):
                item[column] = secret_box.decrypt(conn, f"{name}.{column}", item.get(column), f"{name} {r[0]}")
            for column in cols.columns(name, cols.FILE):
                item[column] = f"files/{name}/{r[0]}-{item.get('name', column)}"
            listed.append(item)
        out[name] = listed
    return out


def build(conn: Connection, located: Located, remote: remote_files.RemoteSearch, remote_lines: dict[str, list[bytes]],
          *, actor: str, scope: str) -> tuple[bytes, dict[str, Any]]:
    """The archive, and its manifest."""
    tables = table_rows(conn, located)
    buffer = io.BytesIO()
    contents: dict[str, Any] = {}
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        identities = [{k: v for k, v in i._mapping.items()} for i in located.identities]
        profile = tables.get("customer_profiles", [])
        archive.writestr("person.json", dumps({"profiles": profile, "identities": identities}))
        for name, listed in tables.items():
            archive.writestr(f"tables/{name}.json", dumps(listed))
            contents[f"tables/{name}.json"] = len(listed)
        for r in rows.read(conn, rows.table("inbox"), located.keys("inbox"), ["topic", "payload"]):
            archive.writestr(f"raw/inbox/{r[0]}.json", r.payload)
        contents["raw/inbox"] = len(located.keys("inbox"))
        kept_files = rows.table("job_run_files")
        for r in rows.read(conn, kept_files, located.keys("job_run_files"), ["name", "content"]):
            archive.writestr(f"files/job_run_files/{r[0]}-{r.name}", r.content)
        contents["files/job_run_files"] = len(located.keys("job_run_files"))
        for path, about in remote_lines.items():
            name = path.lstrip("/").removesuffix(".gz")
            archive.writestr(f"sftp/{name}", b"".join(line if line.endswith(b"\n") else line + b"\n"
                                                      for line in about))
        contents["sftp"] = sorted(remote_lines)
        manifest = {
            "format": FORMAT, "scope": scope, "profile_id": located.profile_id, "profiles": located.profiles,
            "generated_at": utcnow().isoformat(), "actor": actor,
            "searched": {
                "linked": "every row an id of the person's profile, identities, orders or records reaches",
                "tables_by_content": located.searched,
                "sftp": {"configured": remote.configured, "folders": remote.folders, "files_read": remote.files_read,
                         "truncated": remote.truncated, "error": remote.error},
            },
            "found": located.counts(), "contents": contents,
        }
        archive.writestr("manifest.json", dumps(manifest))
    return buffer.getvalue(), manifest


def summary(manifest: dict[str, Any]) -> dict[str, Any]:
    """What a privacy request record keeps of an export: counts and where it looked, nothing of the person."""
    searched = manifest["searched"]
    return {"generated_at": manifest["generated_at"], "found": manifest["found"],
            "sftp": {k: searched["sftp"][k] for k in ("configured", "files_read", "truncated")},
            "sftp_files": len(manifest["contents"]["sftp"])}


def export_person(hub: Hub, profile_id: int, *, actor: str, via: str = "cli") -> bytes:
    """A zip archive of everything orderhub holds on the person of ``profile_id``. Raises LookupError (no such
    profile) or PrivacyError (merged, erased)."""
    archive, _ = export_with_manifest(hub, profile_id, actor=actor, via=via)
    return archive


def export_with_manifest(hub: Hub, profile_id: int, *, actor: str, via: str = "cli") -> tuple[bytes, dict[str, Any]]:
    with hub.db.read() as conn:
        require_profile(conn, profile_id)
        located = locate(conn, Scope(profile_id=profile_id))
        folders = remote_files.folders(conn)
        kept: dict[str, list[bytes]] = {}
        remote = remote_files.search(hub, folders, located.person, located.linked["orders"], keep=kept)
        if remote.error is not None:
            raise PrivacyError(f"the SFTP server could not be searched ({remote.error}): make the request again "
                               "when it answers")
        archive, manifest = build(conn, located, remote, kept, actor=actor, scope="person")
    with hub.db.write() as conn:
        record(conn, "export", actor=actor, result=summary(manifest), profile_id=profile_id)
        customer_access.record(conn, [profile_id], actor, via, "export")
    return archive, manifest

"""Settings read from the environment (``ORDERHUB_*``), with sensible embedded defaults.

Each field of :class:`Settings` says which variable sets it, how the text is read and what it
means (dataclass field metadata, see :func:`setting`). :meth:`Settings.from_env` is driven by
that, and so is the settings reference of the documentation, so the two cannot disagree.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Callable, Iterator
from dataclasses import MISSING, Field, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

DEFAULT_SQLITE_PATH = Path("orderhub.db")


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise SystemExit(f"{name} must be an integer, got {raw!r}") from exc


def _float(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return float(raw)
    except ValueError as exc:
        raise SystemExit(f"{name} must be a number, got {raw!r}") from exc


def _networks(name: str) -> tuple[str, ...]:
    """Comma-separated addresses or networks, checked now so a typo stops the start, not a request."""
    items = tuple(p.strip() for p in os.environ.get(name, "").split(",") if p.strip())
    for item in items:
        try:
            ipaddress.ip_network(item, strict=False)
        except ValueError:
            raise SystemExit(f"{name}: {item!r} is not an address or network (e.g. 10.0.0.5 or 10.0.0.0/8)") from None
    return items


SMTP_TLS_MODES = ("starttls", "required", "ssl", "off")
SECURE_COOKIE_MODES = ("auto", "always", "never")
OPEN_ENDPOINTS = ("metrics", "docs")


def _names(name: str, choices: tuple[str, ...]) -> frozenset[str]:
    """A comma-separated subset of ``choices``."""
    found = frozenset(n.strip().lower() for n in (os.environ.get(name) or "").split(",") if n.strip())
    if found - set(choices):
        raise SystemExit(f"{name} takes {', '.join(choices)} (comma separated), got {', '.join(sorted(found))}")
    return found


def _choice(name: str, default: str, choices: tuple[str, ...]) -> str:
    raw = (os.environ.get(name) or default).strip().lower()
    if raw not in choices:
        raise SystemExit(f"{name} must be one of {', '.join(choices)}, got {raw!r}")
    return raw


@dataclass(frozen=True)
class Reader:
    """How one variable's text becomes a setting: ``read(variable name, field default)``, and what
    kind of value the reference says it takes."""

    read: Callable[[str, Any], Any]
    kind: str
    choices: tuple[str, ...] = ()


TEXT = Reader(lambda name, default: os.environ.get(name) or default, "text")
INT = Reader(_int, "integer")
FLOAT = Reader(_float, "number")
UPPER = Reader(lambda name, default: os.environ.get(name, default).upper(), "text (case-insensitive)")
NETWORKS = Reader(lambda name, _default: _networks(name), "comma-separated addresses or networks")
# ORDERHUB_LOG_FORMAT=json (the default) logs JSON lines; any other value logs plain text.
LOG_FORMAT = Reader(lambda name, _default: os.environ.get(name, "json").lower() == "json", "json or text")


def choice(choices: tuple[str, ...]) -> Reader:
    return Reader(lambda name, default: _choice(name, default, choices), "one of", choices)


def names(choices: tuple[str, ...]) -> Reader:
    return Reader(lambda name, _default: _names(name, choices), "comma-separated, any of", choices)


def setting(env: str | None, description: str, reader: Reader = TEXT, *, default: Any = MISSING,
            default_factory: Any = MISSING, repr: bool = True, shown_default: str | None = None) -> Any:
    """A Settings field set by the variable ``env`` (None: not from the environment), read by
    ``reader``; ``description`` is its one line in the reference. ``shown_default`` is the
    default as the variable spells it, where that differs from the field's value."""
    metadata = {"env": env, "description": description, "reader": reader, "shown_default": shown_default}
    if default_factory is not MISSING:
        return field(default_factory=default_factory, repr=repr, metadata=metadata)
    return field(default=default, repr=repr, metadata=metadata)


@dataclass(frozen=True)
class Settings:
    database_url: str = setting(
        "ORDERHUB_DATABASE_URL", "SQLAlchemy URL of the database: a SQLite file (the embedded default) "
        "or PostgreSQL (postgresql+psycopg://...).", default=f"sqlite:///{DEFAULT_SQLITE_PATH}")
    max_webhook_bytes: int = setting(
        "ORDERHUB_MAX_WEBHOOK_BYTES", "Largest webhook body accepted; Shopify payloads are far below this.",
        INT, default=5 * 1024 * 1024)
    max_request_bytes: int = setting(
        "ORDERHUB_MAX_REQUEST_BYTES", "Largest body of any other request (API, console forms) before its "
        "sender is known; a signed-in console user may post up to 4 x the webhook limit (the error log's "
        "payload editor).", INT, default=1024 * 1024)
    pos_max_batch_bytes: int = setting(
        "ORDERHUB_POS_MAX_BATCH_BYTES", "Largest batch of sales a POS terminal may send in one request "
        "(POST /api/pos/sales); a terminal with more queued sends them in several batches.", INT,
        default=4 * 1024 * 1024)
    max_body_bytes_in_flight: int = setting(
        "ORDERHUB_MAX_BODY_BYTES_IN_FLIGHT", "Request bodies the process holds at once, all doors together: "
        "past it, requests get 503 with Retry-After instead of being buffered (a crowd of slow bodies cannot "
        "exhaust memory).", INT, default=64 * 1024 * 1024)
    body_timeout_seconds: float = setting(
        "ORDERHUB_BODY_TIMEOUT_SECONDS", "A body must arrive within this many seconds plus its size at "
        "ORDERHUB_BODY_MIN_BYTES_PER_SECOND, or the request gets 408 and the connection is closed "
        "(slow \"slowloris\" senders).", FLOAT, default=10.0)
    body_min_bytes_per_second: int = setting(
        "ORDERHUB_BODY_MIN_BYTES_PER_SECOND", "The slowest body upload accepted, past the "
        "ORDERHUB_BODY_TIMEOUT_SECONDS allowance.", INT, default=128 * 1024)
    head_timeout_seconds: float = setting(
        "ORDERHUB_HEAD_TIMEOUT_SECONDS", "A connection's first request head must be complete within this "
        "many seconds (408, closed).", FLOAT, default=10.0)
    max_connections: int = setting(
        "ORDERHUB_MAX_CONNECTIONS", "`orderhub serve`: open connections at most (past it the server "
        "answers 503).", INT, default=1024)
    keep_alive_seconds: int = setting(
        "ORDERHUB_KEEP_ALIVE_SECONDS", "`orderhub serve`: seconds an idle keep-alive connection stays open.",
        INT, default=5)
    max_header_bytes: int = setting(
        "ORDERHUB_MAX_HEADER_BYTES", "`orderhub serve`: largest request head (h11; httptools has its own).",
        INT, default=16 * 1024)
    sqlite_synchronous: str = setting(
        "ORDERHUB_SQLITE_SYNCHRONOUS", "SQLite durability (OFF, NORMAL, FULL or EXTRA): FULL fsyncs every "
        "commit (durable across power loss).", UPPER, default="FULL")
    inbox_batch_max: int = setting(
        "ORDERHUB_INBOX_BATCH_MAX", "Inbox group commit: how many webhooks one transaction may carry.",
        INT, default=256)
    worker_batch_size: int = setting(
        "ORDERHUB_WORKER_BATCH_SIZE", "Records per processor transaction; 0 picks 25 on SQLite (short write "
        "locks, so webhooks are not kept waiting) and 100 on PostgreSQL.", INT, default=0)
    lease_seconds: float = setting(
        "ORDERHUB_LEASE_SECONDS", "How long a claimed record stays owned by a worker before others may "
        "take it.", FLOAT, default=60.0)
    max_attempts: int = setting(
        "ORDERHUB_MAX_ATTEMPTS", "Attempts of destinations created without explicit values (the default "
        "retry policy).", INT, default=8)
    backoff_base_seconds: float = setting(
        "ORDERHUB_BACKOFF_BASE_SECONDS", "First retry delay of the default retry policy (it doubles, with "
        "jitter).", FLOAT, default=1.0)
    backoff_max_seconds: float = setting(
        "ORDERHUB_BACKOFF_MAX_SECONDS", "Longest retry delay of the default retry policy.", FLOAT,
        default=300.0)
    poll_overlap_seconds: int = setting(
        "ORDERHUB_POLL_OVERLAP_SECONDS", "How far back a polling job looks before its last run, so a record "
        "written just then is not missed (the default of the jobs' overlap parameter).", INT, default=300)
    payment_gateway_url: str | None = setting(
        "ORDERHUB_PAYMENT_GATEWAY_URL", "A payment gateway for orders whose channel did not take the "
        "payment (unset: such orders wait until the channel reports them paid).", default=None)
    payment_gateway_key: str | None = setting(
        "ORDERHUB_PAYMENT_GATEWAY_KEY", "The payment gateway's API key. Never logged.", default=None,
        repr=False)
    placement_batch_size: int = setting(
        "ORDERHUB_PLACEMENT_BATCH_SIZE", "Orders per placement batch (its workflow steps share one "
        "transaction, committed before a call to the payment gateway and at the end).", INT, default=200)
    log_level: str = setting(
        "ORDERHUB_LOG_LEVEL", "Log level: DEBUG, INFO, WARNING or ERROR.", UPPER, default="INFO")
    log_json: bool = setting(
        "ORDERHUB_LOG_FORMAT", "json logs one JSON object a line; any other value logs plain text.",
        LOG_FORMAT, default=True, shown_default="json")
    extra: dict[str, str] = setting(None, "Extra values for code that builds Settings itself.",
                                    default_factory=dict)
    # The SFTP server of a retailer's file exchange (batch jobs). Its host key is always checked,
    # against the known_hosts file and/or the pinned fingerprint.
    sftp_host: str | None = setting(
        "ORDERHUB_SFTP_HOST", "SFTP server of the retailer's file exchange (batch jobs); unset: no SFTP.",
        default=None)
    sftp_port: int = setting("ORDERHUB_SFTP_PORT", "SFTP server port.", INT, default=22)
    sftp_user: str | None = setting("ORDERHUB_SFTP_USER", "SFTP user name.", default=None)
    sftp_key_file: str | None = setting(
        "ORDERHUB_SFTP_KEY_FILE", "Private key file to sign in to the SFTP server with.", default=None)
    sftp_key_passphrase: str | None = setting(
        "ORDERHUB_SFTP_KEY_PASSPHRASE", "Passphrase of the SFTP key file. Never logged.", default=None,
        repr=False)
    sftp_password: str | None = setting(
        "ORDERHUB_SFTP_PASSWORD", "SFTP password (instead of a key). Never logged.", default=None, repr=False)
    sftp_known_hosts: str | None = setting(
        "ORDERHUB_SFTP_KNOWN_HOSTS", "known_hosts file the SFTP server's host key is checked against.",
        default=None)
    sftp_host_key_sha256: str | None = setting(
        "ORDERHUB_SFTP_HOST_KEY_SHA256", "Pinned fingerprint of the SFTP server's host key (\"SHA256:...\" "
        "as ssh-keygen -lf prints it).", default=None)
    smtp_host: str | None = setting(
        "ORDERHUB_SMTP_HOST", "SMTP server for reports and digests; unset: no e-mail.", default=None)
    smtp_port: int = setting(
        "ORDERHUB_SMTP_PORT", "SMTP port; 0 picks 465 for ssl, 25 for off, 587 otherwise.", INT, default=0)
    smtp_user: str | None = setting("ORDERHUB_SMTP_USER", "SMTP user name.", default=None)
    smtp_password: str | None = setting(
        "ORDERHUB_SMTP_PASSWORD", "SMTP password. Never logged.", default=None, repr=False)
    smtp_tls: str = setting(
        "ORDERHUB_SMTP_TLS", "starttls (when offered), required (STARTTLS or refuse), ssl (implicit TLS, "
        "SMTPS) or off.", choice(SMTP_TLS_MODES), default="starttls")
    smtp_from: str | None = setting("ORDERHUB_SMTP_FROM", "Sender address of orderhub's e-mail.", default=None)
    smtp_ca_file: str | None = setting(
        "ORDERHUB_SMTP_CA_FILE", "One more CA to trust for the SMTP server (e.g. a private one).", default=None)
    pickup_days: int = setting(
        "ORDERHUB_PICKUP_DAYS", "Days an order ready for pickup in store waits before it is cancelled, for "
        "stores without their own (`orderhub pickup days`).", INT, default=7)
    personal_data_days: int = setting(
        "ORDERHUB_PERSONAL_DATA_DAYS", "Days the personal data of a completed order (shipped, closed, cancelled) "
        "is kept; the job purge-personal-data then erases it, keeping the order and its invoice pseudonymised. "
        "0: kept.", INT, default=0)
    retailpro_url: str | None = setting(
        "ORDERHUB_RETAILPRO_URL", "Base URL of the Retail Pro (Prism) server that invoices completed orders; "
        "unset: no invoicing.", default=None)
    retailpro_user: str | None = setting(
        "ORDERHUB_RETAILPRO_USER", "Retail Pro user the invoicing jobs sign in as.", default=None)
    retailpro_password: str | None = setting(
        "ORDERHUB_RETAILPRO_PASSWORD", "That user's password. Never logged.", default=None, repr=False)
    retailpro_workstation: str | None = setting(
        "ORDERHUB_RETAILPRO_WORKSTATION", "Workstation the Retail Pro session is seated at.", default=None)
    retailpro_timeout: float = setting(
        "ORDERHUB_RETAILPRO_TIMEOUT", "Seconds a Retail Pro call may take.", FLOAT, default=30.0)
    console_session_hours: float = setting(
        "ORDERHUB_CONSOLE_SESSION_HOURS", "A console session ends after this many hours without a request.",
        FLOAT, default=8.0)
    console_session_max_hours: float = setting(
        "ORDERHUB_CONSOLE_SESSION_MAX_HOURS", "A console session ends this many hours after sign-in at the "
        "latest.", FLOAT, default=24.0)
    console_secure_cookies: str = setting(
        "ORDERHUB_CONSOLE_SECURE_COOKIES", "Console cookies are Secure unless served over plain HTTP on a "
        "loopback address (auto), or always, or never.", choice(SECURE_COOKIE_MODES), default="auto")
    open_endpoints: frozenset[str] = setting(
        "ORDERHUB_OPEN_ENDPOINTS", "Endpoints that answer without a credential: metrics (/metrics), docs "
        "(/openapi.json, /api/docs). Unset: they need an API token (or, for the docs, a console session).",
        names(OPEN_ENDPOINTS), default=frozenset())
    webhook_max_age_seconds: float = setting(
        "ORDERHUB_WEBHOOK_MAX_AGE_SECONDS", "A Shopify delivery whose X-Shopify-Triggered-At is further from "
        "now than this is refused as a possible replay (Shopify retries for hours, not days); 0 turns the "
        "check off.", FLOAT, default=86400.0)
    console_password_checks: int = setting(
        "ORDERHUB_CONSOLE_PASSWORD_CHECKS", "Argon2 password checks at once in one process (each takes "
        "~64 MiB): a burst waits its turn.", INT, default=2)
    trusted_proxies: tuple[str, ...] = setting(
        "ORDERHUB_TRUSTED_PROXIES", "Proxies (addresses or networks) whose X-Forwarded-For names the client; "
        "without any, the peer address is the client, whatever the header says.", NETWORKS, default=())
    pos_silent_minutes: int = setting(
        "ORDERHUB_POS_SILENT_MINUTES", "A store's POS terminal that has not synced for longer than this many "
        "minutes is silent: the metrics, the console and the check-pos-devices job say so. A sale that reached "
        "orderhub more than this many minutes after it was made counts as late.", INT, default=30)
    # See adapters/store/secrets.py for how the keys are used and rotated.
    secret_key: str | None = setting(
        "ORDERHUB_SECRET_KEY", "Keys that encrypt the stored shop, destination and subscription secrets: "
        "comma-separated base64 keys, the first encrypts. Never logged.", default=None, repr=False)
    secret_key_file: str | None = setting(
        "ORDERHUB_SECRET_KEY_FILE", "Key file used when ORDERHUB_SECRET_KEY is unset (default: beside a "
        "SQLite database, created 0600 on first use).", default=None)

    def with_database(self, url: str | None) -> "Settings":
        return replace(self, database_url=url) if url else self

    @classmethod
    def from_env(cls) -> "Settings":
        values = {}
        for f, env in environment_fields():
            reader: Reader = f.metadata["reader"]
            values[f.name] = reader.read(env, f.default)
        return cls(**values)


def environment_fields() -> Iterator[tuple[Field[Any], str]]:
    """The Settings fields set from the environment, with their variable, in declaration order."""
    for f in fields(Settings):
        if f.metadata.get("env"):
            yield f, f.metadata["env"]

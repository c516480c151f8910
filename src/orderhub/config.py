"""Settings read from the environment (``ORDERHUB_*``), with sensible embedded defaults."""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass, field, replace
from pathlib import Path

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
class Settings:
    database_url: str = f"sqlite:///{DEFAULT_SQLITE_PATH}"
    # Largest webhook body accepted; Shopify payloads are far below this.
    max_webhook_bytes: int = 5 * 1024 * 1024
    # Largest body of any other request (API, console forms) before its sender is known; a
    # signed-in console user may post up to 4 x max_webhook_bytes (the error log's payload editor).
    max_request_bytes: int = 1024 * 1024
    # Request bodies the process holds at once, all doors together: past it, requests get 503
    # with Retry-After instead of being buffered (a crowd of slow bodies cannot exhaust memory).
    max_body_bytes_in_flight: int = 64 * 1024 * 1024
    # A body must arrive within body_timeout_seconds plus its size at body_min_bytes_per_second,
    # or the request gets 408 and the connection is closed (slow "slowloris" senders).
    body_timeout_seconds: float = 10.0
    body_min_bytes_per_second: int = 128 * 1024
    # A connection's first request head must be complete within this many seconds (408, closed).
    head_timeout_seconds: float = 10.0
    # `orderhub serve`: open connections at most (past it uvicorn answers 503), seconds an idle
    # keep-alive connection stays open, and largest request head (h11; httptools has its own).
    max_connections: int = 1024
    keep_alive_seconds: int = 5
    max_header_bytes: int = 16 * 1024
    # SQLite durability: FULL fsyncs every commit (durable across power loss).
    sqlite_synchronous: str = "FULL"
    # Inbox group commit: how many webhooks one transaction may carry.
    inbox_batch_max: int = 256
    # Records per processor transaction; 0 picks 25 on SQLite (short write locks, so webhooks are
    # not kept waiting) and 100 on PostgreSQL.
    worker_batch_size: int = 0
    # How long a claimed record stays owned by a worker before others may take it.
    lease_seconds: float = 60.0
    # Default retry policy for destinations created without explicit values.
    max_attempts: int = 8
    backoff_base_seconds: float = 1.0
    backoff_max_seconds: float = 300.0
    poll_overlap_seconds: int = 300
    # A payment gateway for orders whose channel did not take the payment (unset: such orders
    # wait until the channel reports them paid). The key is never logged.
    payment_gateway_url: str | None = None
    payment_gateway_key: str | None = field(default=None, repr=False)
    # Orders per placement transaction (each workflow step commits once per batch).
    placement_batch_size: int = 200
    log_level: str = "INFO"
    log_json: bool = True
    extra: dict[str, str] = field(default_factory=dict)
    # SFTP server of a retailer's file exchange (batch jobs). The host key is always checked,
    # against the known_hosts file and/or the pinned fingerprint ("SHA256:..." as ssh-keygen -lf
    # prints it). Passphrase and password are never logged.
    sftp_host: str | None = None
    sftp_port: int = 22
    sftp_user: str | None = None
    sftp_key_file: str | None = None
    sftp_key_passphrase: str | None = field(default=None, repr=False)
    sftp_password: str | None = field(default=None, repr=False)
    sftp_known_hosts: str | None = None
    sftp_host_key_sha256: str | None = None
    # SMTP server for reports and digests. smtp_tls: starttls (when offered), required, ssl
    # (implicit TLS, SMTPS) or off. smtp_port 0 picks 465 for ssl, 25 for off, 587 otherwise.
    # smtp_ca_file trusts one more CA (e.g. a private one). The password is never logged.
    smtp_host: str | None = None
    smtp_port: int = 0
    smtp_user: str | None = None
    smtp_password: str | None = field(default=None, repr=False)
    smtp_tls: str = "starttls"
    smtp_from: str | None = None
    smtp_ca_file: str | None = None
    # Retail Pro (Prism) that invoices completed orders: its base URL, the user the jobs sign in
    # as, and the workstation the session is seated at. The password is never logged.
    retailpro_url: str | None = None
    retailpro_user: str | None = None
    retailpro_password: str | None = field(default=None, repr=False)
    retailpro_workstation: str | None = None
    retailpro_timeout: float = 30.0
    # The web console: a session ends after this many hours without a request (and at the
    # latest after console_session_max_hours); cookies are Secure unless served over plain
    # HTTP on a loopback address ("auto"), or always / never.
    console_session_hours: float = 8.0
    console_session_max_hours: float = 24.0
    console_secure_cookies: str = "auto"
    # Endpoints that answer without a credential: "metrics" (/metrics), "docs" (/openapi.json, /api/docs).
    # Closed by default: they need an API token (or, for the docs, a console session).
    open_endpoints: frozenset[str] = frozenset()
    # A Shopify delivery whose X-Shopify-Triggered-At is further from now than this is refused as a
    # possible replay (Shopify retries for hours, not days); 0 turns the check off.
    webhook_max_age_seconds: float = 86400.0
    # Argon2 password checks at once in one process (each takes ~64 MiB): a burst waits its turn.
    console_password_checks: int = 2
    # Proxies (addresses or networks) whose X-Forwarded-For names the client; without any, the
    # peer address is the client, whatever the header says.
    trusted_proxies: tuple[str, ...] = ()
    # Keys that encrypt the stored shop, destination and subscription secrets: ORDERHUB_SECRET_KEY
    # (comma-separated base64 keys, the first encrypts) or a key file (default: beside a SQLite
    # database, created 0600 on first use). See adapters/store/secrets.py. Never logged.
    secret_key: str | None = field(default=None, repr=False)
    secret_key_file: str | None = None

    def with_database(self, url: str | None) -> "Settings":
        return replace(self, database_url=url) if url else self

    @classmethod
    def from_env(cls) -> "Settings":
        return cls(
            database_url=os.environ.get("ORDERHUB_DATABASE_URL") or cls.database_url,
            max_webhook_bytes=_int("ORDERHUB_MAX_WEBHOOK_BYTES", cls.max_webhook_bytes),
            max_request_bytes=_int("ORDERHUB_MAX_REQUEST_BYTES", cls.max_request_bytes),
            max_body_bytes_in_flight=_int("ORDERHUB_MAX_BODY_BYTES_IN_FLIGHT", cls.max_body_bytes_in_flight),
            body_timeout_seconds=_float("ORDERHUB_BODY_TIMEOUT_SECONDS", cls.body_timeout_seconds),
            body_min_bytes_per_second=_int("ORDERHUB_BODY_MIN_BYTES_PER_SECOND", cls.body_min_bytes_per_second),
            head_timeout_seconds=_float("ORDERHUB_HEAD_TIMEOUT_SECONDS", cls.head_timeout_seconds),
            max_connections=_int("ORDERHUB_MAX_CONNECTIONS", cls.max_connections),
            keep_alive_seconds=_int("ORDERHUB_KEEP_ALIVE_SECONDS", cls.keep_alive_seconds),
            max_header_bytes=_int("ORDERHUB_MAX_HEADER_BYTES", cls.max_header_bytes),
            sqlite_synchronous=os.environ.get("ORDERHUB_SQLITE_SYNCHRONOUS", cls.sqlite_synchronous).upper(),
            inbox_batch_max=_int("ORDERHUB_INBOX_BATCH_MAX", cls.inbox_batch_max),
            worker_batch_size=_int("ORDERHUB_WORKER_BATCH_SIZE", cls.worker_batch_size),
            lease_seconds=_float("ORDERHUB_LEASE_SECONDS", cls.lease_seconds),
            max_attempts=_int("ORDERHUB_MAX_ATTEMPTS", cls.max_attempts),
            backoff_base_seconds=_float("ORDERHUB_BACKOFF_BASE_SECONDS", cls.backoff_base_seconds),
            backoff_max_seconds=_float("ORDERHUB_BACKOFF_MAX_SECONDS", cls.backoff_max_seconds),
            poll_overlap_seconds=_int("ORDERHUB_POLL_OVERLAP_SECONDS", cls.poll_overlap_seconds),
            payment_gateway_url=os.environ.get("ORDERHUB_PAYMENT_GATEWAY_URL") or None,
            payment_gateway_key=os.environ.get("ORDERHUB_PAYMENT_GATEWAY_KEY") or None,
            placement_batch_size=_int("ORDERHUB_PLACEMENT_BATCH_SIZE", cls.placement_batch_size),
            sftp_host=os.environ.get("ORDERHUB_SFTP_HOST") or None,
            sftp_port=_int("ORDERHUB_SFTP_PORT", cls.sftp_port),
            sftp_user=os.environ.get("ORDERHUB_SFTP_USER") or None,
            sftp_key_file=os.environ.get("ORDERHUB_SFTP_KEY_FILE") or None,
            sftp_key_passphrase=os.environ.get("ORDERHUB_SFTP_KEY_PASSPHRASE") or None,
            sftp_password=os.environ.get("ORDERHUB_SFTP_PASSWORD") or None,
            sftp_known_hosts=os.environ.get("ORDERHUB_SFTP_KNOWN_HOSTS") or None,
            sftp_host_key_sha256=os.environ.get("ORDERHUB_SFTP_HOST_KEY_SHA256") or None,
            smtp_host=os.environ.get("ORDERHUB_SMTP_HOST") or None,
            smtp_port=_int("ORDERHUB_SMTP_PORT", cls.smtp_port),
            smtp_user=os.environ.get("ORDERHUB_SMTP_USER") or None,
            smtp_password=os.environ.get("ORDERHUB_SMTP_PASSWORD") or None,
            smtp_tls=_choice("ORDERHUB_SMTP_TLS", cls.smtp_tls, SMTP_TLS_MODES),
            smtp_from=os.environ.get("ORDERHUB_SMTP_FROM") or None,
            smtp_ca_file=os.environ.get("ORDERHUB_SMTP_CA_FILE") or None,
            retailpro_url=os.environ.get("ORDERHUB_RETAILPRO_URL") or None,
            retailpro_user=os.environ.get("ORDERHUB_RETAILPRO_USER") or None,
            retailpro_password=os.environ.get("ORDERHUB_RETAILPRO_PASSWORD") or None,
            retailpro_workstation=os.environ.get("ORDERHUB_RETAILPRO_WORKSTATION") or None,
            retailpro_timeout=_float("ORDERHUB_RETAILPRO_TIMEOUT", cls.retailpro_timeout),
            console_session_hours=_float("ORDERHUB_CONSOLE_SESSION_HOURS", cls.console_session_hours),
            console_session_max_hours=_float("ORDERHUB_CONSOLE_SESSION_MAX_HOURS", cls.console_session_max_hours),
            console_secure_cookies=_choice("ORDERHUB_CONSOLE_SECURE_COOKIES", cls.console_secure_cookies,
                                           ("auto", "always", "never")),
            open_endpoints=_names("ORDERHUB_OPEN_ENDPOINTS", OPEN_ENDPOINTS),
            webhook_max_age_seconds=_float("ORDERHUB_WEBHOOK_MAX_AGE_SECONDS", cls.webhook_max_age_seconds),
            console_password_checks=_int("ORDERHUB_CONSOLE_PASSWORD_CHECKS", cls.console_password_checks),
            trusted_proxies=_networks("ORDERHUB_TRUSTED_PROXIES"),
            secret_key=os.environ.get("ORDERHUB_SECRET_KEY") or None,
            secret_key_file=os.environ.get("ORDERHUB_SECRET_KEY_FILE") or None,
            log_level=os.environ.get("ORDERHUB_LOG_LEVEL", cls.log_level).upper(),
            log_json=os.environ.get("ORDERHUB_LOG_FORMAT", "json").lower() == "json",
        )

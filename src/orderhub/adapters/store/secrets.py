"""Secrets at rest: shop webhook secrets, access tokens and signing secrets are stored encrypted.

A stored value is ``ohsec1:<key id>:<base64url(nonce + AES-256-GCM ciphertext)>``, bound to its
column (the column name is the associated data, so a value cannot be moved to another column).
The key id is derived from the key, so several keys can decrypt side by side during a rotation;
the first key encrypts. Keys come from ``ORDERHUB_SECRET_KEY`` (comma-separated base64 keys),
or a key file (``ORDERHUB_SECRET_KEY_FILE``; by default ``<database file>.keys`` beside a SQLite
database) that orderhub creates with mode 0600 on first use. A value without the prefix is a
legacy clear value: it is read as it is until the migration or a rotation encrypts it.

Only the store modules call this module: services and the domain see plain values.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import logging
import os
import stat
import tempfile
import threading
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import Connection, Engine, column, select, table
from sqlalchemy.engine import make_url

PREFIX = "ohsec1"
ENV_KEY = "ORDERHUB_SECRET_KEY"
ENV_KEY_FILE = "ORDERHUB_SECRET_KEY_FILE"
_FILE_HEADER = ("# orderhub secret keys: one base64 key a line; the first encrypts, every one decrypts.\n"
                "# Keep a copy apart from the database backups: without it the stored secrets are lost.\n")
log = logging.getLogger(__name__)


class SecretKeyError(Exception):
    """A secret cannot be encrypted or decrypted: the key is missing, wrong or unreadable."""


def new_key() -> str:
    """A fresh random 256-bit key, base64url, as the key file and ORDERHUB_SECRET_KEY hold it."""
    return base64.urlsafe_b64encode(AESGCM.generate_key(bit_length=256)).decode()


def key_id(key: bytes) -> str:
    """A short public name for a key: a hash of it, so every process names one key the same."""
    return hashlib.sha256(b"orderhub-secret-key-id:" + key).hexdigest()[:8]


def _parse_key(text: str, where: str) -> bytes:
    try:
        raw = base64.urlsafe_b64decode(text.strip().encode())
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) != 32:
        raise SecretKeyError(f"{where} holds something that is not a key (want base64 of 32 bytes); "
                             "make one with `orderhub secrets new-key`")
    return raw


@dataclass
class Keyring:
    """The keys of one database, in order: the first encrypts. Reloads its file when it changes."""

    keys: list[bytes] = field(repr=False)
    source: str  # where the keys come from, for messages
    path: Path | None = None
    _mtime: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def __repr__(self) -> str:
        return f"Keyring(source={self.source!r}, ids={self.ids})"

    @property
    def ids(self) -> list[str]:
        return [key_id(k) for k in self.keys]

    @property
    def current_id(self) -> str:
        return key_id(self.keys[0])

    def _refresh(self, force: bool = False) -> None:
        """Pick up a key another process added (``orderhub secrets rotate``)."""
        if self.path is None:
            return
        try:
            mtime = self.path.stat().st_mtime
        except OSError:
            return
        if force or mtime != self._mtime:
            with self._lock:
                self.keys, self._mtime = read_key_file(self.path), mtime

    def encrypt(self, column: str, value: str) -> str:
        self._refresh()
        key = self.keys[0]
        nonce = os.urandom(12)
        sealed = AESGCM(key).encrypt(nonce, value.encode(), column.encode())
        return f"{PREFIX}:{key_id(key)}:{base64.urlsafe_b64encode(nonce + sealed).decode().rstrip('=')}"

    def decrypt(self, column: str, value: str, record: str = "") -> str:
        if not is_encrypted(value):
            return value  # a legacy clear value, until it is migrated
        _, kid, body = value.split(":", 2)
        key = self._find(kid)
        about = f"the secret in {column}" + (f" of {record}" if record else "")
        if key is None:
            raise SecretKeyError(
                f"{about} is encrypted with key {kid}, which is not among the keys in {self.source} "
                f"(ids {', '.join(self.ids)}). Restore the key file from your backup (or put the key back in "
                f"{ENV_KEY}); `orderhub secrets status` lists the key ids in use.")
        try:
            blob = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
            return AESGCM(key).decrypt(blob[:12], blob[12:], column.encode()).decode()
        except (InvalidTag, binascii.Error, ValueError):
            raise SecretKeyError(f"{about} does not decrypt with key {kid} from {self.source}: the stored value "
                                 "is damaged. Set the secret again (e.g. `orderhub shop add ... --secret-file`)."
                                 ) from None

    def _find(self, kid: str) -> bytes | None:
        for attempt in (False, True):
            if attempt:
                self._refresh(force=True)
            for key in self.keys:
                if key_id(key) == kid:
                    return key
        return None


def is_encrypted(value: str) -> bool:
    return value.startswith(PREFIX + ":") and value.count(":") >= 2


def stored_key_id(value: str | None) -> str | None:
    """The key id a stored value uses; None for a clear (or missing) value."""
    return value.split(":", 2)[1] if value and is_encrypted(value) else None


# -- key files --------------------------------------------------------------------------------------

def read_key_file(path: Path) -> list[bytes]:
    try:
        mode = path.stat().st_mode
        text = path.read_text(encoding="ascii")
    except (OSError, UnicodeDecodeError) as exc:
        raise SecretKeyError(f"cannot read the secret key file {path}: {exc.__class__.__name__}. Run orderhub as "
                             f"the user that owns it, or point {ENV_KEY_FILE} at a readable copy.") from None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        log.warning("secret key file %s is readable by others; `chmod 600` it", path)
    keys = [_parse_key(line, f"the key file {path}") for line in text.splitlines()
            if line.strip() and not line.lstrip().startswith("#")]
    if not keys:
        raise SecretKeyError(f"the secret key file {path} holds no key; restore it from your backup")
    return keys


def write_key_file(path: Path, keys: list[str]) -> None:
    """Write keys (first: current) atomically, mode 0600, never leaving a half-written file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)  # mkstemp creates 0600
    try:
        with os.fdopen(fd, "w", encoding="ascii") as f:
            f.write(_FILE_HEADER + "".join(k + "\n" for k in keys))
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _create_key_file(path: Path) -> None:
    """A new key file with one key; when another process creates it first, theirs is kept."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="ascii") as f:
            f.write(_FILE_HEADER + new_key() + "\n")
            f.flush()
            os.fsync(f.fileno())
        try:
            os.link(tmp, path)  # atomic and fails when the file exists
        except FileExistsError:
            pass
    finally:
        Path(tmp).unlink(missing_ok=True)


# -- which keys a database uses --------------------------------------------------------------------

@dataclass(frozen=True)
class KeySource:
    """Where a database's keys come from: keys given (environment) or a key file."""

    keys: str | None = field(default=None, repr=False)
    key_file: str | None = None


def default_key_file(url: str) -> Path | None:
    """``<database file>.keys`` beside a SQLite file; None for other databases."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database or parsed.database == ":memory:":
        return None
    return Path(parsed.database).resolve().with_name(Path(parsed.database).name + ".keys")


# Every column that holds a credential orderhub must read back, by name (this module needs no schema).
COLUMNS = (("shops", "webhook_secret"), ("shops", "access_token"), ("shops", "credentials"),
           ("destinations", "secret"), ("subscriptions", "secret"),
           # a pickup's ready e-mail carries its verification code until it is sent
           ("pickup_mails", "body_text"), ("pickup_mails", "body_html"))


def _key_ids_in_use(conn: Connection) -> set[str]:
    found: set[str] = set()
    for table_name, column_name in COLUMNS:
        col = column(column_name)
        for (value,) in conn.execute(select(col).select_from(table(table_name, col)).where(col.like(PREFIX + ":%"))):
            found.add(value.split(":", 2)[1])
    return found


def load(url: str, source: KeySource, in_use: Callable[[], set[str]] = set) -> Keyring:
    """The keyring for the database at ``url``. The key file is created on first use, but never
    while the database holds values encrypted under a key (``in_use()``): that file was lost."""
    if source.keys:
        keys = [_parse_key(k, ENV_KEY) for k in source.keys.split(",") if k.strip()]
        if keys:
            return Keyring(keys, source=ENV_KEY)
    path = Path(source.key_file).expanduser().resolve() if source.key_file else default_key_file(url)
    if path is None:
        raise SecretKeyError(
            f"no key to encrypt secrets with: set {ENV_KEY_FILE} to a key file every orderhub process can read "
            f"(orderhub creates it, mode 0600), or {ENV_KEY} to a key from `orderhub secrets new-key`")
    if not path.exists():
        lost = in_use()
        if lost:
            raise SecretKeyError(
                f"the secret key file {path} is missing, and the database holds secrets encrypted with key(s) "
                f"{', '.join(sorted(lost))}. Restore the file from your backup (or set {ENV_KEY_FILE} to where "
                "it is); orderhub makes a new one only for a database without encrypted secrets.")
        _create_key_file(path)
    ring = Keyring(read_key_file(path), source=str(path), path=path)
    ring._mtime = path.stat().st_mtime
    return ring


_SOURCES: weakref.WeakKeyDictionary[Engine, KeySource] = weakref.WeakKeyDictionary()
_RINGS: weakref.WeakKeyDictionary[Engine, Keyring] = weakref.WeakKeyDictionary()
_RINGS_LOCK = threading.Lock()


def configure(engine: Engine, source: KeySource) -> None:
    """Use these keys for this engine (from Settings); otherwise the environment decides."""
    with _RINGS_LOCK:
        _SOURCES[engine] = source
        _RINGS.pop(engine, None)


def source_for(engine: Engine) -> KeySource:
    found = _SOURCES.get(engine)
    if found is not None and (found.keys or found.key_file):
        return found
    return KeySource(keys=os.environ.get(ENV_KEY) or None, key_file=os.environ.get(ENV_KEY_FILE) or None)


def keyring(bind: Connection | Engine) -> Keyring:
    """The keyring of the database ``bind`` belongs to, loaded once per engine."""
    engine = bind.engine
    ring = _RINGS.get(engine)
    if ring is None:
        with _RINGS_LOCK:
            ring = _RINGS.get(engine)
            if ring is None:
                ring = load(engine.url.render_as_string(hide_password=False), source_for(engine),
                            lambda: _in_use(bind))
                _RINGS[engine] = ring
    return ring


def _in_use(bind: Connection | Engine) -> set[str]:
    if isinstance(bind, Connection):
        return _key_ids_in_use(bind)
    with bind.connect() as conn:
        return _key_ids_in_use(conn)


def forget(engine: Engine) -> None:
    """Drop the cached keyring (after the keys changed in this process)."""
    with _RINGS_LOCK:
        _RINGS.pop(engine, None)


def encrypt(conn: Connection, column: str, value: str | None) -> str | None:
    """The value to store in ``column`` (``table.column``); None stays None."""
    return None if value is None else keyring(conn).encrypt(column, value)


def decrypt(conn: Connection, column: str, value: str | None, record: str = "") -> str | None:
    """The plain value of a stored one (encrypted or legacy clear); ``record`` names it in errors."""
    if value is None or not is_encrypted(value):
        return value
    return keyring(conn).decrypt(column, value, record)

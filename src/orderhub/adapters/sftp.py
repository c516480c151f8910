"""SFTP client for batch jobs that read files from and write files to a retailer's server (paramiko).

What it guarantees:

- **The server is the one we expect.** The host key is checked against a known_hosts file
  and/or a pinned SHA256 fingerprint (as ``ssh-keygen -lf`` prints it) *before* any
  credential is sent. An unknown or changed key is refused with :class:`SftpHostKeyError`;
  keys are never accepted on first use.
- **Readers never see half-written files.** :meth:`SftpClient.write_atomic` writes to
  ``.NAME.part-RANDOM`` in the same folder and renames it into place when complete
  (posix-rename where the server offers it; otherwise remove + rename). :meth:`SftpClient.list`
  skips those temporary names.
- **Memory stays flat.** :meth:`SftpClient.open_read` streams; nothing loads a whole file.
- **Errors say where.** Every :class:`SftpError` names the host, the path and the problem;
  never a password, passphrase or key.

Synchronous on purpose: jobs run in worker threads. One client holds one SSH connection;
use one client per thread.
"""

from __future__ import annotations

import builtins
import errno
import fnmatch
import io
import posixpath
import re
import secrets
import socket
import stat
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import IO, TYPE_CHECKING, Any, BinaryIO

import paramiko
import structlog
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from paramiko.sftp import CMD_DATA, CMD_READ, CMD_STATUS, int64

from orderhub.clock import utcnow

if TYPE_CHECKING:
    from orderhub.config import Settings

log = structlog.get_logger(__name__)

# Names :meth:`SftpClient.write_atomic` writes to before the rename; :meth:`SftpClient.list` skips them.
TEMP_NAME = re.compile(r"^\..+\.part-[0-9a-f]{8,}$")
CHUNK_SIZE = 256 * 1024
_MOVE_ATTEMPTS = 20


# -- configuration ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class SftpConfig:
    """Where to connect and how to authenticate; secrets are kept out of ``repr``.

    Give ``key_file`` (a path) or ``private_key`` (the PEM/OpenSSH text), with ``key_passphrase``
    if it is encrypted, and/or ``password``. Give ``known_hosts`` and/or ``host_key_sha256``:
    without either, connecting is refused.
    """

    host: str
    port: int = 22
    username: str = ""
    key_file: str | None = None
    private_key: str | None = field(default=None, repr=False)
    key_passphrase: str | None = field(default=None, repr=False)
    password: str | None = field(default=None, repr=False)
    known_hosts: str | None = None
    host_key_sha256: str | None = None
    timeout: float = 30.0

    @classmethod
    def from_settings(cls, settings: Settings) -> SftpConfig:
        """The ``ORDERHUB_SFTP_*`` settings; raises if no host is configured."""
        if not settings.sftp_host:
            raise SftpError("no SFTP server configured: set ORDERHUB_SFTP_HOST", host="(unset)")
        return cls(host=settings.sftp_host, port=settings.sftp_port, username=settings.sftp_user or "",
                   key_file=settings.sftp_key_file, key_passphrase=settings.sftp_key_passphrase,
                   password=settings.sftp_password, known_hosts=settings.sftp_known_hosts,
                   host_key_sha256=settings.sftp_host_key_sha256)

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"


# -- errors -----------------------------------------------------------------------------------------

class SftpError(Exception):
    """An SFTP operation failed; the message names the host, the path and the problem."""

    def __init__(self, message: str, *, host: str, path: str | None = None) -> None:
        super().__init__(message)
        self.host = host
        self.path = path


class SftpHostKeyError(SftpError):
    """The server's host key is unknown or differs from the expected one: nothing was sent to it."""


class SftpAuthError(SftpError):
    """The server refused the user, key or password, or the private key could not be read."""


class SftpNotFoundError(SftpError):
    """The remote file or folder does not exist."""


@dataclass(frozen=True)
class RemoteFile:
    """A regular file in a remote folder."""

    path: str
    name: str
    size: int
    modified: datetime | None


# -- keys -------------------------------------------------------------------------------------------

def fingerprint_sha256(key: paramiko.PKey) -> str:
    """``SHA256:...`` exactly as ``ssh-keygen -lf`` prints it."""
    return str(key.fingerprint)


def _normalize_fingerprint(text: str) -> str:
    """Accept ``SHA256:abc``, ``abc``, ``abc=`` or a whole ``ssh-keygen -lf`` line."""
    text = text.strip()
    token = next((t for t in text.split() if t.upper().startswith("SHA256:")), text)
    if token.upper().startswith("SHA256:"):
        token = token[len("SHA256:"):]
    return token.rstrip("=")


def load_private_key(data: bytes | str, passphrase: str | None = None, *, source: str = "the private key",
                     host: str = "", port: int = 22) -> paramiko.PKey:
    """A paramiko key from OpenSSH, PEM or PKCS#8 text (RSA, ECDSA or Ed25519), decrypted with ``passphrase``.

    Errors (:class:`SftpAuthError`) name the server ``host`` the key is for and never the passphrase.
    """
    where = f"SFTP {host}:{port}: " if host else ""
    raw = data.encode() if isinstance(data, str) else data
    password = passphrase.encode() if passphrase else None
    loader = (serialization.load_ssh_private_key if b"BEGIN OPENSSH PRIVATE KEY" in raw
              else serialization.load_pem_private_key)
    try:
        try:
            loaded: Any = loader(raw, password)
        except TypeError:
            if password is None:
                raise SftpAuthError(f"{where}{source} is encrypted: set the key passphrase "
                                    "(ORDERHUB_SFTP_KEY_PASSPHRASE)", host=host) from None
            loaded = loader(raw, None)  # a passphrase was given for a key that has none: use the key
    except (ValueError, TypeError) as exc:
        problem = "wrong passphrase, or" if password else "it is"
        raise SftpAuthError(f"{where}cannot read {source}: {problem} not an RSA, ECDSA or Ed25519 private key "
                            f"in OpenSSH or PEM format", host=host) from exc
    key_class: type[paramiko.PKey]
    if isinstance(loaded, rsa.RSAPrivateKey):
        key_class = paramiko.RSAKey
    elif isinstance(loaded, ed25519.Ed25519PrivateKey):
        key_class = paramiko.Ed25519Key
    elif isinstance(loaded, ec.EllipticCurvePrivateKey):
        key_class = paramiko.ECDSAKey
    else:
        raise SftpAuthError(f"{where}{source} is a {type(loaded).__name__}; use an RSA, ECDSA or Ed25519 key",
                            host=host)
    # Re-encode unencrypted in memory so paramiko reads every format cryptography does.
    plain = loaded.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH,
                                 serialization.NoEncryption())
    return key_class.from_private_key(io.StringIO(plain.decode()))


def _host_key_types(key_type: str) -> list[str]:
    return ["rsa-sha2-512", "rsa-sha2-256", "ssh-rsa"] if key_type == "ssh-rsa" else [key_type]


# -- streaming reads --------------------------------------------------------------------------------

class _PipelinedReader(io.RawIOBase):
    """Reads a remote file with up to ``depth`` requests in flight, as OpenSSH's sftp client does.

    One request at a time costs a round trip per 32 KiB; paramiko's own prefetch may buffer
    the whole file. Here memory stays below ``depth`` x 32 KiB whatever the file size.
    Uses paramiko's request plumbing (``_async_request``/``_read_response``), as SFTPFile does.
    """

    REQUEST_SIZE = 32768

    def __init__(self, handle: paramiko.SFTPFile, client: SftpClient, path: str, depth: int = 32) -> None:
        self._handle = handle
        self._sftp: Any = handle.sftp
        self._client = client
        self._path = path
        self._depth = depth
        self._size = int(handle.stat().st_size or 0)
        self._next = 0  # offset of the next request
        self._eof = False
        self._pending: deque[tuple[int, int, int]] = deque()  # (request number, offset, length), in file order
        self._responses: dict[int, tuple[int, Any]] = {}  # answers that arrived while waiting for another
        self._data = memoryview(b"")

    def readable(self) -> bool:
        return True

    def _async_response(self, kind: int, msg: Any, num: int) -> None:
        """Called by paramiko for an answer to one of our requests that arrived early."""
        self._responses[num] = (kind, msg)

    def _request(self, offset: int, length: int) -> None:
        num = self._sftp._async_request(self, CMD_READ, self._handle.handle, int64(offset), length)
        self._pending.append((num, offset, length))

    def _fill(self) -> None:
        # Ask for everything up to the size seen at open, then once past it to find the end.
        while not self._eof and len(self._pending) < self._depth and self._next <= self._size:
            self._request(self._next, self.REQUEST_SIZE)
            self._next += self.REQUEST_SIZE

    def _answer(self, num: int) -> bytes:
        """The data of request ``num``; raises EOFError at the end of the file."""
        if num in self._responses:
            kind, msg = self._responses.pop(num)
            if kind == CMD_STATUS:
                self._sftp._convert_status(msg)  # raises: EOFError at the end, OSError otherwise
        else:
            kind, msg = self._sftp._read_response(num)
        if kind != CMD_DATA:
            raise paramiko.SFTPError(f"expected data, got SFTP message {kind}")
        return bytes(msg.get_string())

    def _drain(self) -> None:
        while self._pending:
            num, _, _ = self._pending.popleft()
            try:
                self._answer(num)
            except (EOFError, OSError, paramiko.SSHException):
                pass

    def _fetch(self) -> bytes:
        self._fill()
        if not self._pending:
            return b""
        num, offset, length = self._pending.popleft()
        try:
            data = self._answer(num)
        except EOFError:
            data = b""
        if not data:  # the end: whatever is still in flight lies past it
            self._eof = True
            self._drain()
        elif len(data) < length:
            # Servers may send less than asked (and do at the end): ask for the rest first.
            self._request(offset + len(data), length - len(data))
            self._pending.rotate(1)
        return data

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        if not self._data:
            try:
                self._data = memoryview(self._fetch())
            except (OSError, paramiko.SSHException) as exc:
                raise self._client._error("read", self._path, exc) from exc
        n = min(len(view), len(self._data))
        view[:n] = self._data[:n]
        self._data = self._data[n:]
        return n

    def close(self) -> None:
        if not self.closed:
            try:
                self._drain()
                self._handle.close()
            finally:
                super().close()


# -- the client -------------------------------------------------------------------------------------

class SftpClient:
    """One SSH connection with an SFTP session; use as a context manager::

        with SftpClient(config) as sftp:
            for f in sftp.list("/outbound", "orders_*.csv"):
                with sftp.open_read(f.path) as stream:
                    ...
                sftp.move(f.path, "/outbound/archive")
    """

    def __init__(self, config: SftpConfig, *, clock: Callable[[], datetime] = utcnow) -> None:
        self.config = config
        self._clock = clock
        self._transport: paramiko.Transport | None = None
        self._sftp: paramiko.SFTPClient | None = None
        self._posix_rename: bool | None = None  # unknown until first tried
        self.host_key_sha256: str | None = None

    # connection

    def __enter__(self) -> SftpClient:
        return self.connect()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def connect(self) -> SftpClient:
        """Connect, check the host key, authenticate and open the SFTP session (once)."""
        if self._sftp is not None:
            return self
        cfg = self.config
        try:
            sock = socket.create_connection((cfg.host, cfg.port), timeout=cfg.timeout)
        except socket.gaierror as exc:
            raise SftpError(f"SFTP {cfg.address}: unknown host ({exc.strerror})", host=cfg.host) from exc
        except TimeoutError as exc:
            raise SftpError(f"SFTP {cfg.address}: no answer within {cfg.timeout:g}s", host=cfg.host) from exc
        except OSError as exc:
            raise SftpError(f"SFTP {cfg.address}: cannot connect ({exc.strerror or exc})", host=cfg.host) from exc
        transport = paramiko.Transport(sock)
        try:
            transport.banner_timeout = transport.handshake_timeout = transport.auth_timeout = cfg.timeout
            known = self._known_keys()
            if known:
                preferred = [t for k in known for t in _host_key_types(k)]
                options = transport.get_security_options()
                options.key_types = [t for t in preferred if t in options.key_types] + [
                    t for t in options.key_types if t not in preferred]
            try:
                transport.start_client(timeout=cfg.timeout)
            except (paramiko.SSHException, OSError, EOFError) as exc:
                raise SftpError(f"SFTP {cfg.address}: SSH handshake failed: {exc or type(exc).__name__}",
                                host=cfg.host) from exc
            self._check_host_key(transport.get_remote_server_key(), known)
            self._authenticate(transport)
            try:
                sftp = paramiko.SFTPClient.from_transport(transport)
            except (paramiko.SSHException, OSError, EOFError) as exc:
                raise SftpError(f"SFTP {cfg.address}: the server refused the SFTP subsystem: {exc}",
                                host=cfg.host) from exc
            assert sftp is not None
            sftp.get_channel().settimeout(cfg.timeout)
        except BaseException:
            transport.close()
            raise
        transport.set_keepalive(30)  # long jobs: keep idle connections (and NAT mappings) alive
        self._transport, self._sftp = transport, sftp
        log.info("sftp.connected", host=cfg.host, port=cfg.port, user=cfg.username, host_key=self.host_key_sha256)
        return self

    def close(self) -> None:
        """Close the SFTP session and the connection; safe to call twice."""
        if self._sftp is not None:
            self._sftp.close()
        if self._transport is not None:
            self._transport.close()
        self._sftp = self._transport = None

    def _known_keys(self) -> dict[str, paramiko.PKey]:
        """The host keys known_hosts holds for this host and port (empty when no file is configured)."""
        cfg = self.config
        if not cfg.known_hosts:
            return {}
        try:
            host_keys = paramiko.HostKeys(cfg.known_hosts)
        except OSError as exc:
            raise SftpHostKeyError(f"SFTP {cfg.address}: cannot read known_hosts file {cfg.known_hosts!r} "
                                   f"({exc.strerror or exc})", host=cfg.host, path=cfg.known_hosts) from exc
        name = cfg.host if cfg.port == 22 else f"[{cfg.host}]:{cfg.port}"
        entry = host_keys.lookup(name)
        return dict(entry) if entry else {}

    def _check_host_key(self, key: paramiko.PKey, known: dict[str, paramiko.PKey]) -> None:
        cfg = self.config
        presented = fingerprint_sha256(key)
        self.host_key_sha256 = presented
        what = f"SFTP {cfg.address}: the server's host key {presented} ({key.get_name()})"
        if not cfg.known_hosts and not cfg.host_key_sha256:
            raise SftpHostKeyError(f"{what} cannot be checked: configure a known_hosts file or the expected "
                                   "fingerprint (ORDERHUB_SFTP_KNOWN_HOSTS / ORDERHUB_SFTP_HOST_KEY_SHA256); "
                                   "confirm the fingerprint with the server's owner first", host=cfg.host)
        if cfg.known_hosts:
            if not known:
                raise SftpHostKeyError(f"{what} is unknown: {cfg.known_hosts!r} has no key for this host; "
                                       "add it only after confirming the fingerprint with the server's owner",
                                       host=cfg.host, path=cfg.known_hosts)
            if known.get(key.get_name()) != key:
                expected = ", ".join(f"{fingerprint_sha256(k)} ({t})" for t, k in known.items())
                raise SftpHostKeyError(f"{what} does not match {expected} in {cfg.known_hosts!r}: refusing to "
                                       "connect; if the key was changed on purpose, update known_hosts",
                                       host=cfg.host, path=cfg.known_hosts)
        if cfg.host_key_sha256 and _normalize_fingerprint(cfg.host_key_sha256) != _normalize_fingerprint(presented):
            raise SftpHostKeyError(f"{what} does not match the pinned SHA256:"
                                   f"{_normalize_fingerprint(cfg.host_key_sha256)}: refusing to connect; if the "
                                   "key was changed on purpose, update ORDERHUB_SFTP_HOST_KEY_SHA256", host=cfg.host)

    def _private_key(self) -> paramiko.PKey | None:
        cfg = self.config
        if cfg.private_key:
            return load_private_key(cfg.private_key, cfg.key_passphrase, source="the configured private key",
                                    host=cfg.host, port=cfg.port)
        if cfg.key_file:
            try:
                with open(cfg.key_file, "rb") as fh:
                    data = fh.read()
            except OSError as exc:
                raise SftpAuthError(f"SFTP {cfg.address}: cannot read the private key file {cfg.key_file!r} "
                                    f"({exc.strerror or exc})", host=cfg.host, path=cfg.key_file) from exc
            return load_private_key(data, cfg.key_passphrase, source=f"the private key file {cfg.key_file!r}",
                                    host=cfg.host, port=cfg.port)
        return None

    def _authenticate(self, transport: paramiko.Transport) -> None:
        cfg = self.config
        user = f"SFTP {cfg.address}: user {cfg.username!r}"
        key = self._private_key()
        if key is None and not cfg.password:
            raise SftpAuthError(f"{user}: no private key or password configured", host=cfg.host)
        try:
            remaining: list[str] = []
            if key is not None:
                remaining = transport.auth_publickey(cfg.username, key) or []
            if cfg.password and (key is None or "password" in remaining):
                transport.auth_password(cfg.username, cfg.password, fallback=True)
        except paramiko.BadAuthenticationType as exc:
            raise SftpAuthError(f"{user}: the server accepts only {', '.join(exc.allowed_types)} authentication",
                                host=cfg.host) from exc
        except paramiko.AuthenticationException as exc:
            tried = f"key {fingerprint_sha256(key)}" if key is not None else "password"
            if key is not None and cfg.password:
                tried += " and password"
            raise SftpAuthError(f"{user} was refused ({tried}); check the user name and that the server "
                                "authorises this key", host=cfg.host) from exc
        except (paramiko.SSHException, OSError, EOFError) as exc:
            raise SftpError(f"{user}: authentication failed: {exc}", host=cfg.host) from exc
        if not transport.is_authenticated():
            raise SftpAuthError(f"{user}: the server wants more authentication ({', '.join(remaining)})",
                                host=cfg.host)

    @property
    def sftp(self) -> paramiko.SFTPClient:
        """The paramiko session, connecting first if needed."""
        if self._sftp is None:
            self.connect()
        assert self._sftp is not None
        return self._sftp

    def _error(self, action: str, path: str, exc: BaseException, detail: str = "") -> SftpError:
        code = getattr(exc, "errno", None)
        reason = {errno.ENOENT: "no such file or folder", errno.EACCES: "permission denied"}.get(
            code or 0, str(exc) or type(exc).__name__)
        if isinstance(exc, TimeoutError):
            reason = f"no answer within {self.config.timeout:g}s"
        cls = SftpNotFoundError if code == errno.ENOENT else SftpError
        return cls(f"SFTP {self.config.address}: cannot {action} {path!r}{detail}: {reason}", host=self.config.host,
                   path=path)

    @contextmanager
    def _op(self, action: str, path: str) -> Iterator[None]:
        try:
            yield
        except SftpError:
            raise
        except (OSError, EOFError, paramiko.SSHException) as exc:
            raise self._error(action, path, exc) from exc

    # queries

    def stat(self, path: str) -> RemoteFile:
        """Size and modification time of ``path``; :class:`SftpNotFoundError` if it is missing."""
        with self._op("stat", path):
            attrs = self.sftp.stat(path)
        return _remote_file(path, posixpath.basename(path), attrs)

    def exists(self, path: str) -> bool:
        try:
            self.stat(path)
        except SftpNotFoundError:
            return False
        return True

    def list(self, folder: str, pattern: str = "*", *, case_sensitive: bool = True) -> builtins.list[RemoteFile]:
        """Regular files in ``folder`` whose names match ``pattern`` (fnmatch), sorted by name.

        Temporary ``.NAME.part-*`` files of uploads in progress are never listed.
        """
        with self._op("list", folder):
            entries = self.sftp.listdir_attr(folder)
        match = fnmatch.fnmatchcase if case_sensitive else (lambda n, p: fnmatch.fnmatchcase(n.lower(), p.lower()))
        found = []
        for attrs in entries:
            name = attrs.filename
            if isinstance(name, bytes):
                name = name.decode("utf-8", "surrogateescape")
            if attrs.st_mode is None or not stat.S_ISREG(attrs.st_mode) or TEMP_NAME.match(name):
                continue
            if match(name, pattern):
                found.append(_remote_file(posixpath.join(folder, name), name, attrs))
        return sorted(found, key=lambda f: f.name)

    # reading

    @contextmanager
    def open_read(self, path: str, *, buffer_size: int = CHUNK_SIZE) -> Iterator[BinaryIO]:
        """A buffered binary stream of ``path``, read in pieces as the caller consumes it."""
        with self._op("open", path):
            handle = self.sftp.open(path, "rb")
            try:
                raw = _PipelinedReader(handle, self, path)
            except BaseException:
                handle.close()
                raise
        stream = io.BufferedReader(raw, buffer_size=buffer_size)
        try:
            yield stream  # type: ignore[misc]
        finally:
            stream.close()

    def iter_chunks(self, path: str, chunk_size: int = CHUNK_SIZE) -> Iterator[bytes]:
        """The bytes of ``path`` in pieces of at most ``chunk_size``."""
        with self.open_read(path) as stream:
            while chunk := stream.read(chunk_size):
                yield chunk

    # writing

    def write_atomic(self, path: str, data: bytes | Iterable[bytes] | IO[bytes], *, overwrite: bool = True) -> int:
        """Write ``data`` to ``path`` so that no reader ever sees a partial file; returns the byte count.

        The bytes go to ``.NAME.part-RANDOM`` in the same folder, which is renamed to ``path`` once
        complete and its size checked. On any failure the temporary file is removed and ``path`` is
        unchanged. With ``overwrite=False`` an existing ``path`` is an error. When the server lacks
        posix-rename, an existing ``path`` is removed just before the rename (a moment without it).
        """
        folder, name = posixpath.split(path)
        if not name:
            raise SftpError(f"SFTP {self.config.address}: cannot write {path!r}: no file name",
                            host=self.config.host, path=path)
        if not overwrite and self.exists(path):
            raise SftpError(f"SFTP {self.config.address}: cannot write {path!r}: it already exists",
                            host=self.config.host, path=path)
        temp = posixpath.join(folder, f".{name}.part-{secrets.token_hex(6)}")
        written = 0
        try:
            with self._op("write", temp):
                handle = self.sftp.open(temp, "wbx")  # x: exclusive create
                try:
                    handle.set_pipelined(True)
                    for chunk in _chunks(data):
                        handle.write(chunk)
                        written += len(chunk)
                finally:
                    handle.close()
                size = self.sftp.stat(temp).st_size
            if size != written:
                # Pipelined writes report failures late or not at all; the size does not lie.
                raise SftpError(f"SFTP {self.config.address}: cannot write {path!r}: the server stored "
                                f"{size} of {written} bytes (disk full?)", host=self.config.host, path=path)
            self._rename_into_place(temp, path, overwrite)
        except BaseException:
            self._discard(temp)
            raise
        log.info("sftp.written", host=self.config.host, path=path, bytes=written)
        return written

    def _rename_into_place(self, temp: str, path: str, overwrite: bool) -> None:
        if overwrite and self._posix_rename is not False:
            try:
                self.sftp.posix_rename(temp, path)
                self._posix_rename = True
                return
            except OSError as exc:
                if not _unsupported(exc):
                    raise self._error("rename into place", path, exc) from exc
                self._posix_rename = False
        with self._op("rename into place", path):
            if overwrite:
                try:
                    self.sftp.remove(path)
                except FileNotFoundError:
                    pass
                except OSError as exc:
                    if exc.errno != errno.ENOENT:
                        raise
            self.sftp.rename(temp, path)

    def _discard(self, temp: str) -> None:
        if self._sftp is None:
            return
        try:
            self._sftp.remove(temp)
        except (OSError, EOFError, paramiko.SSHException):
            pass  # never created, or the connection is gone; the name is skipped by list()

    # moving and removing

    def makedirs(self, folder: str) -> None:
        """Create ``folder`` and any missing parents; an existing folder is fine."""
        parts = [p for p in folder.split("/") if p]
        current = "/" if folder.startswith("/") else ""
        for part in parts:
            current = posixpath.join(current, part) if current else part
            with self._op("create folder", current):
                try:
                    attrs = self.sftp.stat(current)
                except OSError as exc:
                    if exc.errno != errno.ENOENT:
                        raise
                    try:
                        self.sftp.mkdir(current)
                        continue
                    except OSError:
                        attrs = self.sftp.stat(current)  # made meanwhile by someone else, or the real error
                if attrs.st_mode is not None and not stat.S_ISDIR(attrs.st_mode):
                    raise SftpError(f"SFTP {self.config.address}: cannot create folder {folder!r}: "
                                    f"{current!r} is a file", host=self.config.host, path=folder)

    def move(self, path: str, archive_folder: str) -> str:
        """Move ``path`` into ``archive_folder`` (created if missing); returns the new path.

        An existing file of the same name is kept: the moved one gets a UTC timestamp suffix
        (``orders.20261123T101112Z.csv``, then ``...Z-2.csv`` ...).
        """
        self.makedirs(archive_folder)
        name = posixpath.basename(path)
        stamp = self._clock().astimezone(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
        for attempt in range(_MOVE_ATTEMPTS):
            target = posixpath.join(archive_folder, name if attempt == 0 else _stamped(name, stamp, attempt))
            if self.exists(target):
                continue
            try:
                self.sftp.rename(path, target)  # plain SFTP rename never replaces an existing file
            except OSError as exc:
                if exc.errno == errno.ENOENT or not self.exists(target):
                    raise self._error("move", path, exc, f" to {archive_folder!r}") from exc
                continue  # someone took the name meanwhile: try the next one
            log.info("sftp.moved", host=self.config.host, path=path, to=target)
            return target
        raise SftpError(f"SFTP {self.config.address}: cannot move {path!r} to {archive_folder!r}: "
                        f"{_MOVE_ATTEMPTS} names taken", host=self.config.host, path=path)

    def remove(self, path: str, *, missing_ok: bool = False) -> None:
        """Delete the file ``path``."""
        try:
            with self._op("remove", path):
                self.sftp.remove(path)
        except SftpNotFoundError:
            if not missing_ok:
                raise


def _remote_file(path: str, name: str, attrs: paramiko.SFTPAttributes) -> RemoteFile:
    modified = datetime.fromtimestamp(attrs.st_mtime, timezone.utc) if attrs.st_mtime is not None else None
    return RemoteFile(path=path, name=name, size=int(attrs.st_size or 0), modified=modified)


def _stamped(name: str, stamp: str, attempt: int) -> str:
    """``orders.csv`` -> ``orders.STAMP.csv`` (``orders.STAMP-2.csv`` from the second clash)."""
    suffix = stamp if attempt == 1 else f"{stamp}-{attempt}"
    lead = "." if name.startswith(".") else ""
    stem, dot, rest = name[len(lead):].partition(".")
    return f"{lead}{stem}.{suffix}{dot}{rest}"


def _unsupported(exc: OSError) -> bool:
    """Whether the server refused posix-rename as an unknown operation (paramiko only keeps the text)."""
    text = str(exc).lower()
    return "unsupported" in text or "not supported" in text


def _chunks(data: bytes | Iterable[bytes] | IO[bytes]) -> Iterator[bytes]:
    if isinstance(data, bytes | bytearray | memoryview):
        yield bytes(data)
        return
    if hasattr(data, "read"):
        while chunk := data.read(CHUNK_SIZE):  # type: ignore[union-attr]
            if isinstance(chunk, str):
                raise TypeError("write_atomic needs a binary file, got a text file")
            yield chunk
        return
    for chunk in data:  # type: ignore[union-attr]
        if not isinstance(chunk, bytes | bytearray | memoryview):
            raise TypeError(f"write_atomic needs bytes chunks, got {type(chunk).__name__}")
        if chunk:
            yield bytes(chunk)

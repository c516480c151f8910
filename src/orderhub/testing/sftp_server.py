"""A real SFTP server on loopback for tests and the demo (asyncssh, in a background thread).

Each server generates its own host key and a client key pair, accepts one user (by that
public key, and by password when one is given) and serves SFTP chrooted at a directory, so a
test can look at the files the client wrote straight on the local disk::

    with SftpTestServer(tmp_path) as info:
        SftpConfig(host=info.host, port=info.port, username=info.username,
                   key_file=str(info.client_key_path), host_key_sha256=info.host_key_sha256)
"""

from __future__ import annotations

import asyncio
import secrets
import tempfile
import threading
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncssh


@dataclass(frozen=True)
class SftpServerInfo:
    """Where a started server listens and what a client needs to trust it and log in."""

    host: str
    port: int
    username: str
    host_key_sha256: str  # "SHA256:..." as `ssh-keygen -lf` prints it
    known_hosts_line: str  # "[127.0.0.1]:PORT ssh-ed25519 AAAA..."
    known_hosts_path: Path  # a known_hosts file holding just that line
    client_key_path: Path  # OpenSSH private key of the authorised client
    root: Path  # the directory the SFTP session is chrooted at
    password: str | None = field(default=None, repr=False)


class _TestSftp(asyncssh.SFTPServer):
    """asyncssh's SFTP server, optionally imitating servers without posix-rename or with capped reads."""

    def __init__(self, chan: asyncssh.SSHServerChannel, chroot: bytes, posix_rename: bool,
                 max_read: int | None) -> None:
        super().__init__(chan, chroot=chroot)
        self._posix_rename_ok = posix_rename
        self._max_read = max_read

    def posix_rename(self, oldpath: bytes, newpath: bytes) -> Any:
        if not self._posix_rename_ok:
            raise asyncssh.SFTPOpUnsupported("posix-rename@openssh.com not supported")
        return super().posix_rename(oldpath, newpath)

    def read(self, file_obj: object, offset: int, size: int) -> Any:
        return super().read(file_obj, offset, min(size, self._max_read) if self._max_read else size)


class _SshServer(asyncssh.SSHServer):
    """Accepts exactly one user: by the authorised public key, or by password if one is set."""

    def __init__(self, owner: SftpTestServer) -> None:
        self._owner = owner

    def connection_made(self, conn: asyncssh.SSHServerConnection) -> None:
        self._owner._connections.add(conn)

    def connection_lost(self, exc: Exception | None) -> None:
        self._owner._connections = {c for c in self._owner._connections if not c.is_closed()}

    def begin_auth(self, username: str) -> bool:
        self._owner.auth_attempts.append(username)
        return True

    def public_key_auth_supported(self) -> bool:
        return True

    def validate_public_key(self, username: str, key: asyncssh.SSHKey) -> bool:
        return username == self._owner.username and key.public_data == self._owner._client_key.public_data

    def password_auth_supported(self) -> bool:
        return self._owner.password is not None

    def validate_password(self, username: str, password: str) -> bool:
        expected = self._owner.password
        return (expected is not None and username == self._owner.username
                and secrets.compare_digest(password.encode(), expected.encode()))


class SftpTestServer:
    """A throwaway SFTP server: ``start()`` returns :class:`SftpServerInfo`, ``stop()`` ends it.

    ``root`` is created if missing (a temporary directory when not given). ``posix_rename=False``
    makes the server refuse the posix-rename extension and ``max_read`` makes it answer reads with
    at most that many bytes, to exercise a client's fallbacks.
    ``client_key_passphrase`` writes the client private key encrypted with that passphrase.
    """

    def __init__(self, root: Path | str | None = None, *, username: str = "orderhub",
                 password: str | None = None, posix_rename: bool = True,
                 max_read: int | None = None, client_key_passphrase: str | None = None,
                 host: str = "127.0.0.1") -> None:
        self._tmp = tempfile.TemporaryDirectory(prefix="orderhub-sftp-")
        self.root = Path(root) if root is not None else Path(self._tmp.name) / "root"
        self.username = username
        self.password = password
        self.host = host
        self._posix_rename = posix_rename
        self._max_read = max_read
        self._client_key_passphrase = client_key_passphrase
        self._host_key = asyncssh.generate_private_key("ssh-ed25519")
        self._client_key = asyncssh.generate_private_key("ssh-ed25519", comment="orderhub-test-client")
        self._connections: set[asyncssh.SSHServerConnection] = set()
        # User names clients began to authenticate as: a client that refuses the host key sends none.
        self.auth_attempts: list[str] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._acceptor: Any = None
        self.info: SftpServerInfo | None = None

    def _sftp_factory(self, chan: asyncssh.SSHServerChannel) -> asyncssh.SFTPServer:
        return _TestSftp(chan, str(self.root).encode(), self._posix_rename, self._max_read)

    async def _listen(self) -> Any:
        return await asyncssh.listen(
            self.host, 0, server_factory=lambda: _SshServer(self), server_host_keys=[self._host_key],
            sftp_factory=self._sftp_factory, allow_scp=False, login_timeout=30, keepalive_interval=0)

    def start(self) -> SftpServerInfo:
        """Listen on a free loopback port; returns once the server accepts connections."""
        if self.info is not None:
            return self.info
        self.root.mkdir(parents=True, exist_ok=True)
        keydir = Path(self._tmp.name)
        client_key_path = keydir / "client_ed25519"
        passphrase = self._client_key_passphrase
        with warnings.catch_warnings():  # few bcrypt rounds: a test key need not resist brute force, tests stay fast
            warnings.filterwarnings("ignore", message=".*bcrypt.kdf.*round", category=UserWarning)
            self._client_key.write_private_key(client_key_path, "openssh", passphrase=passphrase, rounds=16)
        client_key_path.chmod(0o600)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="sftp-test-server", daemon=True)
        self._thread.start()
        try:
            self._acceptor = asyncio.run_coroutine_threadsafe(self._listen(), self._loop).result(timeout=30)
        except BaseException:
            self._stop_loop()
            raise
        port = int(self._acceptor.get_port())
        public = self._host_key.export_public_key("openssh").decode().split()
        known_hosts_line = f"[{self.host}]:{port} {public[0]} {public[1]}"
        known_hosts_path = keydir / "known_hosts"
        known_hosts_path.write_text(known_hosts_line + "\n")
        self.info = SftpServerInfo(
            host=self.host, port=port, username=self.username,
            host_key_sha256=self._host_key.get_fingerprint("sha256"), known_hosts_line=known_hosts_line,
            known_hosts_path=known_hosts_path, client_key_path=client_key_path, root=self.root,
            password=self.password)
        return self.info

    async def _close(self) -> None:
        self._acceptor.close()
        for conn in list(self._connections):
            conn.close()
        for conn in list(self._connections):
            await conn.wait_closed()
        await self._acceptor.wait_closed()

    def _stop_loop(self) -> None:
        assert self._loop is not None and self._thread is not None
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()
        self._loop = None
        self._thread = None

    def stop(self) -> None:
        """Close the listener and every open session, end the thread and remove the key files."""
        if self._loop is None:
            return
        if self._acceptor is not None:
            asyncio.run_coroutine_threadsafe(self._close(), self._loop).result(timeout=10)
            self._acceptor = None
        self._stop_loop()
        self.info = None
        self._tmp.cleanup()

    def __enter__(self) -> SftpServerInfo:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

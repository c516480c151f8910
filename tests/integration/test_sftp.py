"""The SFTP adapter against a real SFTP server on loopback (asyncssh): no mocks."""

from __future__ import annotations

import csv
import hashlib
import io
import os
import re
import threading
import tracemalloc
from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from orderhub.adapters.sftp import (
    SftpAuthError,
    SftpClient,
    SftpConfig,
    SftpError,
    SftpHostKeyError,
    SftpNotFoundError,
)
from orderhub.config import Settings
from orderhub.testing.sftp_server import SftpServerInfo, SftpTestServer

pytestmark = pytest.mark.timeout(60)

FIXED_NOW = datetime(2026, 11, 23, 10, 11, 12, tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def server() -> Iterator[SftpTestServer]:
    srv = SftpTestServer(password="correct horse")
    srv.start()
    yield srv
    srv.stop()


@pytest.fixture
def info(server: SftpTestServer) -> SftpServerInfo:
    """The module's server; each test works in its own folder (``base``)."""
    assert server.info is not None
    return server.info


@pytest.fixture
def base(info: SftpServerInfo, request: pytest.FixtureRequest) -> str:
    """A fresh empty folder for this test, as a remote path."""
    folder = info.root / request.node.name[:40].replace("[", "_").replace("]", "_")
    folder.mkdir()
    return "/" + folder.name


def config_for(info: SftpServerInfo, **overrides: object) -> SftpConfig:
    cfg = SftpConfig(host=info.host, port=info.port, username=info.username, key_file=str(info.client_key_path),
                     host_key_sha256=info.host_key_sha256, timeout=10)
    return replace(cfg, **overrides)  # type: ignore[arg-type]


@pytest.fixture
def sftp(info: SftpServerInfo) -> Iterator[SftpClient]:
    with SftpClient(config_for(info), clock=lambda: FIXED_NOW) as client:
        yield client


def local(info: SftpServerInfo, remote: str) -> Path:
    return info.root / remote.lstrip("/")


# -- writing ----------------------------------------------------------------------------------------

def test_write_atomic_leaves_only_the_finished_file(sftp: SftpClient, info: SftpServerInfo, base: str) -> None:
    assert sftp.write_atomic(f"{base}/orders.csv", b"id,sku\n1,SKU-1\n") == 15
    assert os.listdir(local(info, base)) == ["orders.csv"]
    assert local(info, f"{base}/orders.csv").read_bytes() == b"id,sku\n1,SKU-1\n"

    # A file object and a generator of chunks work too; replacing is the default.
    sftp.write_atomic(f"{base}/orders.csv", io.BytesIO(b"v2"))
    sftp.write_atomic(f"{base}/stock.csv", (part for part in [b"a", b"", b"b" * 100_000]))
    assert sorted(os.listdir(local(info, base))) == ["orders.csv", "stock.csv"]
    assert local(info, f"{base}/orders.csv").read_bytes() == b"v2"
    assert local(info, f"{base}/stock.csv").stat().st_size == 100_001


def test_write_atomic_without_overwrite_refuses_an_existing_file(sftp: SftpClient, info: SftpServerInfo,
                                                                  base: str) -> None:
    sftp.write_atomic(f"{base}/a.csv", b"first")
    with pytest.raises(SftpError, match=rf"127\.0\.0\.1:{info.port}: cannot write '{base}/a.csv': it already exists"):
        sftp.write_atomic(f"{base}/a.csv", b"second", overwrite=False)
    assert local(info, f"{base}/a.csv").read_bytes() == b"first"
    assert os.listdir(local(info, base)) == ["a.csv"]


def test_a_failed_write_removes_its_temporary_file_and_keeps_the_old_one(sftp: SftpClient, info: SftpServerInfo,
                                                                          base: str) -> None:
    sftp.write_atomic(f"{base}/a.csv", b"old")

    def broken() -> Iterator[bytes]:
        yield b"x" * 70_000
        raise RuntimeError("export query failed")

    with pytest.raises(RuntimeError, match="export query failed"):
        sftp.write_atomic(f"{base}/a.csv", broken())
    assert os.listdir(local(info, base)) == ["a.csv"]
    assert local(info, f"{base}/a.csv").read_bytes() == b"old"


def test_a_concurrent_lister_never_sees_a_partial_file(info: SftpServerInfo, base: str) -> None:
    block = os.urandom(64 * 1024)
    blocks = 64  # 4 MiB
    started, listed = threading.Event(), threading.Event()
    errors: list[BaseException] = []

    def chunks() -> Iterator[bytes]:
        for i in range(blocks):
            yield block
            if i == 3:  # part of the file is on the server: let the lister look before going on
                started.set()
                assert listed.wait(10), "the lister never listed"

    def write() -> None:
        try:
            with SftpClient(config_for(info)) as writer:
                writer.write_atomic(f"{base}/big.bin", chunks())
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)
            started.set()

    thread = threading.Thread(target=write)
    thread.start()
    seen_sizes: list[int] = []
    temp_seen_on_disk = False
    with SftpClient(config_for(info)) as lister:
        assert started.wait(10)
        while True:
            files = lister.list(base)
            on_disk = os.listdir(local(info, base))
            temp_seen_on_disk = temp_seen_on_disk or any(n.startswith(".big.bin.part-") for n in on_disk)
            seen_sizes += [f.size for f in files if f.name == "big.bin"]
            listed.set()
            if not thread.is_alive():
                break
        thread.join()
        assert not errors, errors
        final = lister.list(base)
    assert temp_seen_on_disk, "the lister never ran while the upload was in progress"
    assert all(size == blocks * len(block) for size in seen_sizes), "a partial file was listed"
    assert [(f.name, f.size) for f in final] == [("big.bin", blocks * len(block))]
    assert os.listdir(local(info, base)) == ["big.bin"]


def test_write_atomic_falls_back_when_the_server_lacks_posix_rename(tmp_path: Path) -> None:
    with SftpTestServer(tmp_path / "root", posix_rename=False) as info:
        with SftpClient(config_for(info)) as client:
            client.write_atomic("/a.csv", b"one")
            client.write_atomic("/a.csv", b"two")  # replaces: remove + rename
            assert client._posix_rename is False
        assert os.listdir(info.root) == ["a.csv"]
        assert (info.root / "a.csv").read_bytes() == b"two"


# -- reading and listing ----------------------------------------------------------------------------

def test_open_read_streams_a_multi_megabyte_file(sftp: SftpClient, info: SftpServerInfo, base: str) -> None:
    data = os.urandom(8 * 1024 * 1024)
    local(info, f"{base}/feed.bin").write_bytes(data)
    digest = hashlib.sha256()
    total = 0
    tracemalloc.start()
    try:
        with sftp.open_read(f"{base}/feed.bin") as stream:
            while chunk := stream.read(100_000):
                digest.update(chunk)
                total += len(chunk)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert total == len(data) and digest.digest() == hashlib.sha256(data).digest()
    assert peak < 2 * 1024 * 1024, f"reading held {peak} bytes at once"
    assert b"".join(sftp.iter_chunks(f"{base}/feed.bin", 1 << 20)) == data


def test_open_read_copes_with_a_server_that_sends_less_than_asked(tmp_path: Path) -> None:
    data = os.urandom(1_000_003)
    with SftpTestServer(tmp_path / "root", max_read=10_000) as info:
        (info.root / "feed.bin").write_bytes(data)
        (info.root / "empty.bin").write_bytes(b"")
        with SftpClient(config_for(info)) as client:
            assert b"".join(client.iter_chunks("/feed.bin", 65_536)) == data
            assert b"".join(client.iter_chunks("/empty.bin")) == b""


def test_open_read_feeds_text_and_csv_readers(sftp: SftpClient, base: str) -> None:
    sftp.write_atomic(f"{base}/orders.csv", "order,note\n1001,Grüße 📦\n1002,שלום\n".encode())
    with sftp.open_read(f"{base}/orders.csv") as stream:
        rows = list(csv.DictReader(io.TextIOWrapper(stream, encoding="utf-8", newline="")))
    assert rows == [{"order": "1001", "note": "Grüße 📦"}, {"order": "1002", "note": "שלום"}]


def test_list_matches_patterns_sorted_and_skips_uploads_in_progress(sftp: SftpClient, info: SftpServerInfo,
                                                                     base: str) -> None:
    folder = local(info, base)
    for name in ["orders_2.csv", "orders_1.csv", "orders_3.CSV", "stock.csv", ".orders_4.csv.part-0123456789ab"]:
        (folder / name).write_bytes(b"x")
    (folder / "orders_dir.csv").mkdir()
    assert [f.name for f in sftp.list(base, "orders_*.csv")] == ["orders_1.csv", "orders_2.csv"]
    assert [f.name for f in sftp.list(base, "orders_*.csv", case_sensitive=False)] == [
        "orders_1.csv", "orders_2.csv", "orders_3.CSV"]
    everything = sftp.list(base)
    assert [f.name for f in everything] == ["orders_1.csv", "orders_2.csv", "orders_3.CSV", "stock.csv"]
    assert everything[0].path == f"{base}/orders_1.csv" and everything[0].size == 1
    assert everything[0].modified is not None and everything[0].modified.tzinfo is not None


def test_unicode_names_and_content_round_trip(sftp: SftpClient, info: SftpServerInfo, base: str) -> None:
    name = "bestellung_😀_שלום_übersicht.csv"
    text = "emoji 📦🚚, RTL مرحبا, CJK 注文\n"
    sftp.write_atomic(f"{base}/{name}", text.encode())
    assert [f.name for f in sftp.list(base, "*😀*")] == [name]
    assert local(info, f"{base}/{name}").read_text(encoding="utf-8") == text
    with sftp.open_read(f"{base}/{name}") as stream:
        assert stream.read().decode() == text
    moved = sftp.move(f"{base}/{name}", f"{base}/архив")
    assert moved == f"{base}/архив/{name}"


def test_missing_paths_raise_not_found_naming_host_and_path(sftp: SftpClient, info: SftpServerInfo,
                                                             base: str) -> None:
    with pytest.raises(SftpNotFoundError, match=rf"127\.0\.0\.1:{info.port}: cannot open '{base}/nope.csv': no such"):
        with sftp.open_read(f"{base}/nope.csv"):
            pass
    with pytest.raises(SftpNotFoundError, match="cannot list"):
        sftp.list(f"{base}/missing")
    sftp.remove(f"{base}/nope.csv", missing_ok=True)
    with pytest.raises(SftpNotFoundError, match="cannot remove"):
        sftp.remove(f"{base}/nope.csv")


# -- folders, moving, removing ----------------------------------------------------------------------

def test_makedirs_and_remove(sftp: SftpClient, info: SftpServerInfo, base: str) -> None:
    sftp.makedirs(f"{base}/a/b/c")
    sftp.makedirs(f"{base}/a/b/c")  # already there: fine
    assert local(info, f"{base}/a/b/c").is_dir()
    sftp.write_atomic(f"{base}/a/file", b"x")
    with pytest.raises(SftpError, match=r"'.*/a/file' is a file"):
        sftp.makedirs(f"{base}/a/file/d")
    sftp.remove(f"{base}/a/file")
    assert not sftp.exists(f"{base}/a/file")


def test_move_to_archive_creates_it_and_never_overwrites(sftp: SftpClient, info: SftpServerInfo, base: str) -> None:
    archive = f"{base}/archive/2026"
    sftp.write_atomic(f"{base}/orders.csv", b"one")
    assert sftp.move(f"{base}/orders.csv", archive) == f"{archive}/orders.csv"
    sftp.write_atomic(f"{base}/orders.csv", b"two")
    assert sftp.move(f"{base}/orders.csv", archive) == f"{archive}/orders.20261123T101112Z.csv"
    sftp.write_atomic(f"{base}/orders.csv", b"three")
    assert sftp.move(f"{base}/orders.csv", archive) == f"{archive}/orders.20261123T101112Z-2.csv"
    folder = local(info, archive)
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == {
        "orders.csv": b"one", "orders.20261123T101112Z.csv": b"two", "orders.20261123T101112Z-2.csv": b"three"}
    assert sftp.list(base) == []
    with pytest.raises(SftpNotFoundError, match=f"cannot move '{base}/orders.csv' to '{archive}'"):
        sftp.move(f"{base}/orders.csv", archive)


# -- trust and authentication -----------------------------------------------------------------------

def test_a_pinned_fingerprint_from_another_server_is_refused_before_login(info: SftpServerInfo,
                                                                          server: SftpTestServer) -> None:
    with SftpTestServer() as other:
        before = list(server.auth_attempts)
        cfg = config_for(info, host_key_sha256=other.host_key_sha256, password="correct horse")
        with pytest.raises(SftpHostKeyError) as caught:
            SftpClient(cfg).connect()
    message = str(caught.value)
    assert f"127.0.0.1:{info.port}" in message and info.host_key_sha256 in message
    assert other.host_key_sha256.removeprefix("SHA256:") in message and "refusing to connect" in message
    assert "correct horse" not in message
    assert server.auth_attempts == before, "credentials were offered to an untrusted server"


def test_known_hosts_checks_the_key(info: SftpServerInfo, tmp_path: Path) -> None:
    SftpClient(config_for(info, host_key_sha256=None, known_hosts=str(info.known_hosts_path))).connect().close()
    # A fingerprint as `ssh-keygen -lf` prints the whole line is accepted as a pin too.
    SftpClient(config_for(info, host_key_sha256=f"256 {info.host_key_sha256} (ED25519)")).connect().close()

    with SftpTestServer() as other:
        wrong = tmp_path / "known_hosts_wrong"
        wrong.write_text(f"[{info.host}]:{info.port} " + other.known_hosts_line.split(" ", 1)[1] + "\n")
        with pytest.raises(SftpHostKeyError, match=re.escape(f"does not match {other.host_key_sha256} (ssh-ed25519)")):
            SftpClient(config_for(info, host_key_sha256=None, known_hosts=str(wrong))).connect()

    unknown = tmp_path / "known_hosts_empty"
    unknown.write_text("")
    with pytest.raises(SftpHostKeyError, match=re.escape(f"is unknown: '{unknown}' has no key for this host")):
        SftpClient(config_for(info, host_key_sha256=None, known_hosts=str(unknown))).connect()
    with pytest.raises(SftpHostKeyError, match="cannot be checked: configure a known_hosts file"):
        SftpClient(config_for(info, host_key_sha256=None)).connect()
    with pytest.raises(SftpHostKeyError, match="cannot read known_hosts file"):
        SftpClient(config_for(info, host_key_sha256=None, known_hosts=str(tmp_path / "nope"))).connect()


def _write_other_key(path: Path, passphrase: bytes | None = None) -> str:
    encryption = (serialization.BestAvailableEncryption(passphrase) if passphrase
                  else serialization.NoEncryption())
    pem = ed25519.Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH, encryption).decode()
    path.write_text(pem)
    return pem


def test_a_key_the_server_does_not_know_is_refused(info: SftpServerInfo, tmp_path: Path) -> None:
    _write_other_key(tmp_path / "other_key")
    with pytest.raises(SftpAuthError, match=rf"127\.0\.0\.1:{info.port}: user 'orderhub' was refused \(key SHA256:"):
        SftpClient(config_for(info, key_file=str(tmp_path / "other_key"))).connect()
    with pytest.raises(SftpAuthError, match="user 'intruder' was refused"):
        SftpClient(config_for(info, username="intruder")).connect()


def test_password_login_and_a_wrong_password(info: SftpServerInfo, base: str) -> None:
    with SftpClient(config_for(info, key_file=None, password="correct horse")) as client:
        client.write_atomic(f"{base}/p.txt", b"ok")
    with pytest.raises(SftpAuthError) as caught:
        SftpClient(config_for(info, key_file=None, password="battery staple")).connect()
    assert "was refused (password)" in str(caught.value) and "battery staple" not in str(caught.value)
    assert "battery staple" not in repr(config_for(info, password="battery staple"))


def test_an_encrypted_key_given_as_text(tmp_path: Path) -> None:
    with SftpTestServer(tmp_path / "root", client_key_passphrase="s3cret pass") as info:
        pem = info.client_key_path.read_text()
        cfg = config_for(info, key_file=None, private_key=pem, key_passphrase="s3cret pass")
        with SftpClient(cfg) as client:
            client.write_atomic("/x.txt", b"x")
        assert "s3cret" not in repr(cfg) and "PRIVATE KEY" not in repr(cfg)
        with pytest.raises(SftpAuthError, match=rf"SFTP 127\.0\.0\.1:{info.port}: cannot read the configured "
                           "private key: wrong passphrase") as caught:
            SftpClient(replace(cfg, key_passphrase="guess")).connect()
        assert "guess" not in str(caught.value)
        with pytest.raises(SftpAuthError, match="private key file .* is encrypted: set the key passphrase"):
            SftpClient(config_for(info)).connect()


def test_a_closed_port_names_the_host(tmp_path: Path) -> None:
    srv = SftpTestServer(tmp_path / "root")
    info = srv.start()
    srv.stop()
    with pytest.raises(SftpError, match=rf"SFTP 127\.0\.0\.1:{info.port}: cannot connect"):
        SftpClient(config_for(info)).connect()


def test_config_from_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ORDERHUB_SFTP_HOST", "sftp.retailer.example")
    monkeypatch.setenv("ORDERHUB_SFTP_PORT", "2222")
    monkeypatch.setenv("ORDERHUB_SFTP_USER", "orderhub")
    monkeypatch.setenv("ORDERHUB_SFTP_KEY_FILE", "/etc/orderhub/id_ed25519")
    monkeypatch.setenv("ORDERHUB_SFTP_KEY_PASSPHRASE", "pass-phrase-1")
    monkeypatch.setenv("ORDERHUB_SFTP_PASSWORD", "pass-word-2")
    monkeypatch.setenv("ORDERHUB_SFTP_KNOWN_HOSTS", "/etc/orderhub/known_hosts")
    monkeypatch.setenv("ORDERHUB_SFTP_HOST_KEY_SHA256", "SHA256:abc")
    settings = Settings.from_env()
    cfg = SftpConfig.from_settings(settings)
    assert (cfg.host, cfg.port, cfg.username, cfg.key_file, cfg.known_hosts, cfg.host_key_sha256) == (
        "sftp.retailer.example", 2222, "orderhub", "/etc/orderhub/id_ed25519", "/etc/orderhub/known_hosts",
        "SHA256:abc")
    assert (cfg.key_passphrase, cfg.password) == ("pass-phrase-1", "pass-word-2")
    for text in (repr(settings), repr(cfg)):
        assert "pass-phrase-1" not in text and "pass-word-2" not in text
    with pytest.raises(SftpError, match="ORDERHUB_SFTP_HOST"):
        SftpConfig.from_settings(Settings())

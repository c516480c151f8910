"""A real SMTP server on loopback for tests and the demo (aiosmtpd, in a background thread).

It keeps every message it receives, parsed, with its envelope. At start it makes a private CA
and a certificate for 127.0.0.1/localhost signed by it, so clients can verify TLS by trusting
``info.ca_file``. STARTTLS (the default), implicit TLS, no TLS at all, and AUTH LOGIN/PLAIN with
one test user are options::

    with SmtpTestServer(auth=("reports", "s3cret")) as smtp:
        ...send...
        [mail] = smtp.wait_for(1)
"""

from __future__ import annotations

import ipaddress
import logging
import secrets
import ssl
import tempfile
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser, Parser
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from orderhub.testing.postgres import free_port


def _not_login_data_deprecation(record: logging.LogRecord) -> bool:
    # aiosmtpd itself sets the deprecated Session.login_data on every login and logs a warning.
    return "login_data is deprecated" not in record.getMessage()


logging.getLogger("mail.log").addFilter(_not_login_data_deprecation)


@dataclass(frozen=True)
class ReceivedMail:
    """One message as the server received it."""

    mail_from: str
    rcpt_tos: tuple[str, ...]
    message: EmailMessage
    raw: bytes
    tls: bool  # the message travelled encrypted (STARTTLS or implicit TLS)
    login: str | None  # the user that authenticated, if any


@dataclass(frozen=True)
class SmtpServerInfo:
    host: str
    port: int
    ca_file: Path  # PEM of the CA that signed the server's certificate
    username: str | None = None
    password: str | None = field(default=None, repr=False)


def make_test_certificates(folder: Path,
                           hosts: tuple[str, ...] = ("localhost", "127.0.0.1")) -> tuple[Path, Path, Path]:
    """A CA and a server certificate for ``hosts`` signed by it: (ca.pem, server.pem, server.key)."""
    now = datetime.now(timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "orderhub test CA")])
    ca_cert = (
        x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5)).not_valid_after(now + timedelta(days=2))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                     content_commitment=False, key_encipherment=False, data_encipherment=False,
                                     key_agreement=False, encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    names: list[x509.GeneralName] = []
    for host in hosts:
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            names.append(x509.DNSName(host))
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hosts[0])]))
        .issuer_name(ca_name).public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5)).not_valid_after(now + timedelta(days=2))
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    ca_file, cert_file, key_file = folder / "ca.pem", folder / "server.pem", folder / "server.key"
    ca_file.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    key_file.chmod(0o600)
    return ca_file, cert_file, key_file


class _Collector:
    """aiosmtpd handler: parses and keeps every message, and wakes ``wait_for``."""

    def __init__(self, refuse: frozenset[str]) -> None:
        self.messages: list[ReceivedMail] = []
        self.changed = threading.Condition()
        self.refuse = refuse

    async def handle_RCPT(self, server: SMTP, session: Session, envelope: Envelope, address: str,
                          rcpt_options: list[str]) -> str:
        if address.lower() in self.refuse:
            return "550 5.1.1 No such mailbox here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = bytes(envelope.original_content or b"")
        local = raw.replace(b"\r\n", b"\n")  # wire line ends to Python's, as a mail store would
        if envelope.smtp_utf8:  # headers are UTF-8 (RFC 6532), not ASCII
            message = Parser(policy=policy.default.clone(utf8=True)).parsestr(local.decode("utf-8", "surrogateescape"))
        else:
            message = BytesParser(policy=policy.default).parsebytes(local)
        transport: Any = server.transport
        encrypted = session.ssl is not None or (transport is not None and
                                                transport.get_extra_info("ssl_object") is not None)
        login = session.auth_data.login.decode() if isinstance(session.auth_data, LoginPassword) else None
        mail = ReceivedMail(mail_from=str(envelope.mail_from), rcpt_tos=tuple(envelope.rcpt_tos),
                            message=message, raw=raw, tls=encrypted, login=login)  # type: ignore[arg-type]
        with self.changed:
            self.messages.append(mail)
            self.changed.notify_all()
        return "250 Message accepted for delivery"


class SmtpTestServer:
    """A throwaway SMTP server; ``start()`` returns :class:`SmtpServerInfo`, ``stop()`` ends it.

    ``tls``: ``"starttls"`` (offered, not required), ``"required"`` (STARTTLS before MAIL),
    ``"ssl"`` (implicit TLS from the first byte) or ``"off"`` (no STARTTLS offered).
    ``auth=(user, password)`` enables AUTH LOGIN/PLAIN (only after TLS unless
    ``auth_require_tls=False``); ``auth_required`` refuses mail from clients that did not log in.
    Recipients in ``refuse`` are turned down with 550.
    """

    def __init__(self, *, tls: str = "starttls", auth: tuple[str, str] | None = None, auth_required: bool = False,
                 auth_require_tls: bool = True, refuse: Iterable[str] = (), host: str = "127.0.0.1") -> None:
        if tls not in ("starttls", "required", "ssl", "off"):
            raise ValueError(f"tls must be starttls, required, ssl or off, got {tls!r}")
        self.tls = tls
        self.host = host
        self.auth = auth
        self._auth_required = auth_required
        self._auth_require_tls = auth_require_tls
        self._tmp = tempfile.TemporaryDirectory(prefix="orderhub-smtp-")
        self._collector = _Collector(frozenset(a.lower() for a in refuse))
        self._controller: Controller | None = None
        self.info: SmtpServerInfo | None = None

    def _authenticate(self, server: SMTP, session: Session, envelope: Envelope, mechanism: str,
                      auth_data: Any) -> AuthResult:
        if self.auth is None or not isinstance(auth_data, LoginPassword):
            return AuthResult(success=False, handled=False)
        user, password = self.auth
        ok = (secrets.compare_digest(auth_data.login, user.encode())
              and secrets.compare_digest(auth_data.password, password.encode()))
        return AuthResult(success=ok, handled=False, auth_data=auth_data if ok else None)

    def start(self) -> SmtpServerInfo:
        """Listen on a free loopback port; returns once the server answers."""
        if self.info is not None:
            return self.info
        ca_file, cert_file, key_file = make_test_certificates(Path(self._tmp.name))
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert_file, key_file)
        kwargs: dict[str, Any] = {"enable_SMTPUTF8": True, "auth_require_tls": self._auth_require_tls,
                                  "auth_required": self._auth_required}
        if self.tls == "ssl":
            kwargs["ssl_context"] = context
        elif self.tls in ("starttls", "required"):
            kwargs["tls_context"] = context
            kwargs["require_starttls"] = self.tls == "required"
        if self.auth is not None:
            kwargs["authenticator"] = self._authenticate
        last_error: OSError | None = None
        for _ in range(5):  # a free port can be taken before we bind it
            controller = Controller(self._collector, hostname=self.host, port=free_port(), ready_timeout=15,
                                    **kwargs)
            try:
                controller.start()
            except OSError as exc:
                last_error = exc
                continue
            self._controller = controller
            break
        else:
            raise RuntimeError(f"SMTP test server could not bind a port on {self.host}: {last_error}")
        user, password = self.auth if self.auth else (None, None)
        self.info = SmtpServerInfo(host=self.host, port=controller.port, ca_file=ca_file, username=user,
                                   password=password)
        return self.info

    def stop(self) -> None:
        """Stop the server thread and delete the certificates."""
        if self._controller is not None:
            self._controller.stop()
            self._controller = None
        self.info = None
        self._tmp.cleanup()

    @property
    def messages(self) -> list[ReceivedMail]:
        """A copy of what was received so far, oldest first."""
        with self._collector.changed:
            return list(self._collector.messages)

    def clear(self) -> None:
        with self._collector.changed:
            self._collector.messages.clear()

    def wait_for(self, n: int, timeout: float = 5.0) -> list[ReceivedMail]:
        """Wait until at least ``n`` messages arrived and return them all; raises TimeoutError."""
        deadline = time.monotonic() + timeout
        with self._collector.changed:
            while len(self._collector.messages) < n:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"SMTP test server got {len(self._collector.messages)} of {n} "
                                       f"messages within {timeout:g}s")
                self._collector.changed.wait(left)
            return list(self._collector.messages)

    def __enter__(self) -> SmtpTestServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

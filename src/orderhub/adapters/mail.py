"""Sends e-mail (reports, digests) over SMTP with :mod:`smtplib` and :class:`email.message.EmailMessage`.

TLS modes (``SmtpConfig.tls``):

- ``starttls``: upgrade with STARTTLS when the server offers it, else send in clear, but never
  log in in clear: with a user configured, a server without STARTTLS is an error;
- ``required``: STARTTLS must be offered, or nothing is sent;
- ``ssl``: implicit TLS from the first byte (SMTPS, usually port 465);
- ``off``: plain SMTP (a local relay), login included.

Certificates are verified against the system's CAs, plus ``ca_file`` when given (a private CA,
or the test server's). Subjects, display names, bodies and attachment names may hold any
Unicode (emoji, right-to-left scripts); headers are RFC 2047/2231 encoded and bodies are sent
as 7-bit quoted-printable or base64, so any server accepts them. The password never appears
in errors, logs or ``repr``.
"""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from typing import TYPE_CHECKING

import structlog

from orderhub.clock import utcnow

if TYPE_CHECKING:
    from orderhub.config import Settings

log = structlog.get_logger(__name__)

TLS_MODES = ("starttls", "required", "ssl", "off")
# Bodies as 7-bit quoted-printable/base64: servers without 8BITMIME take them too.
_POLICY = policy.default.clone(cte_type="7bit")

# "Name <addr>" / "addr" text, or an Address (``Address("Zoë 😀", addr_spec="zoe@shop.example")``).
AddressLike = str | Address


@dataclass(frozen=True)
class SmtpConfig:
    """Where and how to send; ``port`` 0 picks 465 for ``ssl``, 25 for ``off`` and 587 otherwise."""

    host: str
    port: int = 0
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    tls: str = "starttls"
    sender: str | None = None  # the default From
    ca_file: str | None = None
    timeout: float = 30.0
    local_hostname: str | None = None  # the name sent in EHLO; the machine's FQDN when unset

    def __post_init__(self) -> None:
        if self.tls not in TLS_MODES:
            raise ValueError(f"SMTP tls must be one of {', '.join(TLS_MODES)}, got {self.tls!r}")

    @classmethod
    def from_settings(cls, settings: Settings) -> SmtpConfig:
        """The ``ORDERHUB_SMTP_*`` settings; raises if no host is configured."""
        if not settings.smtp_host:
            raise MailError("no SMTP server configured: set ORDERHUB_SMTP_HOST", host="(unset)")
        return cls(host=settings.smtp_host, port=settings.smtp_port, username=settings.smtp_user,
                   password=settings.smtp_password, tls=settings.smtp_tls, sender=settings.smtp_from,
                   ca_file=settings.smtp_ca_file)

    @property
    def effective_port(self) -> int:
        return self.port or {"ssl": 465, "off": 25}.get(self.tls, 587)

    @property
    def address(self) -> str:
        return f"{self.host}:{self.effective_port}"


def required_config(settings: Settings, who: str) -> SmtpConfig:
    """The SMTP settings ``who`` (e.g. ``job error-log-digest``) sends with, or a one-line reason it cannot:
    a server and a sender must both be configured."""
    if not settings.smtp_host:
        raise RuntimeError(f"{who}: no SMTP server configured; set ORDERHUB_SMTP_HOST and "
                           "ORDERHUB_SMTP_FROM (see README, Configuration)")
    if not settings.smtp_from:
        raise RuntimeError(f"{who}: no sender configured; set ORDERHUB_SMTP_FROM")
    return SmtpConfig.from_settings(settings)


class MailError(Exception):
    """Sending failed; the message names the server and the problem."""

    def __init__(self, message: str, *, host: str) -> None:
        super().__init__(message)
        self.host = host


class MailTlsError(MailError):
    """TLS could not be set up as configured: not offered, certificate not trusted, handshake failed."""


class MailAuthError(MailError):
    """The server refused the login, or offers no login."""


class MailRefusedError(MailError):
    """The server refused the sender, every recipient, or the message itself."""


@dataclass(frozen=True)
class Attachment:
    """A file to attach: its bytes, the name the recipient sees, and its MIME type."""

    content: bytes
    filename: str
    mime_type: str = "application/octet-stream"


@dataclass(frozen=True)
class SentMail:
    """What the server accepted: ``refused`` lists recipients it turned down (the others got it)."""

    message_id: str
    recipients: tuple[str, ...]
    refused: dict[str, tuple[int, str]] = field(default_factory=dict)


def _address(value: AddressLike) -> Address:
    if isinstance(value, Address):
        return value
    # Let the header parser read "Name <addr>" (including quoted and encoded names).
    probe = EmailMessage(policy=_POLICY)
    probe["To"] = value
    parsed = probe["To"].addresses
    if len(parsed) != 1:
        raise ValueError(f"expected one e-mail address, got {value!r}")
    return parsed[0]


def _addresses(values: AddressLike | Iterable[AddressLike]) -> list[Address]:
    if isinstance(values, str | Address):
        return [_address(values)]
    return [_address(v) for v in values]


def build_message(*, sender: AddressLike, to: AddressLike | Iterable[AddressLike], subject: str, text: str,
                  html: str | None = None, attachments: Sequence[Attachment] = (),
                  cc: Iterable[AddressLike] = (), bcc: Iterable[AddressLike] = (),
                  reply_to: AddressLike | None = None) -> EmailMessage:
    """A ready-to-send message: plain text, optionally an HTML alternative, then attachments.

    ``Bcc`` is set on the message so :meth:`Mailer.send` delivers to it; smtplib strips it
    before transmission. Header values with line breaks are refused (header injection).
    """
    msg = EmailMessage(policy=_POLICY)
    from_address = _address(sender)
    msg["From"] = from_address
    msg["To"] = _addresses(to)
    cc_list, bcc_list = _addresses(cc), _addresses(bcc)
    if cc_list:
        msg["Cc"] = cc_list
    if bcc_list:
        msg["Bcc"] = bcc_list
    if reply_to is not None:
        msg["Reply-To"] = _address(reply_to)
    msg["Subject"] = subject
    msg["Date"] = format_datetime(utcnow())
    msg["Message-ID"] = make_msgid(domain=from_address.domain or None)
    msg.set_content(text)
    if html is not None:
        msg.add_alternative(html, subtype="html")
    for item in attachments:
        maintype, _, subtype = item.mime_type.partition("/")
        if not subtype:
            raise ValueError(f"attachment {item.filename!r}: MIME type must be type/subtype, got {item.mime_type!r}")
        msg.add_attachment(item.content, maintype=maintype, subtype=subtype, filename=item.filename)
    return msg


def tls_context(ca_file: str | None = None) -> ssl.SSLContext:
    """A client context that verifies certificates and host names: system CAs plus ``ca_file``."""
    context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    if ca_file:
        context.load_verify_locations(cafile=ca_file)
    return context


class Mailer:
    """Sends messages through one SMTP server; one connection per :meth:`send`."""

    def __init__(self, config: SmtpConfig) -> None:
        self.config = config

    def send_mail(self, to: AddressLike | Iterable[AddressLike], subject: str, text: str, *,
                  html: str | None = None, attachments: Sequence[Attachment] = (),
                  cc: Iterable[AddressLike] = (), bcc: Iterable[AddressLike] = (),
                  sender: AddressLike | None = None, reply_to: AddressLike | None = None) -> SentMail:
        """Build a message (From: ``sender`` or the configured sender) and send it."""
        sender = sender or self.config.sender
        if not sender:
            raise MailError(f"SMTP {self.config.address}: no sender: pass sender= or set ORDERHUB_SMTP_FROM",
                            host=self.config.host)
        message = build_message(sender=sender, to=to, subject=subject, text=text, html=html,
                                attachments=attachments, cc=cc, bcc=bcc, reply_to=reply_to)
        return self.send(message)

    def send(self, message: EmailMessage) -> SentMail:
        """Send ``message`` to its To, Cc and Bcc; raises :class:`MailError` unless someone got it."""
        cfg = self.config
        where = f"SMTP {cfg.address}"
        recipients = tuple(a.addr_spec for h in ("To", "Cc", "Bcc") for a in _header_addresses(message, h))
        smtp = self._connect()
        try:
            refused = smtp.send_message(message)
        except smtplib.SMTPRecipientsRefused as exc:
            raise MailRefusedError(f"{where}: every recipient was refused: {_refusals(exc.recipients)}",
                                   host=cfg.host) from exc
        except smtplib.SMTPSenderRefused as exc:
            reply = _reply(exc.smtp_code, exc.smtp_error)
            raise MailRefusedError(f"{where}: sender {exc.sender!r} was refused: {reply}", host=cfg.host) from exc
        except smtplib.SMTPDataError as exc:
            raise MailRefusedError(f"{where}: the message was refused: {_reply(exc.smtp_code, exc.smtp_error)}",
                                   host=cfg.host) from exc
        except smtplib.SMTPNotSupportedError as exc:
            raise MailError(f"{where}: {exc} (non-ASCII addresses need a server with SMTPUTF8)",
                            host=cfg.host) from exc
        except (smtplib.SMTPException, OSError) as exc:
            raise MailError(f"{where}: sending failed: {exc or type(exc).__name__}", host=cfg.host) from exc
        finally:
            _quit(smtp)
        message_id = str(message.get("Message-ID", ""))
        if refused:
            log.warning("mail.partly_refused", host=cfg.host, message_id=message_id, refused=len(refused),
                        recipients=len(recipients))
        log.info("mail.sent", host=cfg.host, message_id=message_id, recipients=len(recipients))
        refusals = {k: (int(v[0]), _text(v[1])) for k, v in refused.items()}
        return SentMail(message_id=message_id, recipients=recipients, refused=refusals)

    def check(self) -> None:
        """Connect, set up TLS and log in as configured, then hang up: a configuration check."""
        _quit(self._connect())

    def _connect(self) -> smtplib.SMTP:
        cfg = self.config
        where = f"SMTP {cfg.address}"
        try:
            context = tls_context(cfg.ca_file)
        except OSError as exc:
            raise MailTlsError(f"{where}: cannot read CA file {cfg.ca_file!r} ({exc.strerror or exc})",
                               host=cfg.host) from exc
        smtp: smtplib.SMTP | None = None
        try:
            if cfg.tls == "ssl":
                smtp = smtplib.SMTP_SSL(cfg.host, cfg.effective_port, local_hostname=cfg.local_hostname,
                                        timeout=cfg.timeout, context=context)
            else:
                smtp = smtplib.SMTP(cfg.host, cfg.effective_port, local_hostname=cfg.local_hostname,
                                    timeout=cfg.timeout)
            smtp.ehlo_or_helo_if_needed()
            encrypted = cfg.tls == "ssl"
            if cfg.tls in ("starttls", "required"):
                if smtp.has_extn("starttls"):
                    smtp.starttls(context=context)
                    smtp.ehlo()
                    encrypted = True
                elif cfg.tls == "required":
                    raise MailTlsError(f"{where}: the server does not offer STARTTLS, and TLS is required "
                                       "(tls=required): nothing was sent; use tls=ssl if it speaks implicit "
                                       "TLS on another port", host=cfg.host)
            if cfg.username:
                if not encrypted and cfg.tls != "off":
                    raise MailTlsError(f"{where}: the server does not offer STARTTLS; refusing to send the "
                                       f"password of {cfg.username!r} in clear (set tls=off to allow it)",
                                       host=cfg.host)
                self._login(smtp)
            return smtp
        except MailError:
            _quit(smtp)
            raise
        except ssl.SSLCertVerificationError as exc:
            _quit(smtp)
            raise MailTlsError(f"{where}: the server's TLS certificate is not trusted ({exc.verify_message}); "
                               "if a private CA signed it, set ca_file (ORDERHUB_SMTP_CA_FILE)",
                               host=cfg.host) from exc
        except ssl.SSLError as exc:
            _quit(smtp)
            hint = "; is this the implicit-TLS port?" if cfg.tls == "ssl" else ""
            raise MailTlsError(f"{where}: TLS handshake failed ({exc.reason or exc}){hint}", host=cfg.host) from exc
        except TimeoutError as exc:
            _quit(smtp)
            raise MailError(f"{where}: no answer within {cfg.timeout:g}s", host=cfg.host) from exc
        except (smtplib.SMTPException, OSError) as exc:
            _quit(smtp)
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else (str(exc) or type(exc).__name__)
            raise MailError(f"{where}: cannot connect ({reason})", host=cfg.host) from exc

    def _login(self, smtp: smtplib.SMTP) -> None:
        cfg = self.config
        who = f"SMTP {cfg.address}: user {cfg.username!r}"
        try:
            smtp.login(cfg.username or "", cfg.password or "")
        except smtplib.SMTPAuthenticationError as exc:
            raise MailAuthError(f"{who} was refused: {_reply(exc.smtp_code, exc.smtp_error)}",
                                host=cfg.host) from exc
        except smtplib.SMTPNotSupportedError as exc:
            raise MailAuthError(f"{who}: the server offers no login (AUTH)", host=cfg.host) from exc
        except smtplib.SMTPException as exc:
            raise MailAuthError(f"{who}: login failed: {exc}", host=cfg.host) from exc


def _header_addresses(message: EmailMessage, name: str) -> list[Address]:
    return [a for header in message.get_all(name, []) for a in getattr(header, "addresses", ())]


def _text(value: bytes | str) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def _reply(code: int, text: bytes | str) -> str:
    return f"{code} {_text(text)}"


def _refusals(recipients: dict[str, tuple[int, bytes]]) -> str:
    return "; ".join(f"{addr}: {_reply(code, text)}" for addr, (code, text) in recipients.items())


def _quit(smtp: smtplib.SMTP | None) -> None:
    if smtp is None:
        return
    try:
        smtp.quit()
    except (smtplib.SMTPException, OSError):
        smtp.close()

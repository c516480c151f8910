"""The mail adapter against a real SMTP server on loopback (aiosmtpd): no mocks."""

from __future__ import annotations

import os
import re
import socket
from collections.abc import Iterator
from dataclasses import replace
from email.headerregistry import Address
from email.message import EmailMessage

import pytest

from orderhub.adapters.mail import (
    Attachment,
    MailAuthError,
    Mailer,
    MailError,
    MailRefusedError,
    MailTlsError,
    SmtpConfig,
    build_message,
)
from orderhub.config import Settings
from orderhub.testing.smtp_server import SmtpTestServer

pytestmark = pytest.mark.timeout(60)

SENDER = Address("Orderhub Berichte 🤖", addr_spec="reports@orderhub.example")


def config_for(server: SmtpTestServer, **overrides: object) -> SmtpConfig:
    assert server.info is not None
    cfg = SmtpConfig(host=server.info.host, port=server.info.port, tls=server.tls if server.tls != "required"
                     else "starttls", ca_file=str(server.info.ca_file), sender="reports@orderhub.example",
                     timeout=10)
    return replace(cfg, **overrides)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def starttls_server() -> Iterator[SmtpTestServer]:
    with SmtpTestServer(tls="starttls", refuse=["nobody@shop.example"]) as server:
        yield server


@pytest.fixture(scope="module")
def plain_server() -> Iterator[SmtpTestServer]:
    with SmtpTestServer(tls="off") as server:
        yield server


@pytest.fixture
def smtp(starttls_server: SmtpTestServer) -> SmtpTestServer:
    starttls_server.clear()
    return starttls_server


@pytest.fixture
def plain(plain_server: SmtpTestServer) -> SmtpTestServer:
    plain_server.clear()
    return plain_server


# -- transport and TLS ------------------------------------------------------------------------------

def test_plain_send(plain: SmtpTestServer) -> None:
    sent = Mailer(config_for(plain, tls="off")).send_mail("ops@shop.example", "Daily digest", "3 orders failed.\n")
    [mail] = plain.wait_for(1)
    assert (mail.mail_from, mail.rcpt_tos, mail.tls) == ("reports@orderhub.example", ("ops@shop.example",), False)
    assert mail.message["Subject"] == "Daily digest"
    assert mail.message["Message-ID"] == sent.message_id and sent.recipients == ("ops@shop.example",)
    assert mail.message.get_content() == "3 orders failed.\n"
    assert mail.message["Date"].datetime.tzinfo is not None


def test_starttls_with_the_test_ca(smtp: SmtpTestServer) -> None:
    Mailer(config_for(smtp)).send_mail("ops@shop.example", "Encrypted", "hello\n")
    [mail] = smtp.wait_for(1)
    assert mail.tls is True


def test_an_untrusted_certificate_is_refused_and_nothing_is_sent(smtp: SmtpTestServer) -> None:
    mailer = Mailer(config_for(smtp, ca_file=None))
    with pytest.raises(MailTlsError, match=rf"SMTP 127\.0\.0\.1:{smtp.info.port}: the server's TLS certificate is "  # type: ignore[union-attr]
                       r"not trusted \(.*\); if a private CA signed it, set ca_file"):
        mailer.send_mail("ops@shop.example", "Should not arrive", "x")
    assert smtp.messages == []


def test_starttls_is_opportunistic_unless_required(plain: SmtpTestServer) -> None:
    Mailer(config_for(plain, tls="starttls")).send_mail("ops@shop.example", "In clear", "x")
    assert plain.wait_for(1)[0].tls is False
    with pytest.raises(MailTlsError, match=rf"127\.0\.0\.1:{plain.info.port}: the server does not offer STARTTLS, "  # type: ignore[union-attr]
                       r"and TLS is required \(tls=required\): nothing was sent"):
        Mailer(config_for(plain, tls="required")).send_mail("ops@shop.example", "Must be encrypted", "x")
    assert len(plain.messages) == 1


def test_required_starttls_succeeds_when_offered(smtp: SmtpTestServer) -> None:
    Mailer(config_for(smtp, tls="required")).send_mail("ops@shop.example", "Encrypted", "x")
    assert smtp.wait_for(1)[0].tls is True


def test_implicit_tls() -> None:
    with SmtpTestServer(tls="ssl") as server:
        Mailer(config_for(server, tls="ssl")).send_mail("ops@shop.example", "SMTPS", "x")
        assert server.wait_for(1)[0].tls is True
        with pytest.raises(MailTlsError, match="not trusted"):
            Mailer(config_for(server, tls="ssl", ca_file=None)).send_mail("ops@shop.example", "x", "x")
    with SmtpTestServer(tls="off") as server:
        with pytest.raises(MailTlsError, match="TLS handshake failed .*; is this the implicit-TLS port"):
            Mailer(config_for(server, tls="ssl")).send_mail("ops@shop.example", "x", "x")


def test_a_closed_port_names_the_server() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(MailError, match=rf"SMTP 127\.0\.0\.1:{port}: cannot connect \(Connection refused\)"):
        Mailer(SmtpConfig(host="127.0.0.1", port=port, tls="off", timeout=5)).send_mail(
            "ops@shop.example", "x", "x", sender="a@b.example")


# -- login ------------------------------------------------------------------------------------------

def test_login_over_starttls_and_a_wrong_password() -> None:
    with SmtpTestServer(tls="starttls", auth=("reports", "tr0ub4dor&3"), auth_required=True) as server:
        Mailer(config_for(server, username="reports", password="tr0ub4dor&3")).send_mail(
            "ops@shop.example", "Logged in", "x")
        [mail] = server.wait_for(1)
        assert (mail.login, mail.tls) == ("reports", True)

        with pytest.raises(MailAuthError) as caught:
            Mailer(config_for(server, username="reports", password="wrong-horse")).send_mail(
                "ops@shop.example", "x", "x")
        assert re.search(rf"SMTP 127\.0\.0\.1:{server.info.port}: user 'reports' was refused: 535",  # type: ignore[union-attr]
                         str(caught.value))
        assert "wrong-horse" not in str(caught.value)

        with pytest.raises(MailRefusedError, match="sender 'reports@orderhub.example' was refused: 530"):
            Mailer(config_for(server)).send_mail("ops@shop.example", "No login", "x")
        assert len(server.messages) == 1


def test_the_password_is_never_sent_in_clear_unless_tls_is_off() -> None:
    with SmtpTestServer(tls="off", auth=("relay", "pw-in-clear"), auth_require_tls=False) as server:
        with pytest.raises(MailTlsError, match="refusing to send the password of 'relay' in clear") as caught:
            Mailer(config_for(server, tls="starttls", username="relay", password="pw-in-clear")).send_mail(
                "ops@shop.example", "x", "x")
        assert "pw-in-clear" not in str(caught.value)
        Mailer(config_for(server, tls="off", username="relay", password="pw-in-clear")).send_mail(
            "ops@shop.example", "Local relay", "x")
        assert server.wait_for(1)[0].login == "relay"


# -- content ----------------------------------------------------------------------------------------

def test_unicode_subject_names_body_html_and_attachments_survive(smtp: SmtpTestServer) -> None:
    subject = "Bestellübersicht 📦 — تقرير الطلبات اليومي — 注文"
    text = "Guten Tag 👋\nשלום! 3 הזמנות נכשלו.\nمرحبا 🌙\n" + "ä" * 200 + "\n"
    html = "<p dir=\"rtl\">مرحبا <b>🌙</b></p><p>Grüße 📦</p>"
    csv_bytes = "order,customer\n1001,Zoë 😀\n1002,مريم\n".encode()
    png_bytes = b"\x89PNG\r\n\x1a\n" + os.urandom(50_000)
    attachments = [Attachment(csv_bytes, "bestellungen_ü😀.csv", "text/csv"),
                   Attachment(png_bytes, "chart.png", "image/png"),
                   Attachment(b"%PDF-1.7 fake", "Bericht März.pdf", "application/pdf")]
    to = [Address("Zoë Müller 😀", addr_spec="zoe@shop.example"), "مريم العلي <maryam@shop.example>"]
    Mailer(config_for(smtp)).send_mail(to, subject, text, html=html, attachments=attachments,
                                       cc=["Ops Team 🛠 <ops@shop.example>"], sender=SENDER,
                                       reply_to="Support 💬 <support@orderhub.example>")
    [mail] = smtp.wait_for(1)
    msg = mail.message
    assert all(ord(ch) < 128 for ch in mail.raw.decode("ascii")), "sent as 7-bit"
    assert msg["Subject"] == subject
    assert [(a.display_name, a.addr_spec) for a in msg["To"].addresses] == [
        ("Zoë Müller 😀", "zoe@shop.example"), ("مريم العلي", "maryam@shop.example")]
    assert msg["From"].addresses == (SENDER,)
    assert msg["Cc"].addresses[0].display_name == "Ops Team 🛠"
    assert msg["Reply-To"].addresses[0].display_name == "Support 💬"
    assert set(mail.rcpt_tos) == {"zoe@shop.example", "maryam@shop.example", "ops@shop.example"}
    assert msg.get_body(("plain",)).get_content() == text  # type: ignore[union-attr]
    assert msg.get_body(("html",)).get_content().strip() == html  # type: ignore[union-attr]
    received = [(p.get_filename(), p.get_content_type(), p.get_payload(decode=True)) for p in msg.iter_attachments()]
    assert received == [(a.filename, a.mime_type, a.content) for a in attachments]


def test_bcc_receives_without_appearing_in_headers(smtp: SmtpTestServer) -> None:
    Mailer(config_for(smtp)).send_mail("ops@shop.example", "Digest", "x", bcc=["audit@orderhub.example"])
    [mail] = smtp.wait_for(1)
    assert set(mail.rcpt_tos) == {"ops@shop.example", "audit@orderhub.example"}
    assert mail.message["Bcc"] is None and b"audit@" not in mail.raw


def test_a_non_ascii_address_goes_over_smtputf8(smtp: SmtpTestServer) -> None:
    Mailer(config_for(smtp)).send_mail("用户 <用户@例子.广告>", "SMTPUTF8", "x")
    [mail] = smtp.wait_for(1)
    assert mail.rcpt_tos == ("用户@例子.广告",)
    assert mail.message["To"].addresses[0].addr_spec == "用户@例子.广告"


def test_refused_recipients(smtp: SmtpTestServer) -> None:
    sent = Mailer(config_for(smtp)).send_mail(["ops@shop.example", "nobody@shop.example"], "Partly", "x")
    assert list(sent.refused) == ["nobody@shop.example"] and sent.refused["nobody@shop.example"][0] == 550
    assert smtp.wait_for(1)[0].rcpt_tos == ("ops@shop.example",)
    with pytest.raises(MailRefusedError, match=r"every recipient was refused: nobody@shop\.example: 550 5\.1\.1"):
        Mailer(config_for(smtp)).send_mail("nobody@shop.example", "Nobody", "x")


def test_header_injection_is_refused() -> None:
    with pytest.raises(ValueError):
        build_message(sender="a@orderhub.example", to="ops@shop.example",
                      subject="Digest\r\nBcc: victim@elsewhere.example", text="x")


def test_a_message_built_elsewhere_can_be_sent(plain: SmtpTestServer) -> None:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = "a@orderhub.example", "ops@shop.example", "Prebuilt"
    msg.set_content("hi")
    Mailer(config_for(plain, tls="off")).send(msg)
    assert plain.wait_for(1)[0].message["Subject"] == "Prebuilt"


# -- configuration ----------------------------------------------------------------------------------

def test_config_from_settings_keeps_the_password_out_of_repr(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ORDERHUB_SMTP_HOST", "smtp.example.org")
    monkeypatch.setenv("ORDERHUB_SMTP_USER", "reports")
    monkeypatch.setenv("ORDERHUB_SMTP_PASSWORD", "hunter2-secret")
    monkeypatch.setenv("ORDERHUB_SMTP_TLS", "SSL")
    monkeypatch.setenv("ORDERHUB_SMTP_FROM", "Orderhub <reports@orderhub.example>")
    monkeypatch.setenv("ORDERHUB_SMTP_CA_FILE", "/etc/orderhub/ca.pem")
    settings = Settings.from_env()
    cfg = SmtpConfig.from_settings(settings)
    assert (cfg.host, cfg.effective_port, cfg.username, cfg.password, cfg.tls, cfg.sender, cfg.ca_file) == (
        "smtp.example.org", 465, "reports", "hunter2-secret", "ssl", "Orderhub <reports@orderhub.example>",
        "/etc/orderhub/ca.pem")
    assert "hunter2" not in repr(settings) and "hunter2" not in repr(cfg)
    assert SmtpConfig(host="h").effective_port == 587 and SmtpConfig(host="h", tls="off").effective_port == 25
    monkeypatch.setenv("ORDERHUB_SMTP_TLS", "maybe")
    with pytest.raises(SystemExit, match="ORDERHUB_SMTP_TLS must be one of starttls, required, ssl, off"):
        Settings.from_env()
    with pytest.raises(ValueError, match="tls must be one of"):
        SmtpConfig(host="h", tls="tls")

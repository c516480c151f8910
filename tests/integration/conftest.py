"""Fixtures for integration tests: a stocked order management system, and a real SMTP server."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest

from orderhub.bootstrap import Hub, build
from orderhub.testing.smtp_server import SmtpTestServer
from tests.integration.test_destinations import sink  # noqa: F401 - a fixture: an HTTP destination on loopback
from tests.oms_support import make_oms

SENDER = "orderhub 🤖 <orderhub@shop.example>"


@pytest.fixture
def oms(hub: Hub) -> Any:
    """A shop and two warehouses: WH-BER (Berlin) with 5 of SKU-1 and SKU-2, WH-MUC (Munich) empty."""
    return make_oms(hub)


@pytest.fixture(scope="module")
def smtp_server() -> Iterator[SmtpTestServer]:
    """A real SMTP server on loopback (STARTTLS with a private CA), for the tests of one module."""
    with SmtpTestServer(tls="starttls") as server:
        yield server


@pytest.fixture
def mail_hub(hub: Hub, smtp_server: SmtpTestServer) -> Iterator[Hub]:
    """The hub with the test SMTP server configured (STARTTLS required, its CA trusted), sending as SENDER."""
    smtp_server.clear()
    info = smtp_server.info
    assert info is not None
    with_smtp = build(replace(hub.settings, smtp_host=info.host, smtp_port=info.port, smtp_tls="required",
                              smtp_from=SENDER, smtp_ca_file=str(info.ca_file)))
    yield with_smtp
    with_smtp.close()


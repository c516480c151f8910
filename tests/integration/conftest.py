"""Fixtures for integration tests of the order management system."""

from __future__ import annotations

from typing import Any

import pytest

from orderhub.bootstrap import Hub
from tests.oms_support import make_oms


@pytest.fixture
def oms(hub: Hub) -> Any:
    """A shop and two warehouses: WH-BER (Berlin) with 5 of SKU-1 and SKU-2, WH-MUC (Munich) empty."""
    return make_oms(hub)

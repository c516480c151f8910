"""The order pages: search, an order with its items, addresses, payments and timeline, and the
actions of the order management core."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(include_in_schema=False)

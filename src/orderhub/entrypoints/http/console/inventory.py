"""Inventory pages: a SKU across facilities with its ledger, and the facilities."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(include_in_schema=False)

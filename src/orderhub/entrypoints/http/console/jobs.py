"""The job manager's pages: a page per category, each job's schedule, parameters and runs, and the
category's Shopify webhook subscriptions."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(include_in_schema=False)

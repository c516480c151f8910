"""The error log's pages: filter, search, group, read a record and its payload, retry (as it is or
edited) and dismiss, one or many."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(include_in_schema=False)

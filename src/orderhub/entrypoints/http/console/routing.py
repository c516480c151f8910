"""Routing pages: the rules in order, edited, and a dry run that shows where an order would go and
why."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(include_in_schema=False)

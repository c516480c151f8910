"""The day the tests read Shopify's API-version rules on, and the versions supported that day.

Tests that run across versions parametrize over :data:`SUPPORTED`, computed by the same rule
orderhub uses, so the list moves with the rule and never by hand.
"""

from __future__ import annotations

from datetime import date

from orderhub.adapters.shopify import api_versions

TEST_DAY = date(2026, 12, 7)
SUPPORTED = api_versions.supported(TEST_DAY)
NEWEST = api_versions.newest_stable(TEST_DAY)

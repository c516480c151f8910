"""Fidelity: does orderhub store what Shopify means? Shopify's own bodies, replayed, compared field by field."""

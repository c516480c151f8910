"""Walmart Marketplace as a channel: orders in, stock and order operations out."""

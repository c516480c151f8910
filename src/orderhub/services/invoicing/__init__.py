"""Invoicing completed orders in the POS/ERP (Retail Pro): the feed, the transform, the
Order-to-Invoice calls with their transfer slips, the failure report and the stock check."""

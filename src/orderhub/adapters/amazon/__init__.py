"""Amazon Selling Partner API: orders in, stock and shipment confirmations out."""

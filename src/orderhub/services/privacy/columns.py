"""Every table orderhub keeps, and for each column that can hold text (and the few others that can say something
about a person), what a privacy request does with it. This is the decision written down as data: locating,
exporting and erasing a person read it, and a test fails when a table or a text column appears without one.

The treatments:

- ``NONE``: ids, codes, states, amounts, times, product and configuration data: nothing about a customer.
- ``STAFF``: who at the retailer did something (a console user, an API token's name, a job): not a customer's
  data; kept for the audit trail.
- ``SECRET``: hashes and sealed credentials: never exported, never a customer's.
- ``MERCHANT``: the retailer's own places and partners (a store's address, a supplier).
- ``LEGAL``: where an order was taxed (city, province, country): kept with the invoice and tax records.
- ``NAME``: a customer's name in a row about them: replaced by the pseudonym (or ``[redacted]``).
- ``CLEAR``: a customer's contact or address value in a row about them: emptied (NULL, or ``[redacted]`` where
  the column must hold a value).
- ``TEXT``: free text or JSON that can mention a customer (a raw payload, an error, a note): in rows about them,
  scrubbed field by field; in every other row, searched for their e-mail, phone, loyalty id, street or full
  name and scrubbed where it holds one.
- ``SEALED``: encrypted text (adapters/store/secrets.py) that can mention a customer: opened, scrubbed and sealed
  again.
- ``FILE``: file content kept in the database (job run files): read (gzip or not), scrubbed line by line.
"""

from __future__ import annotations

NONE, STAFF, SECRET, MERCHANT, LEGAL = "none", "staff", "secret", "merchant", "legal"
NAME, CLEAR, TEXT, SEALED, FILE = "name", "clear", "text", "sealed", "file"
TREATMENTS = frozenset({NONE, STAFF, SECRET, MERCHANT, LEGAL, NAME, CLEAR, TEXT, SEALED, FILE})
PERSONAL = frozenset({NAME, CLEAR, TEXT, SEALED, FILE})  # what a request touches
SEARCHED = frozenset({TEXT, SEALED, FILE})  # what is searched by content

TABLES: dict[str, dict[str, str]] = {
    "api_tokens": {"name": STAFF, "token_hash": SECRET, "scopes": NONE, "role": NONE},
    "channel_facility_groups": {},
    "channel_listings": {"sku": NONE, "location": NONE, "channel_ref": NONE},
    "channel_operations": {"kind": NONE, "reference": NONE, "payload": TEXT, "status": NONE, "last_error": TEXT},
    "channel_stock": {"sku": NONE, "location": NONE, "last_error": NONE},
    "channels": {"code": NONE, "name": NONE},
    "console_sessions": {"id": SECRET, "csrf_token": SECRET, "ip": STAFF, "user_agent": STAFF},
    "console_sign_in_limits": {"key": STAFF},
    "console_sign_ins": {"username_key": STAFF, "ip": STAFF},
    "console_users": {"username": STAFF, "username_key": STAFF, "password_hash": SECRET, "role": NONE},
    "customer_access_log": {"actor": STAFF, "via": NONE, "what": NONE, "detail": TEXT},
    "customer_consents": {"purpose": NONE, "scope": NONE, "state": NONE, "source": NONE, "actor": STAFF,
                          "opt_in_level": NONE, "note": TEXT},
    "customer_match_rules": {"kind": NONE, "key": NONE, "updated_by": STAFF},
    "customer_merges": {"moved": NONE, "rule": NONE, "actor": STAFF, "reason": TEXT, "undone_by": STAFF,
                        "undo_reason": TEXT},
    "customer_profiles": {"pseudonym": NONE},
    "customer_separations": {"actor": STAFF},
    # shopify_id is the channel's own id of the person: kept, so the channel can be asked to erase them too.
    "customers": {"shopify_id": NONE, "email": CLEAR, "first_name": NAME, "last_name": NAME, "phone": CLEAR,
                  "email_key": CLEAR, "phone_key": CLEAR, "loyalty_key": CLEAR, "linked_by": NONE},
    "deliveries": {"event_id": NONE, "topic": NONE, "payload": TEXT, "status": NONE, "locked_by": NONE,
                   "last_error": TEXT, "history": TEXT},
    "destinations": {"name": NONE, "kind": NONE, "url": NONE, "secret": SECRET},
    "error_log": {"record_type": NONE, "topic": NONE, "source": NONE, "kind": NONE, "status": NONE, "error": TEXT,
                  "field": NONE, "payload": TEXT, "attempts": TEXT, "dismissed_by": STAFF, "dismissed_reason": TEXT},
    "facilities": {"code": NONE, "name": MERCHANT, "kind": NONE, "address1": MERCHANT, "city": MERCHANT,
                   "province": MERCHANT, "zip": MERCHANT, "country_code": MERCHANT, "pos_store_code": NONE,
                   "timezone": NONE},
    "facility_daily_load": {"day": NONE},
    "facility_group_members": {},
    "facility_groups": {"code": NONE, "name": NONE},
    "imported_files": {"job": NONE, "name": NONE, "sha256": NONE, "status": NONE},
    "inbox": {"source": NONE, "topic": NONE, "identity": NONE, "webhook_id": NONE, "event_id": NONE,
              "api_version": NONE, "payload": TEXT, "status": NONE, "outcome": NONE, "last_error": TEXT},
    "inventory": {"sku": NONE},
    "inventory_ledger": {"sku": NONE, "reason": NONE, "actor": STAFF, "note": TEXT},
    "inventory_levels": {"inventory_item_id": NONE, "location_id": NONE},
    "inventory_thresholds": {"selector_kind": NONE, "selector_value": NONE, "channel_code": NONE,
                             "updated_by": STAFF},
    # The invoicing log: the requests are legal records, kept pseudonymised (names: the pseudonym).
    "invoice_calls": {"document": NONE, "outcome": NONE, "method": NONE, "url": NONE, "request": TEXT,
                      "response": TEXT, "error": TEXT},
    "invoice_transfers": {"from_store": NONE, "to_store": NONE, "slip_no": NONE, "body": TEXT, "status": NONE,
                          "sid": NONE, "error": TEXT},
    "job_chains": {"upstream_job": NONE, "downstream_job": NONE, "params": NONE, "trigger_on": NONE},
    "job_run_files": {"kind": NONE, "name": NONE, "content": FILE},
    "job_run_logs": {"level": NONE, "message": TEXT},
    "job_runs": {"job": NONE, "status": NONE, "trigger": NONE, "params": TEXT, "stats": TEXT, "error": TEXT,
                 "input_file": NONE, "node": NONE, "exclusive_key": NONE, "progress_unit": NONE},
    "job_schedules": {"job": NONE, "expression": NONE, "timezone": NONE, "params": NONE, "missed_policy": NONE},
    "job_state": {"job": NONE, "key": NONE, "value": NONE},
    "order_addresses": {"kind": NONE, "name": NAME, "first_name": NAME, "last_name": NAME, "company": CLEAR,
                        "address1": CLEAR, "address2": CLEAR, "city": LEGAL, "province": LEGAL,
                        "province_code": LEGAL, "zip": CLEAR, "country": LEGAL, "country_code": LEGAL,
                        "phone": CLEAR, "latitude": CLEAR, "longitude": CLEAR},
    "order_discounts": {"type": NONE, "code": TEXT, "title": TEXT, "description": TEXT, "value_type": NONE,
                        "target_type": NONE, "target_selection": NONE, "allocation_method": NONE},
    "order_edits": {"shopify_id": NONE, "order_shopify_id": NONE, "changes": TEXT},
    "order_events": {"order_shopify_id": NONE, "kind": NONE, "detail": TEXT, "actor": STAFF},
    "order_invoices": {"status": NONE, "feed_file": NONE, "invoicing_store": NONE, "order_no": NONE, "sid": NONE,
                       "error": TEXT, "field": NONE},
    "order_items": {"shopify_id": NONE, "sku": NONE, "title": NONE, "variant_title": NONE,
                    "product_shopify_id": NONE, "variant_shopify_id": NONE, "source_fulfillment_status": NONE},
    "order_shipping_lines": {"shopify_id": NONE, "title": NONE, "code": NONE},
    "order_units": {"sku": NONE, "status": NONE, "queue": NONE, "ship_group": NONE, "rejected_facilities": NONE,
                    "reason": TEXT},
    # The order itself is kept (amounts, dates, numbers: the tax record); who bought it goes.
    "orders": {"shopify_id": NONE, "name": NONE, "number": NONE, "email": CLEAR, "source_status": NONE,
               "source_financial_status": NONE, "source_fulfillment_status": NONE, "status": NONE,
               "payment_status": NONE, "fulfillment_status": NONE, "held_from": NONE, "status_reason": TEXT,
               "channel": NONE, "shipping_method": NONE, "pickup_location": NONE, "customer_locale": NONE,
               "currency": NONE, "fulfilled_by": NONE, "presentment_currency": NONE, "tags": TEXT, "note": CLEAR,
               "cancel_reason": NONE},
    "outbox": {"event_type": NONE, "ordering_key": NONE, "payload": TEXT},
    "payment_authorizations": {"gateway": NONE, "reference": NONE, "currency": NONE, "status": NONE},
    "pickup_mails": {"kind": NONE, "recipient": CLEAR, "locale": NONE, "subject": TEXT, "body_text": SEALED,
                     "body_html": SEALED, "status": NONE, "last_error": TEXT},
    "pickups": {"status": NONE, "ready_by": STAFF, "code_salt": SECRET, "code_hash": SECRET, "collected_by": STAFF,
                "note": TEXT},
    "pos_devices": {"name": NONE, "token_hash": SECRET, "status": NONE, "version": NONE, "revoked_by": STAFF},
    "pos_enrolment_codes": {"code_hash": SECRET, "created_by": STAFF},
    "presell_catalogue": {"sku": NONE, "kind": NONE},
    "privacy_requests": {"kind": NONE, "customer_shopify_id": NONE, "actor": STAFF, "result": TEXT},
    "products": {"shopify_id": NONE, "title": NONE, "handle": NONE, "vendor": NONE, "product_type": NONE,
                 "status": NONE, "tags": NONE},
    "promise_changes": {"sku": NONE, "actor": STAFF},
    "purchase_order_lines": {"sku": NONE},
    "purchase_orders": {"po_number": NONE, "supplier": MERCHANT, "status": NONE, "updated_by": STAFF},
    "rate_buckets": {"name": NONE},
    "reconciliation_findings": {"order_shopify_id": NONE, "kind": NONE, "diff": TEXT, "action": NONE},
    "reconciliations": {"summary": NONE, "actor": STAFF},
    "refunds": {"shopify_id": NONE, "order_shopify_id": NONE, "note": TEXT, "currency": NONE, "lines": NONE,
                "adjustments": TEXT, "time_source": NONE},
    "returns": {"reason": TEXT, "disposition": NONE, "currency": NONE, "actor": STAFF},
    "routing_rules": {"name": NONE, "config": NONE},
    "routing_runs": {"name": NONE},
    "routings": {"name": NONE, "config": NONE},
    # A tracking number names a parcel, not a person: kept as the proof of delivery.
    "shipments": {"status": NONE, "carrier": NONE, "tracking_number": NONE},
    "shops": {"domain": NONE, "kind": NONE, "webhook_secret": SECRET, "admin_url": NONE, "access_token": SECRET,
              "api_version": NONE, "settings": NONE, "credentials": SECRET, "sales_channel": NONE, "status": NONE},
    "store_sales": {"sale_ref": NONE, "currency": NONE, "flags": NONE},
    "store_variances": {"sku": NONE, "kind": NONE, "note": TEXT},
    "subscription_deliveries": {"ordering_key": NONE, "status": NONE, "locked_by": NONE, "last_error": TEXT,
                                "history": TEXT},
    "subscriptions": {"url": NONE, "events": NONE, "secret": SECRET, "description": NONE},
    "traffic_minutes": {"series": NONE, "name": NONE},
    "variants": {"product_shopify_id": NONE, "shopify_id": NONE, "sku": NONE, "title": NONE, "barcode": NONE,
                 "inventory_item_id": NONE},
    "workflow_steps": {"step": NONE, "action": NONE, "outcome": NONE, "detail": TEXT},
    "workflows": {"kind": NONE, "status": NONE, "context": TEXT, "error": TEXT},
}


def columns(table: str, *treatments: str) -> list[str]:
    """The columns of ``table`` given one of ``treatments``."""
    return [c for c, t in TABLES.get(table, {}).items() if t in treatments]


def searched_tables() -> list[str]:
    """Tables with a column searched by content."""
    return sorted(t for t, cols in TABLES.items() if any(v in SEARCHED for v in cols.values()))

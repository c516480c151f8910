"""order lists on a cold cache: a covering index for the quantities a list shows, and the SQLite search indexes
merged into one segment each

Revision ID: 0028
Revises: 0027
Create Date: 2026-12-10 09:00:00

- ``ix_order_items_quantity`` (order_id, current_quantity): a list shows each order's quantity, summed over its
  lines. The lines' unique key (order_id, shopify_id) finds them but not their quantity, so each order of a page
  cost a read of its index entries and one of its rows; this index holds both (one read an order).
- SQLite: each FTS5 search table is merged into one segment (FTS5's 'optimize'). Migration 0027 built them with
  'rebuild', which leaves several segments (6-11 on a million orders), and a trigram is looked up in every one:
  with one, counting a fragment's trigrams reads a third as many pages. Later writes add small segments, which
  FTS5 merges as they accumulate (its automerge).
"""

from alembic import op

revision = '0028'
down_revision = '0027'
branch_labels = None
depends_on = None

SEARCH_TABLES = ('order_search', 'order_address_search', 'customer_search')


def upgrade() -> None:
    op.create_index('ix_order_items_quantity', 'order_items', ['order_id', 'current_quantity'])
    if op.get_bind().dialect.name == 'sqlite':
        for fts in SEARCH_TABLES:
            op.execute(f"INSERT INTO {fts} ({fts}) VALUES ('optimize')")


def downgrade() -> None:
    op.drop_index('ix_order_items_quantity', table_name='order_items')
    # The merged search tables stay merged: the same index, in fewer pieces.

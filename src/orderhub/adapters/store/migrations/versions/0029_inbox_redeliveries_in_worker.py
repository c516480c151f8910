"""inbox: a Shopify redelivery is known by its content identity in the worker, not by a unique webhook id

Shopify's webhook ids are random UUIDs: a unique index on them put every stored webhook on a page of
its own in the index, the most costly write of the door. A redelivery carries the body of the original,
so the worker finds it a repeat of the record that holds its identity, as it does any other repeat.

Revision ID: 0029
Revises: 0028
Create Date: 2026-12-08 03:00:00
"""

from alembic import op

revision = '0029'
down_revision = '0028'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('inbox') as batch:
        batch.drop_constraint('uq_inbox_shop_id_webhook_id', type_='unique')


def downgrade() -> None:
    # Redeliveries kept since are records of their own: all but the first of a webhook id give it up.
    op.execute("UPDATE inbox SET webhook_id = NULL WHERE webhook_id IS NOT NULL AND id > ("
               "SELECT MIN(first.id) FROM inbox AS first WHERE first.shop_id = inbox.shop_id "
               "AND first.webhook_id = inbox.webhook_id)")
    with op.batch_alter_table('inbox') as batch:
        batch.create_unique_constraint('uq_inbox_shop_id_webhook_id', ['shop_id', 'webhook_id'])

"""shipping lines by order: the invoicing feed reads each batch's shipping lines by order id

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-23 23:40:00
"""

from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Without it the feed scans the whole table once per batch.
    op.create_index('ix_order_shipping_lines_order', 'order_shipping_lines', ['order_id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_order_shipping_lines_order', table_name='order_shipping_lines')

"""privacy: orders whose personal data was erased (a person's erasure, a channel's redaction, the retention purge)

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-07 19:00:00
"""

import sqlalchemy as sa
from alembic import op

from orderhub.adapters.store.types import UTCDateTime

revision = '0025'
down_revision = '0024'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('orders') as batch:
        batch.add_column(sa.Column('personal_data_erased_at', UTCDateTime(), nullable=True))
    op.create_index('ix_orders_personal_data', 'orders', ['personal_data_erased_at', 'updated_at'])


def downgrade() -> None:
    op.drop_index('ix_orders_personal_data', table_name='orders')
    with op.batch_alter_table('orders') as batch:
        batch.drop_column('personal_data_erased_at')

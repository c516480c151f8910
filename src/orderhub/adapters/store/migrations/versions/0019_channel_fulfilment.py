"""channel_fulfilment: orders the channel ships from its own stock, and the channel's ship/deliver-by promise

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-07 11:20:00
"""

import sqlalchemy as sa
from alembic import op

import orderhub.adapters.store.types

revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('orders') as batch:
        batch.add_column(sa.Column('fulfilled_by', sa.String(length=16), nullable=True))
        batch.add_column(sa.Column('deliver_by', orderhub.adapters.store.types.UTCDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('orders') as batch:
        batch.drop_column('deliver_by')
        batch.drop_column('fulfilled_by')

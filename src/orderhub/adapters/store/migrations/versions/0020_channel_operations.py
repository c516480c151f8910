"""channel_operations: shipments to confirm and lines to cancel on a channel, sent after the change commits

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-07 11:40:00
"""

import sqlalchemy as sa
from alembic import op

import orderhub.adapters.store.types

revision = '0020'
down_revision = '0019'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'channel_operations',
        sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), primary_key=True, autoincrement=True),
        sa.Column('account_id', sa.Integer(), sa.ForeignKey('shops.id', ondelete='CASCADE'), nullable=False),
        sa.Column('order_id', sa.BigInteger(), sa.ForeignKey('orders.id', ondelete='CASCADE'), nullable=False),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('reference', sa.String(length=100), nullable=False),
        sa.Column('payload', sa.Text(), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False, server_default='0'),
        sa.Column('available_at', orderhub.adapters.store.types.UTCDateTime(), nullable=False),
        sa.Column('created_at', orderhub.adapters.store.types.UTCDateTime(), nullable=False),
        sa.Column('done_at', orderhub.adapters.store.types.UTCDateTime(), nullable=True),
        sa.Column('last_error', sa.Text(), nullable=True),
        sa.UniqueConstraint('account_id', 'kind', 'reference'),
    )
    op.create_index('ix_channel_operations_due', 'channel_operations', ['status', 'available_at'])


def downgrade() -> None:
    op.drop_index('ix_channel_operations_due', table_name='channel_operations')
    op.drop_table('channel_operations')

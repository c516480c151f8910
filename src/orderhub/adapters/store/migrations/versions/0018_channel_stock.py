"""channel_stock: the SKUs each channel account lists, and the latest quantity each listing should show

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-07 11:00:00
"""

import sqlalchemy as sa
from alembic import op

import orderhub.adapters.store.types

revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'channel_listings',
        sa.Column('account_id', sa.Integer(), sa.ForeignKey('shops.id', ondelete='CASCADE'), nullable=False),
        sa.Column('sku', sa.String(length=255), nullable=False),
        sa.Column('location', sa.String(length=100), nullable=False, server_default=''),
        sa.Column('channel_ref', sa.String(length=255), nullable=True),
        sa.Column('listed_at', orderhub.adapters.store.types.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint('account_id', 'sku', 'location'),
    )
    op.create_table(
        'channel_stock',
        sa.Column('account_id', sa.Integer(), sa.ForeignKey('shops.id', ondelete='CASCADE'), nullable=False),
        sa.Column('sku', sa.String(length=255), nullable=False),
        sa.Column('location', sa.String(length=100), nullable=False, server_default=''),
        sa.Column('wanted', sa.Integer(), nullable=False),
        sa.Column('version', sa.Integer(), nullable=False, server_default='1'),
        sa.Column('changed_at', orderhub.adapters.store.types.UTCDateTime(), nullable=False),
        sa.Column('sent', sa.Integer(), nullable=True),
        sa.Column('sent_version', sa.Integer(), nullable=True),
        sa.Column('sent_at', orderhub.adapters.store.types.UTCDateTime(), nullable=True),
        sa.Column('attempts', sa.Integer(), nullable=False, server_default='0'),
        sa.Column('available_at', orderhub.adapters.store.types.UTCDateTime(), nullable=False),
        sa.Column('last_error', sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint('account_id', 'sku', 'location'),
    )


def downgrade() -> None:
    op.drop_table('channel_stock')
    op.drop_table('channel_listings')

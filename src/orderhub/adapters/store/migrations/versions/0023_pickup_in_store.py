"""pickup in store: pickups and their customer e-mails; an order's pickup store and customer locale; a
store's pickup days

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-07 16:00:00
"""

import sqlalchemy as sa
from alembic import op

from orderhub.adapters.store.types import UTCDateTime

revision = '0023'
down_revision = '0022'
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table('facilities') as batch:
        batch.add_column(sa.Column('pickup_days', sa.Integer(), nullable=True))
    with op.batch_alter_table('orders') as batch:
        batch.add_column(sa.Column('pickup_facility_id', sa.Integer(), nullable=True))
        batch.add_column(sa.Column('pickup_location', sa.String(length=64), nullable=True))
        batch.add_column(sa.Column('customer_locale', sa.String(length=16), nullable=True))
        batch.create_foreign_key('fk_orders_pickup_facility_id_facilities', 'facilities', ['pickup_facility_id'],
                                 ['id'])
    op.create_table(
        'pickups',
        sa.Column('id', BigId, primary_key=True, autoincrement=True),
        sa.Column('order_id', sa.BigInteger(), sa.ForeignKey('orders.id', name='fk_pickups_order_id_orders',
                                                             ondelete='CASCADE'), nullable=False),
        sa.Column('facility_id', sa.Integer(), sa.ForeignKey('facilities.id', name='fk_pickups_facility_id_facilities'),
                  nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('ready_at', UTCDateTime(), nullable=True),
        sa.Column('ready_by', sa.String(length=100), nullable=True),
        sa.Column('collect_by', UTCDateTime(), nullable=True),
        sa.Column('code_salt', sa.String(length=32), nullable=True),
        sa.Column('code_hash', sa.String(length=128), nullable=True),
        sa.Column('failed_attempts', sa.Integer(), nullable=False, server_default='0'),
        sa.Column('locked_at', UTCDateTime(), nullable=True),
        sa.Column('reminded_at', UTCDateTime(), nullable=True),
        sa.Column('collected_at', UTCDateTime(), nullable=True),
        sa.Column('collected_by', sa.String(length=100), nullable=True),
        sa.Column('closed_at', UTCDateTime(), nullable=True),
        sa.Column('note', sa.Text(), nullable=True),
        sa.Column('created_at', UTCDateTime(), nullable=False),
        sa.Column('updated_at', UTCDateTime(), nullable=False),
        sa.UniqueConstraint('order_id', name='uq_pickups_order_id'),
    )
    op.create_index('ix_pickups_store', 'pickups', ['facility_id', 'status', 'collect_by'])
    op.create_table(
        'pickup_mails',
        sa.Column('id', BigId, primary_key=True, autoincrement=True),
        sa.Column('pickup_id', sa.BigInteger(), sa.ForeignKey('pickups.id', name='fk_pickup_mails_pickup_id_pickups',
                                                              ondelete='CASCADE'), nullable=False),
        sa.Column('order_id', sa.BigInteger(), nullable=False),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('recipient', sa.String(length=320), nullable=True),
        sa.Column('locale', sa.String(length=16), nullable=False),
        sa.Column('subject', sa.Text(), nullable=True),
        sa.Column('body_text', sa.Text(), nullable=True),
        sa.Column('body_html', sa.Text(), nullable=True),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False, server_default='0'),
        sa.Column('available_at', UTCDateTime(), nullable=False),
        sa.Column('last_error', sa.Text(), nullable=True),
        sa.Column('created_at', UTCDateTime(), nullable=False),
        sa.Column('sent_at', UTCDateTime(), nullable=True),
    )
    op.create_index('ix_pickup_mails_pending', 'pickup_mails', ['status', 'available_at', 'id'])


def downgrade() -> None:
    op.drop_table('pickup_mails')
    op.drop_table('pickups')
    with op.batch_alter_table('orders') as batch:
        batch.drop_constraint('fk_orders_pickup_facility_id_facilities', type_='foreignkey')
        batch.drop_column('customer_locale')
        batch.drop_column('pickup_location')
        batch.drop_column('pickup_facility_id')
    with op.batch_alter_table('facilities') as batch:
        batch.drop_column('pickup_days')

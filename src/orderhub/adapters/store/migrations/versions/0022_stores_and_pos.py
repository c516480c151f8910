"""stores and POS terminals: devices, enrolment codes, store sales, store variances; a store's online
safety stock and time zone

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-07 15:10:00
"""

import sqlalchemy as sa
from alembic import op

from orderhub.adapters.store.types import Money, UTCDateTime

revision = '0022'
down_revision = '0021'
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table('facilities') as batch:
        batch.add_column(sa.Column('online_safety_stock', sa.Integer(), nullable=False, server_default='0'))
        batch.add_column(sa.Column('timezone', sa.String(length=64), nullable=True))
    op.create_table(
        'pos_devices',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('facility_id', sa.Integer(), sa.ForeignKey('facilities.id', name='fk_pos_devices_facility_id_facilities'),
                  nullable=False),
        sa.Column('name', sa.String(length=100), nullable=False),
        sa.Column('token_hash', sa.String(length=64), nullable=True),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('version', sa.String(length=64), nullable=True),
        sa.Column('enrolled_at', UTCDateTime(), nullable=False),
        sa.Column('last_seen_at', UTCDateTime(), nullable=True),
        sa.Column('last_sync_at', UTCDateTime(), nullable=True),
        sa.Column('queue_length', sa.Integer(), nullable=True),
        sa.Column('queue_oldest_at', UTCDateTime(), nullable=True),
        sa.Column('last_sequence', sa.BigInteger(), nullable=True),
        sa.Column('sales', sa.BigInteger(), nullable=False, server_default='0'),
        sa.Column('revoked_at', UTCDateTime(), nullable=True),
        sa.Column('revoked_by', sa.String(length=100), nullable=True),
        sa.UniqueConstraint('token_hash', name='uq_pos_devices_token_hash'),
        sa.UniqueConstraint('facility_id', 'name', name='uq_pos_devices_facility_id_name'),
    )
    op.create_table(
        'pos_enrolment_codes',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('facility_id', sa.Integer(),
                  sa.ForeignKey('facilities.id', name='fk_pos_enrolment_codes_facility_id_facilities'), nullable=False),
        sa.Column('code_hash', sa.String(length=64), nullable=False),
        sa.Column('created_by', sa.String(length=100), nullable=False),
        sa.Column('created_at', UTCDateTime(), nullable=False),
        sa.Column('expires_at', UTCDateTime(), nullable=False),
        sa.Column('used_at', UTCDateTime(), nullable=True),
        sa.Column('device_id', sa.Integer(), nullable=True),
        sa.UniqueConstraint('code_hash', name='uq_pos_enrolment_codes_code_hash'),
    )
    op.create_table(
        'store_sales',
        sa.Column('id', BigId, primary_key=True, autoincrement=True),
        sa.Column('inbox_id', sa.BigInteger(), nullable=False),
        sa.Column('facility_id', sa.Integer(), sa.ForeignKey('facilities.id', name='fk_store_sales_facility_id_facilities'),
                  nullable=False),
        sa.Column('device_id', sa.Integer(), sa.ForeignKey('pos_devices.id', name='fk_store_sales_device_id_pos_devices'),
                  nullable=True),
        sa.Column('sale_ref', sa.String(length=100), nullable=False),
        sa.Column('sequence', sa.BigInteger(), nullable=True),
        sa.Column('order_id', sa.BigInteger(), sa.ForeignKey('orders.id', name='fk_store_sales_order_id_orders',
                                                             ondelete='SET NULL'), nullable=True),
        sa.Column('device_time', UTCDateTime(), nullable=True),
        sa.Column('sold_at', UTCDateTime(), nullable=False),
        sa.Column('recorded_at', UTCDateTime(), nullable=False),
        sa.Column('delay_seconds', sa.Integer(), nullable=False, server_default='0'),
        sa.Column('units_sold', sa.Integer(), nullable=False, server_default='0'),
        sa.Column('units_returned', sa.Integer(), nullable=False, server_default='0'),
        sa.Column('total', Money(), nullable=False),
        sa.Column('currency', sa.String(length=3), nullable=False),
        sa.Column('flags', sa.String(length=200), nullable=False, server_default=''),
        sa.UniqueConstraint('inbox_id', name='uq_store_sales_inbox_id'),
    )
    op.create_index('ix_store_sales_day', 'store_sales', ['facility_id', 'sold_at'])
    op.create_index('ix_store_sales_device', 'store_sales', ['device_id', 'sequence'])
    op.create_table(
        'store_variances',
        sa.Column('id', BigId, primary_key=True, autoincrement=True),
        sa.Column('facility_id', sa.Integer(),
                  sa.ForeignKey('facilities.id', name='fk_store_variances_facility_id_facilities'), nullable=False),
        sa.Column('sku', sa.String(length=255), nullable=False),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('short', sa.Integer(), nullable=False),
        sa.Column('on_hand_after', sa.Integer(), nullable=False),
        sa.Column('reserved_before', sa.Integer(), nullable=False),
        sa.Column('rebrokered', sa.Integer(), nullable=False, server_default='0'),
        sa.Column('parked', sa.Integer(), nullable=False, server_default='0'),
        sa.Column('store_sale_id', sa.BigInteger(), nullable=True),
        sa.Column('order_id', sa.BigInteger(), nullable=True),
        sa.Column('note', sa.Text(), nullable=True),
        sa.Column('created_at', UTCDateTime(), nullable=False),
    )
    op.create_index('ix_store_variances_facility', 'store_variances', ['facility_id', 'created_at'])


def downgrade() -> None:
    op.drop_table('store_variances')
    op.drop_table('store_sales')
    op.drop_table('pos_enrolment_codes')
    op.drop_table('pos_devices')
    with op.batch_alter_table('facilities') as batch:
        batch.drop_column('timezone')
        batch.drop_column('online_safety_stock')

"""order discounts: Shopify's discount applications per order, the order's other figures (taxes included,
tips, duties, fees, the customer's currency), and where a refund's time and adjustments came from

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07 07:00:00
"""

import sqlalchemy as sa
from alembic import op

import orderhub.adapters.store.types

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None

Money = orderhub.adapters.store.types.Money


def upgrade() -> None:
    op.create_table(
        'order_discounts',
        sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
        sa.Column('order_id', sa.BigInteger(), nullable=False),
        sa.Column('position', sa.Integer(), nullable=False),
        sa.Column('type', sa.String(length=32), nullable=False),
        sa.Column('code', sa.String(length=255), nullable=True),
        sa.Column('title', sa.String(length=255), nullable=True),
        sa.Column('description', sa.Text(), nullable=True),
        sa.Column('value', Money(), nullable=False),
        sa.Column('value_type', sa.String(length=16), nullable=False),
        sa.Column('target_type', sa.String(length=16), nullable=False),
        sa.Column('target_selection', sa.String(length=16), nullable=True),
        sa.Column('allocation_method', sa.String(length=16), nullable=True),
        sa.Column('allocated', Money(), nullable=False),
        sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_order_discounts_order_id_orders'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_order_discounts')),
        sa.UniqueConstraint('order_id', 'position', name=op.f('uq_order_discounts_order_id_position')),
    )
    with op.batch_alter_table('orders') as batch:
        batch.add_column(sa.Column('taxes_included', sa.Boolean(), server_default='0', nullable=False))
        batch.add_column(sa.Column('total_line_items_price', Money(), nullable=True))
        batch.add_column(sa.Column('total_tip', Money(), server_default='0', nullable=False))
        batch.add_column(sa.Column('total_duties', Money(), server_default='0', nullable=False))
        batch.add_column(sa.Column('total_additional_fees', Money(), server_default='0', nullable=False))
        batch.add_column(sa.Column('presentment_currency', sa.String(length=3), nullable=True))
        batch.add_column(sa.Column('presentment_total_price', Money(), nullable=True))
    with op.batch_alter_table('refunds') as batch:
        batch.add_column(sa.Column('adjustments', sa.Text(), server_default='[]', nullable=False))
        batch.add_column(sa.Column('time_source', sa.String(length=16), server_default='created_at', nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('refunds') as batch:
        batch.drop_column('time_source')
        batch.drop_column('adjustments')
    with op.batch_alter_table('orders') as batch:
        for column in ('presentment_total_price', 'presentment_currency', 'total_additional_fees', 'total_duties',
                       'total_tip', 'total_line_items_price', 'taxes_included'):
            batch.drop_column(column)
    op.drop_table('order_discounts')

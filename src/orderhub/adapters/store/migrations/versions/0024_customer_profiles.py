"""one customer across every channel: profiles, their identities' keys, merges, separations, match rules,
consent history, the record of reads; privacy requests made in orderhub; channel operations about a person

Identities that exist already are linked by the link-customers job (and `orderhub customer relink`), not here:
linking reads the match rules, and a large table is linked in batches a worker can stop between.

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-07 18:00:00
"""

import sqlalchemy as sa
from alembic import op

from orderhub.adapters.store.types import UTCDateTime

revision = '0024'
down_revision = '0023'
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        'customer_profiles',
        sa.Column('id', BigId, primary_key=True, autoincrement=True),
        sa.Column('created_at', UTCDateTime(), nullable=False),
        sa.Column('updated_at', UTCDateTime(), nullable=False),
        sa.Column('merged_into', sa.BigInteger(), nullable=True),
        sa.Column('erased_at', UTCDateTime(), nullable=True),
        sa.Column('pseudonym', sa.String(length=40), nullable=True),
    )
    op.create_index('ix_customer_profiles_merged_into', 'customer_profiles', ['merged_into'])
    with op.batch_alter_table('customers') as batch:
        batch.add_column(sa.Column('profile_id', sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column('email_key', sa.String(length=320), nullable=True))
        batch.add_column(sa.Column('phone_key', sa.String(length=32), nullable=True))
        batch.add_column(sa.Column('loyalty_key', sa.String(length=100), nullable=True))
        batch.add_column(sa.Column('linked_by', sa.String(length=32), nullable=True))
        batch.add_column(sa.Column('deleted_at', UTCDateTime(), nullable=True))
    op.create_index('ix_customers_profile', 'customers', ['profile_id'])
    op.create_index('ix_customers_email_key', 'customers', ['email_key'])
    op.create_index('ix_customers_phone_key', 'customers', ['phone_key'])
    op.create_index('ix_customers_loyalty_key', 'customers', ['loyalty_key'])
    op.create_index('ix_orders_customer', 'orders', ['customer_id'])
    op.create_table(
        'customer_merges',
        sa.Column('id', BigId, primary_key=True, autoincrement=True),
        sa.Column('kept_id', sa.BigInteger(), sa.ForeignKey(
            'customer_profiles.id', name='fk_customer_merges_kept_id_customer_profiles'), nullable=False),
        sa.Column('merged_id', sa.BigInteger(), sa.ForeignKey(
            'customer_profiles.id', name='fk_customer_merges_merged_id_customer_profiles'), nullable=False),
        sa.Column('moved', sa.Text(), nullable=False),
        sa.Column('rule', sa.String(length=32), nullable=True),
        sa.Column('actor', sa.String(length=100), nullable=False),
        sa.Column('reason', sa.Text(), nullable=True),
        sa.Column('created_at', UTCDateTime(), nullable=False),
        sa.Column('undone_at', UTCDateTime(), nullable=True),
        sa.Column('undone_by', sa.String(length=100), nullable=True),
        sa.Column('undo_reason', sa.Text(), nullable=True),
    )
    op.create_index('ix_customer_merges_kept', 'customer_merges', ['kept_id'])
    op.create_index('ix_customer_merges_merged', 'customer_merges', ['merged_id'])
    op.create_table(
        'customer_separations',
        sa.Column('low_id', sa.BigInteger(), primary_key=True),
        sa.Column('high_id', sa.BigInteger(), primary_key=True),
        sa.Column('actor', sa.String(length=100), nullable=False),
        sa.Column('created_at', UTCDateTime(), nullable=False),
    )
    op.create_table(
        'customer_match_rules',
        sa.Column('kind', sa.String(length=16), primary_key=True),
        sa.Column('key', sa.String(length=16), primary_key=True),
        sa.Column('enabled', sa.Boolean(), nullable=False),
        sa.Column('updated_by', sa.String(length=100), nullable=False),
        sa.Column('updated_at', UTCDateTime(), nullable=False),
    )
    op.create_table(
        'customer_consents',
        sa.Column('id', BigId, primary_key=True, autoincrement=True),
        sa.Column('profile_id', sa.BigInteger(), sa.ForeignKey(
            'customer_profiles.id', name='fk_customer_consents_profile_id_customer_profiles'), nullable=False),
        sa.Column('identity_id', sa.BigInteger(), nullable=True),
        sa.Column('purpose', sa.String(length=32), nullable=False),
        sa.Column('scope', sa.String(length=255), nullable=False),
        sa.Column('state', sa.String(length=16), nullable=False),
        sa.Column('source', sa.String(length=16), nullable=False),
        sa.Column('source_account_id', sa.Integer(), sa.ForeignKey(
            'shops.id', name='fk_customer_consents_source_account_id_shops', ondelete='SET NULL'), nullable=True),
        sa.Column('actor', sa.String(length=100), nullable=True),
        sa.Column('opt_in_level', sa.String(length=32), nullable=True),
        sa.Column('note', sa.Text(), nullable=True),
        sa.Column('inbox_id', sa.BigInteger(), nullable=True),
        sa.Column('occurred_at', UTCDateTime(), nullable=False),
        sa.Column('recorded_at', UTCDateTime(), nullable=False),
    )
    op.create_index('ix_customer_consents_profile', 'customer_consents',
                    ['profile_id', 'purpose', 'scope', 'occurred_at'])
    op.create_table(
        'customer_access_log',
        sa.Column('id', BigId, primary_key=True, autoincrement=True),
        sa.Column('profile_id', sa.BigInteger(), nullable=False),
        sa.Column('actor', sa.String(length=100), nullable=False),
        sa.Column('via', sa.String(length=16), nullable=False),
        sa.Column('what', sa.String(length=64), nullable=False),
        sa.Column('detail', sa.String(length=255), nullable=True),
        sa.Column('at', UTCDateTime(), nullable=False),
    )
    op.create_index('ix_customer_access_profile', 'customer_access_log', ['profile_id', 'at'])
    with op.batch_alter_table('privacy_requests') as batch:
        batch.alter_column('shop_id', existing_type=sa.Integer(), nullable=True)
        batch.alter_column('inbox_id', existing_type=sa.BigInteger(), nullable=True)
        batch.add_column(sa.Column('profile_id', sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column('actor', sa.String(length=100), nullable=True))
    with op.batch_alter_table('channel_operations') as batch:
        batch.alter_column('order_id', existing_type=sa.BigInteger(), nullable=True)
        batch.add_column(sa.Column('customer_id', sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('channel_operations') as batch:
        batch.drop_column('customer_id')
        batch.alter_column('order_id', existing_type=sa.BigInteger(), nullable=False)
    with op.batch_alter_table('privacy_requests') as batch:
        batch.drop_column('actor')
        batch.drop_column('profile_id')
        batch.alter_column('inbox_id', existing_type=sa.BigInteger(), nullable=False)
        batch.alter_column('shop_id', existing_type=sa.Integer(), nullable=False)
    op.drop_table('customer_access_log')
    op.drop_table('customer_consents')
    op.drop_table('customer_match_rules')
    op.drop_table('customer_separations')
    op.drop_table('customer_merges')
    op.drop_index('ix_orders_customer', table_name='orders')
    for name in ('ix_customers_loyalty_key', 'ix_customers_phone_key', 'ix_customers_email_key',
                 'ix_customers_profile'):
        op.drop_index(name, table_name='customers')
    with op.batch_alter_table('customers') as batch:
        for column in ('deleted_at', 'linked_by', 'loyalty_key', 'phone_key', 'email_key', 'profile_id'):
            batch.drop_column(column)
    op.drop_table('customer_profiles')

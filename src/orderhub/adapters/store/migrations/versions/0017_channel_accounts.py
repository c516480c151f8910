"""channel_accounts: accounts of any channel kind in shops: their settings, encrypted credentials and the
sales channel they sell through; Shopify's own columns become optional for the other kinds

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-07 10:40:00
"""

import sqlalchemy as sa
from alembic import op

revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('shops') as batch:
        batch.alter_column('webhook_secret', existing_type=sa.Text(), nullable=True)
        batch.alter_column('api_version', existing_type=sa.String(length=16), nullable=True)
        batch.add_column(sa.Column('settings', sa.Text(), nullable=True))
        batch.add_column(sa.Column('credentials', sa.Text(), nullable=True))
        batch.add_column(sa.Column('sales_channel', sa.String(length=32), nullable=True))


def downgrade() -> None:
    op.execute("DELETE FROM shops WHERE kind <> 'shopify'")
    with op.batch_alter_table('shops') as batch:
        batch.drop_column('sales_channel')
        batch.drop_column('credentials')
        batch.drop_column('settings')
        batch.alter_column('api_version', existing_type=sa.String(length=16), nullable=False)
        batch.alter_column('webhook_secret', existing_type=sa.Text(), nullable=False)

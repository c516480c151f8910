"""account_kind: the kind of channel each account (row of shops) is an account of, e.g. shopify

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07 10:30:00
"""

import sqlalchemy as sa
from alembic import op

revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Every account so far is a Shopify shop.
    with op.batch_alter_table('shops') as batch:
        batch.add_column(sa.Column('kind', sa.String(length=16), nullable=False, server_default='shopify'))


def downgrade() -> None:
    with op.batch_alter_table('shops') as batch:
        batch.drop_column('kind')

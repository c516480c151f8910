"""shops.api_version has no fixed default: a new shop gets the newest stable Shopify API version of the day

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07 09:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('shops', schema=None) as batch_op:
        batch_op.alter_column('api_version', existing_type=sa.String(length=16), existing_nullable=False,
                              server_default=None)


def downgrade() -> None:
    with op.batch_alter_table('shops', schema=None) as batch_op:
        batch_op.alter_column('api_version', existing_type=sa.String(length=16), existing_nullable=False,
                              server_default='2025-10')

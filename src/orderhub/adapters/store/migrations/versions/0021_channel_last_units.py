"""channels.last_units: the last N units of every SKU offered on this sales channel only

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-07 13:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = '0021'
down_revision = '0020'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('channels') as batch:
        batch.add_column(sa.Column('last_units', sa.Integer(), nullable=False, server_default='0'))


def downgrade() -> None:
    with op.batch_alter_table('channels') as batch:
        batch.drop_column('last_units')

"""traffic minutes: per-minute counts of webhooks received, records processed and deliveries made

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-24 00:40:00
"""

import sqlalchemy as sa
from alembic import op

import orderhub.adapters.store.types

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'traffic_minutes',
        sa.Column('minute', orderhub.adapters.store.types.UTCDateTime(), nullable=False),
        sa.Column('series', sa.String(length=16), nullable=False),
        sa.Column('name', sa.String(length=100), nullable=False),
        sa.Column('shard', sa.Integer(), nullable=False),
        sa.Column('count', sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint('minute', 'series', 'name', 'shard', name=op.f('pk_traffic_minutes')),
    )


def downgrade() -> None:
    op.drop_table('traffic_minutes')

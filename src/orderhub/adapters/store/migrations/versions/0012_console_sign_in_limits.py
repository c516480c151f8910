"""console_sign_in_limits: sign-in throttle counters, reserved before each password check

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07 08:00:00
"""

import sqlalchemy as sa
from alembic import op

import orderhub.adapters.store.types

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'console_sign_in_limits',
        sa.Column('key', sa.String(length=200), nullable=False),
        sa.Column('window_start', orderhub.adapters.store.types.UTCDateTime(), nullable=False),
        sa.Column('count', sa.Integer(), nullable=False),
        sa.Column('last_check_at', orderhub.adapters.store.types.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint('key', name=op.f('pk_console_sign_in_limits')),
    )


def downgrade() -> None:
    op.drop_table('console_sign_in_limits')

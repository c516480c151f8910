"""job_run_progress: a running job's progress on its run (done of total units, and when it was written)

Revision ID: 0015
Revises: 0013
Create Date: 2026-12-08 09:00:00
"""

import sqlalchemy as sa
from alembic import op

import orderhub.adapters.store.types

revision = '0015'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('job_runs') as batch:
        batch.add_column(sa.Column('progress_done', sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column('progress_total', sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column('progress_unit', sa.String(length=32), nullable=True))
        batch.add_column(sa.Column('progress_at', orderhub.adapters.store.types.UTCDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('job_runs') as batch:
        batch.drop_column('progress_at')
        batch.drop_column('progress_unit')
        batch.drop_column('progress_total')
        batch.drop_column('progress_done')

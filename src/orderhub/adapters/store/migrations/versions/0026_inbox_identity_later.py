"""inbox: a webhook's content identity is derived by the worker, after the door has answered

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-08 09:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = '0026'
down_revision = '0025'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('inbox') as batch:
        batch.alter_column('identity', existing_type=sa.String(300), nullable=True)


def downgrade() -> None:
    # Records not yet read, and redeliveries found to be duplicates, have none: name them by their row.
    op.execute("UPDATE inbox SET identity = 'record:' || CAST(id AS VARCHAR(20)) WHERE identity IS NULL")
    with op.batch_alter_table('inbox') as batch:
        batch.alter_column('identity', existing_type=sa.String(300), nullable=False)

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


KNOWN = sa.text('identity IS NOT NULL')


def upgrade() -> None:
    # The unique key covers the records that have an identity: a webhook stored unread adds no entry to it.
    with op.batch_alter_table('inbox') as batch:
        batch.alter_column('identity', existing_type=sa.String(300), nullable=True)
        batch.drop_constraint('uq_inbox_shop_id_identity', type_='unique')
    op.create_index('uq_inbox_shop_id_identity', 'inbox', ['shop_id', 'identity'], unique=True,
                    sqlite_where=KNOWN, postgresql_where=KNOWN)


def downgrade() -> None:
    # Records not yet read, and redeliveries found to be duplicates, have none: name them by their row.
    op.execute("UPDATE inbox SET identity = 'record:' || CAST(id AS VARCHAR(20)) WHERE identity IS NULL")
    op.drop_index('uq_inbox_shop_id_identity', table_name='inbox')
    with op.batch_alter_table('inbox') as batch:
        batch.alter_column('identity', existing_type=sa.String(300), nullable=False)
        batch.create_unique_constraint('uq_inbox_shop_id_identity', ['shop_id', 'identity'])

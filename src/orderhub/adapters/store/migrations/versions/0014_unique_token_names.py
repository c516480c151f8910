"""unique_token_names: each bearer token has a name of its own; existing duplicates are renamed
``NAME (id N)`` (all but the first of each name) before the unique index is added

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-08 09:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None

NAME_LENGTH = 100  # api_tokens.name is String(100)


def _rename_duplicates() -> None:
    bind = op.get_bind()
    t = sa.table('api_tokens', sa.column('id', sa.Integer), sa.column('name', sa.String))
    seen: set[str] = set()
    for row_id, name in bind.execute(sa.select(t.c.id, t.c.name).order_by(t.c.id)).all():
        if name not in seen:
            seen.add(name)
            continue
        suffix = f' (id {row_id})'
        renamed = name[:NAME_LENGTH - len(suffix)] + suffix  # the id makes it unique, whatever was cut
        bind.execute(sa.update(t).where(t.c.id == row_id).values(name=renamed))
        seen.add(renamed)


def upgrade() -> None:
    _rename_duplicates()
    op.create_index('ix_api_tokens_name', 'api_tokens', ['name'], unique=True)


def downgrade() -> None:
    op.drop_index('ix_api_tokens_name', table_name='api_tokens')

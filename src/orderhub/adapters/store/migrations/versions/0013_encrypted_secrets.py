"""secrets at rest: shop webhook secrets and access tokens, destination and subscription signing secrets are
stored encrypted (Text, as a sealed value is longer); existing clear values are encrypted

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07 10:00:00
"""

import sqlalchemy as sa
from alembic import op

from orderhub.adapters.store import secrets as secret_box

revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None

# (table, column, nullable), as declared in the schema modules
COLUMNS = (
    ('shops', 'webhook_secret', False),
    ('shops', 'access_token', True),
    ('destinations', 'secret', True),
    ('subscriptions', 'secret', False),
)


def _rewrite(change) -> None:  # type: ignore[no-untyped-def]
    """Apply ``change(label, value)`` to every stored value; the keys are loaded only when there are values."""
    bind = op.get_bind()
    for table, column, _ in COLUMNS:
        t = sa.table(table, sa.column('id', sa.Integer), sa.column(column, sa.Text))
        rows = bind.execute(sa.select(t.c.id, t.c[column]).where(t.c[column].is_not(None))).all()
        for row_id, value in rows:
            new = change(f'{table}.{column}', value, f'{table} {row_id}')
            if new != value:
                bind.execute(sa.update(t).where(t.c.id == row_id).values({column: new}))


def _retype(to_text: bool) -> None:
    """Text holds a sealed value (SQLite rebuilds the table: see migrate.upgrade on foreign keys)."""
    for table, column, nullable in (COLUMNS if to_text else tuple(reversed(COLUMNS))):
        old, new = (sa.String(length=255), sa.Text()) if to_text else (sa.Text(), sa.String(length=255))
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.alter_column(column, existing_type=old, type_=new, existing_nullable=nullable)


def upgrade() -> None:
    _retype(to_text=True)

    def seal(label: str, value: str, _record: str) -> str:
        if secret_box.is_encrypted(value):
            return value
        return secret_box.keyring(op.get_bind()).encrypt(label, value)

    _rewrite(seal)


def downgrade() -> None:
    def unseal(label: str, value: str, record: str) -> str:
        if not secret_box.is_encrypted(value):
            return value
        return secret_box.keyring(op.get_bind()).decrypt(label, value, record)

    _rewrite(unseal)
    _retype(to_text=False)

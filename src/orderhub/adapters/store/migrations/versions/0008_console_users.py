"""console: users, sessions and sign-in attempts of the web console

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-24 00:30:00
"""

import sqlalchemy as sa
from alembic import op

import orderhub.adapters.store.types

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'console_users',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('username', sa.String(length=64), nullable=False),
        sa.Column('username_key', sa.String(length=64), nullable=False),
        sa.Column('password_hash', sa.String(length=255), nullable=False),
        sa.Column('role', sa.String(length=16), nullable=False),
        sa.Column('created_at', orderhub.adapters.store.types.UTCDateTime(), nullable=False),
        sa.Column('updated_at', orderhub.adapters.store.types.UTCDateTime(), nullable=False),
        sa.Column('last_sign_in_at', orderhub.adapters.store.types.UTCDateTime(), nullable=True),
        sa.Column('disabled_at', orderhub.adapters.store.types.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_console_users')),
        sa.UniqueConstraint('username_key', name=op.f('uq_console_users_username_key')),
    )
    op.create_table(
        'console_sessions',
        sa.Column('id', sa.String(length=64), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('csrf_token', sa.String(length=64), nullable=False),
        sa.Column('created_at', orderhub.adapters.store.types.UTCDateTime(), nullable=False),
        sa.Column('last_seen_at', orderhub.adapters.store.types.UTCDateTime(), nullable=False),
        sa.Column('expires_at', orderhub.adapters.store.types.UTCDateTime(), nullable=False),
        sa.Column('ip', sa.String(length=64), nullable=True),
        sa.Column('user_agent', sa.String(length=255), nullable=True),
        sa.ForeignKeyConstraint(['user_id'], ['console_users.id'], name=op.f('fk_console_sessions_user_id_console_users'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_console_sessions')),
    )
    op.create_index('ix_console_sessions_user', 'console_sessions', ['user_id'], unique=False)
    op.create_table(
        'console_sign_ins',
        sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
        sa.Column('at', orderhub.adapters.store.types.UTCDateTime(), nullable=False),
        sa.Column('username_key', sa.String(length=64), nullable=False),
        sa.Column('ip', sa.String(length=64), nullable=False),
        sa.Column('ok', sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_console_sign_ins')),
    )
    op.create_index('ix_console_sign_ins_ip', 'console_sign_ins', ['ip', 'at'], unique=False)
    op.create_index('ix_console_sign_ins_user', 'console_sign_ins', ['username_key', 'at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_console_sign_ins_user', table_name='console_sign_ins')
    op.drop_index('ix_console_sign_ins_ip', table_name='console_sign_ins')
    op.drop_table('console_sign_ins')
    op.drop_index('ix_console_sessions_user', table_name='console_sessions')
    op.drop_table('console_sessions')
    op.drop_table('console_users')

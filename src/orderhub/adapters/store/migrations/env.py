"""Alembic environment: runs orderhub's migrations on the connection it is given."""

from __future__ import annotations

from alembic import context

from orderhub.adapters.store.schema import metadata

config = context.config


def run() -> None:
    connection = config.attributes.get("connection")
    if connection is None:
        raise RuntimeError("run migrations through `orderhub migrate` (orderhub.adapters.store.migrate)")
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        on_version_apply=config.attributes.get("on_version_apply", ()),  # a caller counting the steps
    )
    with context.begin_transaction():
        context.run_migrations()


run()

"""Alembic environment: always runs on a connection handed over by guestpass.reference.storage.migrate."""

from alembic import context

from guestpass.reference.storage.schema import metadata

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through `guestpass migrate`, which supplies the connection")

context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()

"""Persistence: the schema, the engine, and Alembic migrations."""

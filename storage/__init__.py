"""Persistence: SQLModel models, repositories and Alembic migrations. Knows no transport."""

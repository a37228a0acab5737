"""Alembic environments of the stores this package owns, one folder each (shared/migrations.py)."""

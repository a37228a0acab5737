"""The attachment_chunks store's Alembic environment: env.py, versions/ (shared/migrations.py)."""

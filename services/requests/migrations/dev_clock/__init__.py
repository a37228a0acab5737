"""The dev_clock store's Alembic environment: env.py, versions/ (shared/migrations.py)."""

"""The programme store's Alembic environment: env.py, versions/ (shared/migrations.py)."""

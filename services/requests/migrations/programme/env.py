"""Alembic runs this on the connection shared.migrations passes (no alembic.ini)."""

from shared.migrations import run_env

run_env()

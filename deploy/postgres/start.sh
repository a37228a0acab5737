#!/usr/bin/env bash
# Start a local PostgreSQL cluster from Debian's packages (installing them when missing) and print a
# SQLAlchemy URL for a database the tests and `make up` may use. Idempotent: a running cluster is reused.
set -euo pipefail

db_name="${SUPPORT_PG_DATABASE:-seller_support}"
db_user="${SUPPORT_PG_USER:-seller_support}"
db_password="${SUPPORT_PG_PASSWORD:-seller_support}"

# Debian's postgresql package when missing (or one line saying what to run): deploy/install-deps.sh.
bash "$(dirname "${BASH_SOURCE[0]}")/../install-deps.sh" postgresql

# The cluster named `main` when there is one: tests create (and drop) clusters of their own on other
# ports, and those may sort first (tests/integration/real_processes.py).
read -r version cluster port status _ < <(
    pg_lsclusters --no-header | awk '$2 == "main"' | grep . || pg_lsclusters --no-header | head -n 1
) || true
if [ -z "${version:-}" ]; then
    version=$(ls /usr/lib/postgresql | sort -V | tail -n 1)
    cluster=main
    pg_createcluster "$version" "$cluster" >&2
    read -r version cluster port status _ < <(pg_lsclusters --no-header | head -n 1)
fi
if [ "$status" != "online" ]; then
    pg_ctlcluster "$version" "$cluster" start >&2
fi

for _ in $(seq 1 50); do
    pg_isready -q -h 127.0.0.1 -p "$port" && break
    sleep 0.2
done

as_postgres() { runuser -u postgres -- "$@"; }
if ! as_postgres psql -p "$port" -tAc "select 1 from pg_roles where rolname='$db_user'" | grep -q 1; then
    as_postgres psql -q -p "$port" -c "create role $db_user login createdb password '$db_password'" >&2
fi
if ! as_postgres psql -p "$port" -tAc "select 1 from pg_database where datname='$db_name'" | grep -q 1; then
    as_postgres createdb -p "$port" -O "$db_user" "$db_name" >&2
fi

echo "postgresql+psycopg://$db_user:$db_password@127.0.0.1:$port/$db_name"

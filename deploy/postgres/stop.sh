#!/usr/bin/env bash
# Stop the local PostgreSQL cluster started by start.sh.
set -euo pipefail
read -r version cluster _ _ _ < <(pg_lsclusters --no-header | head -n 1)
pg_ctlcluster "$version" "$cluster" stop

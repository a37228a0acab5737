#!/usr/bin/env bash
# `make down`: stop every process `make up` started (SIGTERM, then SIGKILL after 20 s), then the
# Kafka broker and the PostgreSQL cluster. SUPPORT_KEEP_INFRA=1 keeps the broker and PostgreSQL
# running (e.g. while tests use them).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/.." && pwd)"
run_dir="$repo/var/up"

log() { echo "down: $*" >&2; }

# Reverse start order: projections, then the requests consumer, relay and API.
for name in gateway webapp search notifications notifications-smtp ratings ledger requests-upstream requests-relay \
    requests-api; do
    pid_file="$run_dir/$name.pid"
    [ -f "$pid_file" ] || continue
    pid="$(cat "$pid_file" 2>/dev/null || true)"
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
        kill -TERM "$pid" 2>/dev/null || true
        for _ in $(seq 1 100); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.2
        done
        if kill -0 "$pid" 2>/dev/null; then
            log "$name (pid $pid) still running after 20 s; killing it"
            kill -KILL "$pid" 2>/dev/null || true
        fi
        log "$name stopped"
    fi
    rm -f "$pid_file"
done

if [ "${SUPPORT_KEEP_INFRA:-0}" = "1" ]; then
    log "keeping Kafka and PostgreSQL running (SUPPORT_KEEP_INFRA=1)"
    exit 0
fi
bash "$repo/deploy/kafka/stop.sh"
bash "$repo/deploy/postgres/stop.sh" || log "PostgreSQL was not running"

#!/usr/bin/env bash
# `make down`: stop supervisord and every process it runs for `make up` (SIGTERM, then SIGKILL after
# 20 s; supervisord restarts nothing once asked to shut down), then the Kafka broker and the
# PostgreSQL cluster. SUPPORT_KEEP_INFRA=1 keeps the broker and PostgreSQL
# running (e.g. while tests use them).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/.." && pwd)"
run_dir="${SUPPORT_UP_DIR:-$repo/var/up}"

log() { echo "down: $*" >&2; }

supervisor_pid="$(cat "$run_dir/supervisord.pid" 2>/dev/null || true)"
if [ -n "$supervisor_pid" ] && kill -0 "$supervisor_pid" 2>/dev/null; then
    "$repo/.venv/bin/supervisorctl" -c "$run_dir/supervisord.conf" stop all >&2 || true
    kill -TERM "$supervisor_pid" 2>/dev/null || true
    for _ in $(seq 1 150); do
        kill -0 "$supervisor_pid" 2>/dev/null || break
        sleep 0.2
    done
    if kill -0 "$supervisor_pid" 2>/dev/null; then
        log "supervisord (pid $supervisor_pid) still running after 30 s; killing it"
        kill -KILL "$supervisor_pid" 2>/dev/null || true
    fi
    log "supervisord and its programs stopped"
fi

# An nginx of ours still on the gateway's port with supervisord gone: an orphan (issue 26).
"$repo/.venv/bin/python" "$repo/deploy/gateway/stale_listener.py" "${SUPPORT_GATEWAY_PORT:-8000}" \
    "$run_dir/gateway-nginx.conf" || log "the gateway's port is held by another program; left alone"

# Processes of an older `make up` (pid files, no supervisor).

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

#!/usr/bin/env bash
# `make up`: the distributed system on one machine — Apache Kafka, PostgreSQL (one database per
# service) and one process per service, each with a pid file and a log under var/up/.
#
#   requests API (+ timer loop)  :8001  python -m services.requests.kafka_main api
#   requests outbox relay               python -m services.requests.kafka_main relay
#   requests upstream consumer          python -m services.requests.kafka_main upstream
#   ledger / ratings / notifications :8002 / :8003 / :8004   (see "hooks" below)
#
# Idempotent: a process whose pid file names a live process is left alone. `make down` stops it all.
# Ports: SUPPORT_REQUESTS_PORT, SUPPORT_LEDGER_PORT, SUPPORT_RATINGS_PORT, SUPPORT_NOTIFICATIONS_PORT.
# Databases: SUPPORT_<SERVICE>_DATABASE_URL when given, else a database per service in the local
# cluster of deploy/postgres/start.sh (seller_support_requests, seller_support_ledger, ...).
#
# Hooks for the projection services: when services/<name>/kafka_main.py exists it is started as
#   python -m services.<name>.kafka_main
# with SUPPORT_PORT, SUPPORT_DATABASE_URL, SUPPORT_KAFKA_BOOTSTRAP, SUPPORT_REQUESTS_TOPIC and
# SUPPORT_CONSUMER_GROUP set; it should serve its HTTP API on SUPPORT_PORT and consume the request
# stream with shared.transport.kafka.ConsumerRuntime (+ projection_handler). Until it exists the
# service is reported as skipped.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/.." && pwd)"
cd "$repo"
run_dir="$repo/var/up"
mkdir -p "$run_dir"
py="$repo/.venv/bin/python"
[ -x "$py" ] || { echo "up: $py missing (run make venv)" >&2; exit 1; }

log() { echo "up: $*" >&2; }

bootstrap="$(bash deploy/kafka/start.sh)"
export SUPPORT_KAFKA_BOOTSTRAP="$bootstrap"
export SUPPORT_REQUESTS_TOPIC="${SUPPORT_REQUESTS_TOPIC:-seller-support.requests.v1}"
log "kafka on $bootstrap"

db_url() {  # db_url <service>
    local var="SUPPORT_$(echo "$1" | tr '[:lower:]' '[:upper:]')_DATABASE_URL"
    if [ -n "${!var:-}" ]; then
        echo "${!var}"
    else
        SUPPORT_PG_DATABASE="seller_support_$1" bash deploy/postgres/start.sh
    fi
}

alive() {  # alive <name>
    local pid
    pid="$(cat "$run_dir/$1.pid" 2>/dev/null || true)"
    [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null
}

start() {  # start <name> <env...> -- <command...>
    local name="$1"; shift
    local envs=()
    while [ "$1" != "--" ]; do envs+=("$1"); shift; done
    shift
    if alive "$name"; then
        log "$name already running (pid $(cat "$run_dir/$name.pid"))"
        return
    fi
    env "${envs[@]}" setsid nohup "$@" </dev/null >>"$run_dir/$name.log" 2>&1 &
    echo $! >"$run_dir/$name.pid"
    log "$name started (pid $!, log var/up/$name.log)"
}

wait_http() {  # wait_http <name> <port>
    for _ in $(seq 1 100); do
        if "$py" - "$2" <<'PY' 2>/dev/null; then
import sys, urllib.request
urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/healthz", timeout=1).read()
PY
            log "$1 ready on http://127.0.0.1:$2"
            return 0
        fi
        alive "$1" || { log "$1 exited; last lines of var/up/$1.log:"; tail -n 30 "$run_dir/$1.log" >&2; exit 1; }
        sleep 0.2
    done
    log "$1 not ready on :$2 after 20 s (see var/up/$1.log)"
    exit 1
}

# --- requests -------------------------------------------------------------------------------------
requests_db="$(db_url requests)"
requests_port="${SUPPORT_REQUESTS_PORT:-8001}"
common=("SUPPORT_DATABASE_URL=$requests_db" "SUPPORT_KAFKA_CREATE_TOPICS=1")
# The API first: it creates the event-store tables the relay and the consumer then find.
start requests-api "${common[@]}" "SUPPORT_PORT=$requests_port" -- \
    "$py" -m services.requests.kafka_main api
wait_http requests-api "$requests_port"
start requests-relay "${common[@]}" -- "$py" -m services.requests.kafka_main relay
start requests-upstream "${common[@]}" -- "$py" -m services.requests.kafka_main upstream

# --- projections (hooks) ----------------------------------------------------------------------------
declare -A default_port=([ledger]=8002 [ratings]=8003 [notifications]=8004)
for svc in ledger ratings notifications; do
    if [ ! -f "services/$svc/kafka_main.py" ]; then
        log "$svc skipped: services/$svc/kafka_main.py does not exist yet"
        continue
    fi
    port_var="SUPPORT_$(echo "$svc" | tr '[:lower:]' '[:upper:]')_PORT"
    port="${!port_var:-${default_port[$svc]}}"
    start "$svc" "SUPPORT_DATABASE_URL=$(db_url "$svc")" "SUPPORT_PORT=$port" \
        "SUPPORT_CONSUMER_GROUP=seller-support.$svc" -- "$py" -m "services.$svc.kafka_main"
    wait_http "$svc" "$port"
done

log "up: requests API http://127.0.0.1:$requests_port/docs — stop everything with make down"

#!/usr/bin/env bash
# `make up`: the distributed system on one machine — Apache Kafka, PostgreSQL (one database per
# service) and one process per service, run by supervisord (the `supervisor` package), which
# restarts any process that exits, crashes or is killed. Its generated config, socket, pid file and
# every process's log live under var/up/ (SUPPORT_UP_DIR); `.venv/bin/supervisorctl -c
# var/up/supervisord.conf status` shows them. Each process is one `program` line below.
#
#   requests API (+ timer loop)  :8001  python -m services.requests.kafka_main api
#   requests outbox relay               python -m services.requests.kafka_main relay
#   requests upstream consumer          python -m services.requests.kafka_main upstream
#   ledger         :8002  python -m services.ledger.main         (requests.v1 + shipments.v1 claim_paid
#                                                                 consumers, ledger.v1 outbox publisher)
#   ratings        :8003  python -m services.ratings.main        (requests.v1 consumer, ratings.v1 publisher)
#   notifications  :8004  python -m services.notifications.main  (requests.v1 consumer, reminders, e-mail)
#   search         :8005  python -m services.search.main         (requests.v1 consumer: list queries, queue)
#   notifications-smtp :8025  python -m services.notifications.smtp_server (unless SUPPORT_SMTP_URL is set)
#
# Idempotent: run again, it starts only what is missing (supervisorctl update). `make down` stops
# it all. CPU tiers on the shared machine (docs/operations.md, "One machine"): the requests API at
# the default priority, the relay and the ledger (the money path) at nice 5, the upstream consumer,
# ratings, notifications and its SMTP server at nice 10 — each in a session of its own with that
# nice on its autogroup (deploy/cpu_tier.py); SUPPORT_UP_NICE=off runs all at the default.
# Ports: SUPPORT_REQUESTS_PORT, SUPPORT_LEDGER_PORT, SUPPORT_RATINGS_PORT, SUPPORT_NOTIFICATIONS_PORT,
# SUPPORT_SEARCH_PORT, SUPPORT_SMTP_PORT. Databases: SUPPORT_<SERVICE>_DATABASE_URL when given, else a database per
# service in the local cluster of deploy/postgres/start.sh (seller_support_requests, ...).
#
# Each projection service runs as `python -m services.<name>.main` with SUPPORT_PORT,
# SUPPORT_DATABASE_URL (= SUPPORT_<NAME>_DATABASE_URL, its own database), SUPPORT_KAFKA_BOOTSTRAP,
# SUPPORT_REQUESTS_TOPIC, SUPPORT_CONSUMER_GROUP=seller-support.<name> and
# SUPPORT_KAFKA_CREATE_TOPICS=1 (the ledger creates seller-support.ledger.v1 and shipments.v1, the
# ratings service seller-support.ratings.v1, each with its .dlq). It serves its HTTP API on
# SUPPORT_PORT and consumes the request stream in the same process.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/.." && pwd)"
cd "$repo"
run_dir="${SUPPORT_UP_DIR:-$repo/var/up}"
mkdir -p "$run_dir"
run_dir="$(cd "$run_dir" && pwd)"
py="$repo/.venv/bin/python"
[ -x "$py" ] || { echo "up: $py missing (run make venv)" >&2; exit 1; }
conf="$run_dir/supervisord.conf"
ctl=("$repo/.venv/bin/supervisorctl" -c "$conf")

log() { echo "up: $*" >&2; }

bash deploy/install-deps.sh nginx  # the gateway (one line saying what to run when it cannot)

# Under contention the command path runs first; work that only has to be eventually done yields.
declare -A cpu_nice=(
    [requests-relay]=5 [ledger]=5
    [requests-upstream]=10 [ratings]=10 [notifications]=10 [notifications-smtp]=10
    [search]=10
)
[ "${SUPPORT_UP_NICE:-on}" != off ] || cpu_nice=()

# Issue 20: e-mails link to the web app behind the gateway (the one public origin).
export SUPPORT_PUBLIC_URL="${SUPPORT_PUBLIC_URL:-http://127.0.0.1:${SUPPORT_GATEWAY_PORT:-8000}}"

bootstrap="$(bash deploy/kafka/start.sh)"
export SUPPORT_KAFKA_BOOTSTRAP="$bootstrap"
# X-Forwarded-For is believed from the gateway alone (issue 26; shared/http_server.py)
export SUPPORT_TRUSTED_PROXIES="${SUPPORT_TRUSTED_PROXIES:-127.0.0.1}"
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

port_open() {  # port_open <port>
    "$py" - "$1" <<'PY' 2>/dev/null
import socket, sys
socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=0.5).close()
PY
}

supervisor_running() {
    local pid
    pid="$(cat "$run_dir/supervisord.pid" 2>/dev/null || true)"
    [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null
}

# --- the processes: one `program` line each, in start order ----------------------------------------
programs=()  # names, in start order
declare -A http_port=()
sections=""
program() {  # program <name> <HTTP port to wait for, or -> <NAME=value ...> -- <command ...>
    local name="$1" port="$2" item env_line="" command
    shift 2
    while [ "$1" != "--" ]; do
        env_line+="${env_line:+,}${1%%=*}=\"${1#*=}\""
        shift
    done
    shift
    command="$py $repo/deploy/cpu_tier.py ${cpu_nice[$name]:-0} --"
    for item in "$@"; do command+=" $item"; done
    programs+=("$name")
    [ "$port" = - ] || http_port[$name]="$port"
    sections+="
[program:$name]
command=${command//%/%%}
directory=$repo
${env_line:+environment=${env_line//%/%%}}
priority=$((${#programs[@]} * 10))
autostart=true
autorestart=true
startsecs=2
startretries=1000
stopsignal=TERM
stopwaitsecs=20
killasgroup=true
stdout_logfile=$run_dir/$name.log
stdout_logfile_maxbytes=50MB
stdout_logfile_backups=2
redirect_stderr=true
"
}

# --- requests -------------------------------------------------------------------------------------
requests_db="$(db_url requests)"
requests_port="${SUPPORT_REQUESTS_PORT:-8001}"
common=("SUPPORT_DATABASE_URL=$requests_db" "SUPPORT_KAFKA_CREATE_TOPICS=1")
# The API first (it creates the event-store tables; the relay and the consumer wait for them).
program requests-api "$requests_port" "${common[@]}" "SUPPORT_PORT=$requests_port" \
    "SUPPORT_LEDGER_URL=http://127.0.0.1:${SUPPORT_LEDGER_PORT:-8002}" -- \
    "$py" -m services.requests.kafka_main api
program requests-relay - "${common[@]}" -- "$py" -m services.requests.kafka_main relay
program requests-upstream - "${common[@]}" -- "$py" -m services.requests.kafka_main upstream

# --- projections ------------------------------------------------------------------------------------
smtp_port="${SUPPORT_SMTP_PORT:-8025}"
if [ -z "${SUPPORT_SMTP_URL:-}" ]; then
    if ! port_open "$smtp_port" \
        || { supervisor_running && grep -q '^\[program:notifications-smtp\]' "$conf"; }; then
        program notifications-smtp - -- "$py" -m services.notifications.smtp_server \
            --port "$smtp_port" --data-dir "$run_dir"
    else
        log "an SMTP server already listens on :$smtp_port; notifications will use it"
    fi
    export SUPPORT_SMTP_URL="smtp://127.0.0.1:$smtp_port"
fi

declare -A default_port=([ledger]=8002 [ratings]=8003 [notifications]=8004 [search]=8005)
for svc in ledger ratings notifications search; do
    upper="$(echo "$svc" | tr '[:lower:]' '[:upper:]')"
    port_var="SUPPORT_${upper}_PORT"
    port="${!port_var:-${default_port[$svc]}}"
    db="$(db_url "$svc")"
    program "$svc" "$port" "SUPPORT_DATABASE_URL=$db" "SUPPORT_${upper}_DATABASE_URL=$db" \
        "SUPPORT_PORT=$port" "SUPPORT_CONSUMER_GROUP=seller-support.$svc" \
        "SUPPORT_KAFKA_CREATE_TOPICS=1" -- "$py" -m "services.$svc.main"
done

# --- web app and gateway (issue 20): the web app and every public API path on one origin ---------
# nginx (Debian's package) on :8000 routes each path to its service (deploy/gateway/); the web app
# calls the API through it with each user's own token.
gateway_port="${SUPPORT_GATEWAY_PORT:-8000}"
webapp_port="${SUPPORT_WEBAPP_PORT:-8006}"
program webapp "$webapp_port" "SUPPORT_WEBAPP_PORT=$webapp_port" \
    "SUPPORT_WEBAPP_API_URL=${SUPPORT_WEBAPP_API_URL:-http://127.0.0.1:$gateway_port}" -- \
    "$py" -m services.webapp.main
command -v nginx >/dev/null || { log "nginx missing: apt-get install -y nginx"; exit 1; }
mkdir -p "$run_dir/gateway-tmp"
gw_env=("SUPPORT_GW_RUN=$run_dir" "SUPPORT_GW_LISTEN=127.0.0.1:$gateway_port"
    "SUPPORT_GW_REQUESTS=127.0.0.1:$requests_port"
    "SUPPORT_GW_LEDGER=127.0.0.1:${SUPPORT_LEDGER_PORT:-8002}"
    "SUPPORT_GW_RATINGS=127.0.0.1:${SUPPORT_RATINGS_PORT:-8003}"
    "SUPPORT_GW_NOTIFICATIONS=127.0.0.1:${SUPPORT_NOTIFICATIONS_PORT:-8004}"
    "SUPPORT_GW_SEARCH=127.0.0.1:${SUPPORT_SEARCH_PORT:-8005}"
    "SUPPORT_GW_WEBAPP=127.0.0.1:$webapp_port")
env "${gw_env[@]}" "$py" deploy/gateway/render.py deploy/gateway/routes.conf.template \
    >"$run_dir/gateway-routes.conf"
env "${gw_env[@]}" "$py" deploy/gateway/render.py deploy/gateway/nginx.conf.template \
    >"$run_dir/gateway-nginx.conf"
# nginx runs in the foreground (`daemon off;` in its config), so supervisord restarts it too.
# A listener on its port that supervisord does not run: ours (an orphan) is stopped, anyone else's
# makes `make up` refuse (issue 26; deploy/gateway/stale_listener.py).
"$py" deploy/gateway/stale_listener.py "$gateway_port" "$run_dir/gateway-nginx.conf" \
    "$run_dir/supervisord.pid" || exit 1
program gateway "$gateway_port" -- "$(command -v nginx)" -p "$run_dir" -c "$run_dir/gateway-nginx.conf" \
    -e "$run_dir/gateway-error.log"

# --- supervisord ----------------------------------------------------------------------------------
{
    echo "; generated by deploy/up.sh: edit up.sh, not this file"
    echo "[unix_http_server]"
    echo "file=$run_dir/supervisor.sock"
    echo "chmod=0700"
    echo
    echo "[supervisord]"
    echo "logfile=$run_dir/supervisord.log"
    echo "logfile_maxbytes=20MB"
    echo "pidfile=$run_dir/supervisord.pid"
    echo "childlogdir=$run_dir"
    echo "directory=$repo"
    echo
    echo "[rpcinterface:supervisor]"
    echo "supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface"
    echo
    echo "[supervisorctl]"
    echo "serverurl=unix://$run_dir/supervisor.sock"
    echo "$sections"
} >"$conf.new"
mv "$conf.new" "$conf"

if supervisor_running; then
    "${ctl[@]}" update >&2
    log "supervisord already running; programs updated"
else
    "$repo/.venv/bin/supervisord" -c "$conf"
    log "supervisord started (config $conf)"
fi

wait_http() {  # wait_http <name> <port>
    local state
    for _ in $(seq 1 300); do
        if "$py" - "$2" <<'PY' 2>/dev/null; then
import sys, urllib.request
urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/healthz", timeout=1).read()
PY
            log "$1 ready on http://127.0.0.1:$2"
            return 0
        fi
        state="$("${ctl[@]}" status "$1" 2>/dev/null | awk '{print $2}' || true)"
        if [ "$state" = FATAL ]; then
            log "$1 cannot start; last lines of $run_dir/$1.log:"
            tail -n 30 "$run_dir/$1.log" >&2
            exit 1
        fi
        sleep 0.2
    done
    log "$1 not ready on :$2 after 60 s (see $run_dir/$1.log); supervisord keeps restarting it"
    exit 1
}
for name in "${programs[@]}"; do
    [ -z "${http_port[$name]:-}" ] || wait_http "$name" "${http_port[$name]}"
done

log "requests API http://127.0.0.1:$requests_port/docs, ledger :${SUPPORT_LEDGER_PORT:-8002}, ratings :${SUPPORT_RATINGS_PORT:-8003}, notifications :${SUPPORT_NOTIFICATIONS_PORT:-8004}, search :${SUPPORT_SEARCH_PORT:-8005}, one origin http://127.0.0.1:$gateway_port/app/ (web app) and every API path — stop everything with make down"

#!/usr/bin/env bash
# Stop the local Kafka broker started by start.sh: TERM (a clean controlled shutdown), then KILL if
# it is still running after $KAFKA_STOP_TIMEOUT seconds (default 60). Safe to run when it is not
# running. Works from any working directory; progress goes to stderr.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
data_dir="${KAFKA_DATA_DIR:-$repo/var/kafka}"
timeout="${KAFKA_STOP_TIMEOUT:-60}"
config="$data_dir/server.properties"
pid_file="$data_dir/kafka.pid"

log() { echo "kafka: $*" >&2; }

if [ ! -f "$pid_file" ]; then
    log "not running (no pid file in $data_dir)"
    exit 0
fi

# Wait for a start.sh that is still starting this broker, so its pid file is complete.
exec 9>"$data_dir/.start.lock"
flock -w 180 9 || log "warning: start.sh still holds $data_dir/.start.lock; stopping anyway"

pid="$(cat "$pid_file" 2>/dev/null || true)"
ours() {
    [ -n "$pid" ] && [ -r "/proc/$pid/cmdline" ] \
        && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF "kafka.Kafka $config"
}

if ! ours; then
    log "not running (stale pid file removed)"
    rm -f "$pid_file"
    exit 0
fi

log "stopping broker pid $pid"
kill -TERM "$pid" 2>/dev/null || true
started=$SECONDS
while ours && [ $((SECONDS - started)) -lt "$timeout" ]; do
    sleep 0.2
done
if ours; then
    log "still running after ${timeout} s; sending KILL"
    kill -KILL "$pid" 2>/dev/null || true
    while ours; do sleep 0.1; done
fi
rm -f "$pid_file"
log "stopped after $((SECONDS - started)) s"

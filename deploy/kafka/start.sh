#!/usr/bin/env bash
# Start a local single-node Apache Kafka broker (KRaft: broker + controller in one JVM) for the
# integration tests and local distributed mode, and print its bootstrap address on stdout.
#
# Idempotent: when a broker already answers on 127.0.0.1:$KAFKA_PORT it only prints the address.
# The broker's jars come from Maven Central (pom.xml beside this script, copied into .cache/lib on
# first use); its data, config copy, pid file and logs live in $KAFKA_DATA_DIR. Progress goes to
# stderr. Works from any working directory.
#
#   KAFKA_PORT             client listener port              (default 9092)
#   KAFKA_CONTROLLER_PORT  KRaft controller listener port    (default 9093)
#   KAFKA_DATA_DIR         data dir                          (default <repo>/var/kafka)
#   KAFKA_START_TIMEOUT    seconds to wait for readiness     (default 90)
#   KAFKA_HEAP_OPTS        JVM heap options                  (default -Xms256m -Xmx512m)
#   KAFKA_JAVA_OPTS        extra JVM options                 (default none)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"

host=127.0.0.1
port="${KAFKA_PORT:-9092}"
controller_port="${KAFKA_CONTROLLER_PORT:-9093}"
bootstrap="$host:$port"
data_dir="${KAFKA_DATA_DIR:-$repo/var/kafka}"
timeout="${KAFKA_START_TIMEOUT:-90}"
lib_dir="$here/.cache/lib"
lib_stamp="$here/.cache/lib.stamp"
config="$data_dir/server.properties"
log_dir="$data_dir/logs"
pid_file="$data_dir/kafka.pid"

log() { echo "kafka: $*" >&2; }
die() { log "error: $*"; exit 1; }

# --- readiness probe ------------------------------------------------------------------------------
# With kafka-python at hand (the project's .venv), "ready" means a metadata round trip works:
# ListTopics and DescribeCluster answered with this broker in the cluster. Without it, a TCP connect.
probe_python=""
for candidate in "$repo/.venv/bin/python" python3; do
    if command -v "$candidate" >/dev/null 2>&1 && "$candidate" -c 'import kafka' >/dev/null 2>&1; then
        probe_python="$candidate"
        break
    fi
done

tcp_open() {
    (exec 3<>"/dev/tcp/$host/$1") >/dev/null 2>&1
}

broker_ready() {
    tcp_open "$port" || return 1
    if [ -n "$probe_python" ]; then
        "$probe_python" - "$bootstrap" >/dev/null 2>&1 <<'PY'
import logging
import sys

logging.disable(logging.CRITICAL)
from kafka import KafkaAdminClient

admin = KafkaAdminClient(
    bootstrap_servers=sys.argv[1],
    client_id="seller-support-start-probe",
    request_timeout_ms=5000,
    bootstrap_timeout_ms=3000,
)
try:
    admin.list_topics()
    cluster = admin.describe_cluster()
    sys.exit(0 if cluster.get("brokers") else 1)
finally:
    admin.close()
PY
    fi
}

pid_alive() {
    # The pid in the pid file is ours only while it is still a kafka.Kafka JVM on our config.
    local pid
    pid="$(cat "$pid_file" 2>/dev/null || true)"
    [ -n "$pid" ] && [ -r "/proc/$pid/cmdline" ] \
        && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF "kafka.Kafka $config"
}

if broker_ready; then
    log "a broker already answers on $bootstrap"
    echo "$bootstrap"
    exit 0
fi

# --- one start at a time ----------------------------------------------------------------------------
mkdir -p "$data_dir" "$log_dir"
exec 9>"$data_dir/.start.lock"
flock -w $((timeout + 60)) 9 || die "another start.sh holds $data_dir/.start.lock"

wait_until_ready() {
    local started=$SECONDS
    while [ $((SECONDS - started)) -lt "$timeout" ]; do
        if ! pid_alive; then
            log "the broker process exited during start-up; last lines of its logs:"
            tail -n 40 "$log_dir/kafka.out" >&2 2>/dev/null || true
            tail -n 60 "$log_dir/server.log" >&2 2>/dev/null || true
            exit 1
        fi
        if broker_ready; then
            log "broker ready on $bootstrap after $((SECONDS - started)) s"
            return 0
        fi
        sleep 1
    done
    log "the broker did not become ready within ${timeout} s; last lines of its logs:"
    tail -n 40 "$log_dir/kafka.out" >&2 2>/dev/null || true
    tail -n 60 "$log_dir/server.log" >&2 2>/dev/null || true
    exit 1
}

# The KRaft voter set recorded at format time names the controller's endpoint, so a data dir stays
# with the ports it was formatted for.
ports_file="$data_dir/ports"
if [ -f "$data_dir/data/meta.properties" ] && [ -f "$ports_file" ] \
    && [ "$(cat "$ports_file")" != "$port $controller_port" ]; then
    die "$data_dir belongs to a broker on ports $(cat "$ports_file") (client, controller), not $port $controller_port; use those, or stop it and remove $data_dir"
fi

if pid_alive; then
    # Started by someone else a moment ago (or still starting up): wait for it instead.
    log "broker pid $(cat "$pid_file") is starting; waiting for it"
    wait_until_ready
    echo "$bootstrap"
    exit 0
fi
rm -f "$pid_file"

if tcp_open "$port"; then
    die "port $port on $host is taken by something that does not answer as a Kafka broker"
fi
if tcp_open "$controller_port"; then
    die "controller port $controller_port on $host is already taken"
fi

# --- toolchain --------------------------------------------------------------------------------------
apt_install() {
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        log "installing $* from Debian's packages"
        apt-get update -qq >&2
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >&2
    else
        die "$* missing (install a Java 17+ runtime and Maven 3)"
    fi
}

java_bin="java"
if [ -n "${JAVA_HOME:-}" ] && [ -x "$JAVA_HOME/bin/java" ]; then
    java_bin="$JAVA_HOME/bin/java"
fi
command -v "$java_bin" >/dev/null 2>&1 || apt_install default-jre-headless
java_major="$("$java_bin" -version 2>&1 | awk -F'"' '/version/ {split($2, v, "."); print v[1]; exit}')"
[ "${java_major:-0}" -ge 17 ] 2>/dev/null || die "Kafka 4 needs Java 17 or newer; $java_bin is ${java_major:-unknown}"

# --- jars from Maven Central ------------------------------------------------------------------------
pom_sum="$(sha256sum "$here/pom.xml" | cut -d' ' -f1)"
if [ ! -f "$lib_stamp" ] || [ "$(cat "$lib_stamp")" != "$pom_sum" ] || ! compgen -G "$lib_dir/kafka_2.13-*.jar" >/dev/null; then
    command -v mvn >/dev/null 2>&1 || apt_install maven
    log "resolving the broker's jars from Maven Central into $lib_dir"
    resolve_started=$SECONDS
    rm -rf "$lib_dir" "$lib_stamp"
    mkdir -p "$here/.cache"
    # Output kept in a file: Debian's Maven 3.8 prints stray colour codes even with -q -B.
    if ! mvn -q -B -f "$here/pom.xml" package >"$here/.cache/mvn.log" 2>&1; then
        tail -n 60 "$here/.cache/mvn.log" >&2
        die "mvn could not resolve the broker's jars (full output in $here/.cache/mvn.log)"
    fi
    echo "$pom_sum" >"$lib_stamp"
    log "resolved $(find "$lib_dir" -name '*.jar' | wc -l) jars in $((SECONDS - resolve_started)) s"
fi
classpath="$lib_dir/*"

# --- config and storage -----------------------------------------------------------------------------
awk -v host="$host" -v port="$port" -v cport="$controller_port" -v dir="$data_dir/data" '
    /^controller\.quorum\.bootstrap\.servers=/ { print "controller.quorum.bootstrap.servers=" host ":" cport; next }
    /^listeners=/ { print "listeners=PLAINTEXT://" host ":" port ",CONTROLLER://" host ":" cport; next }
    /^advertised\.listeners=/ { print "advertised.listeners=PLAINTEXT://" host ":" port ",CONTROLLER://" host ":" cport; next }
    /^log\.dirs=/ { print "log.dirs=" dir; next }
    { print }
' "$here/server.properties" >"$config.tmp"
mv "$config.tmp" "$config"

tool_opts=(-Xmx256m "-Dkafka.logs.dir=$log_dir" "-Dlog4j2.configurationFile=$here/log4j2.properties")
if [ ! -f "$data_dir/data/meta.properties" ]; then
    cluster_id="$("$java_bin" "${tool_opts[@]}" -cp "$classpath" kafka.tools.StorageTool random-uuid | tail -n 1)"
    log "formatting $data_dir/data (cluster id $cluster_id)"
    if ! "$java_bin" "${tool_opts[@]}" -cp "$classpath" kafka.tools.StorageTool format \
        --standalone --cluster-id "$cluster_id" --config "$config" >"$log_dir/format.log" 2>&1; then
        cat "$log_dir/format.log" >&2
        die "formatting $data_dir/data failed"
    fi
    echo "$port $controller_port" >"$ports_file"
fi

# --- start --------------------------------------------------------------------------------------------
log "starting Kafka $(basename "$(compgen -G "$lib_dir/kafka_2.13-*.jar" | head -n 1)" .jar | sed 's/^kafka_2.13-//') on $bootstrap (data in $data_dir)"
detach=()
command -v setsid >/dev/null 2>&1 && detach=(setsid)
# shellcheck disable=SC2086  # KAFKA_HEAP_OPTS / KAFKA_JAVA_OPTS are word lists
"${detach[@]}" nohup "$java_bin" ${KAFKA_HEAP_OPTS:--Xms256m -Xmx512m} \
    -server -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:+ExplicitGCInvokesConcurrent \
    -XX:+ExitOnOutOfMemoryError -Djava.awt.headless=true \
    "-Dkafka.logs.dir=$log_dir" "-Dlog4j2.configurationFile=$here/log4j2.properties" \
    ${KAFKA_JAVA_OPTS:-} \
    -cp "$classpath" kafka.Kafka "$config" \
    </dev/null >"$log_dir/kafka.out" 2>&1 9>&- &
echo $! >"$pid_file"
log "broker pid $(cat "$pid_file"); logs in $log_dir"

wait_until_ready
echo "$bootstrap"

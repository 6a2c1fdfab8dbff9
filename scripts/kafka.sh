#!/usr/bin/env bash
# Real Apache Kafka broker for development, tests and CI.
#
#   scripts/kafka.sh start     fetch (first time), format and start; waits until ready
#   scripts/kafka.sh stop      SIGTERM, wait, then SIGKILL; fine when not running
#   scripts/kafka.sh restart   stop + start, keeping the data (fault tests use this)
#   scripts/kafka.sh reset     stop + wipe the data dir and logs
#   scripts/kafka.sh status    exit 0 when the broker is up and answering
#   scripts/kafka.sh brokers   print the bootstrap address (127.0.0.1:PORT)
#   scripts/kafka.sh fetch     only download the broker jars
#
# What it does:
#   * Resolves org.apache.kafka:kafka_2.13 (KAFKA_VERSION, default below) and its
#     runtime dependencies from Maven Central with scripts/kafka/pom.xml and
#     `mvn dependency:copy-dependencies`, into target/kafka/lib. Maven's ~/.m2
#     cache is reused; a fresh clone re-fetches into its own target/.
#   * Renders scripts/kafka/server.properties into target/kafka/: a single KRaft
#     node (broker + controller) listening on 127.0.0.1:KAFKA_PORT (default 9092),
#     controller on KAFKA_CONTROLLER_PORT (default KAFKA_PORT+1), PLAINTEXT only,
#     every replication factor 1, auto topic creation off (tests create topics;
#     KAFKA_AUTO_CREATE_TOPICS=true turns it on), 8 MB message limit.
#   * Formats target/kafka/data once with a fresh cluster id (kafka.tools.StorageTool),
#     then runs `java kafka.Kafka` in the background with a small heap
#     (KAFKA_HEAP_OPTS, default -Xmx512m -Xms256m), G1 with a 20 ms pause goal
#     (KAFKA_GC_OPTS) and any KAFKA_JVM_OPTS last. Log: target/kafka/server.log
#     (the previous run's is kept as server.log.1); pid: target/kafka/kafka.pid.
#   * Waits up to KAFKA_START_TIMEOUT seconds (default 90) for the port to answer
#     and the "Kafka Server started" log line, and prints the log tail on failure.
#
# Needs Java 17+ and Maven 3.6.3+ on PATH; no other downloads.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TEMPLATES="$ROOT/scripts/kafka"
WORK="${KAFKA_WORK_DIR:-$ROOT/target/kafka}"
# Steps run from other directories (Maven): a relative work dir is taken from here.
[[ "$WORK" == /* ]] || WORK="$PWD/$WORK"
VERSION="${KAFKA_VERSION:-4.4.0}"
HOST=127.0.0.1
PORT="${KAFKA_PORT:-9092}"
CONTROLLER_PORT="${KAFKA_CONTROLLER_PORT:-$((PORT + 1))}"
AUTO_CREATE="${KAFKA_AUTO_CREATE_TOPICS:-false}"
START_TIMEOUT="${KAFKA_START_TIMEOUT:-90}"
STOP_TIMEOUT="${KAFKA_STOP_TIMEOUT:-60}"
HEAP_OPTS="${KAFKA_HEAP_OPTS:--Xmx512m -Xms256m}"
GC_OPTS="${KAFKA_GC_OPTS:--XX:+UseG1GC -XX:MaxGCPauseMillis=20}"

LIB="$WORK/lib"
DATA="$WORK/data"
LOG="$WORK/server.log"
PIDFILE="$WORK/kafka.pid"
CONFIG="$WORK/server.properties"
LOG4J="$TEMPLATES/log4j2.xml"

say() { echo "kafka.sh: $*"; }
die() {
    echo "kafka.sh: error: $*" >&2
    exit 1
}

# A running broker keeps the port it was started with: without KAFKA_PORT,
# status/brokers/stop follow the running broker's configuration.
adopt_running_ports() {
    [[ -z "${KAFKA_PORT:-}" ]] || return 0
    broker_pid >/dev/null || return 0
    local port cport
    port="$(sed -n 's|^advertised.listeners=PLAINTEXT://[^:]*:\([0-9]*\)$|\1|p' "$CONFIG")"
    cport="$(sed -n 's|^controller.quorum.voters=1@[^:]*:\([0-9]*\)$|\1|p' "$CONFIG")"
    [[ -n "$port" ]] && PORT="$port"
    [[ -n "$cport" ]] && CONTROLLER_PORT="$cport"
    return 0
}

# True when something accepts TCP connections on 127.0.0.1:$1.
port_open() {
    timeout 2 bash -c "exec 3<>/dev/tcp/$HOST/$1" 2>/dev/null
}

# Pid from the pid file, if that process is alive and really is our broker
# (guards against a stale pid file whose pid was reused, and against zombies,
# whose cmdline is empty).
broker_pid() {
    [[ -f "$PIDFILE" ]] || return 1
    local pid
    pid="$(cat "$PIDFILE" 2>/dev/null || true)"
    [[ "$pid" =~ ^[0-9]+$ ]] || return 1
    kill -0 "$pid" 2>/dev/null || return 1
    local cmdline
    cmdline="$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null || true)"
    [[ "$cmdline" == *kafka.Kafka*"$CONFIG"* ]] || return 1
    echo "$pid"
}

require_java() {
    command -v java >/dev/null || die "java not found on PATH (Java 17+ needed)"
    local spec
    spec="$(java -XshowSettings:properties -version 2>&1 | awk -F' = ' '/java.specification.version/ {print $2}')"
    [[ "${spec%%.*}" =~ ^[0-9]+$ && "${spec%%.*}" -ge 17 ]] ||
        die "Kafka $VERSION needs Java 17+, found '${spec:-unknown}'"
}

# Download the broker's jars once per version and pom content.
fetch() {
    local stamp
    stamp="$LIB/.complete-$VERSION-$(cksum <"$TEMPLATES/pom.xml" | cut -d' ' -f1)"
    [[ -f "$stamp" ]] && return 0
    command -v mvn >/dev/null || die "mvn not found on PATH (Maven fetches the broker jars)"
    say "fetching Kafka $VERSION jars with Maven into $LIB"
    local started=$SECONDS
    mkdir -p "$WORK/maven"
    cp "$TEMPLATES/pom.xml" "$WORK/maven/pom.xml"
    rm -rf "$LIB"
    local attempt
    for attempt in 1 2 3; do
        if mvn -B -ntp -f "$WORK/maven/pom.xml" \
            -Dkafka.version="$VERSION" \
            dependency:copy-dependencies \
            -DincludeScope=runtime -DoutputDirectory="$LIB" \
            >"$WORK/maven.log" 2>&1 </dev/null; then
            touch "$stamp"
            say "fetched $(find "$LIB" -name '*.jar' | wc -l) jars in $((SECONDS - started))s"
            return 0
        fi
        say "maven attempt $attempt failed; see $WORK/maven.log"
        sleep $((attempt * 5))
    done
    tail -n 40 "$WORK/maven.log" >&2
    die "could not fetch Kafka $VERSION from Maven Central"
}

render_config() {
    mkdir -p "$DATA"
    sed -e "s|@PORT@|$PORT|g" \
        -e "s|@CONTROLLER_PORT@|$CONTROLLER_PORT|g" \
        -e "s|@DATA_DIR@|$DATA|g" \
        -e "s|@AUTO_CREATE@|$AUTO_CREATE|g" \
        "$TEMPLATES/server.properties" >"$CONFIG"
}

# The JVM command line shared by the storage tool and the broker.
java_cmd() {
    JAVA_CMD=(java)
    # shellcheck disable=SC2206 # HEAP_OPTS / KAFKA_JVM_OPTS are word lists
    JAVA_CMD+=($HEAP_OPTS $GC_OPTS ${KAFKA_JVM_OPTS:-})
    JAVA_CMD+=(-XX:+ExitOnOutOfMemoryError
        -Djava.awt.headless=true
        "-Dlog4j2.configurationFile=$LOG4J" "-Dkafka.logs.dir=$WORK"
        -cp "$LIB/*")
}

# Format the KRaft log dir once; its meta.properties carries the cluster id.
format_storage() {
    [[ -f "$DATA/meta.properties" ]] && return 0
    # A cluster id is 16 random bytes in URL-safe base64 without padding.
    local cluster_id
    # One that starts with "-" would be read as an option by the storage tool.
    cluster_id="-"
    while [[ "$cluster_id" == -* ]]; do
        cluster_id="$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=')"
    done
    say "formatting $DATA (cluster id $cluster_id)"
    java_cmd
    if ! "${JAVA_CMD[@]}" kafka.tools.StorageTool format -t "$cluster_id" -c "$CONFIG" \
        >"$WORK/format.log" 2>&1 </dev/null; then
        cat "$WORK/format.log" >&2
        die "formatting the log dir failed"
    fi
}

wait_ready() {
    local pid=$1 started=$SECONDS
    while true; do
        # Not broker_pid: until nohup has exec'd java the child's command line is still
        # this script's. A broker that died stays a zombie child until this script exits.
        local state
        state="$(ps -o stat= -p "$pid" 2>/dev/null || true)"
        if [[ -z "$state" || "$state" == Z* ]]; then
            echo "---- last lines of $LOG ----" >&2
            tail -n 60 "$LOG" >&2 || true
            rm -f "$PIDFILE"
            die "broker exited during startup"
        fi
        if port_open "$PORT" && grep -q "Kafka Server started" "$LOG" 2>/dev/null; then
            say "Kafka $VERSION ready at $HOST:$PORT (pid $pid, $((SECONDS - started))s)"
            return 0
        fi
        if ((SECONDS - started >= START_TIMEOUT)); then
            echo "---- last lines of $LOG ----" >&2
            tail -n 60 "$LOG" >&2 || true
            die "broker not ready after ${START_TIMEOUT}s (still running as pid $pid; 'scripts/kafka.sh stop' ends it)"
        fi
        sleep 0.5
    done
}

start() {
    local pid
    if pid="$(broker_pid)"; then
        if port_open "$PORT"; then
            say "already running at $HOST:$PORT (pid $pid)"
            return 0
        fi
        say "pid $pid is starting; waiting"
        wait_ready "$pid"
        return 0
    fi
    port_open "$PORT" && die "port $PORT is taken by another process; set KAFKA_PORT"
    port_open "$CONTROLLER_PORT" &&
        die "controller port $CONTROLLER_PORT is taken by another process; set KAFKA_CONTROLLER_PORT"

    require_java
    fetch
    render_config
    format_storage

    [[ -f "$LOG" ]] && mv -f "$LOG" "$LOG.1"
    say "starting Kafka $VERSION on $HOST:$PORT (controller $CONTROLLER_PORT, log $LOG)"
    java_cmd
    # nohup execs java, so $! is the broker's own pid.
    nohup "${JAVA_CMD[@]}" kafka.Kafka "$CONFIG" >"$LOG" 2>&1 </dev/null &
    pid=$!
    echo "$pid" >"$PIDFILE"
    wait_ready "$pid"
}

stop() {
    local pid
    if ! pid="$(broker_pid)"; then
        rm -f "$PIDFILE"
        say "not running"
        return 0
    fi
    say "stopping pid $pid"
    kill -TERM "$pid" 2>/dev/null || true
    local started=$SECONDS
    while broker_pid >/dev/null; do
        if ((SECONDS - started >= STOP_TIMEOUT)); then
            say "still running after ${STOP_TIMEOUT}s; sending SIGKILL"
            kill -KILL "$pid" 2>/dev/null || true
            sleep 1
            break
        fi
        sleep 0.5
    done
    while broker_pid >/dev/null; do sleep 0.2; done
    rm -f "$PIDFILE"
    say "stopped ($((SECONDS - started))s)"
}

status() {
    local pid
    if pid="$(broker_pid)"; then
        if port_open "$PORT"; then
            say "running at $HOST:$PORT (pid $pid)"
            return 0
        fi
        say "pid $pid is running but $HOST:$PORT does not answer"
        return 1
    fi
    say "not running"
    return 1
}

adopt_running_ports

case "${1:-}" in
start) start ;;
stop) stop ;;
restart)
    stop
    start
    ;;
reset)
    stop
    rm -rf "$DATA" "$LOG" "$LOG.1"
    say "data wiped"
    ;;
status) status ;;
brokers) echo "$HOST:$PORT" ;;
fetch) fetch ;;
*)
    echo "usage: $0 start|stop|restart|reset|status|brokers|fetch" >&2
    exit 2
    ;;
esac

#!/usr/bin/env bash
# Runs every test of the project against a real Kafka broker.
#
#   scripts/test.sh                      all targets (lib, bins, tests, benches) + doc tests
#   scripts/test.sh --test broker_smoke  extra arguments go to `cargo test`; when they
#                                        select targets, only those run
#
# With KAFKA_BROKERS set, that broker is used as is. Otherwise the local
# broker from scripts/kafka.sh is used: if one is already running it is reused
# and left running; if not, one is started on fresh data and stopped again on
# exit, whatever the outcome.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

started_broker=0
cleanup() {
    if ((started_broker)); then
        scripts/kafka.sh stop || true
    fi
}
trap cleanup EXIT

if [[ -z "${KAFKA_BROKERS:-}" ]]; then
    if scripts/kafka.sh status >/dev/null 2>&1; then
        echo "test.sh: reusing the running local broker"
    else
        started_broker=1
        # A fresh log dir per run: no topics left over from earlier runs.
        scripts/kafka.sh reset
        scripts/kafka.sh start
    fi
    KAFKA_BROKERS="$(scripts/kafka.sh brokers)"
    export KAFKA_BROKERS
fi
echo "test.sh: Kafka brokers: $KAFKA_BROKERS"

# Arguments that choose targets replace the default "everything".
selects_targets=0
for arg in "$@"; do
    case "$arg" in
    --) break ;;
    --lib | --bin | --bin=* | --bins | --test | --test=* | --tests | --bench | --bench=* | \
        --benches | --example | --example=* | --examples | --doc | --all-targets)
        selects_targets=1
        ;;
    esac
done

# cargo prints one "test result:" line per test binary; the total at the end
# counts every binary (ignored tests are reported as skipped).
results="$(mktemp)"
trap 'cleanup; rm -f "$results"' EXIT
run_cargo_test() {
    local status=0
    cargo test "$@" 2>&1 | tee -a "$results" || status=$?
    return "$status"
}

status=0
if ((selects_targets)); then
    run_cargo_test "$@" || status=$?
else
    run_cargo_test --all-targets "$@" || status=$?
    if ((status == 0)); then
        run_cargo_test --doc "$@" || status=$?
    fi
fi

# Stop the broker first so the total is the run's closing line.
cleanup
started_broker=0
awk '/^test result:/ {
        for (i = 1; i <= NF; i++) {
            if ($(i + 1) ~ /^passed;?$/) passed += $i
            if ($(i + 1) ~ /^failed;?$/) failed += $i
            if ($(i + 1) ~ /^ignored;?$/) ignored += $i
        }
     }
     END { printf "total: %d passed, %d failed, %d skipped\n", passed, failed, ignored }' "$results"
exit "$status"

#!/usr/bin/env bash
# Validates the deployment material in deploy/ offline:
#   1. installs its tools on demand into target/tools (kustomize with `go install`, Python
#      packages with pip; pinned versions, reused on later runs),
#   2. renders every kustomization under deploy/k8s with kustomize,
#   3. validates each rendered manifest against the Kubernetes $K8S_VERSION schemas in strict
#      mode (kubernetes-validate) and the CRDs against scripts/deploy/schemas,
#   4. checks compose.yaml, the Grafana dashboard, the alert rules, prometheus.yml and the
#      Dockerfile (scripts/deploy/validate.py says what exactly).
#
#   scripts/validate-deploy.sh                     validate
#   scripts/validate-deploy.sh --json-out FILE     also write the renderings and compose.yaml
#                                                  as JSON ({"renderings": {"base": [...], ...},
#                                                  "compose": {...}})
#   scripts/validate-deploy.sh --with-promtool     also install promtool (a long first build)
#                                                  to parse every PromQL expression
#
# promtool is used whenever it is in target/tools/bin or on PATH.
# Exit status: 0 valid, 1 invalid, 3 a tool could not be installed (e.g. no registry access).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

KUSTOMIZE_VERSION="v5.7.1"
PROMTOOL_MODULE_VERSION="v0.316.0" # Prometheus 3.x; its Go module uses v0.x tags
K8S_VERSION="1.30.0"
PY_PACKAGES=(kubernetes-validate==1.30.0 PyYAML==6.0.3 jsonschema==4.26.0 referencing==0.37.0)

TOOLS="${WIREFEED_TOOLS_DIR:-$ROOT/target/tools}"
BIN="$TOOLS/bin"
PY="$TOOLS/py"

json_out=""
with_promtool=0
while (($#)); do
    case "$1" in
    --json-out)
        json_out="$2"
        shift 2
        ;;
    --with-promtool)
        with_promtool=1
        shift
        ;;
    *)
        echo "validate-deploy.sh: unknown argument $1" >&2
        exit 2
        ;;
    esac
done

cannot_install() {
    echo "validate-deploy.sh: cannot install $1" >&2
    exit 3
}

mkdir -p "$BIN" "$PY"
# One installer at a time (parallel test runs share target/tools).
if command -v flock >/dev/null 2>&1; then
    exec 9>"$TOOLS/.lock"
    flock 9
fi

echo "== tools"
# kustomize, pinned, built from the Go module proxy.
kustomize=(kustomize_missing)
if [[ -x "$BIN/kustomize" ]] && [[ "$("$BIN/kustomize" version 2>/dev/null)" == "$KUSTOMIZE_VERSION" ]]; then
    kustomize=("$BIN/kustomize" build)
elif command -v go >/dev/null 2>&1; then
    echo "installing kustomize $KUSTOMIZE_VERSION into $BIN (go install)"
    if GOBIN="$BIN" GOTOOLCHAIN=local GOFLAGS=-mod=mod \
        go install "sigs.k8s.io/kustomize/kustomize/v5@$KUSTOMIZE_VERSION"; then
        kustomize=("$BIN/kustomize" build)
    fi
fi
if [[ "${kustomize[0]}" == kustomize_missing ]]; then
    # Last resort: the kustomize built into kubectl (its version is printed below).
    if command -v kubectl >/dev/null 2>&1 && kubectl kustomize --help >/dev/null 2>&1; then
        echo "go install of kustomize failed or go is missing: using kubectl kustomize"
        kustomize=(kubectl kustomize)
    else
        cannot_install "kustomize $KUSTOMIZE_VERSION (needs go and the Go module proxy)"
    fi
fi
if [[ "${kustomize[0]}" == kubectl ]]; then
    echo "kustomize: $(kubectl version --client 2>/dev/null | grep -i kustomize || echo 'built into kubectl')"
else
    echo "kustomize: $("${kustomize[0]}" version)"
fi

# Python packages, pinned, into their own directory (no virtualenv, no system changes).
stamp="$PY/.installed"
if [[ "$(cat "$stamp" 2>/dev/null)" != "${PY_PACKAGES[*]}" ]]; then
    echo "installing ${PY_PACKAGES[*]} into $PY (pip)"
    rm -rf "$PY"
    mkdir -p "$PY"
    python3 -m pip install --quiet --disable-pip-version-check --no-warn-script-location --root-user-action=ignore \
        --target "$PY" "${PY_PACKAGES[@]}" ||
        cannot_install "${PY_PACKAGES[*]} (needs pip and the Python package index)"
    echo "${PY_PACKAGES[*]}" >"$stamp"
fi
echo "python packages: ${PY_PACKAGES[*]}"

promtool=""
if ((with_promtool)) && [[ ! -x "$BIN/promtool" ]]; then
    echo "installing promtool (prometheus $PROMTOOL_MODULE_VERSION) into $BIN (go install; slow the first time)"
    GOBIN="$BIN" GOTOOLCHAIN=local GOFLAGS=-mod=mod \
        go install "github.com/prometheus/prometheus/cmd/promtool@$PROMTOOL_MODULE_VERSION" ||
        cannot_install "promtool"
fi
if [[ -x "$BIN/promtool" ]]; then
    promtool="$BIN/promtool"
elif command -v promtool >/dev/null 2>&1; then
    promtool="$(command -v promtool)"
fi
if [[ -n "$promtool" ]]; then
    echo "promtool: $("$promtool" --version 2>&1 | head -n 1)"
else
    echo "promtool: not available (run with --with-promtool to build it)"
fi

# Release the lock: the rest only reads the tools.
if command -v flock >/dev/null 2>&1; then
    exec 9>&-
fi

echo "== render"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
rendered=()
while IFS= read -r kustomization; do
    dir="$(dirname "$kustomization")"
    label="${dir#deploy/k8s/}"
    label="${label#overlays/}"
    out="$work/${label//\//-}.yaml"
    if ! "${kustomize[@]}" "$dir" >"$out"; then
        echo "FAIL  kustomize build $dir" >&2
        exit 1
    fi
    echo "ok    kustomize build $dir ($(grep -c '^kind:' "$out") resources)"
    rendered+=(--rendered "$label=$out")
done < <(find deploy/k8s -name kustomization.yaml | sort)

echo "== validate"
args=(--root "$ROOT" --k8s-version "$K8S_VERSION" "${rendered[@]}")
[[ -n "$json_out" ]] && args+=(--json-out "$json_out")
[[ -n "$promtool" ]] && args+=(--promtool "$promtool")
PYTHONPATH="$PY" python3 -B scripts/deploy/validate.py "${args[@]}"

#!/usr/bin/env bash
# End-to-end run on a throw-away kind cluster (`make e2e`):
#   create the cluster, build the image and load it, install the chart (watching one namespace),
#   run `helm test`, run the NITRO simulator in the cluster from the same image, apply
#   examples/simulator/, wait for Ready, renew the TLS Secret, and check on the simulator
#   (GET /_simulator/state) that the certkey kept its name and binding and now carries the new
#   serial; delete the sync and check the appliance is clean. Then delete the cluster.
#
# Exit codes: 0 passed; 1 failed; 3 cannot run here (Docker, a running Docker daemon, kind or
# openssl missing). A skipped run is not a pass: CI must treat 3 as "not run".
# Environment: CLUSTER (default certsync-e2e), KEEP_CLUSTER=1 keeps it for debugging,
#   IMAGE (default netscaler-certsync:dev), TIMEOUT (seconds per wait, default 180).
set -euo pipefail
cd "$(dirname "$0")/.."

CLUSTER=${CLUSTER:-certsync-e2e}
IMAGE=${IMAGE:-netscaler-certsync:dev}
TIMEOUT=${TIMEOUT:-180}
OPERATOR_NS=certsync-system
DEMO_NS=certsync-demo

cannot_run() {
    echo "e2e-kind: NOT RUN: $*" >&2
    echo "e2e-kind: this is not a pass; install the missing tool (kind must be on PATH; it is not fetched from anywhere) and rerun." >&2
    exit 3
}

command -v docker >/dev/null || cannot_run "docker is not installed"
docker info >/dev/null 2>&1 || cannot_run "the Docker daemon is not reachable (docker info fails)"
command -v kind >/dev/null || cannot_run "kind is not on PATH"
command -v openssl >/dev/null || cannot_run "openssl is not installed (used to make test certificates)"
bash hack/tools.sh >/dev/null
WORK=$(mktemp -d)
export PATH="$PWD/.tools/bin:$PATH"
PY=python3
[[ -x .venv/bin/python ]] && PY=.venv/bin/python

step() { echo "== e2e-kind: $*"; }

diagnose() {
    step "diagnostics"
    kubectl get netscaler -A -o yaml || true
    kubectl -n "$OPERATOR_NS" logs deploy/certsync-netscaler-certsync --tail=200 || true
    kubectl -n "$DEMO_NS" logs deploy/netscaler-simulator --tail=100 || true
    kubectl get events -A --sort-by=.lastTimestamp | tail -40 || true
}

cleanup() {
    local rc=$?
    [[ -n ${PF_PID:-} ]] && kill "$PF_PID" 2>/dev/null || true
    ((rc != 0 && rc != 3)) && diagnose
    if [[ ${KEEP_CLUSTER:-0} == 1 ]]; then
        echo "e2e-kind: keeping cluster $CLUSTER (kind delete cluster --name $CLUSTER)"
    else
        kind delete cluster --name "$CLUSTER" >/dev/null 2>&1 || true
    fi
    rm -rf "$WORK"
    exit "$rc"
}
trap cleanup EXIT

make_cert() { # file prefix; same host name every time, so the in-place update passes the domain check
    openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj "/CN=demo.example.com" \
        -addext "subjectAltName=DNS:demo.example.com" -keyout "$1.key" -out "$1.crt" 2>/dev/null
    openssl x509 -in "$1.crt" -noout -serial | cut -d= -f2
}

step "cluster $CLUSTER"
kind get clusters 2>/dev/null | grep -qx "$CLUSTER" || kind create cluster --name "$CLUSTER" --wait 120s

step "image $IMAGE"
docker build -t "$IMAGE" .
kind load docker-image "$IMAGE" --name "$CLUSTER"

step "helm install (watching $DEMO_NS)"
kubectl create namespace "$DEMO_NS" --dry-run=client -o yaml | kubectl apply -f -
helm upgrade --install certsync charts/netscaler-certsync --namespace "$OPERATOR_NS" --create-namespace \
    --set image.repository="${IMAGE%:*}" --set image.tag="${IMAGE##*:}" --set image.pullPolicy=Never \
    --set "watchNamespaces={$DEMO_NS}" --wait --timeout "${TIMEOUT}s"
kubectl wait --for=condition=Established crd/netscalerconnections.netscaler.certsync.dev \
    crd/certificatesyncs.netscaler.certsync.dev --timeout=60s
step "helm test (the operator serves certsync_ metrics)"
helm test certsync --namespace "$OPERATOR_NS" --timeout 2m --logs

step "simulator in $DEMO_NS"
sed "s|image: netscaler-certsync:dev|image: $IMAGE|" examples/simulator/simulator.yaml |
    kubectl -n "$DEMO_NS" apply -f -
kubectl -n "$DEMO_NS" rollout status deploy/netscaler-simulator --timeout="${TIMEOUT}s"

step "TLS Secret and examples/simulator/sync.yaml"
SERIAL1=$(make_cert "$WORK/v1")
kubectl -n "$DEMO_NS" create secret tls demo-tls --cert="$WORK/v1.crt" --key="$WORK/v1.key" \
    --dry-run=client -o yaml | kubectl apply -f -
kubectl -n "$DEMO_NS" apply -f examples/simulator/sync.yaml
kubectl -n "$DEMO_NS" wait nsconn/simulator --for=condition=Ready --timeout="${TIMEOUT}s"
kubectl -n "$DEMO_NS" wait certsync/demo --for=condition=Ready --timeout="${TIMEOUT}s"
kubectl -n "$DEMO_NS" get netscaler

kubectl -n "$DEMO_NS" port-forward svc/netscaler-simulator 18080:80 >/dev/null 2>&1 &
PF_PID=$!
sleep 2

# Poll the simulator until the certificate with this serial is bound to vs_https; print its name.
expect_serial() { # serial, [certkey name that must stay the same]
    "$PY" - "$1" "${2:-}" "$TIMEOUT" <<'PY'
import json, sys, time, urllib.request
serial, same_name, deadline = int(sys.argv[1], 16), sys.argv[2], time.monotonic() + float(sys.argv[3])
last = "no answer"
while time.monotonic() < deadline:
    try:
        state = json.load(urllib.request.urlopen("http://127.0.0.1:18080/_simulator/state", timeout=5))
    except OSError as exc:
        last = str(exc)
        time.sleep(2)
        continue
    names = [n for n, c in state["certkeys"].items() if c.get("serial") and int(c["serial"], 16) == serial]
    bound = [n for n in names if {"vserver": "vs_https", "certkey": n} in
             [{"vserver": b["vserver"], "certkey": b["certkey"]} for b in state["bindings"]]]
    if bound and (not same_name or bound == [same_name]) and not state.get("configchanged"):
        print(bound[0])
        sys.exit(0)
    last = f"certkeys with the serial: {names}, bound to vs_https: {bound}, saved: {not state.get('configchanged')}"
    time.sleep(2)
sys.exit(f"simulator state never showed serial {sys.argv[1]} bound to vs_https and saved ({last})")
PY
}

step "appliance state after the first sync"
NAME=$(expect_serial "$SERIAL1")
echo "certkey $NAME bound to vs_https with serial $SERIAL1"

step "renew the Secret"
SERIAL2=$(make_cert "$WORK/v2")
kubectl -n "$DEMO_NS" create secret tls demo-tls --cert="$WORK/v2.crt" --key="$WORK/v2.key" \
    --dry-run=client -o yaml | kubectl apply -f -
expect_serial "$SERIAL2" "$NAME" >/dev/null
echo "certkey $NAME updated in place to serial $SERIAL2, still bound to vs_https, config saved"

step "delete the sync: the appliance is cleaned up"
kubectl -n "$DEMO_NS" delete certsync/demo --timeout="${TIMEOUT}s"
"$PY" - "$NAME" <<'PY'
import json, sys, urllib.request
state = json.load(urllib.request.urlopen("http://127.0.0.1:18080/_simulator/state", timeout=5))
if sys.argv[1] in state["certkeys"]:
    sys.exit(f"certkey {sys.argv[1]} is still on the appliance after the CertificateSync was deleted")
PY

step "PASSED"

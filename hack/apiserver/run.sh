#!/usr/bin/env bash
# Start the apiserver tier's real API server (building it first if needed) for poking at by hand:
# etcd + apiext-server on free loopback ports with a throw-away data directory. Prints
# `export KUBECONFIG=...` on stdout; serves until Ctrl-C, then stops both and deletes the data.
# The same code starts the server for tests/apiserver, so what you see here is what they see.
#   bash hack/apiserver/run.sh        # then, in another shell: export KUBECONFIG=...; kubectl apply -f crds/
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=python3
[[ -x .venv/bin/python ]] && PY=.venv/bin/python
exec "$PY" tests/apiserver/apiserver_harness.py

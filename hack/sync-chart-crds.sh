#!/usr/bin/env bash
# Copy the CRDs from crds/ (the single source) into the Helm chart, byte for byte.
#
# The chart renders them from charts/netscaler-certsync/files/crds/ through templates/crds.yaml,
# behind `crds.enabled` and with `helm.sh/resource-policy: keep` (see docs/install.md for why the
# CRDs are templates rather than the chart's crds/ folder, which Helm never upgrades).
# tests/chart fails when the copies differ, so run this after every change to crds/.
#   bash hack/sync-chart-crds.sh          copy
#   bash hack/sync-chart-crds.sh --check  exit 1 (and list the files) when out of date
set -euo pipefail
cd "$(dirname "$0")/.."
SRC=crds
DST=charts/netscaler-certsync/files/crds

if [[ ${1:-} == --check ]]; then
    stale=0
    for f in "$SRC"/*.yaml; do
        if ! cmp -s "$f" "$DST/$(basename "$f")"; then
            echo "out of date: $DST/$(basename "$f")"
            stale=1
        fi
    done
    for f in "$DST"/*.yaml; do
        [[ -e $f ]] || continue
        if [[ ! -e "$SRC/$(basename "$f")" ]]; then
            echo "no longer in $SRC: $f"
            stale=1
        fi
    done
    ((stale == 0)) && echo "chart CRDs match $SRC/"
    exit "$stale"
fi

mkdir -p "$DST"
rm -f "$DST"/*.yaml
cp "$SRC"/*.yaml "$DST"/
echo "copied $(ls "$SRC"/*.yaml | wc -l) CRD file(s) from $SRC/ to $DST/"

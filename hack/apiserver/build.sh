#!/usr/bin/env bash
# Build, or reuse a cached build of, a standalone apiextensions API server (main.go here) and etcd
# from Debian's Go source packages, for the tests/apiserver tier. See docs/testing.md.
#
# Prints progress on stderr and, on success, the directory holding `apiext-server` and `etcd` as
# the only line on stdout. Safe to rerun and to run concurrently (one build at a time, under a lock):
# the result is cached, keyed by the exact package versions, main.go and this script, so a rerun
# with a fresh index costs about a second.
#
# Never touches the system's apt or dpkg state: it keeps a private apt configuration, index and
# download cache under the cache directory, and unpacks packages with `dpkg -x`.
#
# Environment (all optional):
#   CERTSYNC_APISERVER_CACHE      cache root; default ${XDG_CACHE_HOME:-$HOME/.cache}/netscaler-certsync/apiserver
#   CERTSYNC_DEBIAN_MIRROR        archive URI; default: the Debian archive this machine's apt sources use
#   CERTSYNC_DEBIAN_SUITE         default sid (the only suite with the Kubernetes Go libraries we need)
#   CERTSYNC_APISERVER_INDEX_TTL  seconds before the private index is refreshed; default 86400
#   CERTSYNC_APISERVER_PKGSET     lean (default: packages.lean) or full (whole Depends closure)
#   CERTSYNC_GO_PACKAGE           toolchain package; default: whatever golang-go depends on in the suite
#
# Exit status: 0 ready; 2 this machine cannot build (no apt-get/dpkg); 3 the Debian archive is
# unreachable and no index is cached; 1 anything else (a real failure to be fixed).
set -euo pipefail
shopt -s inherit_errexit # command substitutions fail the script too

HERE=$(cd "$(dirname "$0")" && pwd)
CACHE=${CERTSYNC_APISERVER_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/netscaler-certsync/apiserver}
SUITE=${CERTSYNC_DEBIAN_SUITE:-sid}
INDEX_TTL=${CERTSYNC_APISERVER_INDEX_TTL:-86400}
PKGSET=${CERTSYNC_APISERVER_PKGSET:-lean}
T0=$SECONDS

say() { echo "apiserver-build: $*" >&2; }
die() { # exit code, message
    local code=$1
    shift
    say "ERROR: $*"
    exit "$code"
}

# --- prerequisites -------------------------------------------------------------------------------
for tool in apt-get apt-cache dpkg dpkg-deb flock sha256sum; do
    command -v "$tool" >/dev/null || die 2 "'$tool' not found: this machine cannot build the API server" \
        "(it needs Debian's apt and dpkg; set CERTSYNC_APISERVER_BIN_DIR to use a prebuilt one)"
done
mkdir -p "$CACHE" || die 1 "cannot create the cache directory $CACHE"
exec 9>"$CACHE/.lock"
if ! flock -n 9; then
    say "another build holds $CACHE/.lock; waiting for it"
    flock 9
fi

# --- the archive, from this machine's own apt configuration -------------------------------------------
# Prefer the first Debian archive URI (ending in /debian) over security or third-party repositories.
detect_mirror() {
    local files=() f
    for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
        [[ -r $f ]] && files+=("$f")
    done
    ((${#files[@]})) || return 1
    # deb822 "URIs: a b" and one-line "deb [opts] uri suite ..." entries, in file order.
    awk '
        /^[[:space:]]*#/ {next}
        /^URIs:/ {for (i = 2; i <= NF; i++) print $i; next}
        /^deb[[:space:]]/ {i = 2; if ($i ~ /^\[/) {while ($i !~ /\]$/) i++; i++} print $i}
    ' "${files[@]}" | awk '/\/debian\/?$/ {print; found = 1; exit} END {if (!found) exit 1}'
}
MIRROR=${CERTSYNC_DEBIAN_MIRROR:-$(detect_mirror || true)}
[[ -n $MIRROR ]] || die 2 "no Debian archive URI in this machine's apt sources; set CERTSYNC_DEBIAN_MIRROR"
MIRROR=${MIRROR%/}

# --- a private apt: own sources, index, dpkg status (empty: "nothing installed") and cache -------
APT="$CACHE/apt"
mkdir -p "$APT/lists/partial" "$APT/cache/archives/partial" "$APT/empty.d"
touch "$APT/status"
ARCH=$(dpkg --print-architecture)
# The system's sources, pins and dpkg status are all replaced by ours; its proxy settings still apply.
# The binary package caches are named explicitly: container images often switch them off, and
# without them every apt-cache call re-parses the 11 MB index (about 1 s each).
O=(-o Dir::Etc::sourcelist="$APT/sources.list" -o Dir::Etc::sourceparts="$APT/empty.d"
    -o Dir::Etc::preferences="$APT/empty.d/none" -o Dir::Etc::preferencesparts="$APT/empty.d"
    -o Dir::State::Lists="$APT/lists" -o Dir::State::status="$APT/status"
    -o Dir::Cache="$APT/cache" -o Dir::Cache::pkgcache="$APT/cache/pkgcache.bin"
    -o Dir::Cache::srcpkgcache="$APT/cache/srcpkgcache.bin"
    -o APT::Architecture="$ARCH" -o APT::Architectures="$ARCH")
# Root makes apt drop privileges to _apt, which cannot write our cache; stay root for our own files.
[[ $(id -u) == 0 ]] && O+=(-o APT::Sandbox::User=root)

want_sources="deb $MIRROR $SUITE main"
stale=1
if [[ -f $APT/updated && "$(cat "$APT/sources.list" 2>/dev/null)" == "$want_sources" ]]; then
    age=$(($(date +%s) - $(stat -c %Y "$APT/updated")))
    ((age < INDEX_TTL)) && stale=0
fi
if ((stale)); then
    echo "$want_sources" >"$APT/sources.list"
    say "refreshing the private package index: $SUITE main from $MIRROR"
    # --error-on=any: a failed fetch is otherwise only a warning, with exit status 0.
    if apt-get "${O[@]}" -qq --error-on=any update >"$APT/update.log" 2>&1; then
        touch "$APT/updated"
    elif [[ -f $APT/updated ]]; then
        say "WARNING: cannot refresh the index ($(tail -1 "$APT/update.log")); using the one from" \
            "$(date -r "$APT/updated" -u +%FT%TZ)"
    else
        die 3 "cannot fetch the $SUITE index from $MIRROR: $(grep -m1 -E '^(E|W):' "$APT/update.log" || tail -1 "$APT/update.log")"
    fi
fi

# --- which packages, at which versions -----------------------------------------------------------
GO_PKG=${CERTSYNC_GO_PACKAGE:-$(apt-cache "${O[@]}" depends golang-go 2>/dev/null |
    grep -o -m1 -E 'golang-1\.[0-9]+-go' || true)}
[[ -n $GO_PKG ]] || die 1 "cannot tell the Go toolchain package from golang-go in $SUITE; set CERTSYNC_GO_PACKAGE"
GO_SRC=${GO_PKG%-go}-src

full_set() {
    apt-cache "${O[@]}" depends --recurse --no-recommends --no-suggests --no-conflicts --no-breaks \
        --no-replaces --no-enhances golang-k8s-apiextensions-apiserver-dev 2>/dev/null |
        grep -E '^golang-.*-dev$' | sort -u
}
package_set() { # lean|full
    if [[ $1 == full ]]; then full_set; else grep -vE '^(#|$)' "$HERE/packages.lean"; fi
    printf '%s\n' "$GO_PKG" "$GO_SRC" etcd-server
}
# "name=version" per package, sorted; fails when a package is not in the index.
manifest() { # package names...
    local out missing
    out=$(apt-cache "${O[@]}" show --no-all-versions "$@" 2>/dev/null |
        awk '/^Package:/ {p = $2} /^Version:/ {print p "=" $2}' | sort -u)
    missing=$(comm -23 <(printf '%s\n' "$@" | sort -u) <(cut -d= -f1 <<<"$out"))
    if [[ -n $missing ]]; then
        say "not in $SUITE: $(tr '\n' ' ' <<<"$missing")"
        return 1
    fi
    echo "$out"
}
hash16() { sha256sum | cut -c1-16; }

# --- fetch and unpack one package set, keyed by its manifest ----------------------------------------
prepare_sources() { # manifest -> prints the unpacked root
    local man=$1 key dir tmp t
    key=$(hash16 <<<"$man")
    dir="$CACHE/src/$key"
    if [[ -f $dir/.complete ]]; then
        say "reusing unpacked sources src/$key"
        echo "$dir/root"
        return
    fi
    tmp="$dir.tmp"
    rm -rf "$tmp" && mkdir -p "$tmp/debs" "$tmp/root"
    t=$SECONDS
    say "downloading $(wc -l <<<"$man") packages from $MIRROR ($SUITE)"
    # shellcheck disable=SC2046  # one word per name=version
    (cd "$tmp/debs" && apt-get "${O[@]}" -qq download $(tr '\n' ' ' <<<"$man")) >&2 ||
        die 1 "download failed (is the index older than the archive? delete $APT/updated and rerun)"
    say "downloaded $(du -sh "$tmp/debs" | cut -f1) in $((SECONDS - t)) s; unpacking with dpkg -x"
    t=$SECONDS
    for deb in "$tmp"/debs/*.deb; do nice -n 10 dpkg -x "$deb" "$tmp/root"; done
    rm -rf "$tmp/debs"
    echo "$man" >"$tmp/manifest"
    touch "$tmp/.complete"
    mv "$tmp" "$dir"
    say "unpacked $(du -sh "$dir/root" | cut -f1) in $((SECONDS - t)) s into src/$key"
    echo "$dir/root"
}

# --- compile -------------------------------------------------------------------------------------
compile() { # root, output binary, log
    local root=$1 out=$2 log=$3 goroot minor patch k8s ldflags gopath
    goroot=$(ls -d "$root"/usr/lib/go-1.* | head -1)
    # k8s.io/apiserver 0.36.4 is Kubernetes 1.36.4.
    minor=$(grep -m1 '^golang-k8s-apiserver-dev=' <<<"$MANIFEST" | sed -E 's/.*=0\.([0-9]+)\..*/\1/')
    patch=$(grep -m1 '^golang-k8s-apiserver-dev=' <<<"$MANIFEST" | sed -E 's/.*=0\.[0-9]+\.([0-9]+).*/\1/')
    k8s="1.$minor.$patch"
    # Without these, a GOPATH build reports "v0.0.0-master+$Format:%H$" and `kubectl version` fails.
    ldflags="-s -w -X k8s.io/component-base/version.gitVersion=v$k8s -X k8s.io/component-base/version.gitMajor=1"
    ldflags+=" -X k8s.io/component-base/version.gitMinor=$minor -X k8s.io/component-base/version.gitTreeState=clean"
    gopath=$(dirname "$out")/gopath
    mkdir -p "$gopath/src/apiext-server"
    cp "$HERE/main.go" "$gopath/src/apiext-server/main.go"
    say "compiling with $(basename "$goroot") against k8s.io libraries v$k8s (about 3.5 min cold on 2 cores," \
        "seconds when the Go build cache is warm)"
    # GOPATH mode over Debian's /usr/share/gocode: no modules, no network, no cgo (no C compiler needed).
    (cd "$gopath/src/apiext-server" &&
        env GOROOT="$goroot" GOPATH="$gopath:$root/usr/share/gocode" GO111MODULE=off GOTOOLCHAIN=local \
            GOPROXY=off GOFLAGS= GOCACHE="$CACHE/gocache" CGO_ENABLED=0 \
            nice -n 10 "$goroot/bin/go" build -trimpath -ldflags "$ldflags" -o "$out" .) >"$log" 2>&1
}

MAIN_SHA=$(sha256sum "$HERE/main.go" | cut -c1-16)
SELF_SHA=$(cat "$0" "$HERE/packages.lean" | hash16)
# Not called in a condition (that would switch `set -e` off inside): reports through globals.
# Sets BIN on success, WIDEN=1 when the package set lacks something (sid moved on).
attempt() { # lean|full
    local set=$1 key dir t root names
    names=$(package_set "$set")
    # shellcheck disable=SC2086  # one word per package name
    if ! MANIFEST=$(manifest $names); then
        WIDEN=1
        return 0
    fi
    key=$(printf '%s\n' "$MANIFEST" "$MAIN_SHA" "$SELF_SHA" | hash16)
    dir="$CACHE/builds/$key"
    if [[ -f $dir/.complete ]]; then
        say "reusing cached build builds/$key ($(grep -m1 '^built' "$dir/build-info.txt" || true))"
        BIN=$dir
        return 0
    fi
    root=$(prepare_sources "$MANIFEST")
    rm -rf "$dir.tmp" && mkdir -p "$dir.tmp"
    t=$SECONDS
    if ! compile "$root" "$dir.tmp/apiext-server" "$dir.tmp/build.log"; then
        say "compile failed ($set package set); last lines of $dir.tmp/build.log:"
        tail -5 "$dir.tmp/build.log" >&2
        # Only a missing import means "sid moved, widen the set"; a real compile error is final.
        if grep -qE 'cannot find package|is not in (GOROOT|std)' "$dir.tmp/build.log"; then
            WIDEN=1
            return 0
        fi
        die 1 "the API server does not compile; see $dir.tmp/build.log"
    fi
    cp "$root/usr/bin/etcd" "$dir.tmp/etcd"
    rm -rf "$dir.tmp/gopath"
    {
        echo "built $(date -u +%FT%TZ) in $((SECONDS - t)) s compile, $((SECONDS - T0)) s total"
        echo "suite $SUITE from $MIRROR"
        echo "main.go sha256 prefix $MAIN_SHA"
        echo "$MANIFEST"
    } >"$dir.tmp/build-info.txt"
    touch "$dir.tmp/.complete"
    mv "$dir.tmp" "$dir"
    say "built builds/$key in $((SECONDS - T0)) s: $(du -sh "$dir/apiext-server" | cut -f1) apiext-server" \
        "+ $(du -sh "$dir/etcd" | cut -f1) etcd"
    BIN=$dir
}

BIN= WIDEN=0
attempt "$PKGSET"
if ((WIDEN)) && [[ $PKGSET != full ]]; then
    say "the lean package set is not enough (sid moved?); falling back to the full Depends closure"
    WIDEN=0
    attempt full
fi
[[ -n $BIN ]] || die 1 "the full package set does not build either; see $CACHE/builds/*.tmp/build.log"

# Keep the cache bounded: unpacked sources are ~0.7 GB per package set, so keep only the one just
# used; keep the three newest builds (~110 MB each) so switching branches stays cheap.
keep_src=$(hash16 <<<"$MANIFEST")
for d in "$CACHE"/src/*; do
    [[ -d $d && $(basename "$d") != "$keep_src" ]] && say "pruning old sources $d" && rm -rf "$d"
done
mapfile -t builds < <(ls -dt "$CACHE"/builds/*/.complete 2>/dev/null || true)
for f in "${builds[@]:3}"; do
    say "pruning old build ${f%/.complete}"
    rm -rf "${f%/.complete}"
done

"$BIN/apiext-server" --help >/dev/null 2>&1 || die 1 "the built binary does not run: $BIN/apiext-server"
say "ready in $((SECONDS - T0)) s: $BIN"
echo "$BIN"

#!/usr/bin/env bash
# Installs what `npm run demo` and `npm test` need on a Debian 12 machine, idempotently: the apt
# packages that are missing, the npm dependencies (npm ci, which also builds the addon) when
# node_modules is stale, and the addon when build/ has no .node file. Safe to run every time.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
have_pkg() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }
# libuv1-dev and libssl-dev: for the native tests' Redis layer only (the addon uses Node's own
# libuv and OpenSSL, through the headers in Node's include folder). openssl: the CLI that makes
# the TLS test certificates (test/helpers/gen-certs.sh).
# wrk (with --bench, from `npm run bench`): the load generator of the benchmark. autocannon
# would do, but being JavaScript it takes more CPU per request on the core it shares with Redis.
pkgs=(build-essential cmake libhiredis-dev nlohmann-json3-dev libgtest-dev redis-server
  clang-14 libclang-rt-14-dev libuv1-dev libssl-dev pkg-config openssl)
[ "${1:-}" = "--bench" ] && pkgs+=(wrk)
for pkg in "${pkgs[@]}"; do
  have_pkg "$pkg" || need_apt+=("$pkg")
done
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "respcache setup: installing ${need_apt[*]}" >&2
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
fi

# The Debian redis-server package starts a system service on 6379; we never rely on it.
stamp=node_modules/.respcache-lock
if [ ! -f "$stamp" ] || ! cmp -s package-lock.json "$stamp"; then
  # The registry sometimes stalls mid-download (EIDLETIMEOUT seen here): try again before giving up.
  for attempt in 1 2 3; do
    if npm ci --no-audit --no-fund --fetch-retries=4; then break; fi
    if [ "$attempt" -eq 3 ]; then echo "respcache setup: npm ci failed 3 times" >&2; exit 1; fi
    echo "respcache setup: npm ci failed (attempt $attempt), retrying" >&2
    sleep $((attempt * 5))
  done
  cp package-lock.json "$stamp"
fi
if ! ls build/Release/*.node >/dev/null 2>&1; then
  npm run build
fi

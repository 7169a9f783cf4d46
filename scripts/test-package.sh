#!/usr/bin/env bash
# `npm run test:package` (and the last step of `npm test`): packs the package as `npm publish`
# would (the prepack script builds the prebuilt addon), checks the tarball, then installs it into
# fresh folders, from the npm registry (its cache when warm) with express, in three ways:
#   normal          npm install: scripts/install.js runs, finds that the prebuilt loads, compiles nothing
#   ignore-scripts  npm install --ignore-scripts: nothing runs; lib/binding.js finds the prebuilt
#   no-toolchain    npm install with a PATH holding node, npm, a shell and a few coreutils, and no
#                   cmake, cc, gcc, g++, c++, make or ninja: the install must still succeed
# Each must load prebuilds/linux-x64/respcache.node, build nothing (no build/ in the installed
# package) and answer a MISS then a HIT through Redis (scripts/package-smoke.js). Then a fourth:
#   source          npm install with RESPCACHE_BUILD_FROM_SOURCE=1: the fallback of platforms
#                   without a prebuilt compiles from the tarball's sources into build/Release/,
#                   and that build is the one loaded
#
# RESPCACHE_PACKAGE_MODES  the modes to run (default "normal ignore-scripts no-toolchain source")
# RESPCACHE_PACKAGE_TLS=0  leaves out the rediss:// round trip each smoke run makes (certs from
#                          test/helpers/gen-certs.sh)
# RESPCACHE_PACKAGE_NODES  more node executables (space-separated, e.g. a Node 18 and a Node 22)
#                          that run the smoke again in the "normal" install: the one prebuilt
#                          binary must serve each of them
# Leaves nothing behind: the temporary folder goes, and postpack removes prebuilds/.
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"
modes="${RESPCACHE_PACKAGE_MODES:-normal ignore-scripts no-toolchain source}"
redis_server="$(command -v redis-server || echo /usr/bin/redis-server)"
started=$SECONDS

tmp="$(mktemp -d)"
# An interrupted run (CI's limit, ^C) must not leave prebuilds/ in the checkout, where the loader
# would prefer it to the development build: postpack only runs after a pack that succeeded.
# The pack runs in a session of its own (setsid) so that the whole tree (npm, prebuild.sh, cmake)
# can be stopped here; a signal ends this script through the EXIT trap.
pack_pid=""
cleanup() {
  if [ -n "$pack_pid" ]; then kill -- "-$pack_pid" 2>/dev/null || true; wait "$pack_pid" 2>/dev/null || true; fi
  rm -rf "$tmp" "$root/prebuilds"
}
trap cleanup EXIT
trap 'exit 143' TERM
trap 'exit 130' INT

if [ "$(node -p 'process.platform + "-" + process.arch')" != linux-x64 ]; then
  echo "test:package: the prebuilt addon is made on linux-x64 only; nothing to check here" >&2
  exit 0
fi

echo "test:package: npm pack (prepack builds the prebuilt addon)"
setsid npm pack --pack-destination "$tmp" >"$tmp/pack.log" 2>&1 &
pack_pid=$!
pack_status=0
wait "$pack_pid" || pack_status=$?
pack_pid=""
if [ "$pack_status" -ne 0 ]; then
  cat "$tmp/pack.log" >&2
  echo "test:package: npm pack failed" >&2
  exit 1
fi
tgz="$(ls "$tmp"/respcache-*.tgz)"
tar -tzvf "$tgz" >"$tmp/contents.txt"
if ! grep -q ' package/prebuilds/linux-x64/respcache\.node$' "$tmp/contents.txt"; then
  echo "test:package: the tarball has no package/prebuilds/linux-x64/respcache.node:" >&2
  cat "$tmp/contents.txt" >&2
  exit 1
fi
if grep -Eq ' package/(build|build-[a-z]+)/' "$tmp/contents.txt"; then
  echo "test:package: the tarball carries a build folder:" >&2
  grep -E ' package/(build|build-[a-z]+)/' "$tmp/contents.txt" >&2
  exit 1
fi
if [ -e prebuilds ]; then
  echo "test:package: prebuilds/ is still in the checkout after npm pack (postpack removes it)" >&2
  exit 1
fi
prebuilt_bytes="$(awk '$NF == "package/prebuilds/linux-x64/respcache.node" { print $3 }' "$tmp/contents.txt")"
echo "test:package: $(basename "$tgz"): $(du -k "$tgz" | cut -f1) KB ($(stat -c %s "$tgz") bytes)," \
  "$(wc -l <"$tmp/contents.txt") files; prebuilt addon $prebuilt_bytes bytes unpacked"

if [ "${RESPCACHE_PACKAGE_TLS:-1}" = 1 ]; then
  if ! bash test/helpers/gen-certs.sh "$tmp/certs"; then
    echo "test:package: making the TLS test certificates failed (needs the openssl CLI)" >&2
    exit 1
  fi
  export SMOKE_TLS_DIR="$tmp/certs"
fi

# The no-toolchain PATH: only what npm and its install scripts need to run.
nobin="$tmp/no-toolchain-bin"
mkdir -p "$nobin"
for tool in node npm npx sh bash env cat uname ls mkdir rm cp mv chmod ln dirname basename; do
  ln -s "$(command -v "$tool")" "$nobin/$tool"
done
for tool in cmake cc gcc g++ c++ clang clang++ make ninja; do
  if PATH="$nobin" command -v "$tool" >/dev/null 2>&1; then
    echo "test:package: $tool is reachable from the no-toolchain PATH" >&2
    exit 1
  fi
done

# The npm registry can stall mid-download (EIDLETIMEOUT seen here): retry before failing.
install_tarball() { # folder, extra args...
  local dir="$1" attempt
  shift
  for attempt in 1 2 3; do
    if (cd "$dir" && npm install --no-audit --no-fund --prefer-offline --fetch-retries=4 \
        --foreground-scripts "$@" "$tgz" express@5 >>install.log 2>&1); then
      return 0
    fi
    [ "$attempt" -eq 3 ] || echo "test:package: npm install failed (attempt $attempt), retrying" >&2
  done
  cat "$dir/install.log" >&2
  return 1
}

failed=0
for mode in $modes; do
  mode_started=$SECONDS
  dir="$tmp/$mode"
  mkdir -p "$dir"
  echo '{ "name": "respcache-package-test", "version": "1.0.0", "private": true }' >"$dir/package.json"
  expect=prebuilds/linux-x64/respcache.node
  path_for_run="$PATH"
  case "$mode" in
    normal) install_tarball "$dir" ;;
    ignore-scripts) install_tarball "$dir" --ignore-scripts ;;
    no-toolchain)
      path_for_run="$nobin"
      PATH="$nobin" install_tarball "$dir" ;;
    source)
      expect=build/Release/respcache.node
      CMAKE_BUILD_PARALLEL_LEVEL="${CMAKE_BUILD_PARALLEL_LEVEL:-2}" RESPCACHE_BUILD_FROM_SOURCE=1 \
        install_tarball "$dir" ;;
    *) echo "test:package: unknown mode $mode" >&2; exit 1 ;;
  esac
  pkg="$dir/node_modules/respcache"
  problem=""
  case "$mode" in
    source)
      [ -f "$pkg/build/Release/respcache.node" ] || problem="the source build made no build/Release/respcache.node" ;;
    ignore-scripts)
      ! grep -q 'respcache: the prebuilt addon' "$dir/install.log" || problem="the install script ran"
      [ ! -e "$pkg/build" ] || problem="something was compiled (node_modules/respcache/build exists)" ;;
    *)
      grep -q 'respcache: the prebuilt addon prebuilds/linux-x64/respcache.node loads here' "$dir/install.log" ||
        problem="scripts/install.js did not report that the prebuilt loads"
      [ ! -e "$pkg/build" ] || problem="something was compiled (node_modules/respcache/build exists)" ;;
  esac
  if [ -z "$problem" ]; then
    if ! (cd "$dir" && PATH="$path_for_run" REDIS_SERVER="$redis_server" SMOKE_EXPECT_ADDON="$expect" \
        node "$root/scripts/package-smoke.js" | sed "s/^/  /"); then
      problem="the smoke run failed"
    fi
  fi
  if [ -n "$problem" ]; then
    echo "test:package: $mode: FAILED: $problem (install log below)" >&2
    sed 's/^/  | /' "$dir/install.log" >&2
    failed=1
  else
    echo "test:package: $mode: ok ($((SECONDS - mode_started)) s)"
  fi
done

# The loader's choices, in installed packages. `loaded <folder> [VAR=value...]` prints the addon
# file require('respcache') loaded there, relative to the package, or the error's code.
loaded() {
  local dir="$1"
  shift
  (cd "$dir" && env "$@" node -e "
    try { require('respcache'); } catch (err) { console.log(err.code); process.exit(); }
    const file = Object.keys(require.cache).find((f) => f.endsWith('.node'));
    console.log(require('path').relative(require('path').dirname(require.resolve('respcache/package.json')), file));")
}
expect_loaded() { # what, folder, VAR=value...
  local want="$1" got
  shift
  got="$(loaded "$@")"
  if [ "$got" != "$want" ]; then
    echo "test:package: loader: with ${*:2} in $(basename "$1"): got $got, expected $want" >&2
    failed=1
  fi
}
if [ -d "$tmp/ignore-scripts/node_modules/respcache" ]; then
  expect_loaded ERR_RESPCACHE_ADDON_MISSING "$tmp/ignore-scripts" RESPCACHE_ADDON_PATH=/nonexistent/respcache.node
  missing="$(cd "$tmp/ignore-scripts" && RESPCACHE_ADDON_PATH=/nonexistent/respcache.node \
    node -e "try { require('respcache') } catch (err) { console.log(err.message) }")"
  echo "$missing" | grep -q '^  /nonexistent/respcache.node: not found$' ||
    { echo "test:package: loader: the error does not list the path tried: $missing" >&2; failed=1; }
fi
if [ -d "$tmp/source/node_modules/respcache/build" ]; then
  pkg="$tmp/source/node_modules/respcache"
  # Built at install, so newer than the prebuilt: the build wins; a newer prebuilt wins back,
  # unless RESPCACHE_PREFER_BUILD=1.
  expect_loaded build/Release/respcache.node "$tmp/source"
  touch "$pkg/prebuilds/linux-x64/respcache.node"
  expect_loaded prebuilds/linux-x64/respcache.node "$tmp/source"
  expect_loaded build/Release/respcache.node "$tmp/source" RESPCACHE_PREFER_BUILD=1
  expect_loaded build/Release/respcache.node "$tmp/source" RESPCACHE_ADDON_PATH="$pkg/build/Release/respcache.node"
fi
[ "$failed" != 0 ] || echo "test:package: loader choices: ok"

for other_node in ${RESPCACHE_PACKAGE_NODES:-}; do
  [ -d "$tmp/normal/node_modules/respcache" ] || { echo "test:package: RESPCACHE_PACKAGE_NODES needs the normal mode" >&2; failed=1; break; }
  version="$("$other_node" -v)"
  if (cd "$tmp/normal" && REDIS_SERVER="$redis_server" SMOKE_EXPECT_ADDON=prebuilds/linux-x64/respcache.node \
      "$other_node" "$root/scripts/package-smoke.js" | sed "s/^/  /"); then
    echo "test:package: normal install under node $version: ok"
  else
    echo "test:package: normal install under node $version ($other_node): FAILED" >&2
    failed=1
  fi
done

echo "test:package: $( [ "$failed" = 0 ] && echo passed || echo FAILED ) in $((SECONDS - started)) s"
exit "$failed"

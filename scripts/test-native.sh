#!/usr/bin/env bash
# Builds the GoogleTest units and runs them with ctest: the pure core (respcache_core_tests), the
# Redis layer against a fake RESP server on Debian's libuv (respcache_redis_tests; needs
# libuv1-dev, which npm run setup installs), and the layer check. No Node here.
# --sanitize builds them with AddressSanitizer + UndefinedBehaviorSanitizer into their own folder.
# Then, when the addon is built, checks that it links no libuv: its uv_* must bind to node.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=build-tests
flags=(-DRESPCACHE_ADDON=OFF -DRESPCACHE_TESTS=ON -DCMAKE_BUILD_TYPE=Release)
if [ "${1:-}" = "--sanitize" ]; then
  dir=build-tests-sanitize
  flags=(-DRESPCACHE_ADDON=OFF -DRESPCACHE_TESTS=ON -DRESPCACHE_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug)
fi
gen=()
command -v ninja >/dev/null && gen=(-G Ninja)
if [ -f "$dir/CMakeCache.txt" ] && ! grep -q "CMAKE_GENERATOR:INTERNAL=${gen[1]:-Unix Makefiles}" "$dir/CMakeCache.txt"; then
  rm -rf "$dir"
fi
cmake -S . -B "$dir" "${gen[@]}" "${flags[@]}" >/dev/null
cmake --build "$dir" -j 2
UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 ctest --test-dir "$dir" --output-on-failure -j 2

for addon in build/Release/*.node build-sanitize/Debug/*.node; do
  [ -f "$addon" ] || continue
  if ldd "$addon" | grep -q libuv || readelf -d "$addon" | grep -q 'NEEDED.*libuv'; then
    echo "test-native: $addon links a system libuv; Node's own must be the only one" >&2
    exit 1
  fi
done

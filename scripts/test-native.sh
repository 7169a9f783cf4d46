#!/usr/bin/env bash
# Builds the pure C++ core with its GoogleTest units (no Node, no hiredis) and runs them with ctest.
# --sanitize builds them with AddressSanitizer + UndefinedBehaviorSanitizer into their own folder.
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

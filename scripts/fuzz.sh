#!/usr/bin/env bash
# Builds the libFuzzer targets (clang-14, -DRESPCACHE_FUZZ=ON, in build-fuzz/) and runs each one
# after the other, single process, printing its execution count; exits non-zero on any finding.
#   bash scripts/fuzz.sh                       every target for 10 s (FUZZ_SECONDS overrides)
#   bash scripts/fuzz.sh --seconds 300         every target for 300 s
#   bash scripts/fuzz.sh --runs 10000000 entry_codec   one target for ten million executions
# Targets: entry_codec, request_key, cluster_topology (CLUSTER SHARDS/SLOTS replies; its seeds
# are the replies captured in test/native/redis/fixtures/) (the Redis URL is parsed in JS now: test/unit/redis-url.test.js). Each starts from its seeds in test/fuzz/corpus/
# plus what earlier runs here found, kept in build-fuzz/corpus/ so the repository stays clean.
# A finding is saved as build-fuzz/findings/<target>-crash-<sha1>; replay it with
#   build-fuzz/<target>_fuzz <file>
set -euo pipefail
cd "$(dirname "$0")/.."

seconds="${FUZZ_SECONDS:-10}"
runs=""
targets=()
while [ $# -gt 0 ]; do
  case "$1" in
    --seconds) seconds="$2"; shift 2 ;;
    --runs) runs="$2"; shift 2 ;;
    entry_codec|request_key|cluster_topology) targets+=("$1"); shift ;;
    *) echo "usage: scripts/fuzz.sh [--seconds N | --runs N] [entry_codec|request_key|cluster_topology]..." >&2; exit 2 ;;
  esac
done
[ ${#targets[@]} -gt 0 ] || targets=(entry_codec request_key cluster_topology)

if ! command -v clang++-14 >/dev/null; then
  echo "fuzz: clang++-14 not found (Debian: apt-get install clang-14 libclang-rt-14-dev, or npm run setup)" >&2
  exit 1
fi
dir=build-fuzz
gen=()
command -v ninja >/dev/null && gen=(-G Ninja)
if [ -f "$dir/CMakeCache.txt" ] && ! grep -q "CMAKE_GENERATOR:INTERNAL=${gen[1]:-Unix Makefiles}" "$dir/CMakeCache.txt"; then
  rm -rf "$dir"
fi
cmake -S . -B "$dir" "${gen[@]}" -DRESPCACHE_ADDON=OFF -DRESPCACHE_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_COMPILER=clang++-14 -DCMAKE_C_COMPILER=clang-14 >/dev/null
cmake --build "$dir" -j 2 --target "${targets[@]/%/_fuzz}"

if [ -n "$runs" ]; then limit=(-runs="$runs"); else limit=(-max_total_time="$seconds"); fi
mkdir -p "$dir/findings" "$dir/logs"
failed=()
for t in "${targets[@]}"; do
  mkdir -p "$dir/corpus/$t"
  log="$dir/logs/$t.log"
  # New inputs go to the first corpus folder only: the scratch one, never the checked-in seeds.
  # -timeout: one input taking over 10 s is a finding (a hang), as is an RSS over 2 GB.
  if "$dir/${t}_fuzz" "${limit[@]}" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
      -artifact_prefix="$dir/findings/$t-" "$dir/corpus/$t" "test/fuzz/corpus/$t" >"$log" 2>&1; then
    done_line=$(grep -E '^Done [0-9]+ runs in [0-9]+ second' "$log" | tail -1)
    n=$(awk '{print $2}' <<<"$done_line")
    s=$(awk '{print $5}' <<<"$done_line")
    echo "fuzz $t: $n runs in $s s ($(( n / (s > 0 ? s : 1) )) exec/s), no finding; corpus $(ls "$dir/corpus/$t" | wc -l) + $(ls "test/fuzz/corpus/$t" | wc -l) seeds"
  else
    echo "fuzz $t: FINDING (log $log); the last lines:" >&2
    tail -n 40 "$log" >&2
    failed+=("$t")
  fi
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz: findings in ${failed[*]}; inputs in $dir/findings/" >&2
  exit 1
fi

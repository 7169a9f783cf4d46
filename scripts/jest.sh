#!/usr/bin/env bash
# Jest with a time limit: a test run that does not end (a handle left open after a failure) is
# reported and killed instead of holding CI until its own limit. The whole JavaScript suite takes
# about a minute here; RESPCACHE_JEST_LIMIT (seconds) overrides the default of 900.
set -uo pipefail
cd "$(dirname "$0")/.."
limit="${RESPCACHE_JEST_LIMIT:-900}"
timeout --kill-after=15 "$limit" npx jest "$@"
status=$?
if [ "$status" -eq 124 ] || [ "$status" -eq 137 ]; then
  echo "jest did not finish within ${limit} s (a test hung or a handle kept the run open)" >&2
fi
exit "$status"

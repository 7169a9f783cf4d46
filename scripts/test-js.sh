#!/usr/bin/env bash
# The Jest suites of npm test, in two steps: every suite but the timed fault scenarios and the
# fixtures' self-tests, on two workers (the two load-sensitive tests that failed there once are
# event-driven now: 93-100 s instead of 174 s on one); then those (test/cluster, test/sentinel, test/harness),
# which time failovers and reshards under load, on their own, one suite at a time (Jest's
# default on two cores), with nothing else competing for the cores. The RFC 9111 conformance
# suite (test/gateway/rfc9111-*) is run by scripts/conformance.js; a --testPathIgnorePatterns
# list replaces package.json's, so it is named here too.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/jest.sh -w 2 --testPathIgnorePatterns '/node_modules/' '/test/gateway/rfc9111-' \
  '<rootDir>/test/cluster/' '<rootDir>/test/sentinel/' '<rootDir>/test/harness/'
bash scripts/jest.sh test/cluster test/sentinel test/harness

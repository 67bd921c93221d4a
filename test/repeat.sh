#!/usr/bin/env bash
# Run the pg_regress and isolation suites many times in a row on one
# cluster, to catch what fails only now and then (a race is a bug):
#
#   bash test/repeat.sh              # 20 rounds, the host's PostgreSQL
#   PG_MAJOR=18 bash test/repeat.sh 50
#
# It is test/check.sh with REPEAT=N, SKIP_TAP=1 and SKIP_BENCH=1: it stops
# at the first failing round, shows why, and ends with "N passed, N failed".
set -euo pipefail
rounds=${1:-20}
REPEAT=$rounds SKIP_TAP=1 SKIP_BENCH=1 exec bash "$(dirname "${BASH_SOURCE[0]}")/check.sh"

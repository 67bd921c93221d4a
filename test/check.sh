#!/usr/bin/env bash
# Run every bulk_status test on throwaway PostgreSQL clusters.
#
#   bash test/check.sh              # the newest PostgreSQL installed, or the
#                                   # one this Debian release ships
#   PG_MAJOR=17 bash test/check.sh  # a given major
#
# Installs what is missing (Debian), builds and installs the extension,
# starts a cluster in a temporary directory, then runs each suite with
# `make installcheck`: the pg_regress tests (test/sql), the isolation specs
# (test/specs) and the TAP tests (test/t, which start their own clusters).
# Each suite runs even when an earlier one failed; why a suite failed is
# printed (diffs, logs).  The last line is "N passed, N failed"; the exit
# status is 0 only when every test passed.
#
# A major that this machine's Debian does not ship (17 and 18 on Debian 12)
# is tested inside a Debian root file system that has it, made once with
# debootstrap and kept outside the tree (test/roots.sh).
#
# When run as root, the tests run as the postgres user in a copy of the tree.
# Environment: PG_MAJOR, COPT (extra compiler flags), PORT (first port to
# try, default 56000), PRELOAD_LIBRARIES (shared_preload_libraries of the
# cluster), KEEP=1 (keep the temporary directory for a post-mortem),
# SKIP_BENCH=1 (leave out the quick benchmark guard, test/bench/bench.sh
# --quick), SKIP_TAP=1 (leave out the TAP tests), REPEAT=N (run the suites
# N times, stopping at the first failing round: test/repeat.sh), SUITES
# (which of "regress isolation tap" run, default all), PROVE_TESTS (the TAP
# files to run, e.g. test/t/012_vacuum_passes.pl),
# BULK_STATUS_ROOTS (where the root file systems are kept).

set -euo pipefail
# shellcheck source=test/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ROOT=$(repo_root)
WORK=""        # temporary directory: the cluster, logs, and (as root) the tree copy
TESTDIR=""     # where `make installcheck` runs
PASSED=0       # tests passed, all suites
FAILED=0       # tests failed, all suites
SUMMARY_DONE=0 # set once the summary line is printed
REPEAT=${REPEAT:-1}  # rounds of the suites (test/repeat.sh)
[[ "$REPEAT" =~ ^[1-9][0-9]*$ ]] || die "REPEAT must be a positive number, not '$REPEAT'"

# shared_preload_libraries of the test cluster: background jobs need it
# (the TAP tests configure their own nodes).  No job worker runs there
# (bulk_status.max_workers = 0), so the regression output of jobs, which
# stay queued, is deterministic; the TAP tests run them.
PRELOAD_LIBRARIES=${PRELOAD_LIBRARIES:-bulk_status}
CLUSTER_EXTRA_CONF=${CLUSTER_EXTRA_CONF:-bulk_status.max_workers = 0}

# On any exit: stop the cluster and remove the temporary directory.  When
# we stop early (build failure, cluster that does not start, a signal) the
# summary line still ends the output, with one failure for the abort.
cleanup() {
    local rc=$?
    set +e
    if [ "$SUMMARY_DONE" = 0 ]; then
        echo "check.sh stopped early (exit status $rc)"
        echo "$PASSED passed, $((FAILED + 1)) failed"
        [ "$rc" -ne 0 ] || rc=1
    fi
    cluster_stop
    if [ -n "$WORK" ]; then
        if [ "${KEEP:-0}" = 1 ]; then
            echo "kept $WORK"
        else
            rm -rf "$WORK"
        fi
    fi
    exit "$rc"
}

# Create $WORK, and decide where the tests run: in place for a normal user,
# in a copy owned by postgres for root (postgres must write results there).
prepare_workdir() {
    WORK=$(mktemp -d "${TMPDIR:-/tmp}/bulk_status_check.XXXXXX")
    chmod 755 "$WORK"
    mkdir "$WORK/cluster" "$WORK/logs"
    if [ "$(id -u)" -eq 0 ]; then
        TESTDIR=$WORK/tree
        mkdir "$TESTDIR"
        # The tracked files plus the build, without git data or old test output.
        tar -C "$ROOT" -cf - \
            --exclude=./.git --exclude=./.demo --exclude=./test/bench/data --exclude=./results \
            --exclude=./output_iso --exclude=./tmp_check --exclude=./log \
            --exclude=./regression.diffs --exclude=./regression.out . \
            | tar -C "$TESTDIR" -xf -
        give_to_pg "$TESTDIR"
        give_to_pg "$WORK/cluster"
        log "running the tests as postgres in $TESTDIR"
    else
        TESTDIR=$ROOT
        # Old output would be mistaken for this run's.
        rm -rf "$TESTDIR/results" "$TESTDIR/output_iso" "$TESTDIR/tmp_check" \
            "$TESTDIR/regression.diffs" "$TESTDIR/regression.out"
    fi
}

# Succeed when directory $1 has a file matching glob $2.
has_files() {
    compgen -G "$TESTDIR/$1/$2" >/dev/null
}

# Print "passed failed" from pg_regress / pg_isolation_regress output in $1.
# Up to PostgreSQL 15 a test's line is "test name ... ok 12 ms" (in a
# parallel group "     name ... FAILED 12 ms"); from 16 on it is TAP,
# "ok 1 - name 12 ms" or "not ok 2 + name 12 ms".  A failure pg_regress
# was told to ignore counts as passed, as pg_regress itself counts it.
count_pg_regress() {
    awk '
        / \.\.\. +ok( |$)/               { p++; next }
        / \.\.\. +failed \(ignored\)/    { p++; next }
        / \.\.\. +FAILED/                { f++; next }
        /^ok +[0-9]+ +[-+] /              { p++; next }
        /^not ok +[0-9]+ +[-+] / {
            if ($0 ~ /# *(SKIP|\(ignored\))/) p++; else f++
            next
        }
        END { print p + 0, f + 0 }' "$1"
}

# Print "passed failed" from `prove -v` output in $1: every top-level
# "ok N" passed; a test file listed in prove's summary report failed with as
# many tests as it reports failed (planned but not run included), at least 1.
count_prove() {
    awk '
        /^[^ ]+\.pl \.+ /                  { file = $1; next }
        /^ok [0-9]/                        { p++; next }
        /^not ok [0-9]/                    { if ($0 !~ /# TODO/) notok[file]++; next }
        /^Failed [0-9]+\/[0-9]+ subtests/  { split($2, a, "/"); nfail[file] = a[1]; next }
        /^Test Summary Report/             { report = 1; next }
        report && /^[^ ]+\.pl +\(Wstat/    { bad[$1] = 1 }
        END {
            for (f in bad) {
                n = nfail[f] > notok[f] ? nfail[f] : notok[f]
                f_total += n > 0 ? n : 1
            }
            print p + 0, f_total + 0
        }' "$1"
}

# Run one suite: $1 its name (regress, isolation, tap), the rest extra make
# arguments that select it.  Adds to PASSED and FAILED, and prints why it
# failed.
run_suite() {
    local name=$1
    shift
    local out="$WORK/logs/$name.log" rc=0 p f
    log "suite $name: make installcheck $*"
    PG_CWD=$TESTDIR as_pg make -C "$TESTDIR" installcheck \
        PG_CONFIG="$PG_CONFIG" PGHOST="$PGHOST" PGPORT="$PGPORT" PGUSER=postgres \
        "$@" 2>&1 | tee "$out" || rc=$?

    if [ "$name" = tap ]; then
        read -r p f < <(count_prove "$out")
    else
        read -r p f < <(count_pg_regress "$out")
    fi
    # A suite that failed without a failing test (setup error, crash) is one failure.
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
        f=1
    fi
    PASSED=$((PASSED + p))
    FAILED=$((FAILED + f))
    echo "suite $name: $p passed, $f failed (make exit status $rc)"
    if [ "$rc" -ne 0 ]; then
        explain_failure "$name"
    fi
}

# Print the files that say why suite $1 failed.
explain_failure() {
    local name=$1 t base file
    case $name in
        regress) show_file "$TESTDIR/regression.diffs" ;;
        isolation) show_file "$TESTDIR/output_iso/regression.diffs" ;;
        tap)
            # The logs of each test file in prove's "Test Summary Report".
            for t in $(failed_tap_files "$WORK/logs/tap.log"); do
                base=$(basename "$t" .pl)
                for file in "$TESTDIR/tmp_check/log/regress_log_$base" \
                            "$TESTDIR/tmp_check/log/${base}_"*.log; do
                    [ -f "$file" ] || continue
                    echo "----- tail of $file"
                    tail -n 150 "$file"
                done
            done
            ;;
    esac
    if [ "$name" != tap ]; then
        echo "----- tail of the server log $WORK/cluster/server.log"
        tail -n 60 "$WORK/cluster/server.log" 2>/dev/null || true
    fi
}

# Whether suite $1 is among SUITES (default: all of them).
wanted() {
    [[ " ${SUITES:-regress isolation tap} " == *" $1 "* ]]
}

# Print the test files that prove reported as failed in its output $1.
failed_tap_files() {
    awk '/^Test Summary Report/ { report = 1 }
         report && /^[^ ]+\.pl +\(Wstat/ { print $1 }' "$1"
}

# Print file $1 (at most 3000 lines) with a header, if it exists.
show_file() {
    if [ -s "$1" ]; then
        echo "----- $1"
        head -n 3000 "$1"
    fi
}

main() {
    # A major this machine cannot install runs in a Debian root that has
    # it (test/roots.sh), where this script runs again and says the rest.
    if ! host_has_major; then
        # shellcheck source=test/roots.sh
        source "$ROOT/test/roots.sh"
        run_in_root "$PG_MAJOR" test/check.sh
        exit $?
    fi

    trap cleanup EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM

    install_deps
    build_and_install "$ROOT"
    prepare_workdir
    local port
    port=$(pick_port "${PORT:-56000}")
    cluster_start "$WORK/cluster" "$port"

    local ran=0 round
    for ((round = 1; round <= REPEAT; round++)); do
        [ "$REPEAT" -eq 1 ] || log "round $round of $REPEAT"
        if wanted regress && has_files test/sql '*.sql'; then
            run_suite regress ISOLATION= TAP_TESTS=
            ran=1
        fi
        if wanted isolation && has_files test/specs '*.spec'; then
            run_suite isolation REGRESS= TAP_TESTS=
            ran=1
        fi
        if wanted tap && [ "${SKIP_TAP:-0}" != 1 ] && has_files test/t '*.pl'; then
            run_suite tap REGRESS= ISOLATION= PROVE_FLAGS=-v ${PROVE_TESTS:+PROVE_TESTS="$PROVE_TESTS"}
            ran=1
        fi
        if [ "$FAILED" -gt 0 ] && [ "$REPEAT" -gt 1 ]; then
            echo "round $round of $REPEAT failed; stopping here"
            break
        fi
    done
    if [ "$ran" -eq 0 ]; then
        echo "no tests found in test/sql, test/specs or test/t"
        FAILED=$((FAILED + 1))
    fi

    # The quick benchmark (200k rows): a guard that fails if the engine's
    # memory stops being flat or a transition falls far behind one UPDATE.
    # SKIP_BENCH=1 leaves it out.
    if [ "${SKIP_BENCH:-0}" != 1 ]; then
        log "benchmark guard: bash test/bench/bench.sh --quick"
        if bash "$ROOT/test/bench/bench.sh" --quick; then
            PASSED=$((PASSED + 1))
            echo "bench --quick: 1 passed, 0 failed"
        else
            FAILED=$((FAILED + 1))
            echo "bench --quick: 0 passed, 1 failed"
        fi
    fi

    log "summary"
    echo "$PASSED passed, $FAILED failed"
    SUMMARY_DONE=1
    [ "$FAILED" -eq 0 ]
}

main "$@"

#!/usr/bin/env bash
# Does autovacuum reclaim space behind a long transition?  The same dense
# transition (SYNCED -> TEMP_DELETED, 98% of the rows) as CALL and as a
# background job, with PostgreSQL's default autovacuum and with one tuned
# for the table, at full speed and capped at 50,000 rows/s; heap growth and
# the autovacuum runs on the table during each.  Uses the benchmark's
# cluster and template (test/bench/bench.sh; it generates the table if
# missing), with autovacuum_naptime = 1s for these runs only.
#
#   bash test/bench/heap_reuse.sh [--rows N]      (default 1000000)
#
# Writes test/bench/heap_reuse_<rows>.md.

set -euo pipefail
# shellcheck source=test/bench/bench.sh
source "$(dirname "${BASH_SOURCE[0]}")/bench.sh"

TUNED="ALTER TABLE files SET (autovacuum_vacuum_scale_factor = 0.02, autovacuum_vacuum_cost_delay = 0);"
CAP=", max_rows_per_sec => 50000"

# One run on a fresh clone: $1 label, $2 CALL or job, $3 table settings
# (SQL), $4 extra arguments; appends a table row to $RUN_DIR/heap_reuse.
heap_run() {
    local label=$1 how=$2 settings=$3 extra=$4 run lines
    log "$label"
    lines=$(wc -l <"$RUN_DIR/heap_reuse")
    clone_scratch
    if [ "$how" = CALL ]; then
        run="CALL bulk_status.transition('files', 'SYNCED', 'TEMP_DELETED', batch_size => $BATCH $extra) \\gset"
    else
        run=$(job_body "bulk_status.submit('files', 'SYNCED', 'TEMP_DELETED', batch_size => $BATCH $extra)")
    fi
    bench_psql -At -F ' | ' -d "$SCRATCH_DB" <<SQL >>"$RUN_DIR/heap_reuse"
\\i $BENCH/wait_job.sql
$settings
CHECKPOINT;
SELECT pg_relation_size('files') AS h0, clock_timestamp() AS t0,
       (SELECT autovacuum_count FROM pg_stat_user_tables WHERE relname = 'files') AS av0 \\gset
$run
SELECT pg_stat_force_next_flush() \\gset
SELECT pg_sleep(1) \\gset
SELECT '| $label', round(extract(epoch FROM clock_timestamp() - :'t0')::numeric, 1) || ' s',
       pg_size_pretty(pg_relation_size('files') - :h0) || ' (' ||
           round(100.0 * (pg_relation_size('files') - :h0) / :h0) || '%)',
       (SELECT autovacuum_count FROM pg_stat_user_tables WHERE relname = 'files') - :av0 || ' |';
SQL
    [ "$(wc -l <"$RUN_DIR/heap_reuse")" -gt "$lines" ] || die "$label: the run did not finish"
    drop_scratch
}

# autovacuum_naptime for these runs: $1 a value, or "default" to reset it.
NAPTIME_SET=0
set_naptime() {
    if [ "$1" = default ]; then
        bench_psql -d postgres -c "ALTER SYSTEM RESET autovacuum_naptime" -c "SELECT pg_reload_conf()" </dev/null >/dev/null
        NAPTIME_SET=0
    else
        NAPTIME_SET=1
        bench_psql -d postgres -c "ALTER SYSTEM SET autovacuum_naptime = '$1'" -c "SELECT pg_reload_conf()" </dev/null >/dev/null
    fi
}

# On exit: undo the naptime change (even after an interrupted run), then
# bench.sh's cleanup.
heap_cleanup() {
    local rc=$?
    set +e
    [ "$NAPTIME_SET" = 0 ] || set_naptime default 2>/dev/null
    (exit "$rc")
    cleanup
}

heap_main() {
    local rows=1000000
    case ${1:-} in
        --rows) rows=${2:?--rows needs a number} ;;
        --rows=*) rows=${1#--rows=} ;;
        "") ;;
        *) die "usage: bash test/bench/heap_reuse.sh [--rows N]" ;;
    esac
    parse_args --rows "$rows"
    trap heap_cleanup EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
    install_deps
    build_and_install "$ROOT"
    prepare_data_dir
    cluster_reuse "$DATA" "$(pick_port "${PORT:-57000}")"
    SIZE=${SIZES[0]}
    ensure_template "$SIZE"
    : >"$RUN_DIR/heap_reuse"
    set_naptime 1s
    heap_run "CALL, default autovacuum" CALL "" ""
    heap_run "CALL, tuned autovacuum" CALL "$TUNED" ""
    heap_run "CALL, tuned autovacuum, 50,000 rows/s" CALL "$TUNED" "$CAP"
    heap_run "job, default autovacuum" job "" ""
    heap_run "job, tuned autovacuum" job "$TUNED" ""
    heap_run "job, tuned autovacuum, 50,000 rows/s" job "$TUNED" "$CAP"
    set_naptime default
    {
        echo "# Heap growth of a transition: CALL vs background job"
        echo
        echo "\`bash test/bench/heap_reuse.sh --rows $SIZE\`, $(date -u '+%Y-%m-%d %H:%M UTC'), commit $(git -C "$ROOT" rev-parse --short HEAD)."
        echo "Dense transition (\`SYNCED -> TEMP_DELETED\`, 98% of $SIZE rows), batches of $BATCH, on a fresh clone each;"
        echo "\`autovacuum_naptime = 1s\` for these runs; tuned = \`autovacuum_vacuum_scale_factor = 0.02, autovacuum_vacuum_cost_delay = 0\` on the table."
        echo "Autovacuum runs = \`autovacuum_count\` of the table during the run (and one second after)."
        echo
        echo "| run | wall | heap growth | autovacuum runs |"
        echo "| --- | ---: | ---: | ---: |"
        cat "$RUN_DIR/heap_reuse"
    } >"$BENCH/heap_reuse_$SIZE.md"
    cat "$BENCH/heap_reuse_$SIZE.md"
}

heap_main "$@"

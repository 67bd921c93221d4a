#!/usr/bin/env bash
# Does a long transition leave the table about the size it was?  The same
# dense transition (SYNCED -> TEMP_DELETED, 98% of the rows) as CALL and as
# a background job, and the two sync cycles (three transitions; stamp and
# finalize), each without vacuum passes (vacuum_threshold => 0) and with
# them (the default), side by side, at PostgreSQL's default autovacuum
# settings: wall time, throughput against the same run without passes,
# heap and index growth, the vacuum passes and autovacuum runs on the table
# during each.  Uses the benchmark's cluster and template (test/bench/
# bench.sh; it generates the table if missing), with autovacuum_naptime =
# 1s for these runs only (so that autovacuum gets every chance it has).
#
#   bash test/bench/heap_reuse.sh [--rows N]      (default 1000000)
#
# Writes test/bench/heap_reuse_<rows>.md.

set -euo pipefail
# shellcheck source=test/bench/bench.sh
source "$(dirname "${BASH_SOURCE[0]}")/bench.sh"

OFF=", vacuum_threshold => 0"

# The SQL of one run: $1 CALL, job, three_pass or generation; $2 extra
# arguments of its transitions.
heap_body() {
    local how=$1 extra=$2
    case $how in
        CALL)
            echo "CALL bulk_status.transition('files', 'SYNCED', 'TEMP_DELETED', batch_size => $BATCH $extra) \\gset" ;;
        job)
            job_body "bulk_status.submit('files', 'SYNCED', 'TEMP_DELETED', batch_size => $BATCH $extra)" ;;
        three_pass)
            cat <<SQL
CALL bulk_status.transition('files', 'SYNCED', 'TEMP_DELETED', batch_size => $BATCH $extra) \\gset
CALL bulk_status.transition('files', 'TEMP_DELETED', 'SYNCED', batch_size => $BATCH, source => 'seen_files' $extra) \\gset
CALL bulk_status.transition('files', 'TEMP_DELETED', 'DELETED', batch_size => $BATCH $extra) \\gset
SQL
            ;;
        generation)
            cat <<SQL
SELECT bulk_status.generation_begin('files') AS g \\gset
CALL bulk_status.stamp('files', 'sync_gen', :'g', source => 'seen_files', batch_size => $BATCH $extra) \\gset
SELECT format('sync_gen < %s', :g) AS older \\gset
CALL bulk_status.transition('files', 'SYNCED', 'DELETED', filter => :'older', batch_size => $BATCH $extra) \\gset
SELECT bulk_status.generation_end('files', :g) AS ended \\gset
SQL
            ;;
        *) die "unknown run $how" ;;
    esac
}

# One run on a fresh clone: $1 label, $2 CALL, job, three_pass or
# generation, $3 extra arguments; appends "label|seconds|heap %|index
# %|vacuums|autovacuums" to $RUN_DIR/heap_reuse.
heap_run() {
    local label=$1 how=$2 extra=$3 setup="" lines
    log "$label"
    lines=$(wc -l <"$RUN_DIR/heap_reuse")
    clone_scratch
    if [ "$how" = generation ]; then
        # generation 1 ended before the column was added (no rewrite)
        setup="SELECT bulk_status.generation_begin('files') AS g \\gset
SELECT bulk_status.generation_end('files', :g) AS ended \\gset
ALTER TABLE files ADD COLUMN sync_gen bigint NOT NULL DEFAULT bulk_status.current_generation('files');"
    fi
    bench_psql -At -F '|' -d "$SCRATCH_DB" <<SQL >>"$RUN_DIR/heap_reuse"
\\i $BENCH/wait_job.sql
$setup
CHECKPOINT;
SELECT pg_relation_size('files') AS h0, pg_indexes_size('files') AS i0, clock_timestamp() AS t0,
       (SELECT vacuum_count FROM pg_stat_user_tables WHERE relname = 'files') AS v0,
       (SELECT autovacuum_count FROM pg_stat_user_tables WHERE relname = 'files') AS av0 \\gset
$(heap_body "$how" "$extra")
SELECT extract(epoch FROM clock_timestamp() - :'t0') AS secs \\gset
SELECT pg_stat_force_next_flush() \\gset
SELECT pg_sleep(1) \\gset
SELECT '$label', round(:secs::numeric, 1),
       round(100.0 * (pg_relation_size('files') - :h0) / :h0),
       round(100.0 * (pg_indexes_size('files') - :i0) / :i0),
       (SELECT vacuum_count FROM pg_stat_user_tables WHERE relname = 'files') - :v0,
       (SELECT autovacuum_count FROM pg_stat_user_tables WHERE relname = 'files') - :av0;
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
    local how
    for how in CALL job three_pass generation; do
        heap_run "$how, no vacuum passes" "$how" "$OFF"
        heap_run "$how, vacuum passes" "$how" ""
    done
    set_naptime default
    {
        echo "# Heap growth of a transition, without and with vacuum passes"
        echo
        echo "\`bash test/bench/heap_reuse.sh --rows $SIZE\`, $(date -u '+%Y-%m-%d %H:%M UTC'), commit $(git -C "$ROOT" rev-parse --short HEAD)."
        echo "Dense transition (\`SYNCED -> TEMP_DELETED\`, 98% of $SIZE rows) as CALL and as a job, and the two sync"
        echo "cycles (three transitions; stamp + finalize), batches of $BATCH, each on a fresh clone; PostgreSQL's default"
        echo "autovacuum settings, \`autovacuum_naptime = 1s\` for these runs. No passes = \`vacuum_threshold => 0\`;"
        echo "passes = the default (a pass per 2% of the table's rows). Vacuums and autovacuums = \`vacuum_count\` and"
        echo "\`autovacuum_count\` of the table during the run (and one second after). Speed = rows/s against the same"
        echo "run without passes."
        echo
        echo "| run | wall | speed | heap growth | index growth | vacuum passes | autovacuums |"
        echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"
        awk -F'|' '
            $1 ~ / no vacuum passes$/ { base = $2 }
            {
                speed = ($1 ~ /, vacuum passes$/ && $2 > 0) ? sprintf("%.2fx", base / $2) : "1.00x"
                printf "| %s | %.1f s | %s | %+d%% | %+d%% | %d | %d |\n", $1, $2, speed, $3, $4, $5, $6
            }' "$RUN_DIR/heap_reuse"
    } >"$BENCH/heap_reuse_$SIZE.md"
    cat "$BENCH/heap_reuse_$SIZE.md"
}

heap_main "$@"

#!/usr/bin/env bash
# The bulk_status benchmark: transitions, background jobs, scans and the
# file-sync cycle side by side with what PostgreSQL offers natively, on the
# files table of a file-sync cache (README, "The sync cycle").
#
#   bash test/bench/bench.sh [--rows N[,N...]] [--quick] [--out DIR]
#
#   --rows     table sizes, e.g. --rows 1000000,10000000 (default 1000000);
#              each size is a full run, and memory is compared across sizes
#   --quick    a guard for test/check.sh, under two minutes: 20,000 and
#              200,000 rows, dense transitions without trigger, the scans
#              (one repetition each), and the sync cycles on 200,000 rows;
#              exits 1 if the engine's memory is not flat (engine peak of the
#              200k run vs the 20k run differs by more than 10%) or if the
#              range or auto transition is below half the single UPDATE's rows/s
#   --out      where results.md, results.tsv, throughput.png and memory.png
#              go (default test/bench, or test/bench/data/quick with --quick,
#              or test/bench/data/scans[_quick] with SCANS_ONLY=1)
#
# Environment:
#   SCANS_ONLY=1  only the scans and the first-row times (no transitions, no
#                 sync cycles, no plots); results.md goes to
#                 test/bench/data/scans unless --out says otherwise, so a run
#                 of record in test/bench is left alone
#   SCAN_REPS=R   repetitions of every scan (default 3, 1 with --quick)
#   BENCH_SCANS   the scans to run, space-separated, in that order (default:
#                 those of SCANS below; copy_scan only when named here)
#   PORT          first port to try (default 57000)
#   BENCH_DATA    the cluster's directory instead of test/bench/data
#   BENCH_NOTE    a line for results.md, e.g. what else ran on the machine
#   COPT          passed to the extension's build
#
# Installs what is missing (Debian 12, with gnuplot-nox), builds and installs
# the extension, and starts a PostgreSQL 15 cluster in test/bench/data/
# (git-ignored) that is kept between runs, stopped at the end: each table
# size is generated once into a template database bench_<N>; every run that
# changes data works on a clone (CREATE DATABASE ... TEMPLATE, file copy)
# that is dropped after it.  Durability settings are PostgreSQL's defaults
# (fsync, synchronous_commit and full_page_writes on); shared_buffers 2GB,
# max_wal_size 8GB, checkpoint_timeout 30min, autovacuum on.
#
# For every run: wall time, rows/s, ratios, the backend's peak RssAnon
# (sampled from /proc every 100 ms), the engine's own peak
# (bulk_status.last_run()), WAL bytes, heap and index growth, temp-file
# bytes; for scans also the time to the first row (test/bench/first_row.c).
#
# The scans (run_scans) run on the template database: first the heap and
# the primary-key index of files are read into shared buffers once
# (pg_prewarm), then every scan runs SCAN_REPS times, round-robin over the
# scans (all scans once, then all again), and results.md gives the minimum
# and the median of each.  While they run, a side table (bench_side, in the
# template, dropped afterwards) takes one UPDATE every 20 ms from another
# session, so that transaction ids advance; every 100 ms another session
# samples age(backend_xmin) of the reading backends (xmin_watch.sh); and in
# the last repetition of each scan a VACUUM (VERBOSE) of bench_side, run
# while the scan still reads, shows how many dead rows it could remove and
# how many the scan's snapshot kept.

set -euo pipefail
# shellcheck source=test/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
# shellcheck source=test/bench/xmin_watch.sh
source "$(dirname "${BASH_SOURCE[0]}")/xmin_watch.sh"

ROOT=$(repo_root)
BENCH=$ROOT/test/bench
DATA=${BENCH_DATA:-$BENCH/data}    # the cluster (kept), the first_row tool, run files
RUN_DIR=""                         # this invocation's files (recreated): $DATA/run, or run_quick
CMDLINE="bash test/bench/bench.sh${*:+ $*}"
SIZES=(1000000)
QUICK=0
OUT=""
BATCH=10000                        # rows per batch, for every batched approach
SCRATCH_DB=bench_run               # the clone a transition runs on
SERVERLOG_OFFSET=0                 # where this invocation's part of server.log starts
T_START=$(date +%s)

# The transition approaches, and the scans, in the order they run and print
# (run_scans says what each scan is).
TRANSITIONS=(update plpgsql range limit ctid auto submit1 submit2)
SCANS=(copy copy_ordered fetch_count with_hold scan scan_cols copy_scan_cols cursor_fetch copy_cursor_fetch cursor_group_1 cursor_group_2)
# Scans timed to the first row (first_row.c methods).
LATENCIES=(copy fetch_count with_hold scan scan_direct scan_cols copy_scan_cols cursor_fetch)
# copy_scan (COPY (SELECT bulk_status.scan(...)) TO STDOUT, one record a
# row) runs only when BENCH_SCANS names it.
OPTIONAL_SCANS=(copy_scan)
SCAN_REPS=${SCAN_REPS:-}           # repetitions of each scan (default 3; 1 with --quick)
SCANS_ONLY=${SCANS_ONLY:-0}        # 1: scans and first-row times only
declare -A SCAN_MIN=()             # "size:scan" -> its shortest run so far (s)
PREV_SIZE=""                       # the size whose scans ran last

# The sync cycles (issue 5), on fresh clones: three UPDATEs, three
# bulk_status transitions, and the generation cycle.
CYCLES=(naive three_pass generation)

# The settings of the benchmark cluster (durability: PostgreSQL's defaults);
# bulk_status preloaded for the background jobs (submit1, submit2).
PRELOAD_LIBRARIES=bulk_status
CLUSTER_EXTRA_CONF="shared_buffers = 2GB
max_wal_size = 8GB
checkpoint_timeout = 30min
log_temp_files = 0
bulk_status.max_workers = 2"
# Settings shown in results.md.
SHOWN_SETTINGS=(shared_buffers max_wal_size checkpoint_timeout fsync synchronous_commit
    full_page_writes wal_level wal_compression autovacuum work_mem maintenance_work_mem
    jit effective_io_concurrency random_page_cost log_temp_files bulk_status.max_workers)

DEPS+=(gnuplot-nox libpq-dev)

usage() {
    sed -n '2,33p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
}

# Read the command line.
parse_args() {
    local rows=""
    while [ $# -gt 0 ]; do
        case $1 in
            --rows) rows=${2:?--rows needs a number}; shift 2 ;;
            --rows=*) rows=${1#--rows=}; shift ;;
            --quick) QUICK=1; shift ;;
            --out) OUT=${2:?--out needs a directory}; shift 2 ;;
            --out=*) OUT=${1#--out=}; shift ;;
            -h|--help) usage; exit 0 ;;
            *) usage >&2; die "unknown argument: $1" ;;
        esac
    done
    # (separate run directories: the --quick of a test run does not wipe
    # the raw files of the last full run)
    RUN_DIR=$DATA/run
    [[ "$SCANS_ONLY" =~ ^[01]$ ]] || die "SCANS_ONLY is 0 or 1, not '$SCANS_ONLY'"
    if [ "$QUICK" = 1 ]; then
        [ -z "$rows" ] || die "--quick runs 20000 and 200000 rows; leave out --rows"
        SIZES=(20000 200000)
        RUN_DIR=$DATA/run_quick
        SCAN_REPS=${SCAN_REPS:-1}
    else
        if [ -n "$rows" ]; then
            IFS=, read -r -a SIZES <<<"$rows"
        fi
        SCAN_REPS=${SCAN_REPS:-3}
    fi
    if [ "$SCANS_ONLY" = 1 ]; then
        # (not over a run of record, nor over the raw files of one)
        RUN_DIR=${RUN_DIR}_scans
        OUT=${OUT:-$DATA/scans$([ "$QUICK" = 0 ] || echo _quick)}
    fi
    [ "$QUICK" = 0 ] || OUT=${OUT:-$DATA/quick}
    OUT=${OUT:-$BENCH}
    [[ "$SCAN_REPS" =~ ^[1-9][0-9]*$ ]] || die "SCAN_REPS is a positive integer, not '$SCAN_REPS'"
    if [ -n "${BENCH_SCANS:-}" ]; then
        local k want=()
        read -r -a want <<<"$BENCH_SCANS"
        for k in "${want[@]}"; do
            [[ " ${SCANS[*]} ${OPTIONAL_SCANS[*]} " == *" $k "* ]] \
                || die "BENCH_SCANS: unknown scan '$k' (known: ${SCANS[*]} ${OPTIONAL_SCANS[*]})"
        done
        SCANS=("${want[@]}")
    fi
    local n
    for n in "${SIZES[@]}"; do
        [[ "$n" =~ ^[1-9][0-9]*$ ]] || die "--rows takes positive integers separated by commas, not '$rows'"
        [ "$n" -ge 20000 ] || die "--rows: at least 20000 rows (two batches), not $n"
    done
    mapfile -t SIZES < <(printf '%s\n' "${SIZES[@]}" | sort -n -u)
    mkdir -p "$OUT"
    OUT=$(cd "$OUT" && pwd)
}

# On any exit: stop the samplers and the side table's writer (and drop the
# side table), drop the scratch clone, stop the cluster (its data stays in
# $DATA for the next run).
cleanup() {
    local rc=$?
    set +e
    rss_watch_stop 0
    [ -z "${WORKERS_WATCH_PID:-}" ] || kill "$WORKERS_WATCH_PID" 2>/dev/null
    side_stop
    if [ -n "${CLUSTER_DIR:-}" ] && [ -f "$CLUSTER_DIR/data/postmaster.pid" ]; then
        bench_psql -d postgres -c "DROP DATABASE IF EXISTS $SCRATCH_DB WITH (FORCE)" >/dev/null 2>&1
    fi
    cluster_stop
    exit "$rc"
}

# psql as the cluster user, SQL from stdin or -c.  In the background, so that
# a signal reaches our traps at once.
bench_psql() {
    PG_CWD=$DATA as_pg psql -X -q -v ON_ERROR_STOP=1 "$@" <&0 &
    wait $!
}

# One value from the SQL in $2 on database $1.
sql_value() {
    bench_psql -At -d "$1" -c "$2" </dev/null
}

# Seconds since the epoch, with nanoseconds.
now() {
    date +%s.%N
}

# Create the cluster's directory: the socket lives there, so it must be
# short enough for a unix socket path and usable by the cluster user.
prepare_data_dir() {
    mkdir -p "$DATA"
    chmod 755 "$DATA"
    give_to_pg "$DATA"
    [ ${#DATA} -le 90 ] || die "$DATA is too long for a unix socket path; set BENCH_DATA to a shorter directory"
    as_pg test -w "$DATA" -a -x "$DATA" \
        || die "user $PG_USER cannot use $DATA (a parent directory is not traversable); set BENCH_DATA"
    # One bench.sh at a time per cluster directory: another one would stop
    # the cluster under it.
    exec 9>"$DATA/bench.lock"
    flock -n 9 || die "another bench.sh is running on $DATA (lock $DATA/bench.lock); wait for it or set BENCH_DATA"
    rm -rf "$RUN_DIR"
    mkdir "$RUN_DIR"
    give_to_pg "$RUN_DIR"
    : >"$RUN_DIR/results.tsv"
    : >"$RUN_DIR/latency.tsv"
    : >"$RUN_DIR/tables.tsv"
    : >"$RUN_DIR/cycles.tsv"
    : >"$RUN_DIR/xmin.tsv"
}

# Build the first-row timer (test/bench/first_row.c) into $DATA.
build_first_row() {
    log "building test/bench/first_row.c"
    cc -O2 -Wall -o "$DATA/first_row" "$BENCH/first_row.c" \
        -I"$($PG_CONFIG --includedir)" -L"$($PG_CONFIG --libdir)" -lpq
}

# The marker kept in a template database's comment: a template whose marker
# differs (another load.sql) is generated again.
template_marker() {
    echo "bulk_status bench template, rows $1, load.sql md5 $(md5sum <"$BENCH/load.sql" | cut -c1-32)"
}

# Make sure template database bench_$1 exists with $1 rows of the current
# load.sql; generate it otherwise.  Then (re)create the extension in it, so
# that every clone has the extension as just built.
ensure_template() {
    local n=$1 db=bench_$1 marker have t0
    marker=$(template_marker "$n")
    have=$(sql_value postgres "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = '$db'")
    if [ "$have" != "$marker" ]; then
        log "generating $n rows into template database $db"
        t0=$(now)
        bench_psql -d postgres <<SQL
SET client_min_messages = warning;
DROP DATABASE IF EXISTS ${db}_loading;
SELECT format('ALTER DATABASE %I IS_TEMPLATE false', datname) FROM pg_database WHERE datname = '$db' \gexec
DROP DATABASE IF EXISTS $db;
SQL
        bench_psql -d postgres -c "CREATE DATABASE ${db}_loading" </dev/null
        bench_psql -d "${db}_loading" -v rows="$n" -f "$BENCH/load.sql" </dev/null
        bench_psql -d postgres <<SQL
ALTER DATABASE ${db}_loading RENAME TO $db;
ALTER DATABASE $db IS_TEMPLATE true;
COMMENT ON DATABASE $db IS '$marker';
SQL
        printf 'generated in %.0f s\n' "$(awk -v a="$t0" -v b="$(now)" 'BEGIN { print b - a }')"
    else
        log "reusing template database $db"
    fi
    # The sync client's staging table for the cycles: the paths it saw in
    # this run, 95% of them (a fixed pseudo-random choice), in key order.
    # Made once per template; a plain table, as the cycles only read it.
    bench_psql -d "$db" <<'SQL'
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS bulk_status;
CREATE EXTENSION bulk_status;
SELECT to_regclass('seen_files') IS NULL AS need_seen \gset
\if :need_seen
CREATE TABLE seen_files AS SELECT path FROM files WHERE hashtext(path) % 20 <> 0;
VACUUM (FREEZE, ANALYZE) seen_files;
\endif
CHECKPOINT;
SQL
    # size, heap, indexes, average path length, status counts
    bench_psql -At -F $'\t' -d "$db" <<SQL >>"$RUN_DIR/tables.tsv"
SELECT $n, pg_relation_size('files'), pg_indexes_size('files'),
       (SELECT round(avg(length(path))) FROM files),
       (SELECT string_agg(status || ' ' || c, ', ' ORDER BY status)
          FROM (SELECT status, count(*) AS c FROM files GROUP BY status) s);
SQL
}

# Follow the RssAnon of every background job worker (a child of postmaster
# $1 whose process title contains "bulk_status job ") every 100 ms until
# killed, and keep "first_kB peak_kB samples" in file $2: the first sample
# of the first worker seen and the largest of any worker (each worker is a
# process of its own, so the peak is per worker, not a sum).
rss_watch_workers() {
    set +e
    local pm=$1 out=$2 p title kids=()
    rss_reset
    while :; do
        if [ -r "/proc/$pm/task/$pm/children" ]; then
            read -r -a kids <"/proc/$pm/task/$pm/children"
        else
            kids=(/proc/[0-9]*)
            kids=("${kids[@]#/proc/}")
        fi
        for p in "${kids[@]}"; do
            title=""
            IFS= read -r -d '' title 2>/dev/null <"/proc/$p/cmdline"
            [[ "$title" == *"bulk_status job "* ]] && rss_sample "$p" "$out"
        done
        sleep 0.1
    done
}

# Follow the RssAnon of the processes whose pids the files $2... hold (as
# they appear) every 100 ms until killed, and keep "first_kB peak_kB
# samples" in file $1 (the peak is per process, not a sum).
rss_watch_pidfiles() {
    set +e
    local out=$1 f p
    shift
    rss_reset
    while :; do
        for f in "$@"; do
            p=""
            [ -s "$f" ] && read -r p <"$f"
            [[ "$p" =~ ^[0-9]+$ ]] && rss_sample "$p" "$out"
        done
        sleep 0.1
    done
}

# Run one measured session on database $1: the SQL in $2 runs between two
# measurement points; it may set psql variable "rows" (else the rows are the
# lines it printed), and "engine" and "batches" (else they come from
# bulk_status.last_run()).  $3..$6: kind, workload, trigger, approach for
# the results; $7: whose RssAnon to sample from outside while it runs:
# "backend" (the session's, the default), "workers" (background jobs') or
# "clients" (the backends whose pids the files in MEASURE_PIDFILES hold).
# Optional globals: MEASURE_REP (the repetition, written to the results;
# default 1), MEASURE_APP (the session's application_name), MEASURE_BEFORE
# (psql lines run just before the measured part starts).  Sets LAST_ROWS,
# LAST_SECS and LAST_T0 (the start, seconds since the epoch, server clock).
measure() {
    local db=$1 body=$2 kind=$3 workload=$4 trig=$5 approach=$6 watch=${7:-backend}
    local rep=${MEASURE_REP:-1}
    local tag=${kind}_${workload}_${trig}_${approach}_${SIZE}_r$rep marker
    local app_sql=""
    [ -z "${MEASURE_APP:-}" ] || app_sql="SET application_name = '$MEASURE_APP';"
    if [ "$kind" = scan ]; then
        marker=scan:$approach:$SIZE
    else
        marker=$kind:$workload:$([ "$trig" = yes ] && echo trigger || echo no_trigger):$approach:$SIZE
    fi
    local pidfile=$RUN_DIR/$tag.pid resfile=$RUN_DIR/$tag.res memfile=$RUN_DIR/$tag.mem
    local countfile=$RUN_DIR/$tag.count backend_mem=$memfile
    rm -f "$pidfile" "$resfile" "$memfile" "$memfile.backend"
    if [ "$watch" = workers ]; then
        backend_mem=$memfile.backend
        rss_watch_workers "$(head -n1 "$CLUSTER_DIR/data/postmaster.pid")" "$memfile" &
        WORKERS_WATCH_PID=$!
    elif [ "$watch" = clients ]; then
        backend_mem=$memfile.backend
        # shellcheck disable=SC2086  # one path a word
        rss_watch_pidfiles "$memfile" ${MEASURE_PIDFILES:?} &
        WORKERS_WATCH_PID=$!
    fi
    rss_watch_start "$pidfile" "$backend_mem"
    bench_psql -At -d "$db" <<SQL | wc -l >"$countfile"
$app_sql
SELECT pg_backend_pid() AS pid \gset
\o $pidfile
\qecho :pid
\o
-- a marker in the server log, to put this session's temp files down to this run
DO \$\$BEGIN RAISE LOG 'bulk_status bench run %', '$marker'; END\$\$;
SET bulk_status.progress_interval = 0;
-- time for the sampler's first sample
SELECT pg_sleep(0.3) AS slept \gset
SELECT coalesce(temp_bytes, 0) AS temp0 FROM pg_stat_database WHERE datname = current_database() \gset
${MEASURE_BEFORE:-}
SELECT pg_relation_size('files') AS heap0, pg_indexes_size('files') AS idx0,
       pg_current_wal_lsn() AS wal0, clock_timestamp() AS t0 \gset
\set rows -
\set engine -
\set batches -
$body
SELECT extract(epoch FROM clock_timestamp() - :'t0'::timestamptz) AS secs,
       extract(epoch FROM :'t0'::timestamptz) AS t0e,
       pg_wal_lsn_diff(pg_current_wal_lsn(), :'wal0')::bigint AS wal,
       pg_relation_size('files') AS heap1, pg_indexes_size('files') AS idx1 \gset
SELECT coalesce(nullif(:'engine', '-'), engine_peak_bytes::text, '-') AS engine,
       coalesce(backend_peak_bytes::text, '-') AS backend,
       coalesce(nullif(:'batches', '-'), batches::text, '-') AS batches
  FROM bulk_status.last_run() \gset lr_
-- this backend's statistics (temp files) are flushed when it next goes idle
SELECT pg_stat_force_next_flush() AS flushed \gset
SELECT temp_bytes - :temp0 AS temp FROM pg_stat_database WHERE datname = current_database() \gset
\o $resfile
\qecho :rows :secs :wal :heap0 :heap1 :idx0 :idx1 :temp :lr_engine :lr_backend :lr_batches :t0e
\o
SELECT pg_sleep(0.3) AS slept \gset
SQL
    rss_watch_stop
    if [ -n "${WORKERS_WATCH_PID:-}" ]; then
        kill "$WORKERS_WATCH_PID" 2>/dev/null
        wait "$WORKERS_WATCH_PID" 2>/dev/null || true
        WORKERS_WATCH_PID=""
    fi
    [ -s "$resfile" ] || die "run $marker did not finish"

    local rows secs wal heap0 heap1 idx0 idx1 temp engine backend batches t0e count
    local rss_first=- rss_peak=- samples=0
    read -r rows secs wal heap0 heap1 idx0 idx1 temp engine backend batches t0e <"$resfile"
    read -r count <"$countfile"
    [ "$rows" != - ] || rows=$count
    if [ -s "$memfile" ]; then
        read -r rss_first rss_peak samples <"$memfile"
        rss_first=$((rss_first * 1024))
        rss_peak=$((rss_peak * 1024))
    fi
    printf '%s\t' "$kind" "$SIZE" "$workload" "$trig" "$approach" "$rows" "$secs" "$wal" \
        "$heap0" "$heap1" "$idx0" "$idx1" "$temp" "$engine" "$backend" "$rss_first" \
        "$rss_peak" "$batches" "$samples" >>"$RUN_DIR/results.tsv"
    echo "$rep" >>"$RUN_DIR/results.tsv"
    LAST_ROWS=$rows LAST_SECS=$secs LAST_T0=$t0e
    awk -v r="$rows" -v s="$secs" -v m="$rss_peak" -v e="$engine" -v w="$wal" -v t="$temp" -v who="$watch" 'BEGIN {
        printf("  %s rows in %.2f s, %d rows/s; RssAnon peak (%s) %.1f MB, engine peak %s, WAL %.0f MB, temp %.0f MB\n",
               r, s, (s > 0 ? r / s : 0), who, m / 1048576, e, w / 1048576, t / 1048576) }'
}

# The scans, read-only on files, on the template database of $SIZE rows:
# the same warm-up for all (scan_warmup), then SCAN_REPS rounds, each
# running every scan once in the order of SCANS, with the side table's
# write load and the xmin sampler running throughout (xmin_watch.sh), and a
# VACUUM probe in the last round.  Every run must return exactly $SIZE rows.
#   copy            COPY files TO STDOUT
#   copy_ordered    COPY (SELECT * FROM files ORDER BY path) TO STDOUT: what
#                   PostgreSQL itself exports in key order
#   fetch_count     psql FETCH_COUNT over SELECT * FROM files ORDER BY path
#   with_hold       DECLARE ... CURSOR WITH HOLD, COMMIT, FETCH loop
#   scan            psql FETCH_COUNT over SELECT bulk_status.scan(NULL::files)
#   scan_cols       the same, as the table's columns:
#                   SELECT (bulk_status.scan(NULL::files)).*
#   copy_scan_cols  COPY (that query) TO STDOUT
#   copy_scan       COPY (SELECT bulk_status.scan(NULL::files)) TO STDOUT
#                   (only when BENCH_SCANS names it)
#   cursor_fetch    cursor_open, then one autocommit cursor_fetch statement
#                   a batch, then cursor_close
#   copy_cursor_fetch  the same, each batch exported with COPY (SELECT *
#                   FROM bulk_status.cursor_fetch(...)) TO STDOUT
#   cursor_group_N  cursor_open(..., parts => N), then N psql clients at
#                   once, client i fetching with part => i (autocommit);
#                   needs cursor_fetch(name, rowtype, max_rows, part), else
#                   skipped.  The clients' connection set-up is timed.
run_scans() {
    local db=bench_$SIZE k r scans=() skipped=()
    log "scans of $SIZE rows (database $db; $SCAN_REPS round(s) over the scans)"
    # (cursors an interrupted run left behind)
    bench_psql -d "$db" -c "SELECT bulk_status.cursor_close(name) FROM bulk_status.cursors WHERE name IN ('bench', 'bench2')" \
        </dev/null >/dev/null
    for k in "${SCANS[@]}"; do
        if [[ "$k" == cursor_group_* ]] && [ -z "$(sql_value "$db" "SELECT 1 FROM pg_proc WHERE proname = 'cursor_fetch' AND pronamespace = 'bulk_status'::regnamespace AND pronargs = 4")" ]; then
            skipped+=("$k")
        else
            scans+=("$k")
        fi
    done
    if [ "${#skipped[@]}" -gt 0 ]; then
        echo "skipping ${skipped[*]}: this bulk_status has no cursor_fetch(name, rowtype, max_rows, part)"
        printf 'scans_skipped_%s\t%s\n' "$SIZE" "${skipped[*]}" >>"$RUN_DIR/env"
    fi
    scan_warmup "$db"
    : >"$RUN_DIR/scan_windows_$SIZE.tsv"
    : >"$RUN_DIR/vacuum_$SIZE.tsv"
    side_writer_start "$db"
    xmin_sampler_start "$RUN_DIR/xmin_samples_$SIZE.tsv"
    for ((r = 1; r <= SCAN_REPS; r++)); do
        for k in "${scans[@]}"; do
            run_scan "$db" "$k" "$r"
        done
    done
    side_stop
    xmin_summary "$SIZE" "$RUN_DIR/scan_windows_$SIZE.tsv" "$RUN_DIR/xmin_samples_$SIZE.tsv" \
        "$RUN_DIR/vacuum_$SIZE.tsv" >>"$RUN_DIR/xmin.tsv"
    echo "  backend_xmin of the reading backends (every 100 ms) and VACUUM bench_side during the last run:"
    awk -F'\t' -v n="$SIZE" '$1 == n {
        printf("  %-15s xmin in %3d of %3d samples, max age %5d; VACUUM at %s s of %s s: %s removed, %s not yet removable\n",
               $2, $5, $4, $6, $7, $8, $9, $11) }' "$RUN_DIR/xmin.tsv"
    PREV_SIZE=$SIZE
}

# The warm-up before the scans of database $1: read the heap of files and
# its primary-key index into shared buffers (pg_prewarm); what it read and
# how long it took go to $RUN_DIR/env.
scan_warmup() {
    local out
    out=$(bench_psql -At -d "$1" <<'SQL'
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_prewarm;
SELECT clock_timestamp() AS w0 \gset
SELECT pg_prewarm('files') AS heap_blocks \gset
SELECT pg_prewarm(indexrelid) AS pkey_blocks FROM pg_index WHERE indrelid = 'files'::regclass AND indisprimary \gset
SELECT extract(epoch FROM clock_timestamp() - :'w0'::timestamptz) AS secs,
       pg_size_bytes(current_setting('shared_buffers')) / current_setting('block_size')::int AS sb_blocks \gset
\echo :heap_blocks :pkey_blocks :secs :sb_blocks
SQL
)
    printf 'warmup_%s\t%s\n' "$SIZE" "$out" >>"$RUN_DIR/env"
    awk -v w="$out" 'BEGIN { split(w, x, " ");
        printf("  warm-up: pg_prewarm read %d heap and %d primary-key blocks in %.2f s (shared_buffers: %d blocks)\n", x[1], x[2], x[3], x[4]) }'
}

# How long scan $1 should take on $SIZE rows: its shortest run so far, else
# its shortest at the previous size scaled to this one, else a guess of one
# second per million rows.
scan_estimate() {
    local v=${SCAN_MIN[$SIZE:$1]:-}
    if [ -z "$v" ] && [ -n "$PREV_SIZE" ] && [ -n "${SCAN_MIN[$PREV_SIZE:$1]:-}" ]; then
        v=$(awk -v t="${SCAN_MIN[$PREV_SIZE:$1]}" -v a="$PREV_SIZE" -v b="$SIZE" 'BEGIN { print t * b / a }')
    fi
    [ -n "$v" ] || v=$(awk -v b="$SIZE" 'BEGIN { print b / 1000000 }')
    echo "$v"
}

# One run (repetition $3) of scan $2 on database $1.  In the last round, a
# VACUUM probe: its VACUUM (VERBOSE) starts half the scan's expected time
# after the start, at most 2 s.
run_scan() {
    local db=$1 k=$2 r=$3 body watch=backend fetches i probe=0 delay start
    echo "scan: $k (round $r of $SCAN_REPS)"
    MEASURE_REP=$r MEASURE_APP=$READER_APP MEASURE_BEFORE="" MEASURE_PIDFILES=""
    if [ "$r" = "$SCAN_REPS" ]; then
        probe=1
        start=$RUN_DIR/scan_started
        rm -f "$start"
        delay=$(awk -v e="$(scan_estimate "$k")" 'BEGIN { d = e / 2; if (d > 2) d = 2; if (d < 0.02) d = 0.02; printf("%.3f", d) }')
        MEASURE_BEFORE="\\! touch $start"
        vacuum_probe "$db" "$start" "$delay" "$RUN_DIR/vacuum_${SIZE}_$k.txt"
    fi
    fetches=$(((SIZE + BATCH - 1) / BATCH + 1))      # the last FETCH returns no row
    case $k in
        copy)
            body="COPY files TO STDOUT;" ;;
        copy_ordered)
            body="COPY (SELECT * FROM files ORDER BY path) TO STDOUT;" ;;
        fetch_count)
            body="\\set FETCH_COUNT $BATCH
SELECT * FROM files ORDER BY path;
\\unset FETCH_COUNT" ;;
        with_hold)
            body="BEGIN;
DECLARE c CURSOR WITH HOLD FOR SELECT * FROM files ORDER BY path;
COMMIT;
$(for ((i = 0; i < fetches; i++)); do echo "FETCH $BATCH FROM c;"; done)
CLOSE c;" ;;
        scan)
            body="\\set FETCH_COUNT $BATCH
SELECT bulk_status.scan(NULL::files);
\\unset FETCH_COUNT" ;;
        scan_cols)
            body="\\set FETCH_COUNT $BATCH
SELECT (bulk_status.scan(NULL::files)).*;
\\unset FETCH_COUNT" ;;
        copy_scan)
            body="COPY (SELECT bulk_status.scan(NULL::files)) TO STDOUT;" ;;
        copy_scan_cols)
            body="COPY (SELECT (bulk_status.scan(NULL::files)).*) TO STDOUT;" ;;
        cursor_fetch)
            body="SELECT bulk_status.cursor_open('bench', 'files') \\gset
$(for ((i = 0; i < fetches; i++)); do echo "SELECT * FROM bulk_status.cursor_fetch('bench', NULL::files);"; done)
SELECT bulk_status.cursor_close('bench') \\gset" ;;
        copy_cursor_fetch)
            body="SELECT bulk_status.cursor_open('bench', 'files') \\gset
$(for ((i = 0; i < fetches; i++)); do echo "COPY (SELECT * FROM bulk_status.cursor_fetch('bench', NULL::files)) TO STDOUT;"; done)
SELECT bulk_status.cursor_close('bench') \\gset" ;;
        cursor_group_*)
            group_body "$db" "${k#cursor_group_}"
            body=$GROUP_BODY MEASURE_APP=bench_group watch=clients ;;
        *) die "unknown scan $k" ;;
    esac
    measure "$db" "$body" scan read - "$k" "$watch"
    [ "$LAST_ROWS" = "$SIZE" ] || die "scan $k returned $LAST_ROWS rows, not $SIZE"
    printf '%s\t%s\t%s\t%s\n' "$k" "$r" "$LAST_T0" \
        "$(awk -v a="$LAST_T0" -v b="$LAST_SECS" 'BEGIN { printf("%.6f", a + b) }')" >>"$RUN_DIR/scan_windows_$SIZE.tsv"
    if [ -z "${SCAN_MIN[$SIZE:$k]:-}" ] || awk -v a="$LAST_SECS" -v b="${SCAN_MIN[$SIZE:$k]}" 'BEGIN { exit !(a < b) }'; then
        SCAN_MIN[$SIZE:$k]=$LAST_SECS
    fi
    if [ "$probe" = 1 ]; then
        vacuum_probe_wait
        printf '%s\t%s\t%s\n' "$k" "$r" "$(vacuum_figures "$RUN_DIR/vacuum_${SIZE}_$k.txt" | tr ' ' '\t')" \
            >>"$RUN_DIR/vacuum_$SIZE.tsv"
    fi
    MEASURE_REP="" MEASURE_APP="" MEASURE_BEFORE="" MEASURE_PIDFILES=""
}

# The measured body of cursor_group_$2 on database $1, into GROUP_BODY:
# open cursor bench2 in $2 parts, run $2 psql clients at once (client i
# fetches part i, in autocommit, ceil(SIZE / $2 / BATCH) + 2 statements:
# the last ones return no row), close it; rows = what the clients printed.
# The parts are split from a sample of the keys, so one may hold a few per
# cent more than SIZE / $2 rows: a client whose last planned fetch still
# returned rows goes on, one fetch and one check of :ROW_COUNT at a time,
# until a fetch returns none.  Writes the clients' scripts into $RUN_DIR and
# sets MEASURE_PIDFILES (the files that will hold their backends' pids).
group_body() {
    local db=$1 parts=$2 i j lines more sh=$RUN_DIR/group_clients.sh
    lines=$(((SIZE + parts * BATCH - 1) / (parts * BATCH) + 2))
    more=$(((SIZE + BATCH - 1) / BATCH))
    MEASURE_PIDFILES=""
    rm -f "$RUN_DIR"/group_client* "$RUN_DIR/group_rows"
    echo "# cursor_group_$parts: $parts clients at once" >"$sh"
    for ((i = 1; i <= parts; i++)); do
        {
            echo "SET application_name = '$READER_APP';"
            # (the run's marker in the server log, for its temp files)
            echo "DO \$\$BEGIN RAISE LOG 'bulk_status bench run %', 'scan:cursor_group_$parts:$SIZE'; END\$\$;"
            echo "SELECT pg_backend_pid() AS pid \\gset"
            echo "\\o $RUN_DIR/group_client$i.pid"
            echo "\\qecho :pid"
            echo "\\o"
            for ((j = 0; j < lines; j++)); do
                echo "SELECT * FROM bulk_status.cursor_fetch('bench2', NULL::files, part => $i);"
            done
            printf '%s\n' 'SELECT :ROW_COUNT > 0 AS more \gset'
            for ((j = 0; j < more; j++)); do
                printf '%s\n' '\if :more' \
                    "SELECT * FROM bulk_status.cursor_fetch('bench2', NULL::files, part => $i);" \
                    'SELECT :ROW_COUNT > 0 AS more \gset' '\endif'
            done
        } >"$RUN_DIR/group_client$i.sql"
        echo "psql -X -q -At -v ON_ERROR_STOP=1 -d $db -f $RUN_DIR/group_client$i.sql | wc -l >$RUN_DIR/group_client$i.count &" >>"$sh"
        MEASURE_PIDFILES+="$RUN_DIR/group_client$i.pid "
    done
    echo "wait" >>"$sh"
    echo "cat $RUN_DIR/group_client*.count | awk '{ s += \$1 } END { print s + 0 }' >$RUN_DIR/group_rows" >>"$sh"
    GROUP_BODY="SELECT bulk_status.cursor_open('bench2', 'files', parts => $parts) \\gset
\\! sh $sh
SELECT bulk_status.cursor_close('bench2') \\gset
\\set rows \`cat $RUN_DIR/group_rows\`"
}

# Time to the first row of each scan (median of 3 fresh connections).
run_latency() {
    local db=bench_$SIZE k first batch
    log "time to the first row, $SIZE rows (median of 3 connections each)"
    for k in "${LATENCIES[@]}"; do
        read -r first batch < <("$DATA/first_row" "$db" "$k" 3 "first_row:$k:$SIZE")
        printf '  %-13s first row %8.1f ms, first %d rows %8.1f ms\n' "$k" \
            "$(awk -v x="$first" 'BEGIN { print x * 1000 }')" "$BATCH" \
            "$(awk -v x="$batch" 'BEGIN { print x * 1000 }')"
        printf '%s\t%s\t%s\t%s\n' "$SIZE" "$k" "$first" "$batch" >>"$RUN_DIR/latency.tsv"
    done
}

# The first batch of each strategy as bulk_status' dry run shows it, with
# the strategy auto picks, into $RUN_DIR/plans_$SIZE.txt.
dry_runs() {
    local db=bench_$SIZE from to s out=$RUN_DIR/plans_$SIZE.txt
    : >"$out"
    for from in SYNCED NEW; do
        to=TEMP_DELETED
        [ "$from" = NEW ] && to=SYNCED
        for s in range limit ctid auto; do
            {
                echo "-- CALL bulk_status.transition('files', '$from', '$to', strategy => '$s', dry_run => true)"
                bench_psql -d "$db" -c "CALL bulk_status.transition('files', '$from', '$to', strategy => '$s', dry_run => true)" \
                    </dev/null 2>&1 >/dev/null | sed 's/^psql:[^ ]* //'
                echo
            } >>"$out"
        done
    done
}

# The strategy auto picks on $SIZE rows for from-status $1 (from the dry run).
auto_strategy() {
    awk -v from="'$1'" '
        /^-- CALL/ { want = (index($0, from) > 0 && index($0, "auto") > 0) }
        want && /strategy [a-z]+/ { match($0, /strategy [a-z]+/); print substr($0, RSTART + 9, RLENGTH - 9); exit }
    ' "$RUN_DIR/plans_$SIZE.txt"
}

# A fresh clone of the template of $SIZE rows as $SCRATCH_DB (one an
# interrupted run left behind is dropped first), and dropping it.
clone_scratch() {
    bench_psql -d postgres <<SQL
SET client_min_messages = warning;
DROP DATABASE IF EXISTS $SCRATCH_DB WITH (FORCE);
CREATE DATABASE $SCRATCH_DB TEMPLATE bench_$SIZE STRATEGY FILE_COPY;
SQL
}

drop_scratch() {
    bench_psql -d postgres -c "DROP DATABASE $SCRATCH_DB" </dev/null
}

# One transition on a fresh clone of the template: workload $1 (dense:
# SYNCED -> TEMP_DELETED, 98% of the rows; sparse: NEW -> SYNCED, 2%),
# trigger $2 (yes: an AFTER ROW audit trigger), approach $3; $4 the kind of
# result (default transition; transition_rep for the guard's repetitions).
run_transition() {
    local workload=$1 trig=$2 approach=$3 kind=${4:-transition} from to body trigger_sql="" watch=backend
    if [ "$workload" = dense ]; then from=SYNCED to=TEMP_DELETED; else from=NEW to=SYNCED; fi
    echo "transition: $workload, trigger $trig, $approach ($from -> $to)"
    clone_scratch
    [ "$trig" = no ] || trigger_sql="\\i $BENCH/audit_trigger.sql"
    bench_psql -d "$SCRATCH_DB" <<SQL
\i $BENCH/keyset_loop.sql
\i $BENCH/wait_job.sql
$trigger_sql
CHECKPOINT;
SQL
    case $approach in
        update)
            body="UPDATE files SET status = '$to' WHERE status = '$from';
\\set rows :ROW_COUNT" ;;
        plpgsql)
            body="CALL bench_keyset_loop('$from', '$to', $BATCH) \\gset
\\set rows :rows_changed" ;;
        submit1|submit2)
            body=$(job_body "bulk_status.submit('files', '$from', '$to', batch_size => $BATCH, workers => ${approach#submit})")
            watch=workers ;;
        *)
            body="CALL bulk_status.transition('files', '$from', '$to', batch_size => $BATCH, strategy => '$approach') \\gset
\\set rows :rows_changed" ;;
    esac
    measure "$SCRATCH_DB" "$body" "$kind" "$workload" "$trig" "$approach" "$watch"
    drop_scratch
}

# The body for measure() of a background job: submit ($1, a call of
# bulk_status.submit...), then wait for the job to end with
# bench_wait_job (test/bench/wait_job.sql: it polls the jobs view every
# 0.1 s and commits between polls, where bulk_status.wait() would hold one
# snapshot, and so back vacuum, for the whole job); rows, batches and the
# engine peak from the jobs view.  A job that does not end 'done' fails
# the run.
job_body() {
    cat <<SQL
SELECT $1 AS job \\gset
CALL bench_wait_job(:job) \\gset
SELECT state AS job_state, state = 'done' AS job_done, rows_done AS rows,
       coalesce(engine_peak_bytes::text, '-') AS engine, batches
  FROM bulk_status.jobs WHERE id = :job \\gset
\\if :job_done
\\else
\\warn bench: job :job ended :job_state
\\q
\\endif
SQL
}

# All transitions on $SIZE rows.
run_transitions() {
    local workloads=(dense sparse) triggers=(no yes) w t a
    if [ "$QUICK" = 1 ]; then
        workloads=(dense) triggers=(no)
    fi
    log "transitions on $SIZE rows (each on a fresh clone of bench_$SIZE)"
    for w in "${workloads[@]}"; do
        for t in "${triggers[@]}"; do
            for a in "${TRANSITIONS[@]}"; do
                run_transition "$w" "$t" "$a"
            done
        done
    done
    # The --quick ratio guard takes the median of three runs of each of its
    # approaches, interleaved: one run of a second or two is at the mercy of
    # whatever else the machine does.
    if [ "$QUICK" = 1 ] && [ "$SIZE" = "${SIZES[-1]}" ]; then
        log "repeating the guard's transitions twice on $SIZE rows"
        for t in 2 3; do
            for a in update range auto; do
                run_transition dense no "$a" transition_rep
            done
        done
    fi
}

# One sync cycle (the file-sync workload of README's "The sync cycle") on a fresh clone of the
# template: the files table as the last run left it, and seen_files, the
# paths this run saw (95%).  Every SYNCED file not seen ends DELETED.
#   naive:      three UPDATEs (prepare, mark from seen_files, finalize)
#   three_pass: the same three passes as bulk_status.transition CALLs
#   generation: the generation cycle: stamp the seen rows with the new
#               generation, finalize the SYNCED rows stamped older
# One measured session for the whole cycle; the engine peak is the largest
# of its CALLs, the batches their sum.  The status counts afterwards go to
# $RUN_DIR/cycles.tsv; run_cycles compares them.
run_cycle() {
    local cycle=$1 setup="" body
    echo "cycle: $cycle"
    clone_scratch
    # the cycles of CALLs: the largest engine peak and the batches so far,
    # updated after each CALL, become the run's; rows are the last CALL's
    local head="\\set cyc_engine 0
\\set cyc_batches 0"
    local track="SELECT greatest(:cyc_engine, coalesce(engine_peak_bytes, 0)) AS cyc_engine,
       :cyc_batches + coalesce(batches, 0) AS cyc_batches FROM bulk_status.last_run() \\gset"
    local tail="\\set rows :rows_changed
\\set engine :cyc_engine
\\set batches :cyc_batches"
    case $cycle in
        naive)
            body="UPDATE files SET status = 'TEMP_DELETED' WHERE status = 'SYNCED';
UPDATE files f SET status = 'SYNCED' FROM seen_files s WHERE f.path = s.path AND f.status = 'TEMP_DELETED';
UPDATE files SET status = 'DELETED' WHERE status = 'TEMP_DELETED';
\\set rows :ROW_COUNT" ;;
        three_pass)
            body="$head
CALL bulk_status.transition('files', 'SYNCED', 'TEMP_DELETED', batch_size => $BATCH) \\gset
$track
CALL bulk_status.transition('files', 'TEMP_DELETED', 'SYNCED', batch_size => $BATCH, source => 'seen_files') \\gset
$track
CALL bulk_status.transition('files', 'TEMP_DELETED', 'DELETED', batch_size => $BATCH) \\gset
$track
$tail" ;;
        generation)
            # the previous run (generation 1) ended before the column was
            # added, so its default stamps every row with 1 (no rewrite)
            setup="SELECT bulk_status.generation_begin('files') AS g \\gset
SELECT bulk_status.generation_end('files', :g) AS ended \\gset
ALTER TABLE files ADD COLUMN sync_gen bigint NOT NULL DEFAULT bulk_status.current_generation('files');"
            body="$head
SELECT bulk_status.generation_begin('files') AS g \\gset
CALL bulk_status.stamp('files', 'sync_gen', :'g', source => 'seen_files', batch_size => $BATCH) \\gset
$track
SELECT format('sync_gen < %s', :g) AS older \\gset
CALL bulk_status.transition('files', 'SYNCED', 'DELETED', filter => :'older', batch_size => $BATCH) \\gset
$track
SELECT bulk_status.generation_end('files', :g) AS ended \\gset
$tail" ;;
        *) die "unknown cycle $cycle" ;;
    esac
    bench_psql -d "$SCRATCH_DB" <<SQL
$setup
CHECKPOINT;
SQL
    measure "$SCRATCH_DB" "$body" cycle sync no "$cycle"
    printf '%s\t%s\t%s\n' "$SIZE" "$cycle" "$(sql_value "$SCRATCH_DB" \
        "SELECT string_agg(status || ' ' || c, ', ' ORDER BY status) FROM (SELECT status, count(*) AS c FROM files GROUP BY status) s")" \
        >>"$RUN_DIR/cycles.tsv"
    drop_scratch
}

# The three sync cycles on $SIZE rows; they must leave the same statuses.
run_cycles() {
    local c
    log "sync cycles on $SIZE rows (each on a fresh clone of bench_$SIZE)"
    for c in "${CYCLES[@]}"; do
        run_cycle "$c"
    done
    awk -F'\t' -v n="$SIZE" '$1 == n { print $3 }' "$RUN_DIR/cycles.tsv" | sort -u | {
        mapfile -t outcomes
        [ "${#outcomes[@]}" = 1 ] || die "the sync cycles on $SIZE rows ended with different statuses: $(printf '[%s] ' "${outcomes[@]}")"
        echo "  every cycle ended with: ${outcomes[0]}"
    }
}

# Facts about the machine and the cluster for results.md, into $RUN_DIR/env.
describe_env() {
    local f=$RUN_DIR/env s
    {
        echo "date	$(date -u '+%Y-%m-%d %H:%M UTC')"
        echo "command	$CMDLINE"
        echo "cpu	$(lscpu 2>/dev/null | sed -n 's/^Model name: *//p' | head -n1), $(nproc) cores"
        echo "memory	$(awk '/^MemTotal/ { printf("%.0f GiB", $2 / 1048576) }' /proc/meminfo)"
        echo "os	$(. /etc/os-release && echo "$PRETTY_NAME"), kernel $(uname -r)"
        echo "disk	$(findmnt -no SOURCE,FSTYPE -T "$DATA" 2>/dev/null | tr -s ' ' | sed 's/ /, /')"
        echo "postgres	$(sql_value postgres 'SELECT version()')"
        echo "extension	bulk_status $(sed -n "s/^default_version[[:space:]]*=[[:space:]]*'\([^']*\)'.*/\1/p" "$ROOT/bulk_status.control"), commit $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)$( [ -n "$(git -C "$ROOT" status --porcelain -- src sql 2>/dev/null)" ] && echo ' (src/ or sql/ modified)')"
        echo "serverlog_offset	$SERVERLOG_OFFSET"
        echo "note	${BENCH_NOTE:-}"
        for s in "${SHOWN_SETTINGS[@]}"; do
            echo "setting:$s	$(sql_value postgres "SELECT current_setting('$s')")"
        done
    } >"$f"
}

# Temp files this invocation's sessions wrote, from the server log
# (log_temp_files = 0): "run, files, bytes, statement inside bulk_status,
# client statement" a line in $RUN_DIR/tempfiles.tsv, largest first.  The
# run is the marker measure() logs; statements are cut to their first line.
temp_file_summary() {
    local offset
    offset=$(awk -F'\t' '$1 == "serverlog_offset" { print $2 }' "$RUN_DIR/env")
    tail -c +"$((${offset:-0} + 1))" "$DATA/server.log" | awk '
        function cut(s, n) { gsub(/\t/, " ", s); sub(/ +$/, "", s); return length(s) > n ? substr(s, 1, n) "..." : s }
        function flush(p) {
            if (!(p in size)) return
            k = (p in tag ? tag[p] : "?") "\t" inner[p] "\t" top[p]
            n[k]++; b[k] += size[p]
            delete size[p]; inner[p] = ""; top[p] = ""
        }
        /^\t/ { next }
        { p = $4 }
        / LOG:  bulk_status bench run / { flush(p); tag[p] = $NF; next }
        / LOG:  temporary file: path / {
            flush(p); match($0, /size [0-9]+/); size[p] = substr($0, RSTART + 5, RLENGTH - 5); next }
        / CONTEXT:  SQL statement "/ && (p in size) {
            s = $0; sub(/.* CONTEXT:  SQL statement "/, "", s); sub(/"$/, "", s); inner[p] = cut(s, 160); next }
        / STATEMENT:  / && (p in size) { s = $0; sub(/.* STATEMENT:  /, "", s); top[p] = cut(s, 100); flush(p); next }
        (p in size) { flush(p) }
        END {
            for (p in size) flush(p)
            for (k in n) printf("%s\t%d\t%.0f\t%s\n", substr(k, 1, index(k, "\t") - 1), n[k], b[k], substr(k, index(k, "\t") + 1))
        }' | sort -t $'\t' -k3,3nr >"$RUN_DIR/tempfiles.tsv"
}

# results.md, from the collected TSV files.
write_report() {
    local elapsed=$(($(date +%s) - T_START))
    cp "$RUN_DIR/results.tsv" "$OUT/results.tsv"
    local plans=$RUN_DIR/plans_${SIZES[-1]}.txt
    [ "$SCANS_ONLY" = 0 ] || plans=""
    awk -F'\t' -v quick="$QUICK" -v elapsed="$elapsed" -v batch="$BATCH" \
        -v plans="$plans" -v checks="$RUN_DIR/checks" \
        -v tempfiles="$RUN_DIR/tempfiles.tsv" -v cycles="$RUN_DIR/cycles.tsv" \
        -v xmin="$RUN_DIR/xmin.tsv" -v reps="$SCAN_REPS" -v scans_only="$SCANS_ONLY" \
        -f "$BENCH/report.awk" \
        "$RUN_DIR/env" "$RUN_DIR/tables.tsv" "$RUN_DIR/results.tsv" "$RUN_DIR/latency.tsv" \
        >"$OUT/results.md"
    log "wrote $OUT/results.md"
}

# The plots: throughput.png (rows/s per approach, largest size) and
# memory.png (peak RssAnon per approach at each size).
write_plots() {
    local big=${SIZES[-1]}
    # one line per scan: the run of median time (the first of the two
    # middle ones for an even number of runs)
    awk -F'\t' '
        $1 != "scan" { print; next }
        { k = $2 SUBSEP $5; n[k]++; line[k, n[k]] = $0; t[k, n[k]] = $7 }
        END {
            for (k in n) {
                m = n[k]
                for (i = 1; i <= m; i++) idx[i] = i
                for (i = 2; i <= m; i++) for (j = i; j > 1 && t[k, idx[j - 1]] > t[k, idx[j]]; j--) { x = idx[j]; idx[j] = idx[j - 1]; idx[j - 1] = x }
                print line[k, idx[int((m + 1) / 2)]]
            }
        }' "$RUN_DIR/results.tsv" >"$RUN_DIR/results_plot.tsv"
    awk -F'\t' -v size="$big" -v dir="$RUN_DIR" -v sizes="${SIZES[*]}" -f "$BENCH/plotdata.awk" \
        "$RUN_DIR/results_plot.tsv"
    gnuplot -e "dir='$RUN_DIR'; out='$OUT'; size='$big'; sizes='${SIZES[*]}'" "$BENCH/plots.gp"
    log "wrote $OUT/throughput.png and $OUT/memory.png"
}

# The guards (always computed; fatal with --quick): the engine's peak must be
# flat from the smallest to the largest size, and range and auto must keep at
# least half the single UPDATE's rows/s.  Writes $RUN_DIR/checks.
run_checks() {
    local small=${SIZES[0]} big=${SIZES[-1]}
    awk -F'\t' -v small="$small" -v big="$big" -v scans_only="$SCANS_ONLY" '
        # the median of the n values in v[1..n]
        function median(v, n,    i, j, x) {
            for (i = 2; i <= n; i++) for (j = i; j > 1 && v[j - 1] > v[j]; j--) { x = v[j]; v[j] = v[j - 1]; v[j - 1] = x }
            return (n % 2) ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
        }
        ($1 == "transition" || $1 == "transition_rep") && $2 == big && $3 == "dense" && $4 == "no" {
            n[$5]++; r[$5, n[$5]] = ($7 > 0 ? $6 / $7 : 0) }
        ($1 == "transition" && $3 == "dense" && $4 == "no") || $1 == "scan" {
            if ($14 != "-") eng[$2, $1 ":" $5] = $14 }
        END {
            if (small == big) print "skip\tengine memory flat\tone table size only"
            else for (k in eng) {
                split(k, p, SUBSEP)
                if (p[1] != big || !((small, p[2]) in eng)) continue
                a = eng[small, p[2]]; b = eng[big, p[2]]
                d = (a > 0 ? (b - a) / a : 0)
                printf("%s\tengine peak flat: %s\t%d B at %d rows, %d B at %d rows (%+.1f%%)\n",
                       (d <= 0.10 && d >= -0.10) ? "pass" : "FAIL", p[2], a, small, b, big, d * 100)
            }
            if (scans_only) { print "skip\trange and auto vs UPDATE\tSCANS_ONLY: no transitions"; exit }
            split("update range auto", st, " ")
            for (i = 1; i <= 3; i++) {
                m = n[st[i]]
                for (j = 1; j <= m; j++) v[j] = r[st[i], j]
                med[st[i]] = (m > 0) ? median(v, m) : 0
                runs[st[i]] = m
            }
            u = med["update"]
            for (i = 2; i <= 3; i++) {
                x = med[st[i]]
                if (u <= 0 || x <= 0) { printf("FAIL\t%s vs UPDATE\tmissing run\n", st[i]); continue }
                printf("%s\t%s rows/s vs single UPDATE >= 0.5\t%.2fx (median of %d runs: %d vs %d rows/s, %d rows, dense, no trigger)\n",
                       (x / u >= 0.5) ? "pass" : "FAIL", st[i], x / u, runs[st[i]], x, u, big)
            }
        }' "$RUN_DIR/results.tsv" | sort >"$RUN_DIR/checks"
    log "checks"
    sed 's/\t/  /g' "$RUN_DIR/checks"
}

main() {
    parse_args "$@"
    umask 022
    trap cleanup EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM

    install_deps
    build_and_install "$ROOT"
    prepare_data_dir
    build_first_row
    local port
    port=$(pick_port "${PORT:-57000}")
    SERVERLOG_OFFSET=$(stat -c %s "$DATA/server.log" 2>/dev/null || echo 0)
    cluster_reuse "$DATA" "$port"

    for SIZE in "${SIZES[@]}"; do
        ensure_template "$SIZE"
    done
    describe_env
    for SIZE in "${SIZES[@]}"; do
        if [ "$SCANS_ONLY" = 0 ]; then
            dry_runs
            echo "auto_dense_$SIZE	$(auto_strategy SYNCED)" >>"$RUN_DIR/env"
            echo "auto_sparse_$SIZE	$(auto_strategy NEW)" >>"$RUN_DIR/env"
        fi
        run_scans
        run_latency
        [ "$SCANS_ONLY" = 1 ] && continue
        run_transitions
        if [ "$QUICK" = 0 ] || [ "$SIZE" = "${SIZES[-1]}" ]; then
            run_cycles
        fi
    done

    run_checks
    temp_file_summary
    write_report
    if [ "$SCANS_ONLY" = 0 ]; then
        write_plots
    else
        log "SCANS_ONLY: no plots"
    fi
    log "done in $(($(date +%s) - T_START)) s"
    if [ "$QUICK" = 1 ] && grep -q '^FAIL' "$RUN_DIR/checks"; then
        echo "bench --quick FAILED:" >&2
        grep '^FAIL' "$RUN_DIR/checks" | sed 's/\t/  /g' >&2
        exit 1
    fi
}

# Run main unless sourced (for trying out single functions).
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
    main "$@"
fi

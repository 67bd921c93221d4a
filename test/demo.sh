#!/usr/bin/env bash
# The bulk_status demo: one file-sync cycle on a table of N files (1M by default).
#
#   bash test/demo.sh [--rows N] [--keep]
#
# Installs what is missing (Debian 12), builds and installs the extension,
# starts a throwaway cluster in .demo/ of the working tree, loads the table
#
#   files(path text PRIMARY KEY, size bigint, mtime timestamptz, etag text,
#         status text NOT NULL), indexed on status, 98% SYNCED and 2% NEW
#
# and runs the mark-and-sweep cycle with bulk_status.transition:
#
#   1. prepare:  every SYNCED row becomes TEMP_DELETED
#   2. mark:     the files the sync client sees (~95%) go back to SYNCED
#   3. finalize: what is still TEMP_DELETED becomes DELETED
#
# then a streaming scan and a durable cursor.  For each step it prints the
# rows changed, wall time, rows/s, WAL written, the heap size after, the
# engine's own memory figures (bulk_status.last_run()) and the backend's peak
# private memory (RssAnon) sampled from /proc every 100 ms.  The cluster is
# stopped and .demo/ removed at the end (--keep keeps .demo/, stopped).
# Works as root (the cluster runs as postgres) or as a user with sudo.
# Environment: COPT (extra compiler flags), PORT (first port to try, default
# 56050), PRELOAD_LIBRARIES (shared_preload_libraries of the cluster).

set -euo pipefail
# shellcheck source=test/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ROOT=$(repo_root)
ROWS=1000000
KEEP=0
DEMO_DIR=""        # the cluster and the run files live here
RUN_DIR=""         # pid, result and memory files of each step
SAMPLER_PID=""     # the background memory sampler, while one runs
PHASES=()          # one "label|rows|secs|wal|heap|engine|backend|rss_start|rss_peak" per step

# shared_preload_libraries of the demo cluster; set it to 'bulk_status' once
# the extension needs preloading.
PRELOAD_LIBRARIES=${PRELOAD_LIBRARIES:-}

usage() {
    sed -n '2,4p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
}

# Read the command line.
parse_args() {
    while [ $# -gt 0 ]; do
        case $1 in
            --rows) ROWS=${2:?--rows needs a number}; shift 2 ;;
            --rows=*) ROWS=${1#--rows=}; shift ;;
            --keep) KEEP=1; shift ;;
            -h|--help) usage; exit 0 ;;
            *) usage >&2; die "unknown argument: $1" ;;
        esac
    done
    [[ "$ROWS" =~ ^[1-9][0-9]*$ ]] || die "--rows must be a positive integer, not '$ROWS'"
}

# On any exit: stop the sampler and the cluster, remove the demo directory.
cleanup() {
    local rc=$?
    set +e
    stop_sampler 0
    cluster_stop
    if [ -n "$DEMO_DIR" ]; then
        if [ "$KEEP" = 1 ]; then
            echo "kept $DEMO_DIR (cluster stopped)"
        else
            rm -rf "$DEMO_DIR"
        fi
    fi
    exit "$rc"
}

# Create the demo directory: .demo/ in the working tree, or a temporary
# directory when the cluster user cannot use that path (or it is too long
# for a unix socket path).
prepare_demo_dir() {
    local dir=$ROOT/.demo
    # A cluster left running by an interrupted demo.
    if [ -f "$dir/data/postmaster.pid" ]; then
        log "stopping the cluster left in $dir"
        CLUSTER_DIR=$dir cluster_stop
    fi
    rm -rf "$dir"
    mkdir -p "$dir"
    chmod 755 "$dir"
    give_to_pg "$dir"
    if [ ${#dir} -gt 80 ]; then
        echo "note: $dir is too long for a unix socket path; using a temporary directory instead"
        rm -rf "$dir"
        dir=""
    elif ! as_pg test -w "$dir" -a -x "$dir"; then
        echo "note: user $PG_USER cannot use $dir (a parent directory is not traversable);" \
            "using a temporary directory instead"
        rm -rf "$dir"
        dir=""
    fi
    if [ -z "$dir" ]; then
        dir=$(mktemp -d "${TMPDIR:-/tmp}/bulk_status_demo.XXXXXX")
        chmod 755 "$dir"
        give_to_pg "$dir"
    fi
    DEMO_DIR=$dir
    RUN_DIR=$dir/run
    as_pg mkdir "$RUN_DIR"
}

# psql on the demo database as the cluster user, reading SQL from stdin.
# It runs in the background so that a signal reaches our traps at once
# (bash runs traps only after a foreground command ends).
demo_psql() {
    PG_CWD=$DEMO_DIR as_pg psql -X -q -v ON_ERROR_STOP=1 -d demo "$@" <&0 &
    wait $!
}

# Seconds since the epoch, with nanoseconds.
now() {
    date +%s.%N
}

# Seconds since $1 (a now() value), to a tenth.
since() {
    awk -v a="$1" -v b="$(now)" 'BEGIN { printf("%.1f\n", b - a) }'
}

# Create the database, the extension and the files table with $ROWS rows.
load_data() {
    log "creating database demo and loading $ROWS rows into files"
    PG_CWD=$DEMO_DIR as_pg createdb demo
    local t0
    t0=$(now)
    demo_psql -v rows="$ROWS" <<'SQL'
CREATE EXTENSION bulk_status;
CREATE TABLE files (
    path   text PRIMARY KEY,
    size   bigint,
    mtime  timestamptz,
    etag   text,
    status text NOT NULL
);
CREATE INDEX files_status_idx ON files (status);
-- Paths of ~70 bytes; runs of 1000 files share a directory, directories
-- are spread over 50 projects.  2% NEW, 98% SYNCED.
INSERT INTO files (path, size, mtime, etag, status)
SELECT format('/data/projects/p%s/shared/archive/2024/dir%s/file-%s.dat',
              lpad(((i / 1000) % 50)::text, 4, '0'),
              lpad((i / 1000)::text, 6, '0'),
              lpad(i::text, 9, '0')),
       (i::bigint * 2654435761) % 100000000,
       timestamptz '2024-01-01 00:00:00+00' + (i % 31536000) * interval '1 second',
       md5(i::text),
       CASE WHEN i % 50 = 0 THEN 'NEW' ELSE 'SYNCED' END
  FROM generate_series(1, :rows) AS i;
VACUUM ANALYZE files;
SQL
    echo "loaded in $(since "$t0") s"
    demo_psql <<'SQL'
SELECT pg_size_pretty(pg_relation_size('files')) AS heap,
       pg_size_pretty(pg_indexes_size('files')) AS indexes,
       (SELECT round(avg(length(path))) FROM files) AS avg_path_bytes;
SELECT status, count(*) FROM files GROUP BY 1 ORDER BY 1;
SQL
}

# Follow the peak RssAnon of the process whose pid appears in file $1, every
# 100 ms until it exits; keep "first_kB peak_kB" in file $2.
sample_rss() {
    set +e
    local pidfile=$1 out=$2 pid="" key val rest first="" peak=0 i
    for ((i = 0; i < 3000; i++)); do
        if [ -s "$pidfile" ]; then
            read -r pid <"$pidfile"
            [[ "$pid" =~ ^[0-9]+$ ]] && break
        fi
        sleep 0.02
    done
    [[ "$pid" =~ ^[0-9]+$ ]] || return 0
    while [ -r "/proc/$pid/status" ]; do
        val=""
        while read -r key val rest; do
            [ "$key" = "RssAnon:" ] && break
            val=""
        done <"/proc/$pid/status" 2>/dev/null
        if [[ "$val" =~ ^[0-9]+$ ]]; then
            [ -z "$first" ] && first=$val
            [ "$val" -gt "$peak" ] && peak=$val
            echo "$first $peak" >"$out"
        fi
        sleep 0.1
    done
}

# Start sample_rss in the background.
start_sampler() {
    sample_rss "$1" "$2" &
    SAMPLER_PID=$!
}

# Wait (at most $1 tenths of a second, default 50) for the sampler to see its
# process exit, then end it.
stop_sampler() {
    local i
    if [ -z "$SAMPLER_PID" ]; then
        return 0
    fi
    for ((i = 0; i < ${1:-50}; i++)); do
        kill -0 "$SAMPLER_PID" 2>/dev/null || break
        sleep 0.1
    done
    kill "$SAMPLER_PID" 2>/dev/null || true
    wait "$SAMPLER_PID" 2>/dev/null || true
    SAMPLER_PID=""
}

# Bytes (or "-") in a short human form.
human_bytes() {
    awk -v b="$1" 'BEGIN {
        if (b !~ /^-?[0-9.]+$/) { print "-"; exit }
        split("B kB MB GB TB", u, " "); i = 1
        while (b >= 1024 && i < 5) { b /= 1024; i++ }
        printf(i == 1 ? "%d %s\n" : "%.1f %s\n", b, u[i])
    }'
}

# Run one measured step: $1 a label, $2 one SQL statement (no trailing
# semicolon) whose result is one row with a column rows_changed, e.g. a CALL
# of bulk_status.transition.  The statement runs in its own psql session
# whose backend is sampled from outside; WAL, time and heap size are taken
# in the same session around it.
run_phase() {
    local label=$1 sql=${2%;}
    local n=$((${#PHASES[@]} + 1))
    local pidfile=$RUN_DIR/step$n.pid resfile=$RUN_DIR/step$n.res memfile=$RUN_DIR/step$n.mem
    log "step $n, $label"
    echo "$sql;"
    start_sampler "$pidfile" "$memfile"
    demo_psql <<SQL
SELECT pg_backend_pid() AS pid \gset
\o $pidfile
\qecho :pid
\o
-- Give the sampler time for a first sample before, and a last one after.
SELECT pg_sleep(0.25) AS slept \gset
SET bulk_status.progress_interval = 1000;
SELECT pg_current_wal_lsn() AS wal0, clock_timestamp() AS t0 \gset
$sql \gset step_
SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), :'wal0')::bigint AS wal,
       extract(epoch FROM clock_timestamp() - :'t0'::timestamptz) AS secs,
       pg_relation_size('files') AS heap \gset
SELECT coalesce(engine_peak_bytes::text, '-') AS engine,
       coalesce(backend_peak_bytes::text, '-') AS backend,
       coalesce(kind, '-') AS kind, coalesce(rows::text, '-') AS rows,
       coalesce(batches::text, '-') AS batches,
       coalesce(round(elapsed_ms)::text, '-') AS ms
  FROM bulk_status.last_run() \gset lr_
\o $resfile
\qecho :step_rows_changed :secs :wal :heap :lr_engine :lr_backend :lr_kind :lr_rows :lr_batches :lr_ms
\o
SELECT pg_sleep(0.25) AS slept \gset
SQL
    stop_sampler

    local rows secs wal heap engine backend kind lrows batches ms rss_first=- rss_peak=-
    read -r rows secs wal heap engine backend kind lrows batches ms <"$resfile"
    if [ -s "$memfile" ]; then
        read -r rss_first rss_peak <"$memfile"
        rss_first=$((rss_first * 1024))
        rss_peak=$((rss_peak * 1024))
    fi
    PHASES+=("$label|$rows|$secs|$wal|$heap|$engine|$backend|$rss_first|$rss_peak")
    printf '%s rows in %.2f s (%s rows/s), WAL %s, heap now %s\n' \
        "$rows" "$secs" "$(rate "$rows" "$secs")" "$(human_bytes "$wal")" "$(human_bytes "$heap")"
    printf 'engine (last_run: %s, %s rows, %s batches, %s ms): peak %s, backend peak %s\n' \
        "$kind" "$lrows" "$batches" "$ms" "$(human_bytes "$engine")" "$(human_bytes "$backend")"
    printf 'backend RssAnon sampled from /proc: %s at start, %s peak\n' \
        "$(human_bytes "$rss_first")" "$(human_bytes "$rss_peak")"
}

# Rows per second: $1 rows over $2 seconds.
rate() {
    awk -v r="$1" -v s="$2" 'BEGIN { if (s > 0 && r ~ /^[0-9]+$/) printf("%d\n", r / s); else print "-" }'
}

# The durable cursor: open, fetch twice, look at it, close.
cursor_demo() {
    log "a durable cursor over the DELETED rows"
    demo_psql -e <<'SQL'
SELECT bulk_status.cursor_open('demo', 'files', filter => $$status = 'DELETED'$$);
SELECT count(*) FROM bulk_status.cursor_fetch('demo', NULL::files);
SELECT count(*) FROM bulk_status.cursor_fetch('demo', NULL::files);
\x on
SELECT * FROM bulk_status.cursors;
\x off
SELECT bulk_status.cursor_close('demo');
SQL
}

# The table of all steps, then the final status counts.
summary() {
    local line label rows secs wal heap engine backend rss_first rss_peak
    log "summary ($ROWS rows)"
    printf '%-10s %10s %8s %10s %10s %10s %12s %13s %13s\n' \
        step rows seconds rows/s WAL "heap after" "engine peak" "backend peak" "RssAnon peak"
    for line in "${PHASES[@]}"; do
        IFS='|' read -r label rows secs wal heap engine backend rss_first rss_peak <<<"$line"
        printf '%-10s %10s %8.2f %10s %10s %10s %12s %13s %13s\n' \
            "$label" "$rows" "$secs" "$(rate "$rows" "$secs")" "$(human_bytes "$wal")" \
            "$(human_bytes "$heap")" "$(human_bytes "$engine")" "$(human_bytes "$backend")" \
            "$(human_bytes "$rss_peak")"
    done
    echo
    echo "engine peak / backend peak: bulk_status.last_run(); RssAnon peak: the backend's"
    echo "private resident memory, sampled every 100 ms from /proc/<pid>/status."
    echo
    demo_psql <<'SQL'
SELECT status, count(*) FROM files GROUP BY 1 ORDER BY 1;
SQL
}

main() {
    parse_args "$@"
    umask 022
    trap cleanup EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM

    install_deps
    build_and_install "$ROOT"
    prepare_demo_dir
    local port
    port=$(pick_port "${PORT:-56050}")
    CLUSTER_EXTRA_CONF="shared_buffers = 256MB
max_wal_size = 2GB" cluster_start "$DEMO_DIR" "$port"

    load_data

    run_phase prepare \
        "CALL bulk_status.transition('files', 'SYNCED', 'TEMP_DELETED', batch_size => 10000)"
    run_phase mark \
        "CALL bulk_status.transition('files', 'TEMP_DELETED', 'SYNCED', filter => 'hashtext(path) % 20 <> 0')"
    run_phase finalize \
        "CALL bulk_status.transition('files', 'TEMP_DELETED', 'DELETED')"
    run_phase scan \
        "SELECT count(*) AS rows_changed FROM (SELECT bulk_status.scan(NULL::files) AS f) s"

    cursor_demo
    summary
}

main "$@"

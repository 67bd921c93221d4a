#!/usr/bin/env bash
# The bulk_status demo: one file-sync run on N files (1M by default), both ways.
#
#   bash test/demo.sh [--rows N] [--keep]
#
# Installs what is missing (Debian 12), builds and installs the extension,
# starts a throwaway cluster in .demo/ of the working tree, loads the table
#
#   files(path text PRIMARY KEY, size bigint, mtime timestamptz, etag text,
#         status text NOT NULL), indexed on status, 98% SYNCED and 2% NEW
#
# and runs the same sync run (the client sees the same ~95% of the files) in
# the two cycles of the README, each on its own fresh copy of that table:
#
#   three-pass, on files:
#     1. prepare:  every SYNCED row becomes TEMP_DELETED
#     2. stage:    the sync client writes the paths it sees into the UNLOGGED
#                  staging table seen_files (an INSERT ... SELECT stands in
#                  for the client's COPY)
#     3. mark:     transition(source => 'seen_files'): the files seen go back
#                  to SYNCED
#     4. finalize: what is still TEMP_DELETED becomes DELETED
#   generation, on files_gen (files plus sync_gen bigint NOT NULL DEFAULT
#   bulk_status.current_generation('files_gen'), every row stamped 1 by an
#   untimed previous run):
#     generation_begin -> 2
#     5. stamp:    stamp(sync_gen = 2, source => 'seen_files'), the same
#                  staging table
#     6. finalize: SYNCED rows with sync_gen < 2 become DELETED
#     generation_end
#
# then a streaming scan and a durable cursor.  For each step it prints the
# rows changed, wall time, rows/s, WAL written, the heap before and after,
# the engine's own memory figures (bulk_status.last_run()) and the backend's
# peak private memory (RssAnon) sampled from /proc every 100 ms; at the end
# a side-by-side summary of the two cycles, and the status counts of both
# tables, which must agree (the script fails when they do not).  The cluster
# is stopped and .demo/ removed at the end (--keep keeps .demo/, stopped).
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
# one "cycle|label|rows|secs|wal|heap0|heap|engine|backend|rss_start|rss_peak|checkpoints"
# per step
PHASES=()
GENERATION=""      # the generation the generation cycle runs

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
    rss_watch_stop 0
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

# Create the database, the extension, and demo_path(i), the path of file i:
# the tables and the sync client's view of the source are built from it.
create_database() {
    log "creating database demo"
    PG_CWD=$DEMO_DIR as_pg createdb demo
    demo_psql <<'SQL'
CREATE EXTENSION bulk_status;
-- Paths of ~70 bytes; runs of 1000 files share a directory, directories
-- are spread over 50 projects.
CREATE FUNCTION demo_path(i bigint) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN '/data/projects/p' || lpad(((i / 1000) % 50)::text, 4, '0')
           || '/shared/archive/2024/dir' || lpad((i / 1000)::text, 6, '0')
           || '/file-' || lpad(i::text, 9, '0') || '.dat';
SQL
}

# Create table $1 (the files table, plus the column definition $2 if given)
# with $ROWS rows, 98% SYNCED and 2% NEW, vacuumed and analyzed; autovacuum
# is off for it, so that it cannot run during one cycle and not the other.
load_table() {
    local table=$1 extra=${2:-}
    log "loading $ROWS rows into $table"
    local t0
    t0=$(now)
    demo_psql -v rows="$ROWS" -v tbl="$table" -v extra="${extra:+, $extra}" <<'SQL'
CREATE TABLE :"tbl" (
    path   text PRIMARY KEY,
    size   bigint,
    mtime  timestamptz,
    etag   text,
    status text NOT NULL
    :extra
) WITH (autovacuum_enabled = off);
CREATE INDEX ON :"tbl" (status);
INSERT INTO :"tbl" (path, size, mtime, etag, status)
SELECT demo_path(i),
       (i::bigint * 2654435761) % 100000000,
       timestamptz '2024-01-01 00:00:00+00' + (i % 31536000) * interval '1 second',
       md5(i::text),
       CASE WHEN i % 50 = 0 THEN 'NEW' ELSE 'SYNCED' END
  FROM generate_series(1, :rows) AS i;
VACUUM ANALYZE :"tbl";
SQL
    echo "loaded in $(since "$t0") s"
    demo_psql -v tbl="$table" <<'SQL'
SELECT pg_size_pretty(pg_relation_size(:'tbl')) AS heap,
       pg_size_pretty(pg_indexes_size(:'tbl')) AS indexes,
       (SELECT round(avg(length(path))) FROM :"tbl") AS avg_path_bytes;
SELECT status, count(*) FROM :"tbl" GROUP BY 1 ORDER BY 1;
SQL
}

# A checkpoint, so that each cycle starts with the same full-page-write debt
# (the first change of a page after a checkpoint logs the whole page).
checkpoint() {
    echo "CHECKPOINT;"
    demo_psql <<<'CHECKPOINT;'
}

# Bytes (or "-") in a short human form.
human_bytes() {
    awk -v b="$1" 'BEGIN {
        if (b !~ /^-?[0-9.]+$/) { print "-"; exit }
        s = ""; if (b < 0) { s = "-"; b = -b }
        split("B kB MB GB TB", u, " "); i = 1
        while (b >= 1024 && i < 5) { b /= 1024; i++ }
        printf(i == 1 ? "%s%d %s\n" : "%s%.1f %s\n", s, b, u[i])
    }'
}

# Run one measured step: $1 the cycle it belongs to, $2 a label, $3 the
# table whose heap it reports, $4 one SQL statement (no trailing semicolon)
# whose result is one row with a column rows_changed, e.g. a CALL of
# bulk_status.transition, and $5 optional settings (SQL) for its session.
# The statement runs in its own psql session whose backend is sampled from
# outside; WAL, time, heap size and checkpoints are taken in the same
# session around it.
# psql lines that set :$1 to the checkpoints the server has done so far
# (pg_stat_checkpointer from PostgreSQL 17 on, pg_stat_bgwriter before).
checkpoints_sql() {
    cat <<SQL
SELECT current_setting('server_version_num')::int >= 170000 AS has_checkpointer \gset
\if :has_checkpointer
SELECT num_timed + num_requested AS $1 FROM pg_stat_checkpointer \gset
\else
SELECT checkpoints_timed + checkpoints_req AS $1 FROM pg_stat_bgwriter \gset
\endif
SQL
}

run_phase() {
    local cycle=$1 label=$2 table=$3 sql=${4%;} settings=${5:-}
    local n=$((${#PHASES[@]} + 1))
    local pidfile=$RUN_DIR/step$n.pid resfile=$RUN_DIR/step$n.res memfile=$RUN_DIR/step$n.mem
    log "step $n, $cycle: $label"
    [ -z "$settings" ] || echo "$settings"
    echo "$sql;"
    rss_watch_start "$pidfile" "$memfile"
    demo_psql -v tbl="$table" <<SQL
SELECT pg_backend_pid() AS pid \gset
\o $pidfile
\qecho :pid
\o
-- Give the sampler time for a first sample before, and a last one after.
SELECT pg_sleep(0.25) AS slept \gset
SET bulk_status.progress_interval = 1000;
$settings
$(checkpoints_sql ckpt0)
SELECT pg_relation_size(:'tbl') AS heap0 \gset
SELECT pg_current_wal_lsn() AS wal0, clock_timestamp() AS t0 \gset
$sql \gset step_
SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), :'wal0')::bigint AS wal,
       extract(epoch FROM clock_timestamp() - :'t0'::timestamptz) AS secs,
       pg_relation_size(:'tbl') AS heap \gset
$(checkpoints_sql ckpt1)
SELECT :ckpt1 - :ckpt0 AS ckpts \gset
SELECT coalesce(engine_peak_bytes::text, '-') AS engine,
       coalesce(backend_peak_bytes::text, '-') AS backend,
       coalesce(kind, '-') AS kind, coalesce(rows::text, '-') AS rows,
       coalesce(batches::text, '-') AS batches,
       coalesce(round(elapsed_ms)::text, '-') AS ms
  FROM bulk_status.last_run() \gset lr_
\o $resfile
\qecho :step_rows_changed :secs :wal :heap0 :heap :lr_engine :lr_backend :lr_kind :lr_rows :lr_batches :lr_ms :ckpts
\o
SELECT pg_sleep(0.25) AS slept \gset
SQL
    rss_watch_stop

    local rows secs wal heap0 heap engine backend kind lrows batches ms ckpts rss_first=- rss_peak=-
    read -r rows secs wal heap0 heap engine backend kind lrows batches ms ckpts <"$resfile"
    if [ -s "$memfile" ]; then
        read -r rss_first rss_peak _ <"$memfile"
        rss_first=$((rss_first * 1024))
        rss_peak=$((rss_peak * 1024))
    fi
    PHASES+=("$cycle|$label|$rows|$secs|$wal|$heap0|$heap|$engine|$backend|$rss_first|$rss_peak|$ckpts")
    printf '%s rows in %.2f s (%s rows/s), WAL %s, heap of %s %s -> %s (%s)\n' \
        "$rows" "$secs" "$(rate "$rows" "$secs")" "$(human_bytes "$wal")" "$table" \
        "$(human_bytes "$heap0")" "$(human_bytes "$heap")" "$(growth "$heap0" "$heap")"
    if [ "$kind" != - ]; then
        printf 'engine (last_run: %s, %s rows, %s batches, %s ms): peak %s, backend peak %s\n' \
            "$kind" "$lrows" "$batches" "$ms" "$(human_bytes "$engine")" "$(human_bytes "$backend")"
    fi
    printf 'backend RssAnon sampled from /proc: %s at start, %s peak\n' \
        "$(human_bytes "$rss_first")" "$(human_bytes "$rss_peak")"
    if [ "$ckpts" != 0 ]; then
        echo "($ckpts checkpoint(s) during this step: its WAL includes the full-page images they cause)"
    fi
}

# Rows per second: $1 rows over $2 seconds.
rate() {
    awk -v r="$1" -v s="$2" 'BEGIN { if (s > 0 && r ~ /^[0-9]+$/) printf("%d\n", r / s); else print "-" }'
}

# The growth from $1 to $2 bytes, "+12.3 MB", or "-".
growth() {
    if [[ "$1" =~ ^[0-9]+$ && "$2" =~ ^[0-9]+$ ]]; then
        local d=$(($2 - $1))
        if [ "$d" -ge 0 ]; then
            echo "+$(human_bytes "$d")"
        else
            human_bytes "$d"
        fi
    else
        echo -
    fi
}

# Cycle 1: prepare, the client's staging table, mark from it, finalize.
three_pass_cycle() {
    log "cycle 1 of 2, three-pass, on files: prepare, mark from the staging table, finalize"
    checkpoint
    run_phase three-pass prepare files \
        "CALL bulk_status.transition('files', 'SYNCED', 'TEMP_DELETED', batch_size => 10000)"
    echo
    echo "The sync client now lists the source and writes what it sees into an"
    echo "UNLOGGED staging table; here an INSERT ... SELECT stands in for its COPY,"
    echo "with ~95% of the files' paths (those with hashtext(path) % 20 <> 0)."
    demo_psql -e <<'SQL'
CREATE UNLOGGED TABLE seen_files (path text) WITH (autovacuum_enabled = off);
SQL
    run_phase client stage seen_files \
        "WITH seen AS (INSERT INTO seen_files SELECT demo_path(i) FROM generate_series(1, $ROWS) AS i WHERE hashtext(demo_path(i)) % 20 <> 0 RETURNING 1) SELECT count(*) AS rows_changed FROM seen"
    echo
    echo "Statistics for the staging table, so that both cycles plan with the same:"
    demo_psql -e <<'SQL'
ANALYZE seen_files;
SQL
    run_phase three-pass mark files \
        "CALL bulk_status.transition('files', 'TEMP_DELETED', 'SYNCED', source => 'seen_files')"
    run_phase three-pass finalize files \
        "CALL bulk_status.transition('files', 'TEMP_DELETED', 'DELETED')"
}

# What the side-by-side comparison compares.
explain_comparison() {
    cat <<'EOF'
What is compared: the same sync run, done both ways.  The client saw the same
files (seen_files, filled once in cycle 1 and read again here); each cycle
runs on its own copy of the same freshly loaded table (VACUUM ANALYZE, then a
CHECKPOINT before the cycle; autovacuum off on both, so that it cannot run
during one cycle and not the other).  The three-pass cycle rewrites every
SYNCED row to TEMP_DELETED and the seen ones back; the generation cycle starts
where the previous run (generation 1, not timed: every row got 1 from the
column default) left the table, stamps the seen rows with the new generation
once, and deletes the SYNCED rows still stamped with an older one.  Both end
with the same statuses (checked at the end).  files_gen is a little larger:
its rows carry the 8-byte sync_gen.  The staging fill is the client's own work
and the same for both, so it is not counted in either cycle's totals.
EOF
}

# Cycle 2: a fresh copy of the table in the steady state after generation 1,
# then generation_begin, stamp from the same staging table, finalize,
# generation_end.
generation_cycle() {
    log "cycle 2 of 2, generation, on files_gen: stamp from the staging table, finalize"
    explain_comparison
    echo
    echo "The previous run, generation 1 (not timed): begun and ended before the"
    echo "rows are loaded, so the column default stamps every row with 1."
    demo_psql -e <<'SQL'
SELECT bulk_status.generation_begin('files_gen') AS g \gset
SELECT bulk_status.generation_end('files_gen', :g);
SQL
    load_table files_gen \
        "sync_gen bigint NOT NULL DEFAULT bulk_status.current_generation('files_gen')"
    demo_psql <<'SQL'
SELECT sync_gen, count(*) FROM files_gen GROUP BY 1 ORDER BY 1;
SQL
    log "generation 2 (timed)"
    checkpoint
    GENERATION=$(demo_psql -At <<'SQL'
SELECT bulk_status.generation_begin('files_gen');
SQL
)
    [[ "$GENERATION" =~ ^[0-9]+$ ]] || die "generation_begin returned '$GENERATION'"
    echo "SELECT bulk_status.generation_begin('files_gen');  -- $GENERATION"
    run_phase generation stamp files_gen \
        "CALL bulk_status.stamp('files_gen', 'sync_gen', '$GENERATION', source => 'seen_files')"
    run_phase generation finalize files_gen \
        "CALL bulk_status.transition('files_gen', 'SYNCED', 'DELETED', filter => format('sync_gen < %s', $GENERATION))"
    echo
    demo_psql -e -v g="$GENERATION" <<'SQL'
SELECT bulk_status.generation_end('files_gen', :g);
SQL
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

# Print the steps of cycle $1 as one "steps|rows|secs|wal|heap0|heap|engine|backend|rss|ckpts"
# line: sums of rows, time, WAL and checkpoints, the heap before the first
# step and after the last, the peaks of the memory figures.
cycle_totals() {
    local line
    for line in "${PHASES[@]}"; do
        echo "$line"
    done | awk -F'|' -v c="$1" '
        function max(a, b) { return (b ~ /^[0-9]+$/ && (a == "-" || b + 0 > a + 0)) ? b : a }
        $1 == c {
            n++; rows += $3; secs += $4; wal += $5; ckpts += $12
            if (n == 1) heap0 = $6
            heap = $7; engine = max(engine, $8); backend = max(backend, $9); rss = max(rss, $11)
        }
        BEGIN { engine = backend = rss = "-" }
        END { printf("%d|%d|%.2f|%d|%s|%s|%s|%s|%s|%d\n", n, rows, secs, wal, heap0, heap, engine, backend, rss, ckpts) }'
}

# The table of all steps, the two cycles side by side, then the final
# status counts of both tables, which must agree.
summary() {
    local line cycle label rows secs wal heap0 heap engine backend rss_first rss_peak ckpts
    log "summary ($ROWS rows)"
    printf '%-10s %-8s %9s %7s %8s %9s %9s %10s %9s %9s %9s\n' \
        cycle step rows seconds rows/s WAL "heap after" growth "engine pk" "backend pk" "RssAnon pk"
    for line in "${PHASES[@]}"; do
        IFS='|' read -r cycle label rows secs wal heap0 heap engine backend rss_first rss_peak ckpts <<<"$line"
        printf '%-10s %-8s %9s %7.2f %8s %9s %9s %10s %9s %9s %9s\n' \
            "$cycle" "$label" "$rows" "$secs" "$(rate "$rows" "$secs")" "$(human_bytes "$wal")" \
            "$(human_bytes "$heap")" "$(growth "$heap0" "$heap")" "$(human_bytes "$engine")" \
            "$(human_bytes "$backend")" "$(human_bytes "$rss_peak")"
    done
    echo
    echo "engine pk / backend pk: engine and backend peak from bulk_status.last_run();"
    echo "RssAnon pk: the backend's private resident memory, sampled every 100 ms from"
    echo "/proc/<pid>/status.  heap after / growth: the heap of the step's table (stage:"
    echo "seen_files; scan: files).  client/stage is the INSERT ... SELECT standing in"
    echo "for the sync client's COPY."

    local a b n1 r1 s1 w1 h01 h1 e1 b1 m1 c1 n2 r2 s2 w2 h02 h2 e2 b2 m2 c2
    a=$(cycle_totals three-pass)
    b=$(cycle_totals generation)
    IFS='|' read -r n1 r1 s1 w1 h01 h1 e1 b1 m1 c1 <<<"$a"
    IFS='|' read -r n2 r2 s2 w2 h02 h2 e2 b2 m2 c2 <<<"$b"
    echo
    echo "The two cycles side by side (same sync run; staging fill not counted):"
    echo
    printf '  %-28s %20s %20s\n' "" "three-pass (files)" "generation (files_gen)"
    printf '  %-28s %20s %20s\n' "steps" "$n1 (prep/mark/fin)" "$n2 (stamp/fin)"
    printf '  %-28s %20s %20s\n' "rows written" "$r1" "$r2"
    printf '  %-28s %20s %20s\n' "total time" "$s1 s" "$s2 s"
    printf '  %-28s %20s %20s\n' "rows written per second" "$(rate "$r1" "$s1")" "$(rate "$r2" "$s2")"
    printf '  %-28s %20s %20s\n' "total WAL" "$(human_bytes "$w1")" "$(human_bytes "$w2")"
    printf '  %-28s %20s %20s\n' "heap before" "$(human_bytes "$h01")" "$(human_bytes "$h02")"
    printf '  %-28s %20s %20s\n' "heap after" "$(human_bytes "$h1")" "$(human_bytes "$h2")"
    printf '  %-28s %20s %20s\n' "heap growth" "$(growth "$h01" "$h1")" "$(growth "$h02" "$h2")"
    printf '  %-28s %20s %20s\n' "engine peak (last_run)" "$(human_bytes "$e1")" "$(human_bytes "$e2")"
    printf '  %-28s %20s %20s\n' "backend peak (last_run)" "$(human_bytes "$b1")" "$(human_bytes "$b2")"
    printf '  %-28s %20s %20s\n' "backend RssAnon peak" "$(human_bytes "$m1")" "$(human_bytes "$m2")"
    printf '  %-28s %20s %20s\n' "checkpoints during" "$c1" "$c2"
    echo
    echo "Final status counts; the two cycles must agree:"
    demo_psql <<'SQL'
SELECT status, a.count AS "three-pass (files)", b.count AS "generation (files_gen)"
  FROM (SELECT status, count(*) FROM files GROUP BY 1) a
  FULL JOIN (SELECT status, count(*) FROM files_gen GROUP BY 1) b USING (status)
 ORDER BY 1;
SQL
    local differ
    differ=$(demo_psql -At <<'SQL'
SELECT count(*)
  FROM (SELECT status, count(*) FROM files GROUP BY 1) a
  FULL JOIN (SELECT status, count(*) FROM files_gen GROUP BY 1) b USING (status)
 WHERE a.count IS DISTINCT FROM b.count;
SQL
)
    [ "$differ" = 0 ] || die "the two cycles disagree on $differ status(es)"
    echo "The two cycles agree."
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
    # max_wal_size: no checkpoint for lack of WAL space within a cycle of 1M
    # rows (both cycles start right after one).
    CLUSTER_EXTRA_CONF="shared_buffers = 256MB
max_wal_size = 4GB" cluster_start "$DEMO_DIR" "$port"

    create_database
    load_table files
    three_pass_cycle
    generation_cycle
    run_phase stream scan files \
        "SELECT count(*) AS rows_changed FROM (SELECT bulk_status.scan(NULL::files) AS f) s"

    cursor_demo
    summary
}

main "$@"

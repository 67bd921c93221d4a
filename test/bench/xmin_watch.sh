# shellcheck shell=bash
# What a scan's snapshot costs vacuum, for test/bench/bench.sh (sourced by
# it; uses its bench_psql, DATA and RUN_DIR).
#
# A scan that reads the whole table under one snapshot holds the backend's
# xmin for as long as it runs, and VACUUM can remove no row that died after
# it, in any table of the database; a scan that takes a fresh snapshot per
# batch between client statements holds it for one statement at a time.
# To show it, while the scans of one table size run:
#
#   side_writer_start   a side table, bench_side (in the scans' database, so
#                       that their xmin counts for it), and one session that
#                       updates its only row every 20 ms: every UPDATE is a
#                       transaction of its own, so transaction ids advance
#                       and every update leaves one dead row version
#   xmin_sampler_start  one session (in database postgres) that, every
#                       100 ms, reads backend_xmin of the reading backends
#                       (application_name bench_reader) from pg_stat_activity
#   vacuum_probe        during one run of a scan: VACUUM bench_side when the
#                       run starts (a clean slate), then VACUUM (VERBOSE)
#                       bench_side a given time later, while the scan still
#                       reads: its "tuples: N removed, ..., K are dead but not
#                       yet removable" says how many of the rows that died
#                       since the start the scan's snapshot keeps
#   xmin_summary        per scan: samples, share with an xmin, largest
#                       age(backend_xmin), and the probe's figures
#
# The loops feed one psql each through a pipe and end when their stop file
# appears (side_stop; bench.sh's cleanup calls it on any exit), so that no
# process has to be killed.  The scans themselves only read files.

SIDE_DB=""                     # the database that holds bench_side, while it exists
SIDE_WRITER_PID=""
XMIN_SAMPLER_PID=""
VACUUM_PROBE_PID=""            # a probe that has not been waited for
READER_APP=bench_reader        # application_name of the sessions whose xmin is sampled

# A pipe nobody writes to: nap sleeps on it without starting a process.
exec {NAP_FD}<> <(:)

# Sleep $1 seconds (fractions allowed).
nap() {
    read -r -t "$1" -u "$NAP_FD" _ || true
}

# Print the SQL in $3 every $2 seconds until file $1 exists.
repeat_sql() {
    set +e
    while [ ! -e "$1" ]; do
        printf '%s\n' "$3"
        nap "$2"
    done
}

# Create bench_side in database $1 and start the session that updates it
# every 20 ms.  Autovacuum stays off for it: only the probes vacuum it.
side_writer_start() {
    SIDE_DB=$1
    bench_psql -d "$SIDE_DB" <<'SQL'
SET client_min_messages = warning;
DROP TABLE IF EXISTS bench_side;
CREATE TABLE bench_side (id int PRIMARY KEY, v int NOT NULL) WITH (autovacuum_enabled = off);
INSERT INTO bench_side VALUES (1, 0);
SQL
    rm -f "$RUN_DIR/side_writer.stop"
    (repeat_sql "$RUN_DIR/side_writer.stop" 0.02 "UPDATE bench_side SET v = v + 1 WHERE id = 1;" \
        | PG_CWD=$DATA as_pg psql -X -q -v ON_ERROR_STOP=1 -d "$SIDE_DB" \
            -c "SET application_name = 'bench_side_writer'" -f - >/dev/null) &
    SIDE_WRITER_PID=$!
}

# Start sampling the reading backends' xmin every 100 ms into file $1:
# "epoch, readers, readers with an xmin, largest age(backend_xmin)" a line,
# only when a reader exists.
xmin_sampler_start() {
    rm -f "$RUN_DIR/xmin_sampler.stop"
    (repeat_sql "$RUN_DIR/xmin_sampler.stop" 0.1 \
        "SELECT extract(epoch FROM clock_timestamp()), count(*), count(backend_xmin), coalesce(max(age(backend_xmin)), 0) FROM pg_stat_activity WHERE application_name = '$READER_APP' HAVING count(*) > 0;" \
        | PG_CWD=$DATA as_pg psql -X -q -At -F $'\t' -v ON_ERROR_STOP=1 -d postgres \
            -c "SET application_name = 'bench_xmin_sampler'" -f - >"$1") &
    XMIN_SAMPLER_PID=$!
}

# Wait up to $2 tenths of a second for background process $1 to end; end
# it if it does not.  (In a trap, bash may not have reaped a child that
# ended: a zombie counts as ended.)
wait_or_kill() {
    local i state
    for ((i = 0; i < $2; i++)); do
        state=Z
        read -r _ _ state _ 2>/dev/null <"/proc/$1/stat" || state=Z
        [ "$state" != Z ] || break
        nap 0.1
    done
    kill "$1" 2>/dev/null || true
    wait "$1" 2>/dev/null || true
}

# Stop the writer, the sampler and a probe still waiting, and drop
# bench_side.  Never fails.
side_stop() {
    touch "$RUN_DIR/side_writer.stop" "$RUN_DIR/xmin_sampler.stop" 2>/dev/null || true
    [ -z "$VACUUM_PROBE_PID" ] || wait_or_kill "$VACUUM_PROBE_PID" 0
    VACUUM_PROBE_PID=""
    [ -z "$SIDE_WRITER_PID" ] || wait_or_kill "$SIDE_WRITER_PID" 50
    [ -z "$XMIN_SAMPLER_PID" ] || wait_or_kill "$XMIN_SAMPLER_PID" 50
    SIDE_WRITER_PID="" XMIN_SAMPLER_PID=""
VACUUM_PROBE_PID=""            # a probe that has not been waited for
    if [ -n "$SIDE_DB" ] && [ -f "${CLUSTER_DIR:-}/data/postmaster.pid" ]; then
        bench_psql -d "$SIDE_DB" -c "DROP TABLE IF EXISTS bench_side" </dev/null >/dev/null 2>&1 || true
    fi
    SIDE_DB=""
}

# In the background: once file $2 exists (the run has started), in one
# session on database $1: VACUUM bench_side (a clean slate), then, $3
# seconds after that session began, VACUUM (VERBOSE) it; its messages and
# "vacuum_window <start epoch> <end epoch>" go to file $4.  (The wait is a
# pg_sleep: the snapshot it holds is gone before the VACUUM that counts.)
# Its pid goes to VACUUM_PROBE_PID.
vacuum_probe() {
    local db=$1 start=$2 delay=$3 out=$4
    rm -f "$out"
    (
        set +e
        for ((i = 0; i < 6000; i++)); do
            [ -e "$start" ] && break
            nap 0.01
        done
        [ -e "$start" ] || exit 0
        bench_psql -At -d "$db" >"$out" 2>&1 <<SQL
SELECT extract(epoch FROM clock_timestamp()) AS p0 \gset
VACUUM bench_side;
SELECT pg_sleep(greatest(0, $delay - (extract(epoch FROM clock_timestamp()) - :p0))) AS slept \gset
SELECT extract(epoch FROM clock_timestamp()) AS v0 \gset
VACUUM (VERBOSE) bench_side;
SELECT extract(epoch FROM clock_timestamp()) AS v1 \gset
\echo vacuum_window :v0 :v1
SQL
    ) &
    VACUUM_PROBE_PID=$!
}

# Wait for the probe started by vacuum_probe to end.
vacuum_probe_wait() {
    [ -n "$VACUUM_PROBE_PID" ] || return 0
    wait "$VACUUM_PROBE_PID" || true
    VACUUM_PROBE_PID=""
}

# From a probe's output ($1): "start end removed remain not_yet_removable
# cutoff_age" (dashes for what it does not say).
vacuum_figures() {
    awk '
        /vacuum_window/ { v0 = $2; v1 = $3 }
        /tuples: [0-9]+ removed, [0-9]+ remain, [0-9]+ are dead but not yet removable/ {
            s = $0; sub(/.*tuples: /, "", s); split(s, t, /[^0-9]+/)
            removed = t[1]; remain = t[2]; kept = t[3] }
        /removable cutoff: [0-9]+, which was [0-9]+ XIDs old/ {
            s = $0; sub(/.*which was /, "", s); cut = s + 0 }
        END {
            printf("%s %s %s %s %s %s\n", v0 == "" ? "-" : v0, v1 == "" ? "-" : v1,
                   removed == "" ? "-" : removed, remain == "" ? "-" : remain,
                   kept == "" ? "-" : kept, cut == "" ? "-" : cut)
        }' "$1"
}

# Per scan of size $1, from the runs' windows ($2: "approach rep start end"
# a line), the sampler's file ($3) and the probes' figures ($4: "approach
# rep start end removed remain kept cutoff_age" a line): "size approach
# runs samples samples_with_xmin max_age probe_offset probe_run_secs removed
# remain kept cutoff_age", tab-separated, in the order the scans first ran.
xmin_summary() {
    awk -v size="$1" '
        FILENAME == ARGV[1] {
            n++; wa[n] = $1; w0[n] = $3; w1[n] = $4
            if (!($1 in runs)) order[++na] = $1
            runs[$1]++
            t0[$1, $2] = $3; t1[$1, $2] = $4
            next
        }
        FILENAME == ARGV[2] {
            for (i = 1; i <= n; i++) if ($1 >= w0[i] && $1 <= w1[i]) {
                a = wa[i]; samples[a]++
                if ($3 > 0) held[a]++
                if ($4 + 0 > maxage[a]) maxage[a] = $4 + 0
                break
            }
            next
        }
        FILENAME == ARGV[3] {
            if (!(($1, $2) in t0)) next
            off[$1] = ($3 == "-") ? "-" : sprintf("%.2f", $3 - t0[$1, $2])
            len[$1] = sprintf("%.2f", t1[$1, $2] - t0[$1, $2])
            rem[$1] = $5; remain[$1] = $6; kept[$1] = $7; cut[$1] = $8
        }
        END {
            for (j = 1; j <= na; j++) {
                a = order[j]
                printf("%s\t%s\t%d\t%d\t%d\t%d\t%s\t%s\t%s\t%s\t%s\t%s\n", size, a, runs[a],
                       samples[a], held[a], maxage[a], (a in off) ? off[a] : "-", (a in len) ? len[a] : "-",
                       (a in rem) ? rem[a] : "-", (a in remain) ? remain[a] : "-",
                       (a in kept) ? kept[a] : "-", (a in cut) ? cut[a] : "-")
            }
        }' "$2" "$3" "$4"
}

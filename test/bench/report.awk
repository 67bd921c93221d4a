# bulk_status benchmark: results.md from the files bench.sh collects.
#
#   awk -F'\t' -v quick=0|1 -v elapsed=SECONDS -v batch=10000 \
#       -v plans=FILE -v checks=FILE -v xmin=FILE -v reps=R -f report.awk \
#       env tables.tsv results.tsv latency.tsv
#
# env: "key<TAB>value" lines (machine, settings, command); tables.tsv: size,
# heap, indexes, average path length, status counts; results.tsv: one run a
# line (see measure() in bench.sh; column 20 is the repetition: a scan has
# one line per run, and the scan tables give the minimum and the median of
# its runs); latency.tsv: size, method, seconds to the first row, seconds
# to the first batch.  Written for mawk (no gawk extensions).
# -v cycles=FILE: size, cycle, status counts afterwards.  -v xmin=FILE
# (xmin_summary in xmin_watch.sh): size, scan, runs, xmin samples, samples
# with an xmin, largest xmin age, the VACUUM probe's start and its run's
# length (s), dead rows removed, rows remaining, dead rows not yet
# removable, age of its removable cutoff.  -v scans_only=1: no transitions.

FNR == 1 { file++ }

file == 1 { env[$1] = $2; if ($1 ~ /^setting:/) settings[++nsettings] = $1; next }
file == 2 { tbl[$1] = $0; next }
file == 3 && $1 == "scan" {
    # every run of a scan: the times, and the largest of the rest
    key = $2 SUBSEP $1 SUBSEP $3 SUBSEP $4 SUBSEP $5
    if (!(key in have)) { nrep[key] = 0; rss[key] = "-"; temp[key] = 0; engine[key] = "-"; rss0[key] = "-" }
    have[key] = 1
    rsecs[key, ++nrep[key]] = $7
    rows[key] = $6
    if ($17 ~ /^[0-9]+$/ && (rss[key] == "-" || $17 + 0 > rss[key] + 0)) rss[key] = $17
    if ($16 ~ /^[0-9]+$/ && rss0[key] == "-") rss0[key] = $16
    if ($13 + 0 > temp[key] + 0) temp[key] = $13
    if ($14 ~ /^[0-9]+$/ && (engine[key] == "-" || $14 + 0 > engine[key] + 0)) engine[key] = $14
    if (!($2 in seen)) { seen[$2] = 1; sizes[++nsizes] = $2 }
    next
}
file == 3 {
    key = $2 SUBSEP $1 SUBSEP $3 SUBSEP $4 SUBSEP $5
    have[key] = 1
    rows[key] = $6; secs[key] = $7; wal[key] = $8
    heap0[key] = $9; heap1[key] = $10; idx0[key] = $11; idx1[key] = $12
    temp[key] = $13; engine[key] = $14; ctxpeak[key] = $15
    rss0[key] = $16; rss[key] = $17; batches[key] = $18
    if (!($2 in seen)) { seen[$2] = 1; sizes[++nsizes] = $2 }
    next
}
file == 4 { first[$1, $2] = $3; firstbatch[$1, $2] = $4; next }

# 1234567 -> "1,234,567"
function commas(n,    s, r) {
    s = sprintf("%d", n); r = ""
    while (length(s) > 3) { r = "," substr(s, length(s) - 2) r; s = substr(s, 1, length(s) - 3) }
    return s r
}

# bytes -> "12.3 MB"
function hb(b,    u, i, neg) {
    if (b == "" || b == "-") return "—"
    split("B kB MB GB TB", u, " "); i = 1
    neg = (b < 0); if (neg) b = -b
    while (b >= 1024 && i < 5) { b /= 1024; i++ }
    return (neg ? "-" : "") (i == 1 ? sprintf("%d B", b) : sprintf("%.1f %s", b, u[i]))
}

# growth from a to b: "+321.0 MB (+100%)"
function growth(a, b) {
    if (a == "" || b == "") return "—"
    if (b == a) return "0"
    return (b > a ? "+" : "") hb(b - a) (a > 0 ? sprintf(" (%+.0f%%)", (b - a) * 100 / a) : "")
}

function rate(k) { return (secs[k] > 0) ? rows[k] / secs[k] : 0 }

# rows/s of k over rows/s of base, or a dash
function ratio(k, base) {
    if (!(k in have) || !(base in have) || rate(base) <= 0) return "—"
    return sprintf("%.2f×", rate(k) / rate(base))
}

function ms(s) { return (s == "") ? "—" : (s < 0.1 ? sprintf("%.1f ms", s * 1000) : sprintf("%.0f ms", s * 1000)) }

function approach_label(a, size, workload) {
    if (a == "update") return "single `UPDATE`"
    if (a == "plpgsql") return "PL/pgSQL keyset loop, `COMMIT` every " commas(batch)
    if (a == "auto") return "`transition` auto (→ " env["auto_" workload "_" size] ")"
    if (a == "submit1") return "`submit`, 1 worker (background job, auto)"
    if (a == "submit2") return "`submit`, 2 workers (background job, auto)"
    return "`transition` " a
}

function scan_label(a,    n) {
    if (a == "copy") return "`COPY files TO STDOUT`"
    if (a == "copy_ordered") return "`COPY (SELECT * FROM files ORDER BY path) TO STDOUT`"
    if (a == "copy_cursor_fetch") return "`COPY (SELECT * FROM bulk_status.cursor_fetch(...)) TO STDOUT` loop, one transaction per " commas(batch)
    if (a == "fetch_count") return "psql `FETCH_COUNT=" batch "`, `SELECT * ... ORDER BY path`"
    if (a == "with_hold") return "`DECLARE ... CURSOR WITH HOLD`, `COMMIT`, `FETCH " batch "` loop"
    if (a == "scan") return "`SELECT bulk_status.scan(NULL::files)`, psql `FETCH_COUNT=" batch "`"
    if (a == "scan_direct") return "`SELECT bulk_status.scan(NULL::files)`, no cursor (latency only)"
    if (a == "scan_cols") return "`SELECT (bulk_status.scan(NULL::files)).*`, psql `FETCH_COUNT=" batch "`"
    if (a == "copy_scan") return "`COPY (SELECT bulk_status.scan(NULL::files)) TO STDOUT`"
    if (a == "copy_scan_cols") return "`COPY (SELECT (bulk_status.scan(NULL::files)).*) TO STDOUT`"
    if (a == "cursor_fetch") return "`bulk_status.cursor_fetch` loop, one transaction per " commas(batch)
    if (a ~ /^cursor_group_[0-9]+$/) {
        n = substr(a, 14)
        return "`cursor_open(..., parts => " n ")`, " (n == 1 ? "one client" : n " clients at once") ", `cursor_fetch(..., part => i)` loop"
    }
    return a
}

# The median of the n values in v[1..n] (sorts v).
function median(v, n,    i, j, x) {
    for (i = 2; i <= n; i++) for (j = i; j > 1 && v[j - 1] > v[j]; j--) { x = v[j]; v[j] = v[j - 1]; v[j - 1] = x }
    return (n % 2) ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
}

# Every scan's shortest and median time (smin, smed); secs becomes the
# median, so that rate() and ratio() are median-based for scans.
function scan_stats(    k, i, v, m) {
    for (k in nrep) {
        m = nrep[k]
        for (i = 1; i <= m; i++) v[i] = rsecs[k, i]
        smed[k] = median(v, m)
        smin[k] = v[1]
        secs[k] = smed[k]
    }
}

function nruns(n) { return n == 1 ? "1 run" : n " runs" }

function rate_min(k) { return (smin[k] > 0) ? rows[k] / smin[k] : 0 }

# a scan's rows/s over a baseline's, best runs and medians: "0.52× / 0.49×"
function sratio(k, base) {
    if (!(k in have) || !(base in have) || rate_min(base) <= 0 || rate(base) <= 0) return "—"
    return sprintf("%.2f× / %.2f×", rate_min(k) / rate_min(base), rate(k) / rate(base))
}

function is_engine(a) { return a == "range" || a == "limit" || a == "ctid" || a == "auto" || a == "submit1" || a == "submit2" }

function cycle_label(c) {
    if (c == "naive") return "three `UPDATE`s (prepare, mark from `seen_files`, finalize)"
    if (c == "three_pass") return "three `transition` CALLs (the same passes, `source => 'seen_files'` for the mark)"
    if (c == "generation") return "generation: `stamp(source => 'seen_files')`, then `transition(filter => 'sync_gen < g')`"
    return c
}

function settings_line(    i, s, out) {
    out = ""
    for (i = 1; i <= nsettings; i++) {
        s = settings[i]; sub(/^setting:/, "", s)
        out = out (i > 1 ? ", " : "") "`" s " = " env[settings[i]] "`"
    }
    return out
}

END {
    nT = split("update plpgsql range limit ctid auto submit1 submit2", T, " ")
    nS = split("copy copy_ordered fetch_count with_hold scan scan_cols copy_scan copy_scan_cols cursor_fetch copy_cursor_fetch cursor_group_1 cursor_group_2", S, " ")
    scan_stats()
    if (xmin != "") while ((getline line < xmin) > 0) {
        split(line, c, "\t")
        k = c[1] SUBSEP c[2]; xm[k] = 1
        xruns[k] = c[3]; xsamples[k] = c[4]; xheld[k] = c[5]; xage[k] = c[6]
        vat[k] = c[7]; vlen[k] = c[8]; vrem[k] = c[9]; vremain[k] = c[10]; vkept[k] = c[11]; vcut[k] = c[12]
    }
    nC = split("naive three_pass generation", C, " ")
    if (cycles != "") while ((getline line < cycles) > 0) { split(line, c, "\t"); outcome[c[1]] = c[3] }
    nW = split("dense sparse", W, " ")
    nG = split("no yes", G, " ")
    big = sizes[nsizes]; small = sizes[1]

    print "# bulk_status benchmark results"
    print ""
    if (quick) print "**Quick run** (`--quick`, the guard run by test/check.sh): small tables, dense transitions without trigger only, one run of each scan; not a benchmark of record."
    if (scans_only) print "**Scans only** (`SCANS_ONLY=1`): no transitions, no sync cycles."
    if (quick || scans_only) print ""
    print "| | |"
    print "| --- | --- |"
    print "| command | `" env["command"] "` (" sprintf("%d min %02d s", elapsed / 60, elapsed % 60) " in all) |"
    print "| date | " env["date"] " |"
    print "| machine | " env["cpu"] ", " env["memory"] " RAM, " env["disk"] "; " env["os"] " |"
    if (env["note"] != "") print "| note | " env["note"] " |"
    print "| PostgreSQL | " env["postgres"] " |"
    print "| extension | " env["extension"] " |"
    print "| settings | " settings_line() "; everything else default. Durability defaults: fsync, `synchronous_commit` and `full_page_writes` on |"
    for (i = 1; i <= nsizes; i++) {
        split(tbl[sizes[i]], t, "\t")
        print "| table, " commas(sizes[i]) " rows | heap " hb(t[2]) ", indexes " hb(t[3]) ", average path " t[4] " bytes; " t[5] " |"
    }
    print ""

    print "## How it was measured"
    print ""
    print "- Table: `files(path text PRIMARY KEY, size bigint, mtime timestamptz, etag text, status text NOT NULL)`, index on `status`, loaded in key order by `test/bench/load.sql` (physical order = key order, the best case for key-order walks), then `VACUUM (FREEZE, ANALYZE)`. It is generated once per size into a template database; every transition runs on a fresh clone (`CREATE DATABASE ... TEMPLATE ... STRATEGY FILE_COPY`, then `CHECKPOINT`, so the first change to each page writes a full-page image into the WAL, as it would after any checkpoint), scans run on the template itself."
    print "- Dense: `SYNCED -> TEMP_DELETED` (98% of the rows). Sparse: `NEW -> SYNCED` (2%). Trigger: an `AFTER UPDATE ... FOR EACH ROW` trigger inserting (path, old status, new status) into an audit table (`test/bench/audit_trigger.sql`). Batched approaches use " commas(batch) " rows per batch. The PL/pgSQL loop is `test/bench/keyset_loop.sql`: select the next " commas(batch) " keys after the last one with the from-status, `UPDATE ... WHERE path = ANY(keys)`, `COMMIT`."
    print "- Each run is one psql session: wall time is `clock_timestamp()` in that session around the statement(s), so it includes sending every row to the client (psql, `-At`, output counted with `wc -l`, which also checks that every scan returned every row) but not connecting. rows/s = rows changed (or read) / wall time; `×` columns divide rows/s by the baseline's rows/s in the same table."
    print "- RssAnon peak: the backend's private resident memory (`RssAnon` of `/proc/<pid>/status`, pid from `pg_backend_pid()`), sampled every 100 ms from 0.3 s before to 0.3 s after the statement; shared buffers are not in it, but JIT is: a statement whose plan costs more than `jit_above_cost` makes the backend load LLVM (about 8 MB of private pages) and allocate outside PostgreSQL's memory contexts. Engine peak: `engine_peak_bytes` of `bulk_status.last_run()` (bulk_status' own memory contexts)."
    print "- WAL: `pg_current_wal_lsn()` difference (cluster-wide: includes autovacuum and the audit table). Heap and index growth: `pg_relation_size` / `pg_indexes_size` of `files` right after the run. Temp files: `pg_stat_database.temp_bytes` difference, read after `pg_stat_force_next_flush()` and an idle point of the same session."
    print "- Scans run on the template itself (read-only on `files`). Before the scans of a size, one warm-up for all: `pg_prewarm` reads the heap of `files` and its primary-key index into shared buffers. Then " (reps > 1 ? reps " rounds; each round runs every scan once, in the order of the table (round-robin, so that whatever drifts during the run is spread over all of them)" : "one round") "; the tables give the shortest and the median run. Every scan's session has `application_name` `bench_reader` (the xmin sampler finds it by that); `cursor_group_N` is timed in a coordinating session that opens the cursor, starts N psql clients (their connection set-up included in the time) and closes the cursor."
    print "- First row: `test/bench/first_row.c`, a libpq client in single-row mode (COPY OUT for COPY): time from sending the approach's first statement (`BEGIN`/`DECLARE`/`cursor_open`...) until libpq hands over the first row, and until it has handed over " commas(batch) " rows (when psql, which fetches whole batches, would print); median of 3 fresh connections, connection set-up not timed; on the template, after the scans (buffers warm)."
    print ""

    for (i = 1; i <= nsizes; i++) {
        sz = sizes[i]
        if (!scans_only) {
            print "## Transitions, " commas(sz) " rows"
            print ""
            print "| workload | trigger | approach | rows changed | wall | rows/s | × `UPDATE` | × PL/pgSQL | RssAnon peak | engine peak | WAL | heap growth | index growth | temp files |"
            print "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
            for (w = 1; w <= nW; w++) for (g = 1; g <= nG; g++) {
                grp = sz SUBSEP "transition" SUBSEP W[w] SUBSEP G[g]
                if (!((grp SUBSEP "update") in have)) continue
                for (a = 1; a <= nT; a++) {
                    k = grp SUBSEP T[a]
                    if (!(k in have)) continue
                    printf("| %s | %s | %s | %s | %.2f s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n",
                           W[w], G[g], approach_label(T[a], sz, W[w]), commas(rows[k]), secs[k], commas(rate(k)),
                           ratio(k, grp SUBSEP "update"), ratio(k, grp SUBSEP "plpgsql"),
                           hb(rss[k]), is_engine(T[a]) ? hb(engine[k]) : "—", hb(wal[k]),
                           growth(heap0[k], heap1[k]), growth(idx0[k], idx1[k]), hb(temp[k]))
                }
            }
            print ""
        }

        grp = sz SUBSEP "cycle" SUBSEP "sync" SUBSEP "no"
        if ((grp SUBSEP "naive") in have) {
            print "## Sync cycle, " commas(sz) " files"
            print ""
            print "Every SYNCED file the run did not see ends DELETED; `seen_files` holds 95% of the paths. Each cycle on a fresh clone, in one session; rows = files deleted; engine peak = the largest of the cycle's CALLs. Afterwards every cycle left: " outcome[sz] "."
            print ""
            print "| cycle | rows deleted | wall | × naive (time) | WAL | × naive (WAL) | heap growth | index growth | RssAnon peak | engine peak | temp files |"
            print "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
            kn = grp SUBSEP "naive"
            for (a = 1; a <= nC; a++) {
                k = grp SUBSEP C[a]
                if (!(k in have)) continue
                printf("| %s | %s | %.2f s | %s | %s | %s | %s | %s | %s | %s | %s |\n",
                       cycle_label(C[a]), commas(rows[k]), secs[k],
                       secs[k] > 0 ? sprintf("%.2f×", secs[kn] / secs[k]) : "—", hb(wal[k]),
                       wal[k] > 0 ? sprintf("%.2f×", wal[kn] / wal[k]) : "—",
                       growth(heap0[k], heap1[k]), growth(idx0[k], idx1[k]), hb(rss[k]),
                       engine[k] == "-" ? "—" : hb(engine[k]), hb(temp[k]))
            }
            print ""
            print "× naive: how many times faster (time) or how many times less WAL than the three `UPDATE`s."
            print ""
        }

        scan_section(sz)
    }

    if (nsizes > 1) {
        print "## Memory, " commas(small) " vs " commas(big) " rows"
        print ""
        print "Peak RssAnon of the backend (and, for bulk_status, the engine's own peak) of the same run at each size; flat means the " commas(big) "-row figure is within 10% of the " commas(small) "-row one."
        print ""
        print "| run | RssAnon peak, " commas(small) " | RssAnon peak, " commas(big) " | change | engine peak, " commas(small) " | engine peak, " commas(big) " | change |"
        print "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"
        for (w = 1; w <= nW; w++) for (g = 1; g <= nG; g++) for (a = 1; a <= nT; a++) {
            ks = small SUBSEP "transition" SUBSEP W[w] SUBSEP G[g] SUBSEP T[a]
            kb = big SUBSEP "transition" SUBSEP W[w] SUBSEP G[g] SUBSEP T[a]
            if (!(ks in have) || !(kb in have)) continue
            printf("| %s, %s, %s | %s | %s | %s | %s | %s | %s |\n",
                   approach_label(T[a], big, W[w]), W[w], G[g] == "yes" ? "trigger" : "no trigger",
                   hb(rss[ks]), hb(rss[kb]), change(rss[ks], rss[kb]),
                   is_engine(T[a]) ? hb(engine[ks]) : "—", is_engine(T[a]) ? hb(engine[kb]) : "—",
                   is_engine(T[a]) ? change(engine[ks], engine[kb]) : "—")
        }
        for (a = 1; a <= nS; a++) {
            # (the largest of a scan's runs)
            ks = small SUBSEP "scan" SUBSEP "read" SUBSEP "-" SUBSEP S[a]
            kb = big SUBSEP "scan" SUBSEP "read" SUBSEP "-" SUBSEP S[a]
            if (!(ks in have) || !(kb in have)) continue
            e = (engine[kb] != "-")
            printf("| %s | %s | %s | %s | %s | %s | %s |\n", scan_label(S[a]),
                   hb(rss[ks]), hb(rss[kb]), change(rss[ks], rss[kb]),
                   e ? hb(engine[ks]) : "—", e ? hb(engine[kb]) : "—", e ? change(engine[ks], engine[kb]) : "—")
        }
        print ""
    }

    targets()

    if (checks != "") {
        n = 0
        while ((getline line < checks) > 0) {
            if (n++ == 0) {
                print "## Guards" (quick ? " (`--quick` fails when one fails)" : " (the `--quick` guards, computed on this run)")
                print ""
                print "| result | check | measured |"
                print "| --- | --- | --- |"
            }
            split(line, c, "\t")
            print "| " c[1] " | " c[2] " | " c[3] " |"
        }
        if (n) print ""
    }

    if (tempfiles != "") {
        n = 0
        while ((getline line < tempfiles) > 0) {
            if (++n == 1) {
                print "## Temp files, by statement"
                print ""
                print "From the server log (`log_temp_files = 0`): every temporary file a session of this invocation wrote, grouped by run (the marker each measured session and each first-row connection writes to the log; — where there is none), by the SQL statement bulk_status ran (if any) and by the client's statement; largest first."
                print ""
                print "| run | files | bytes | statement inside bulk_status | client statement |"
                print "| --- | ---: | ---: | --- | --- |"
            }
            if (n > 30) continue
            split(line, c, "\t")
            printf("| %s | %d | %s | %s | %s |\n", c[1] == "?" ? "—" : c[1], c[2], hb(c[3]),
                   c[4] == "" ? "—" : "`" c[4] "`", c[5] == "" ? "(none: removed at session end)" : "`" c[5] "`")
        }
        if (n > 30) printf("| (%d more) | | | | |\n", n - 30)
        if (n) print ""
    }

    if (!scans_only) {
        print "## Plots"
        print ""
        print "![rows/s per approach](throughput.png)"
        print ""
        print "![peak memory per approach and table size](memory.png)"
        print ""
    }

    if (plans != "") {
        print "## First batch of each strategy, " commas(big) " rows (`dry_run => true`)"
        print ""
        print "```"
        while ((getline line < plans) > 0) print line
        print "```"
    }
}

# The scans of size sz: times (shortest and median of the runs), memory,
# first row; then what their snapshots did to vacuum.
function scan_section(sz,    grp, a, k, wu, cell, n, x, r1, kk) {
    grp = sz SUBSEP "scan" SUBSEP "read" SUBSEP "-"
    n = 0
    for (a = 1; a <= nS; a++) if ((grp SUBSEP S[a]) in have) n++
    if (n == 0) return
    print "## Scans, " commas(sz) " rows"
    print ""
    x = "Every scan read every row (checked) " (reps > 1 ? reps " times, round-robin over the scans (each round runs every scan once, in the order below)" : "once")
    if (("warmup_" sz) in env) {
        split(env["warmup_" sz], wu, " ")
        x = x ", after one warm-up for all: `pg_prewarm` read the heap (" commas(wu[1]) " blocks) and the primary-key index (" commas(wu[2]) " blocks) into shared buffers (" commas(wu[4]) " blocks) in " sprintf("%.1f", wu[3]) " s"
    }
    print x ". Wall: shortest / median run; rows/s: best / median; × columns: best run over best run / median over median. Memory and temp files: the largest of the runs."
    if (("scans_skipped_" sz) in env)
        print "\nNot run: " env["scans_skipped_" sz] " (this bulk_status has no `cursor_fetch(name, rowtype, max_rows, part)`)."
    print ""
    print "| approach | rows | runs | wall, min | wall, median | rows/s, best | rows/s, median | × `FETCH_COUNT` | × `COPY` | RssAnon peak | engine peak | temp files | first row | first " commas(batch) " rows |"
    print "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
    for (a = 1; a <= nS; a++) {
        k = grp SUBSEP S[a]
        if (!(k in have)) continue
        printf("| %s | %s | %d | %.2f s | %.2f s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n",
               scan_label(S[a]), commas(rows[k]), nrep[k], smin[k], smed[k], commas(rate_min(k)), commas(rate(k)),
               sratio(k, grp SUBSEP "fetch_count"), sratio(k, grp SUBSEP "copy"),
               hb(rss[k]), engine[k] == "-" ? "—" : hb(engine[k]), hb(temp[k]),
               ms(first[sz, S[a]]), ms(firstbatch[sz, S[a]]))
        if (S[a] == "scan" && ((sz, "scan_direct") in first))
            printf("| %s | | | | | | | | | | | | %s | %s |\n", scan_label("scan_direct"),
                   ms(first[sz, "scan_direct"]), ms(firstbatch[sz, "scan_direct"]))
    }
    print ""
    k = grp SUBSEP "cursor_fetch"
    for (a = 1; a <= 2; a++) {
        kk = grp SUBSEP "cursor_group_" a
        if (!(kk in have) || !(k in have)) continue
        printf("- `cursor_group_%d` (%s) vs the `cursor_fetch` loop: %s (best / median)\n", a,
               a == 1 ? "one part, one client" : a " parts, " a " clients at once", sratio(kk, k))
        r1 = 1
    }
    if (r1) print ""

    n = 0
    for (a = 1; a <= nS; a++) if ((sz SUBSEP S[a]) in xm) n++
    if (n == 0) return
    print "**Snapshots and VACUUM, " commas(sz) " rows.** While the scans ran, one session updated the single row of a side table `bench_side` every 20 ms (a transaction each, so transaction ids advanced by about 50 a second, plus what the scans themselves write), and another read `age(backend_xmin)` of the reading backend every 100 ms (for `cursor_group_N`, of its clients, the largest). In the last run of each scan, `VACUUM bench_side` when the scan started, then `VACUUM (VERBOSE) bench_side` at the time shown: the rows that died in between are either removed or, when the scan's snapshot is the oldest in the database, \"dead but not yet removable\". A scan that holds its snapshot for its whole run keeps them all, and its xmin's age grows with the run; one that takes a fresh snapshot per statement keeps at most what died during one batch."
    print ""
    print "| approach | xmin samples (all runs) | samples with an xmin | largest xmin age (xids) | `VACUUM (VERBOSE)` at | dead rows removed | dead rows not yet removable |"
    print "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"
    for (a = 1; a <= nS; a++) {
        k = sz SUBSEP S[a]
        if (!(k in xm)) continue
        if (vat[k] == "-") cell = "—"
        else if (vat[k] + 0 > vlen[k] + 0) cell = sprintf("%.2f s, after the run's end (%.2f s)", vat[k], vlen[k])
        else cell = sprintf("%.2f s of %.2f s", vat[k], vlen[k])
        printf("| %s | %d | %s | %s | %s | %s | %s |\n", scan_label(S[a]), xsamples[k],
               xsamples[k] > 0 ? sprintf("%d (%.0f%%)", xheld[k], 100 * xheld[k] / xsamples[k]) : "—",
               xsamples[k] > 0 ? commas(xage[k]) : "—", cell,
               vrem[k] == "-" ? "—" : commas(vrem[k]), vkept[k] == "-" ? "—" : commas(vkept[k]))
    }
    print ""
}

# relative change from a to b: "+3.1%"
function change(a, b) {
    if (a == "" || b == "" || a == "-" || b == "-" || a <= 0) return "—"
    return sprintf("%+.1f%%", (b - a) * 100 / a)
}

function yesno(ok) { return ok ? "met" : "**not met**" }

# The targets (README, "Performance") against this run's largest size.
function targets(    d, g) {
    d = big SUBSEP "transition" SUBSEP "dense" SUBSEP "no"
    g = big SUBSEP "scan" SUBSEP "read" SUBSEP "-"
    if (!((d SUBSEP "update") in have) && !((g SUBSEP "fetch_count") in have)) return
    print "## Targets, " commas(big) " rows"
    print ""
    print "| target | measured | |"
    print "| --- | --- | --- |"
    if ((d SUBSEP "update") in have) transition_targets(d)
    scan_targets(g)
    print ""
}

# The transitions' targets; d: the dense, no-trigger group of the largest size.
function transition_targets(d,    u, p, k, r, worst, maxrss, c, ks, kb, x, hu, ha, wflat, a, w, g, b, i, nx) {
    u = rate(d SUBSEP "update"); p = rate(d SUBSEP "plpgsql")
    split("range auto", x, " ")
    for (i = 1; i <= 2; i++) {
        k = d SUBSEP x[i]
        if (!(k in have)) continue
        r = rate(k)
        printf("| transition %s ≥ 0.95× single `UPDATE` (dense, no trigger) | %.2f× (%s vs %s rows/s) | %s |\n",
               x[i], r / u, commas(r), commas(u), yesno(r / u >= 0.95))
        if (p > 0)
            printf("| transition %s ≥ 1.25× PL/pgSQL loop (dense, no trigger) | %.2f× (%s vs %s rows/s) | %s |\n",
                   x[i], r / p, commas(r), commas(p), yesno(r / p >= 1.25))
    }
    for (w = 1; w <= 2; w++) for (g = 1; g <= 2; g++) {
        if (w == 1 && g == 1) continue
        b = big SUBSEP "transition" SUBSEP W[w] SUBSEP G[g]
        if (!((b SUBSEP "update") in have)) continue
        printf("| (for reference: %s, %s) | range %s `UPDATE`, %s PL/pgSQL; auto %s `UPDATE`, %s PL/pgSQL | |\n",
               W[w], (G[g] == "yes") ? "with trigger" : "no trigger",
               ratio(b SUBSEP "range", b SUBSEP "update"), ratio(b SUBSEP "range", b SUBSEP "plpgsql"),
               ratio(b SUBSEP "auto", b SUBSEP "update"), ratio(b SUBSEP "auto", b SUBSEP "plpgsql"))
    }
    for (i = 1; i <= 2; i++) {
        k = d SUBSEP "submit" i
        if (!(k in have)) continue
        r = rate(k)
        if (i == 1)
            printf("| background job, 1 worker ≥ 0.95× single `UPDATE` (dense, no trigger) | %.2f× (%s vs %s rows/s) | %s |\n",
                   r / u, commas(r), commas(u), yesno(r / u >= 0.95))
        else
            printf("| background job, 2 workers on disjoint key ranges ≥ 1.4× single `UPDATE` (dense, no trigger) | %.2f× (%s vs %s rows/s; %s 1 worker) | %s |\n",
                   r / u, commas(r), commas(u), ratio(k, d SUBSEP "submit1"), yesno(r / u >= 1.4))
    }
    maxrss = 0; worst = 0; wflat = ""
    for (w = 1; w <= 2; w++) for (g = 1; g <= 2; g++) for (a = 3; a <= nT; a++) {
        kb = big SUBSEP "transition" SUBSEP W[w] SUBSEP G[g] SUBSEP T[a]
        ks = small SUBSEP "transition" SUBSEP W[w] SUBSEP G[g] SUBSEP T[a]
        if (!(kb in have)) continue
        if (rss[kb] > maxrss) maxrss = rss[kb]
        if (nsizes > 1 && (ks in have) && rss[ks] > 0) {
            c = (rss[kb] - rss[ks]) / rss[ks]; if (c < 0) c = -c
            if (c > worst) { worst = c; wflat = T[a] ", " W[w] ", " (G[g] == "yes" ? "trigger" : "no trigger") }
        }
    }
    printf("| backend private memory of bulk_status transitions < 16 MB, triggers included | max RssAnon peak %s | %s |\n",
           hb(maxrss), yesno(maxrss < 16 * 1048576))
    if (nsizes > 1)
        printf("| ... flat within 10%% from %s to %s rows | largest change %.1f%% (%s) | %s |\n",
               commas(small), commas(big), worst * 100, wflat, yesno(worst <= 0.10))
    hu = heap1[d SUBSEP "update"] - heap0[d SUBSEP "update"]
    nx = split("range auto submit1 submit2", x, " ")
    for (i = 1; i <= nx; i++) {
        k = d SUBSEP x[i]
        if (!(k in have)) continue
        ha = heap1[k] - heap0[k]
        printf("| heap growth of a full transition (%s) well under the single `UPDATE`'s | %s vs %s | %s |\n",
               x[i], growth(heap0[k], heap1[k]), growth(heap0[d SUBSEP "update"], heap1[d SUBSEP "update"]),
               yesno(ha < hu / 2))
    }
}

# The ratios of the scans named in list to scan base, in group g, as
# "`name` median× (best×)" into RATIO_LINE, and the best median ratio of
# those other than the one named in other (shown for comparison) into
# RATIO_BEST; returns whether any of them ran.
function scan_ratios(g, list, base, other,    x, n, i, k) {
    RATIO_LINE = ""; RATIO_BEST = 0
    n = split(list, x, " ")
    for (i = 1; i <= n; i++) {
        k = g SUBSEP x[i]
        if (!(k in have)) continue
        RATIO_LINE = RATIO_LINE (RATIO_LINE == "" ? "" : "; ") sprintf("`%s` %.2f× (%.2f×)", x[i], rate(k) / rate(base), rate_min(k) / rate_min(base))
        if (x[i] != other && rate(k) / rate(base) > RATIO_BEST) RATIO_BEST = rate(k) / rate(base)
    }
    return RATIO_LINE != ""
}

# The scans' targets (medians; best runs in parentheses); g: the scan group
# of the largest size.
function scan_targets(g,    f, c, s) {
    f = g SUBSEP "fetch_count"; c = g SUBSEP "copy"
    # (several parts read at once are not one walk in key order)
    if ((f in have) && scan_ratios(g, "scan scan_cols cursor_fetch cursor_group_1 cursor_group_2", f, "cursor_group_2"))
        printf("| reading every row to a client in key order through bulk_status ≥ 1.0× a psql `FETCH_COUNT=%d` cursor over `SELECT * FROM files ORDER BY path` (median of %s; best runs in parentheses; `cursor_group_2`, two clients in parallel and so not one walk in key order, for comparison) | %s | %s |\n",
               batch, nruns(reps), RATIO_LINE, yesno(RATIO_BEST >= 1.0))
    if ((c in have) && scan_ratios(g, "copy_scan_cols copy_scan copy_cursor_fetch copy_ordered", c, "copy_ordered"))
        printf("| an export in key order through `COPY (SELECT ... bulk_status ...) TO STDOUT` ≥ 0.7× `COPY files TO STDOUT` (median of %s; best runs in parentheses; `copy_ordered`, PostgreSQL's own export in key order, for comparison) | %s | %s |\n",
               nruns(reps), RATIO_LINE, yesno(RATIO_BEST >= 0.7))
    s = g SUBSEP "scan"
    if (s in have) {
        printf("| scan: zero temp files | %s | %s |\n", hb(temp[s]), yesno(temp[s] == 0))
        if ((big, "scan") in first)
            printf("| scan: first row in < 50 ms | %s through a psql-style cursor, %s direct | %s |\n",
                   ms(first[big, "scan"]), ms(first[big, "scan_direct"]), yesno(first[big, "scan"] < 0.05))
    }
}

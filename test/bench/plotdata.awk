# bulk_status benchmark: data files for plots.gp from results.tsv.
#
#   awk -F'\t' -v size=N -v dir=DIR -v sizes="N1 N2" -f plotdata.awk results.tsv
#
# Writes, in DIR:
#   tput_tr.dat    rows/s of each transition approach at N rows: columns
#                  dense, dense with trigger, sparse, sparse with trigger
#   tput_scan.dat  rows/s of each scan at N rows
#   mem_tr.dat     peak RssAnon (MB) of each dense transition, without and
#                  with trigger, one column per size in sizes
#   mem_scan.dat   peak RssAnon (MB) of each scan, one column per size
#   cols.gp        tr_cols: the columns of tput_tr.dat that have data
# "-" marks a missing value; rows without any value are left out.

{
    k = $1 SUBSEP $2 SUBSEP $3 SUBSEP $4 SUBSEP $5
    rate[k] = ($7 > 0) ? $6 / $7 : "-"
    mem[k] = ($17 ~ /^[0-9]+$/) ? $17 / 1048576 : "-"
    have[k] = 1
}

function get(arr, k) { return (k in have) ? arr[k] : "-" }

# Print label and the values v[1..n] to file f, unless every value is missing.
function row(f, label, n,    i, line, any) {
    line = "\"" label "\""; any = 0
    for (i = 1; i <= n; i++) { line = line " " v[i]; if (v[i] != "-") { any = 1; used[f, i] = 1 } }
    if (any) print line > f
}

END {
    nT = split("update plpgsql range limit ctid auto submit1 submit2", T, " ")
    split("UPDATE|PL/pgSQL|range|limit|ctid|auto|submit\\n1 worker|submit\\n2 workers", TL, "|")
    nS = split("copy copy_ordered fetch_count with_hold scan scan_cols copy_scan copy_scan_cols cursor_fetch copy_cursor_fetch cursor_group_2", S, " ")
    split("COPY|COPY\\nORDER BY|FETCH_COUNT|WITH HOLD|scan|scan\\ncolumns|COPY\\n(scan)|COPY\\n(scan cols)|cursor_fetch|COPY\\n(cursor_fetch)|2 parts,\\n2 clients", SL, "|")
    nz = split(sizes, Z, " ")
    split("dense no dense yes sparse no sparse yes", g, " ")

    f = dir "/tput_tr.dat"
    for (a = 1; a <= nT; a++) {
        for (i = 1; i <= 4; i++)
            v[i] = get(rate, "transition" SUBSEP size SUBSEP g[2 * i - 1] SUBSEP g[2 * i] SUBSEP T[a])
        row(f, TL[a], 4)
    }
    cols = ""
    for (i = 1; i <= 4; i++) if ((f, i) in used) cols = cols (cols == "" ? "" : " ") (i + 1)
    print "tr_cols = \"" cols "\"" > (dir "/cols.gp")

    f = dir "/tput_scan.dat"
    for (a = 1; a <= nS; a++) {
        v[1] = get(rate, "scan" SUBSEP size SUBSEP "read" SUBSEP "-" SUBSEP S[a])
        row(f, SL[a], 1)
    }

    f = dir "/mem_tr.dat"
    for (a = 1; a <= nT; a++) for (t = 0; t <= 1; t++) {
        for (i = 1; i <= nz; i++)
            v[i] = get(mem, "transition" SUBSEP Z[i] SUBSEP "dense" SUBSEP (t ? "yes" : "no") SUBSEP T[a])
        row(f, TL[a] (t ? "\\n+ trigger" : ""), nz)
    }
    f = dir "/mem_scan.dat"
    for (a = 1; a <= nS; a++) {
        for (i = 1; i <= nz; i++)
            v[i] = get(mem, "scan" SUBSEP Z[i] SUBSEP "read" SUBSEP "-" SUBSEP S[a])
        row(f, SL[a], nz)
    }
}

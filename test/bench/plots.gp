# bulk_status benchmark: throughput.png and memory.png from the data files
# plotdata.awk writes.  Variables (gnuplot -e): dir (the data files), out
# (where the PNGs go), size (rows of the throughput plot), sizes (all sizes,
# space-separated).

load dir . "/cols.gp"

set terminal pngcairo size 1500,600 font "DejaVu Sans,10" noenhanced
set datafile missing "-"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set grid ytics
set key top right
set xtics nomirror
set ytics nomirror
set offsets 0, 0, graph 0.08, 0
set bmargin 4

# "10000000" -> "10,000,000"
commas(n) = (n >= 1000000 ? sprintf("%d,%03d,%03d", n / 1000000, (n / 1000) % 1000, n % 1000) : \
             n >= 1000 ? sprintf("%d,%03d", n / 1000, n % 1000) : sprintf("%d", n))
# The centre of bar i (1-based) of n in the cluster of row x.
barx(x, i, n) = x + (i - (n + 1) / 2.0) / (n + 1)
trtitle(c) = (c == 2 ? "dense (98%)" : c == 3 ? "dense + AFTER ROW trigger" : \
              c == 4 ? "sparse (2%)" : "sparse + trigger")
ntr = words(tr_cols)
nsizes = words(sizes)

set output out . "/throughput.png"
set multiplot layout 1,2 title sprintf("bulk_status benchmark: rows/s per approach, %s rows (higher is better)", commas(int(size)))
set title "transitions (rows changed per second)"
set ylabel "thousand rows/s"
set yrange [0:*]
plot for [i=1:ntr] dir . "/tput_tr.dat" using (column(int(word(tr_cols, i))) / 1000):xtic(1) \
         title trtitle(int(word(tr_cols, i))), \
     for [i=1:ntr] "" using (barx($0, i, ntr)):(column(int(word(tr_cols, i))) / 1000): \
         (sprintf("%.0f", column(int(word(tr_cols, i))) / 1000)) with labels offset 0,0.7 font ",8" notitle
set title "scans (rows read per second, delivered to the client)"
plot dir . "/tput_scan.dat" using ($2 / 1000):xtic(1) title "whole table" linecolor rgb "#4477aa", \
     "" using ($0):($2 / 1000):(sprintf("%.0f", $2 / 1000)) with labels offset 0,0.7 font ",8" notitle
unset multiplot

set output out . "/memory.png"
set terminal pngcairo size 1700,650 font "DejaVu Sans,10" noenhanced
set multiplot title "bulk_status benchmark: peak private memory of the backend or job worker (RssAnon, MB, sampled every 100 ms) per table size; log scale"
unset offsets
set logscale y
set yrange [1:*]
set ylabel "MB"
set title "dense transitions (98% of the rows), without and with trigger"
set xtics font ",8"
set origin 0, 0
set size 0.64, 0.95
plot for [i=1:nsizes] dir . "/mem_tr.dat" using (column(i + 1)):xtic(1) title commas(int(word(sizes, i))) . " rows", \
     for [i=1:nsizes] "" using (barx($0, i, nsizes)):(column(i + 1)):(sprintf("%.1f", column(i + 1))) \
         with labels offset 0,0.7 font ",7" notitle
set title "scans"
set xtics font ",8"
set origin 0.64, 0
set size 0.36, 0.95
plot for [i=1:nsizes] dir . "/mem_scan.dat" using (column(i + 1)):xtic(1) title commas(int(word(sizes, i))) . " rows", \
     for [i=1:nsizes] "" using (barx($0, i, nsizes)):(column(i + 1)):(sprintf("%.1f", column(i + 1))) \
         with labels offset 0,0.7 font ",7" notitle
unset multiplot

#!/usr/bin/env bash
# bench/alternate.sh ROUNDS [load flags...]: runs the same load against
# several servers in turn, ROUNDS times, and prints each run and each
# server's medians, with its p99 (and, in throughput modes, its CPU a fix)
# as a ratio to the first server's. This
# machine's noise moves p99 by 2x from one run to the next, so builds are
# only ever compared this way: alternating, medians, ratios.
# BUILDS lists the servers: "floor" (bench/floor; floor:PATH another build
# of it, or a script that execs it with other settings) or the path of an Enroute
# binary (one node on a fresh SQLite store each run, via bench/nodes.sh),
# or pg:PATH for that binary on a fresh PostgreSQL database.
# Default: BUILDS="floor bin/enroute". Build first: make build &&
# go build -o bin/load ./bench/load && go build -o bin/floor ./bench/floor.
# Example: BUILDS="bin/enroute.old bin/enroute" bench/alternate.sh 3 -mode live
#   -devices 10000 -interval 1s -watchers 10000 -boards 20 -conns 512 -duration 20s -warmup 5s
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=$1; shift
read -ra builds <<< "${BUILDS:-floor bin/enroute}"
declare -A p99s p50s cores bp50s bp99s usfix rsss
for r in $(seq 1 "$rounds"); do
  for b in "${builds[@]}"; do
    if [ "$b" = floor ]; then
      out=$(SERVER=floor bench/nodes.sh 1 "$@" 2>&1)
    elif [[ $b == floor:* ]]; then
      out=$(SERVER=floor FLOOR_BIN=${b#floor:} bench/nodes.sh 1 "$@" 2>&1)
    elif [[ $b == pg:* ]]; then
      out=$(ENROUTE_BIN=${b#pg:} bench/nodes.sh 1 "$@" 2>&1)
    else
      out=$(ENROUTE_BIN=$b STORE=sqlite bench/nodes.sh 1 "$@" 2>&1)
    fi
    # "watchers  N updates: p50 Xms  p99 Yms  max Zms" and "CPU while sending: server C cores"
    p99=$(awk '/^watchers/ { for (i = 1; i <= NF; i++) if ($i == "p99") print $(i+1) }' <<< "$out")
    cpu=$(sed -n 's/.*CPU while sending: server \([0-9.]*\) cores.*/\1/p' <<< "$out")
    stored=$(grep -E '^stored' <<< "$out" || true)
    # Enroute's own part ("server's own part ... p99 <= X s"), when it has one.
    own=$(sed -n "s/^server's own part.*p99 <= \([^ ]*\) s.*/  own p99 <= \1 s/p" <<< "$out")
    toms() { awk '{ v = $1; if (v ~ /µs$/) { sub(/µs$/, "", v); v /= 1000 } else if (v ~ /ms$/) { sub(/ms$/, "", v) } else if (v ~ /s$/) { sub(/s$/, "", v); v *= 1000 } printf "%.2f", v }' <<< "${1:-nan}"; }
    ms=$(toms "$p99")
    p50=$(toms "$(awk '/^watchers/ { for (i = 1; i <= NF; i++) if ($i == "p50") print $(i+1) }' <<< "$out")")
    # The boards' too, when there are any: "boards  N updates: p50 Xms  p99 Yms ...".
    bp50=$(toms "$(awk '/^boards/ { for (i = 1; i <= NF; i++) if ($i == "p50") print $(i+1) }' <<< "$out")")
    bp99=$(toms "$(awk '/^boards/ { for (i = 1; i <= NF; i++) if ($i == "p99") print $(i+1) }' <<< "$out")")
    # Throughput modes: server CPU a fix, from "... accepted (N/s)" and the cores.
    rate=$(sed -n 's/.* accepted (\([0-9]*\)\/s).*/\1/p' <<< "$out")
    # The server's peak RSS ("server RSS peak N KiB"), in MiB.
    rss=$(awk '/server RSS peak/ { for (i = 1; i <= NF; i++) if ($i == "peak") printf "%.0f", $(i+1) / 1024 }' <<< "$out")
    us=$(awk -v c="${cpu:-0}" -v r="${rate:-0}" 'BEGIN { if (r > 0) printf "%.1f", c / r * 1e6; else print "nan" }')
    echo "round $r  $b  p50 ${p50} ms  p99 ${ms} ms  boards p50 ${bp50} p99 ${bp99} ms  server ${cpu:-?} cores  ${rate:-?} fixes/s, ${us} µs CPU a fix  RSS ${rss:-?} MiB${own}  ${stored}"
    usfix[$b]+="$us "
    p99s[$b]+="$ms "
    p50s[$b]+="$p50 "
    bp50s[$b]+="$bp50 "
    bp99s[$b]+="$bp99 "
    cores[$b]+="${cpu:-0} "
    rsss[$b]+="${rss:-nan} "
  done
done
# The median of the figures given, those missing ("nan") left out; "nan" when none.
median() { tr ' ' '\n' | grep -v '^$' | grep -v '^nan$' | sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) print "nan"; else print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
first="" firstus=""
for b in "${builds[@]}"; do
  m=$(median <<< "${p99s[$b]}")
  c=$(median <<< "${cores[$b]}")
  u=$(median <<< "${usfix[$b]}")
  [ -n "$first" ] || first=$m firstus=$u
  echo "median  $b  p50 $(median <<< "${p50s[$b]}") ms  p99 $m ms  boards p50 $(median <<< "${bp50s[$b]}") p99 $(median <<< "${bp99s[$b]}") ms  server $c cores  $u µs CPU a fix  RSS $(median <<< "${rsss[$b]}") MiB  p99 ratio to ${builds[0]} $(awk -v a="$m" -v b="$first" 'BEGIN { if (b + 0 > 0) printf "%.2f", a / b; else print "-" }')  CPU a fix ratio $(awk -v a="$u" -v b="$firstus" 'BEGIN { if (b + 0 > 0) printf "%.2f", a / b; else print "-" }')"
done

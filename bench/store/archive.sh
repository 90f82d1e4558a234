#!/usr/bin/env bash
# Archive benchmark: what `resyncwatch import` makes of an rsyslog archive, each figure
# beside its anchor from the same run. The store right after import against `gzip -6` of
# the archive; a cold `history` of one phone (no collector) against `grep -F` of its MAC
# over the archive; the same history answered by a running resyncwatchd.
#
#   bench/store/archive.sh                      # resyncwatch-sim, 20,000 phones, 2 M lines
#   PHONES=100000 DAYS=2 LINES=10000000 bench/store/archive.sh
#   ARCHIVE=/var/log/phones.log bench/store/archive.sh
#
# Needs perf (Debian's linux-perf). Timings mean something only on a quiet machine.
set -euo pipefail
. "$(dirname "$0")/../common/bench.sh" archive query/resyncwatch collector/resyncwatchd \
  tools/sim/resyncwatch-sim
cli=$build/query/resyncwatch
daemon=$build/collector/resyncwatchd
sim=$build/tools/sim/resyncwatch-sim
command -v perf >/dev/null || { echo "archive.sh: needs perf (apt-get install linux-perf)" >&2; exit 2; }

archive=${ARCHIVE:-}
if [ -z "$archive" ]; then
  "$sim" --phones "${PHONES:-20000}" --days "${DAYS:-3}" --archive "$work/full.log" >/dev/null
  head -n "${LINES:-2000000}" "$work/full.log" >"$work/archive.log"
  rm "$work/full.log"
  archive=$work/archive.log
fi

# perf stat of a command run REPEAT times: prints "<wall ms> <cpu ms> <page faults>".
timed() {
  local repeat=$1
  shift
  perf stat -r "$repeat" -e task-clock,page-faults "$@" 2>&1 >/dev/null |
    awk '/task-clock/{cpu=$1} /page-faults/{pf=$1} /seconds time elapsed/{wall=$1*1000}
         END{gsub(",","",pf); printf "%.2f %.2f %s\n", wall, cpu, pf}'
}

lines=$(wc -l <"$archive")
archive_bytes=$(stat -c %s "$archive")
gzip_bytes=$(gzip -6 -c "$archive" | wc -c)
/usr/bin/time -f "%U %S" -o "$work/import.time" "$cli" import --db "$work/db" "$archive" >/dev/null
import_cpu=$(awk '{print $1 + $2}' "$work/import.time")
store_bytes=$(du -sb "$work/db" | cut -f1)

mac=$(grep -m1 -oE '([0-9a-f]{2}:){5}[0-9a-f]{2}' "$archive" || true)
[ -n "$mac" ] || { echo "archive.sh: no MAC aa:bb:cc:dd:ee:ff in $archive" >&2; exit 2; }
events=$("$cli" history --db "$work/db" "$mac" | wc -l)
read -r cold_wall cold_cpu cold_pf < <(timed 50 "$cli" history --db "$work/db" "$mac")
# Through a pipe: grep writing to /dev/null stops at the first match.
read -r grep_wall grep_cpu _ < <(timed 5 sh -c "grep -F '$mac' '$archive' | wc -l")

cp -a "$work/db" "$work/live"
"$daemon" --db "$work/live" --listen udp://127.0.0.1:0 2>"$work/daemon.log" &
pid=$!
for _ in $(seq 200); do [ -S "$work/live/query.sock" ] && break; sleep 0.05; done
[ -S "$work/live/query.sock" ] || { echo "archive.sh: resyncwatchd did not start" >&2; exit 2; }
"$cli" history --db "$work/live" "$mac" >/dev/null  # the first answer warms its caches
read -r live_wall live_cpu _ < <(timed 100 "$cli" history --db "$work/live" "$mac")
kill -TERM "$pid"
wait "$pid" || true
pid=""

ratio() { awk -v a="$1" -v b="$2" 'BEGIN{printf "%.2f", a / b}'; }
echo "archive benchmark: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
printf "archive                 %d lines, %.1f MB; gzip -6 %.1f MB (%.1f B/line)\n" \
  "$lines" "$(ratio "$archive_bytes" 1e6)" "$(ratio "$gzip_bytes" 1e6)" \
  "$(ratio "$gzip_bytes" "$lines")"
printf "store after import      %.1f MB (%.1f B/line), import %.1f s CPU: %sx gzip -6 (target <= 1.5x)\n" \
  "$(ratio "$store_bytes" 1e6)" "$(ratio "$store_bytes" "$lines")" "$import_cpu" \
  "$(ratio "$store_bytes" "$gzip_bytes")"
printf "cold history %s       %d events: %s ms wall, %s ms CPU, %s page faults\n" \
  "$mac" "$events" "$cold_wall" "$cold_cpu" "$cold_pf"
printf "grep -F over the archive  %s ms wall, %s ms CPU: history %sx faster (target >= 20x)\n" \
  "$grep_wall" "$grep_cpu" "$(ratio "$grep_wall" "$cold_wall")"
printf "history via resyncwatchd %s ms wall, %s ms CPU (target <= 3 ms)\n" "$live_wall" "$live_cpu"

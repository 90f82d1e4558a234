#!/usr/bin/env bash
# Live storage benchmark: what resyncwatchd keeps of a fleet's datagrams, beside `gzip -6`
# of the same datagrams, from one run. resyncwatch-sim sends its phones' own datagrams
# twice with the same seed: first to a listener that writes each datagram as a line (the
# anchor), then to a fresh resyncwatchd. The store is measured after the daemon stopped and
# an empty import compacted it, as it would be once RocksDB settles.
#
#   bench/store/live.sh                                  # 20,000 phones, 2 days, 20,000/s
#   PHONES=5000 DAYS=1 RATE=10000 bench/store/live.sh
#   KEEP=/tmp/live-db bench/store/live.sh                # keeps the store for a closer look
#
# Needs python3 for the listener.
set -euo pipefail
. "$(dirname "$0")/../common/bench.sh" live query/resyncwatch collector/resyncwatchd \
  tools/sim/resyncwatch-sim
cli=$build/query/resyncwatch
daemon=$build/collector/resyncwatchd
sim=$build/tools/sim/resyncwatch-sim
command -v python3 >/dev/null || { echo "live.sh: needs python3 (apt-get install python3)" >&2; exit 2; }
send() {
  "$sim" --phones "${PHONES:-20000}" --days "${DAYS:-2}" --seed "${SEED:-7}" \
    --send "udp://127.0.0.1:$1" --rate "${RATE:-20000}" >/dev/null
}

# The anchor: every datagram as one line. The listener stops on SIGTERM once the sender is
# done and its socket is empty.
cat >"$work/listen.py" <<'EOF'
import signal, socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 32 << 20)
s.bind(("127.0.0.1", 0))
with open(sys.argv[2], "w") as f:
    print(s.getsockname()[1], file=f, flush=True)
stop = []
signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
n = 0
s.settimeout(0.5)  # a blocking recv would be retried after the signal, never returning
with open(sys.argv[1], "wb") as out:
    while True:
        try:
            data = s.recv(65536)
        except socket.timeout:
            if stop:
                break
            continue
        out.write(data.rstrip(b"\n") + b"\n")
        n += 1
print(n)
EOF
python3 "$work/listen.py" "$work/datagrams.txt" "$work/listen.port" >"$work/listen.count" &
pid=$!
for _ in $(seq 100); do [ -s "$work/listen.port" ] && break; sleep 0.05; done
send "$(cat "$work/listen.port")"
kill -TERM "$pid"
wait "$pid"
pid=""
lines=$(cat "$work/listen.count")
gzip_bytes=$(gzip -6 -c "$work/datagrams.txt" | wc -c)

"$daemon" --db "$work/db" --listen udp://127.0.0.1:0 --port-file "$work/daemon.port" \
  2>"$work/daemon.log" &
pid=$!
for _ in $(seq 200); do [ -s "$work/daemon.port" ] && break; sleep 0.05; done
[ -s "$work/daemon.port" ] || { echo "live.sh: resyncwatchd did not start" >&2; exit 2; }
port=$(grep -oE '[0-9]+$' "$work/daemon.port" | head -1)
send "$port"
kill -TERM "$pid"
wait "$pid" || true
pid=""
stored=$(grep 'stopped:' "$work/daemon.log" | grep -oE 'stored [0-9]+ events' | grep -oE '[0-9]+')
before=$(du -sb "$work/db" | cut -f1)
: >"$work/empty.log"
"$cli" import --db "$work/db" "$work/empty.log" >/dev/null
after=$(du -sb "$work/db" | cut -f1)
[ -n "${KEEP:-}" ] && rm -rf "$KEEP" && mv "$work/db" "$KEEP"

ratio() { awk -v a="$1" -v b="$2" 'BEGIN{printf "%.2f", a / b}'; }
echo "live storage benchmark: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
printf "datagrams               %d received by the listener; gzip -6 of them %.1f MB (%.1f B/line)\n" \
  "$lines" "$(ratio "$gzip_bytes" 1e6)" "$(ratio "$gzip_bytes" "$lines")"
printf "resyncwatchd            %d events stored; %.1f MB before compaction, %.1f MB after (%.1f B/event)\n" \
  "$stored" "$(ratio "$before" 1e6)" "$(ratio "$after" 1e6)" "$(ratio "$after" "$stored")"
printf "store after compaction  %sx gzip -6 of the datagrams (target <= 1.5x)\n" \
  "$(ratio "$after" "$gzip_bytes")"

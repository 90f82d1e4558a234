#!/usr/bin/env bash
# Loss benchmark: RUNS flat-out storms (ingest_loadgen --shape storm: 10,000 phones,
# RFC 3164 with one constant timestamp, no identifier) of COUNT datagrams, each to a fresh
# resyncwatchd with its default settings, the sender on the same machine. Prints one line
# per run (sent, stored, lost, and the collector's own kernel and queue drop counters from
# its stop line), then how many runs lost nothing.
#
#   bench/ingest/loss.sh                       # RUNS=20 COUNT=1000000
#   RUNS=5 RW_ARGS="--batch-size 256" bench/ingest/loss.sh
#
# Loss depends on what else runs on the cores: run it on a quiet machine.
set -euo pipefail
. "$(dirname "$0")/../common/bench.sh" loss bench/ingest/ingest_loadgen collector/resyncwatchd
runs=${RUNS:-20}
count=${COUNT:-1000000}
loadgen=$build/bench/ingest/ingest_loadgen
daemon=$build/collector/resyncwatchd

stored() {
  curl -s "http://$1/metrics" |
    awk '/^resyncwatch_stored_(events|raw)_total /{s+=$2} END{print s+0}'
}

echo "loss benchmark: $runs runs of $count datagrams flat out, $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
printf "%4s %9s %9s %9s %9s %9s %9s\n" run sent stored lost kernel queue send/s
clean=0
for i in $(seq "$runs"); do
  dir=$work/run$i
  mkdir -p "$dir"
  port=$(python3 -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  "$daemon" --db "$dir/db" --listen "udp://127.0.0.1:$port" --metrics-listen 127.0.0.1:0 \
    --port-file "$dir/ports" ${RW_ARGS:-} 2>"$dir/log" &
  pid=$!
  for _ in $(seq 200); do grep -qs metrics "$dir/ports" && break; sleep 0.05; done
  metrics=$(awk '/^metrics/{print $2}' "$dir/ports")
  out=$("$loadgen" --port "$port" --count "$count" --shape storm --devices 10000)
  sent=${out#sent=}; sent=${sent%% *}
  # Wait until everything is stored, or nothing more was stored for 10 s.
  last=-1 still=0
  while :; do
    v=$(stored "$metrics")
    [ "$v" -ge "$sent" ] && break
    if [ "$v" = "$last" ]; then still=$((still + 1)); else still=0; last=$v; fi
    [ "$still" -ge 200 ] && break
    sleep 0.05
  done
  kill -TERM "$pid"
  wait "$pid" || true
  pid=""
  drops=$(grep -o 'drops: kernel [0-9]*, queue [0-9]*' "$dir/log" | tail -1)
  kernel=$(echo "$drops" | awk '{print $3}' | tr -d ,)
  queue=$(echo "$drops" | awk '{print $5}')
  lost=$((sent - v))
  [ "$lost" -eq 0 ] && clean=$((clean + 1))
  printf "%4d %9d %9d %9d %9s %9s %9s\n" "$i" "$sent" "$v" "$lost" "${kernel:-?}" "${queue:-?}" "${out##*rate=}"
  rm -rf "$dir"
done
echo "runs without loss: $clean of $runs"

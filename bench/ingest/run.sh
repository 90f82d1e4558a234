#!/usr/bin/env bash
# Ingest benchmark: sends the same burst of UDP syslog datagrams (a realistic fleet corpus,
# ingest_loadgen with sendmmsg) to resyncwatchd, rsyslog (imudp -> file, 64 MiB buffer)
# and syslog-ng (udp -> file), one after the other on loopback, and prints per receiver:
# sent, delivered, loss %, msgs/s, receiver CPU microseconds per message (utime+stime from
# /proc/PID/stat), bytes on disk per message, and the ratios to rsyslog.
#
#   bench/ingest/run.sh                  # 1,000,000 datagrams, flat out
#   COUNT=300000 RATE=100000 bench/ingest/run.sh
#   RECEIVERS="resyncwatchd rsyslog" bench/ingest/run.sh
#   RW_ARGS="--batch-size 256" bench/ingest/run.sh   # extra resyncwatchd options
#   SOURCES=20000 bench/ingest/run.sh    # each phone sends from its own 127.1.x.y address
#
# resyncwatchd runs with its default settings (only --db, --listen and --metrics-listen
# given, plus $RW_ARGS when set). syslog-ng-core conflicts with rsyslog as a Debian package, so it is fetched with
# `apt-get download` and unpacked privately under $CACHE; it only ever listens on loopback
# ephemeral ports and is never installed or started as a service.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${BUILD_DIR:-$root/build}
count=${COUNT:-1000000}
rate=${RATE:-0}
sources=${SOURCES:-1}
receivers=${RECEIVERS:-"resyncwatchd rsyslog syslog-ng"}
cache=${CACHE:-$root/var/bench-cache}
loadgen=$build/bench/ingest/ingest_loadgen
daemon=$build/collector/resyncwatchd
work=$(mktemp -d /tmp/resyncwatch-ingest.XXXXXX)
tck=$(getconf CLK_TCK)
pids=()
rmem_saved=""
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  [ -n "$rmem_saved" ] && sysctl -qw net.core.rmem_max="$rmem_saved" || true
  rm -rf "$work"
}
trap cleanup EXIT

[ -x "$loadgen" ] && [ -x "$daemon" ] || {
  echo "run.sh: build first (scripts/build, or BUILD_DIR=...): missing $loadgen or $daemon" >&2
  exit 2
}

# syslog-ng asks for its buffer with SO_RCVBUF, which net.core.rmem_max caps (rsyslog and
# resyncwatchd use SO_RCVBUFFORCE as root); raise the cap for the run and restore it.
if [ "$(id -u)" -eq 0 ] && [ "$(cat /proc/sys/net/core/rmem_max)" -lt 67108864 ]; then
  rmem_saved=$(cat /proc/sys/net/core/rmem_max)
  sysctl -qw net.core.rmem_max=67108864 || rmem_saved=""
fi

free_udp_port() {
  python3 -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
cpu_ticks() { awk '{print $14+$15}' "/proc/$1/stat"; }
# One line per thread of $1: "name ticks" (utime+stime; the name is comm, without spaces).
thread_ticks() {
  cat /proc/"$1"/task/*/stat 2>/dev/null | awk '{
    o = index($0, "("); c = match($0, /\)[^)]*$/)
    name = substr($0, o + 1, c - o - 1); gsub(/ /, "_", name)
    split(substr($0, c + 2), f, " ")
    print name, f[12] + f[13] }'
}
now_s() { date +%s.%N; }

# Polls $1 (a shell function printing a number) until it reaches $2 or stops growing for 3 s.
# Prints the final value and the time it was reached.
wait_delivered() {
  local fn=$1 target=$2 last=-1 last_change now v
  last_change=$(now_s)
  while :; do
    v=$($fn)
    now=$(now_s)
    if [ "$v" != "$last" ]; then last=$v; last_change=$now; fi
    if [ "$v" -ge "$target" ] || awk -v a="$now" -v b="$last_change" 'BEGIN{exit !(a-b>3)}'; then
      echo "$v $last_change"
      return
    fi
    sleep 0.05
  done
}

results=$work/results.txt
: >"$results"

# $1 name, $2 pid, $3 port, $4 delivered-count function, $5 disk-bytes function
measure() {
  local name=$1 pid=$2 port=$3 countfn=$4 sent t0 c0 c1 out delivered t_done
  thread_ticks "$pid" >"$work/$name.threads0"
  c0=$(cpu_ticks "$pid")
  t0=$(now_s)
  out=$("$loadgen" --port "$port" --count "$count" --rate "$rate" --sources "$sources")
  sent=${out#sent=}; sent=${sent%% *}
  read -r delivered t_done < <(wait_delivered "$countfn" "$sent")
  c1=$(cpu_ticks "$pid")
  thread_ticks "$pid" >"$work/$name.threads1"
  echo "$name $sent $delivered $t0 $t_done $c0 $c1 ${out##*rate=}" >>"$results"
}

# --- resyncwatchd, default settings ---
rw_metrics=""
rw_delivered() {
  curl -s "http://$rw_metrics/metrics" |
    awk '/^resyncwatch_stored_(events|raw)_total /{s+=$2} END{print s+0}'
}
run_resyncwatchd() {
  local dir=$work/resyncwatchd port
  mkdir -p "$dir"
  port=$(free_udp_port)
  "$daemon" --db "$dir/db" --listen "udp://127.0.0.1:$port" --metrics-listen 127.0.0.1:0 \
    --port-file "$dir/ports" ${RW_ARGS:-} 2>"$dir/log" &
  local pid=$!
  pids+=("$pid")
  for _ in $(seq 200); do [ -s "$dir/ports" ] && grep -q metrics "$dir/ports" && break; sleep 0.05; done
  rw_metrics=$(awk '/^metrics/{print $2}' "$dir/ports")
  measure resyncwatchd "$pid" "$port" rw_delivered
  kill -TERM "$pid"
  wait "$pid" || true
  echo "resyncwatchd_disk $(du -sb "$dir/db" | cut -f1)" >>"$results"
  awk '($2 == "warning" || $2 == "error") && !/alert (FIRING|RESOLVED)/' "$dir/log" | head -5 >&2
}

# --- rsyslog: imudp (64 MiB buffer) -> one flat file ---
rs_file=""
rs_delivered() { [ -f "$rs_file" ] && wc -l <"$rs_file" || echo 0; }
run_rsyslog() {
  local dir=$work/rsyslog port
  mkdir -p "$dir"
  port=$(free_udp_port)
  rs_file=$dir/messages.log
  cat >"$dir/rsyslog.conf" <<EOC
global(workDirectory="$dir" maxMessageSize="64k" net.enableDNS="off")
main_queue(queue.type="FixedArray" queue.size="200000" queue.dequeueBatchSize="1024")
module(load="imudp" threads="1" batchSize="256")
input(type="imudp" address="127.0.0.1" port="$port" rcvbufSize="64m")
action(type="omfile" file="$rs_file" ioBufferSize="256k" flushOnTXEnd="off")
EOC
  /usr/sbin/rsyslogd -f "$dir/rsyslog.conf" -i "$dir/pid" -n 2>"$dir/log" &
  local pid=$!
  pids+=("$pid")
  for _ in $(seq 100); do ss -uln | grep -q "127.0.0.1:$port " && break; sleep 0.05; done
  measure rsyslog "$pid" "$port" rs_delivered
  kill -TERM "$pid"
  wait "$pid" || true
  echo "rsyslog_disk $(stat -c %s "$rs_file")" >>"$results"
}

# --- syslog-ng, unpacked privately ---
sng_root=$cache/syslog-ng
fetch_syslog_ng() {
  [ -x "$sng_root/usr/sbin/syslog-ng" ] && return 0
  mkdir -p "$cache/debs" "$sng_root"
  (cd "$cache/debs" && apt-get download syslog-ng-core libivykis0 libnet1 libwrap0 >/dev/null)
  for deb in "$cache"/debs/*.deb; do dpkg-deb -x "$deb" "$sng_root"; done
}
sng_file=""
sng_delivered() { [ -f "$sng_file" ] && wc -l <"$sng_file" || echo 0; }
run_syslog_ng() {
  if ! fetch_syslog_ng; then
    echo "run.sh: could not fetch syslog-ng-core with apt-get download; skipping it" >&2
    return
  fi
  local dir=$work/syslog-ng port modpath
  mkdir -p "$dir"
  port=$(free_udp_port)
  sng_file=$dir/messages.log
  modpath=$(dirname "$(find "$sng_root/usr/lib" -name libafsocket.so | head -1)")
  cat >"$dir/syslog-ng.conf" <<EOC
@version: 3.38
options { threaded(yes); use_dns(no); flush_lines(1000); log_fifo_size(1000000); stats_freq(0); create_dirs(no); };
source s_udp { network(transport("udp") ip("127.0.0.1") port($port) so_rcvbuf(67108864) log_iw_size(1000000)); };
destination d_file { file("$sng_file"); };
log { source(s_udp); destination(d_file); };
EOC
  LD_LIBRARY_PATH="$sng_root/usr/lib/x86_64-linux-gnu:$sng_root/usr/lib/syslog-ng" \
    "$sng_root/usr/sbin/syslog-ng" -F --no-caps -f "$dir/syslog-ng.conf" \
    --module-path "$modpath" --persist-file "$dir/persist" --pidfile "$dir/pid" \
    --control "$dir/ctl" 2>"$dir/log" &
  local pid=$!
  pids+=("$pid")
  for _ in $(seq 100); do ss -uln | grep -q "127.0.0.1:$port " && break; sleep 0.05; done
  if ! kill -0 "$pid" 2>/dev/null; then
    echo "run.sh: syslog-ng did not start:" >&2
    cat "$dir/log" >&2
    return
  fi
  measure syslog-ng "$pid" "$port" sng_delivered
  kill -TERM "$pid"
  wait "$pid" || true
  echo "syslog-ng_disk $(stat -c %s "$sng_file")" >>"$results"
}

for r in $receivers; do
  case $r in
    resyncwatchd) run_resyncwatchd ;;
    rsyslog) run_rsyslog ;;
    syslog-ng) run_syslog_ng ;;
    *) echo "run.sh: unknown receiver $r" >&2; exit 2 ;;
  esac
done

echo "ingest benchmark: $count datagrams per receiver, rate ${rate:-0} (0 = flat out), $sources sender address(es), $(nproc) cores, loopback"
awk -v tck="$tck" '
  /_disk / { split($1, n, "_disk"); disk[n[1]] = $2; next }
  { name[++k] = $1; sent[$1] = $2; got[$1] = $3; secs[$1] = $5 - $4;
    cpu[$1] = ($7 - $6) / tck; srate[$1] = $8 }
  END {
    printf "%-13s %9s %9s %7s %10s %10s %8s %8s %9s %9s\n", "receiver", "sent", "delivered",
           "loss%", "send/s", "stored/s", "cpu_us", "B/msg", "cpu/rsys", "B/rsys"
    for (i = 1; i <= k; i++) {
      r = name[i]
      us[r] = got[r] > 0 ? cpu[r] * 1e6 / got[r] : 0
      bpm[r] = got[r] > 0 ? disk[r] / got[r] : 0
    }
    for (i = 1; i <= k; i++) {
      r = name[i]
      cr = ("rsyslog" in us && us["rsyslog"] > 0) ? sprintf("%.2f", us[r] / us["rsyslog"]) : "-"
      br = ("rsyslog" in bpm && bpm["rsyslog"] > 0) ? sprintf("%.2f", bpm[r] / bpm["rsyslog"]) : "-"
      printf "%-13s %9d %9d %7.3f %10d %10d %8.2f %8.1f %9s %9s\n", r, sent[r], got[r],
             100 * (sent[r] - got[r]) / sent[r], srate[r], (secs[r] > 0 ? got[r] / secs[r] : 0),
             us[r], bpm[r], cr, br
    }
  }' "$results"

# Where each receiver's CPU went, by thread name (threads of one name summed).
echo "CPU microseconds per delivered message, by thread:"
while read -r name _ delivered _; do
  case $name in *_disk) continue ;; esac
  awk -v r="$name" -v got="$delivered" -v tck="$tck" '
    FNR == NR { before[$1] += $2; next }
    { after[$1] += $2 }
    END {
      line = sprintf("  %-13s", r)
      for (t in after) {
        us = (after[t] - before[t]) / tck * 1e6 / (got > 0 ? got : 1)
        if (us >= 0.01) line = line sprintf(" %s %.2f", t, us)
      }
      print line
    }' "$work/$name.threads0" "$work/$name.threads1"
done <"$results"

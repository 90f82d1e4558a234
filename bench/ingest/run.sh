#!/usr/bin/env bash
# Ingest benchmark: sends the same burst of UDP syslog datagrams (ingest_loadgen with
# sendmmsg) to resyncwatchd, rsyslog and optionally syslog-ng, one after the other on
# loopback, and prints per receiver: sent, delivered, loss %, msgs/s, receiver CPU
# microseconds per stored message (utime+stime from /proc/PID/stat), bytes on disk per
# message, and the ratios to plain rsyslog.
#
# Receivers:
#   resyncwatchd   default settings (only --db, --listen, --metrics-listen, plus $RW_ARGS)
#   rsyslog-plain  rsyslog as it is commonly set up: imudp threads=1 batchSize=128,
#                  rcvbufSize 32 MiB, one omfile with the default template; the anchor
#   rsyslog        rsyslog tuned for throughput: 64 MiB buffer, batches of 256, a
#                  FixedArray main queue dequeued by 1024, a 256 KiB unflushed file buffer
#   syslog-ng      udp -> file (fetched with apt-get download, unpacked privately)
# Both rsyslog configurations turn reverse DNS off (with one sender it is one cached
# lookup; with SOURCES it would be 20,000 lookups that resyncwatchd never does).
#
# Shapes (SHAPES, space-separated; "all" = every one):
#   fleet    the fleet corpus (identifiers, relays, RFC 5424, debug lines; 20,000 phones),
#            one sender, flat out
#   storm    a mass-reboot storm: 10,000 phones, RFC 3164 with PRI and one constant
#            timestamp, no identifier (about 110 bytes), one sender, flat out
#   sources  the fleet corpus from 20,000 sender addresses (127.1.x.y), flat out
#   paced    the fleet corpus at 100,000 datagrams/s (half of COUNT)
#
#   bench/ingest/run.sh                          # SHAPES=storm, resyncwatchd + both rsyslogs
#   SHAPES=all bench/ingest/run.sh               # every shape, then the worst ratio
#   SHAPES=fleet COUNT=300000 RATE=100000 bench/ingest/run.sh   # RATE overrides the shape's
#   RECEIVERS="resyncwatchd rsyslog-plain" bench/ingest/run.sh
#   RW_ARGS="--batch-size 256" bench/ingest/run.sh   # extra resyncwatchd options
#   REPEAT=3 SHAPES=all bench/ingest/run.sh      # 3 interleaved rounds per shape: medians
#
# On a shared virtual machine one receiver's CPU per message moves by a quarter from one
# run to the next; REPEAT runs the receivers in turn, round after round, and reports the
# median CPU per receiver and the median of the ratios taken within each round.
#
# syslog-ng-core conflicts with rsyslog as a Debian package, so it is fetched with
# `apt-get download` and unpacked privately under $CACHE; it only ever listens on loopback
# ephemeral ports and is never installed or started as a service.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${BUILD_DIR:-$root/build}
count_all=${COUNT:-1000000}
shapes=${SHAPES:-storm}
[ "$shapes" = all ] && shapes="fleet storm sources paced"
receivers=${RECEIVERS:-"resyncwatchd rsyslog-plain rsyslog"}
# Set per shape by set_shape.
count=$count_all rate=0 sources=1 corpus=fleet devices=20000
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

# Polls $1 (a shell function printing a number) until it reaches $2 or stops growing for 10 s.
# Prints the final value and the time it was reached.
wait_delivered() {
  local fn=$1 target=$2 last=-1 last_change now v
  last_change=$(now_s)
  while :; do
    v=$($fn)
    now=$(now_s)
    if [ "$v" != "$last" ]; then last=$v; last_change=$now; fi
    if [ "$v" -ge "$target" ] || awk -v a="$now" -v b="$last_change" 'BEGIN{exit !(a-b>10)}'; then
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
  thread_ticks "$pid" >"$work/$shape.$name.$round.threads0"
  c0=$(cpu_ticks "$pid")
  t0=$(now_s)
  out=$("$loadgen" --port "$port" --count "$count" --rate "$rate" --sources "$sources" \
    --shape "$corpus" --devices "$devices")
  sent=${out#sent=}; sent=${sent%% *}
  read -r delivered t_done < <(wait_delivered "$countfn" "$sent")
  c1=$(cpu_ticks "$pid")
  thread_ticks "$pid" >"$work/$shape.$name.$round.threads1"
  echo "$shape $name $sent $delivered $t0 $t_done $c0 $c1 ${out##*rate=} $round" >>"$results"
}

# --- resyncwatchd, default settings ---
rw_metrics=""
rw_delivered() {
  curl -s "http://$rw_metrics/metrics" |
    awk '/^resyncwatch_stored_(events|raw)_total /{s+=$2} END{print s+0}'
}
run_resyncwatchd() {
  local dir=$work/resyncwatchd port
  rm -rf "$dir"
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
  echo "$shape resyncwatchd_disk $(du -sb "$dir/db" | cut -f1)" >>"$results"
  awk '($2 == "warning" || $2 == "error") && !/alert (FIRING|RESOLVED)/' "$dir/log" | head -5 >&2
  grep -o 'drops: kernel [0-9]*, queue [0-9]*' "$dir/log" | tail -1 | sed "s/^/resyncwatchd $shape /" >&2
  rm -rf "$dir"
}

# --- rsyslog: imudp -> one flat file; $1 is plain or tuned ---
rs_file=""
rs_delivered() { [ -f "$rs_file" ] && wc -l <"$rs_file" || echo 0; }
run_rsyslog() {
  local flavour=$1 name dir port
  name=rsyslog; [ "$flavour" = plain ] && name=rsyslog-plain
  dir=$work/$name
  rm -rf "$dir"
  mkdir -p "$dir"
  port=$(free_udp_port)
  rs_file=$dir/messages.log
  if [ "$flavour" = plain ]; then
    cat >"$dir/rsyslog.conf" <<EOC
global(workDirectory="$dir" net.enableDNS="off")
module(load="imudp" threads="1" batchSize="128")
input(type="imudp" address="127.0.0.1" port="$port" rcvbufSize="32m")
action(type="omfile" file="$rs_file")
EOC
  else
    cat >"$dir/rsyslog.conf" <<EOC
global(workDirectory="$dir" maxMessageSize="64k" net.enableDNS="off")
main_queue(queue.type="FixedArray" queue.size="200000" queue.dequeueBatchSize="1024")
module(load="imudp" threads="1" batchSize="256")
input(type="imudp" address="127.0.0.1" port="$port" rcvbufSize="64m")
action(type="omfile" file="$rs_file" ioBufferSize="256k" flushOnTXEnd="off")
EOC
  fi
  /usr/sbin/rsyslogd -f "$dir/rsyslog.conf" -i "$dir/pid" -n 2>"$dir/log" &
  local pid=$!
  pids+=("$pid")
  for _ in $(seq 100); do ss -uln | grep -q "127.0.0.1:$port " && break; sleep 0.05; done
  measure "$name" "$pid" "$port" rs_delivered
  kill -TERM "$pid"
  wait "$pid" || true
  echo "$shape ${name}_disk $(stat -c %s "$rs_file")" >>"$results"
  rm -rf "$dir"
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
  rm -rf "$dir"
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
  echo "$shape syslog-ng_disk $(stat -c %s "$sng_file")" >>"$results"
}

set_shape() {
  count=$count_all rate=0 sources=1 corpus=fleet devices=20000
  case $1 in
    fleet) ;;
    storm) corpus=storm devices=10000 ;;
    sources) sources=20000 ;;
    paced) count=$((count_all / 2)) rate=100000 ;;
    *) echo "run.sh: unknown shape $1 (fleet, storm, sources, paced, all)" >&2; exit 2 ;;
  esac
  rate=${RATE:-$rate}
  devices=${DEVICES:-$devices}
  [ -n "${SOURCES:-}" ] && sources=$SOURCES
  return 0
}

rounds=${REPEAT:-1}
case $rounds in '' | *[!0-9]* | 0) echo "run.sh: REPEAT must be a positive number" >&2; exit 2 ;; esac
for shape in $shapes; do
  set_shape "$shape"
  # Rounds interleave the receivers (A B A B ...), so that a drift of the machine's speed
  # falls on all of them alike; each ratio is taken within its round.
  for round in $(seq "$rounds"); do
    for r in $receivers; do
      case $r in
        resyncwatchd) run_resyncwatchd ;;
        rsyslog) run_rsyslog tuned ;;
        rsyslog-plain) run_rsyslog plain ;;
        syslog-ng) run_syslog_ng ;;
        *) echo "run.sh: unknown receiver $r" >&2; exit 2 ;;
      esac
    done
  done
done

echo "ingest benchmark: $(nproc) cores, loopback, load average $(cut -d' ' -f1-3 /proc/loadavg)"
awk -v tck="$tck" -v rounds="$rounds" '
  function median(list, n,    i, j, t, a) {
    for (i = 1; i <= n; i++) a[i] = list[i]
    for (i = 2; i <= n; i++) for (j = i; j > 1 && a[j - 1] > a[j]; j--) { t = a[j]; a[j] = a[j - 1]; a[j - 1] = t }
    return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
  }
  $2 ~ /_disk$/ { n = $2; sub(/_disk$/, "", n); disk[$1, n] = $3; next }
  { s = $1; r = $2; k = $10
    if (!(s in seen)) { seen[s] = 1; order[++ns] = s }
    if (!((s, r) in known)) { known[s, r] = 1; rk[s, ++nr[s]] = r }
    sent[s, r] += $3; got[s, r] += $4; secs[s, r] += $6 - $5; srate[s, r] += $9; n_of[s, r]++
    us_k[s, r, k] = $4 > 0 ? ($8 - $7) / tck * 1e6 / $4 : 0 }
  END {
    worst = ""; worst_ratio = 0
    if (rounds > 1) printf "(%d rounds per receiver, interleaved: cpu_us is the median; the ratios are the medians of the ratios within each round)\n", rounds
    for (j = 1; j <= ns; j++) {
      s = order[j]
      printf "\nshape %s\n", s
      printf "%-13s %9s %9s %7s %10s %10s %8s %8s %10s %10s\n", "receiver", "sent",
             "delivered", "loss%", "send/s", "stored/s", "cpu_us", "B/msg", "cpu/plain",
             "cpu/tuned"
      for (i = 1; i <= nr[s]; i++) {
        r = rk[s, i]
        for (k = 1; k <= rounds; k++) v[k] = us_k[s, r, k]
        us[s, r] = median(v, rounds)
        bpm[s, r] = got[s, r] > 0 ? disk[s, r] / (got[s, r] / n_of[s, r]) : 0
      }
      for (i = 1; i <= nr[s]; i++) {
        r = rk[s, i]
        cp = "-"; ct = "-"; ratios = ""
        if (us_k[s, "rsyslog-plain", 1] > 0) {
          for (k = 1; k <= rounds; k++) {
            den = us_k[s, "rsyslog-plain", k]; v[k] = den > 0 ? us_k[s, r, k] / den : 0
            ratios = ratios sprintf(" %.2f", v[k])
          }
          plain_ratio[s, r] = median(v, rounds); cp = sprintf("%.2f", plain_ratio[s, r])
        }
        if (us_k[s, "rsyslog", 1] > 0) {
          for (k = 1; k <= rounds; k++) {
            den = us_k[s, "rsyslog", k]; v[k] = den > 0 ? us_k[s, r, k] / den : 0
          }
          ct = sprintf("%.2f", median(v, rounds))
        }
        printf "%-13s %9d %9d %7.3f %10d %10d %8.2f %8.1f %10s %10s\n", r, sent[s, r],
               got[s, r], 100 * (sent[s, r] - got[s, r]) / sent[s, r], srate[s, r] / n_of[s, r],
               (secs[s, r] > 0 ? got[s, r] / secs[s, r] : 0), us[s, r], bpm[s, r], cp, ct
        if (r == "resyncwatchd" && rounds > 1 && ratios != "") printf "  resyncwatchd / rsyslog-plain by round:%s\n", ratios
        if (r == "resyncwatchd" && cp != "-" && plain_ratio[s, r] > worst_ratio) {
          worst_ratio = plain_ratio[s, r]; worst = s
        }
      }
    }
    if (worst != "")
      printf "\nworst shape: %s, resyncwatchd %.2fx plain rsyslog CPU per stored message\n",
             worst, worst_ratio
  }' "$results"

# Where each receiver's CPU went, by thread name (threads of one name summed).
echo "CPU microseconds per delivered message, by thread:"
while read -r shape name _ delivered _ _ _ _ _ round; do
  case $name in *_disk) continue ;; esac
  label="$shape $name"
  [ "$rounds" -gt 1 ] && label="$label #$round"
  awk -v r="$label" -v got="$delivered" -v tck="$tck" '
    FNR == NR { before[$1] += $2; next }
    { after[$1] += $2 }
    END {
      line = sprintf("  %-22s", r)
      for (t in after) {
        us = (after[t] - before[t]) / tck * 1e6 / (got > 0 ? got : 1)
        if (us >= 0.01) line = line sprintf(" %s %.2f", t, us)
      }
      print line
    }' "$work/$shape.$name.$round.threads0" "$work/$shape.$name.$round.threads1"
done <"$results"

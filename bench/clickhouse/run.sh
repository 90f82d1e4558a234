#!/usr/bin/env bash
# Starts a private clickhouse-server (own config and data under a temporary directory,
# loopback, a free port; never the system service), runs clickhouse_bench against it and
# stops it. EVENTS, RATE and PHONES pass through (defaults: 2,000,000, 100,000/s, 100,000),
# and HANDOFF_BYTES (0: the exporter reads every record back from the store).
#   bench/clickhouse/run.sh [build-dir]
set -euo pipefail
build=${1:-build}
bench=$build/bench/clickhouse/clickhouse_bench
[ -x "$bench" ] || { echo "build $bench first" >&2; exit 2; }
work=$(mktemp -d /tmp/resyncwatch-chbench-XXXXXX)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat > "$work/config.xml" <<XML
<?xml version="1.0"?>
<yandex>
  <logger><level>warning</level><log>$work/server.log</log><errorlog>$work/server.err.log</errorlog><console>0</console></logger>
  <http_port>$port</http_port>
  <listen_host>127.0.0.1</listen_host>
  <path>$work/data/</path>
  <tmp_path>$work/data/tmp/</tmp_path>
  <user_files_path>$work/data/user_files/</user_files_path>
  <format_schema_path>$work/data/format_schemas/</format_schema_path>
  <mark_cache_size>268435456</mark_cache_size>
  <uncompressed_cache_size>268435456</uncompressed_cache_size>
  <users_config>$work/users.xml</users_config>
  <default_profile>default</default_profile>
  <default_database>default</default_database>
  <timezone>UTC</timezone>
</yandex>
XML
cat > "$work/users.xml" <<XML
<?xml version="1.0"?>
<yandex>
  <profiles><default><max_memory_usage>8000000000</max_memory_usage></default></profiles>
  <users><default><password></password><networks><ip>127.0.0.1</ip></networks><profile>default</profile><quota>default</quota></default></users>
  <quotas><default></default></quotas>
</yandex>
XML
setpriv --pdeathsig KILL /usr/sbin/clickhouse-server --config-file="$work/config.xml" &
server=$!
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 300); do
  curl -sf "http://127.0.0.1:$port/ping" >/dev/null && break
  sleep 0.1
done
"$bench" --url "http://127.0.0.1:$port" --dir "$work" --events "${EVENTS:-2000000}" \
  --rate "${RATE:-100000}" --phones "${PHONES:-100000}" \
  ${HANDOFF_BYTES:+--handoff-bytes "$HANDOFF_BYTES"}
echo "clickhouse data: $(du -sh "$work/data" | cut -f1), local store: $(du -sh "$work/store" | cut -f1)"

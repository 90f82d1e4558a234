#!/bin/sh
# Checks systemd/resyncwatchd.service with systemd-analyze verify, with ExecStart pointed at
# the freshly built binary (verify insists that the executable exists). Any output is a
# finding: the unit must verify clean. Skipped (exit 77) where systemd-analyze is absent.
set -eu
unit=$1
daemon=$2
if ! command -v systemd-analyze >/dev/null 2>&1; then
  echo "SKIP: systemd-analyze not installed"
  exit 77
fi
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
sed "s#^ExecStart=/usr/local/bin/resyncwatchd#ExecStart=$daemon#" "$unit" > "$dir/resyncwatchd.service"
grep -q "^ExecStart=$daemon " "$dir/resyncwatchd.service" || { echo "ExecStart not found in $unit"; exit 1; }
out=$(systemd-analyze verify "$dir/resyncwatchd.service" 2>&1) || { echo "$out"; exit 1; }
if [ -n "$out" ]; then
  echo "$out"
  exit 1
fi
echo "systemd-analyze verify: clean"

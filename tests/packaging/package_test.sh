#!/usr/bin/env bash
# Builds the .deb from this build tree's programs, installs it with dpkg on this machine,
# checks what it installed (programs on PATH, unit, conffile, user and group, state
# directory and its modes, nothing started), runs the daemon as the service user on
# loopback, then purges the package and checks that nothing of it is left.
# Usage: package_test.sh SOURCE_DIR BUILD_DIR VERSION. Exit 77 = skipped (the reason on
# stdout): not root, no dpkg, or a resyncwatch package already installed (left alone).
set -euo pipefail
src=$1 build=$2 version=$3
skip() { echo "SKIP: $*"; exit 77; }
fail() { echo "FAIL: $*" >&2; exit 1; }

[ "$(id -u)" -eq 0 ] || skip "installing a package needs root"
command -v dpkg >/dev/null 2>&1 && command -v dpkg-deb >/dev/null 2>&1 || skip "no dpkg on this machine"
command -v cpack >/dev/null 2>&1 || skip "no cpack"

# One run at a time on the machine (other worktrees' test runs install the same package).
exec 9>/run/lock/resyncwatch-package-test.lock
flock -w 200 9 || fail "another package test held the lock for 200 s"

status=$(dpkg-query -W -f='${Status}' resyncwatch 2>/dev/null || true)
case $status in
  *installed*|*config-files*|*unpacked*|*half*)
    skip "a resyncwatch package is already on this machine ($status); not touching it (dpkg --purge resyncwatch to test)" ;;
esac

# dpkg refuses at once while apt or another dpkg holds its lock: wait for it, bounded.
dpkg_retry() {
  local deadline=$((SECONDS + 120)) out
  while :; do
    if out=$("$@" 2>&1); then printf '%s\n' "$out"; return 0; fi
    if [[ $out == *"lock"* ]] && [ $SECONDS -lt $deadline ]; then sleep 1; continue; fi
    printf '%s\n' "$out" >&2
    return 1
  done
}

installed=0
cleanup() {
  if [ $installed -eq 1 ]; then dpkg_retry dpkg --purge resyncwatch >/dev/null || true; fi
  [ -n "${daemon_pid:-}" ] && kill "$daemon_pid" 2>/dev/null || true
}
trap cleanup EXIT

deb=$(BUILD_DIR=$build "$src/scripts/package" --no-build | tail -n 1)
[ -f "$deb" ] || fail "scripts/package made no package"
echo "package: $deb"
[ "$(dpkg-deb -f "$deb" Version)" = "$version-1" ] || fail "package version $(dpkg-deb -f "$deb" Version), want $version-1"

installed=1
dpkg_retry env DEBIAN_FRONTEND=noninteractive dpkg -i "$deb" >/dev/null || fail "dpkg -i failed"
dpkg-query -W -f='${Status}' resyncwatch | grep -q 'install ok installed' || fail "not installed after dpkg -i"

# The programs are on the PATH every login gets.
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
[ "$(command -v resyncwatchd)" = /usr/bin/resyncwatchd ] || fail "resyncwatchd is not /usr/bin/resyncwatchd"
[ "$(command -v resyncwatch)" = /usr/bin/resyncwatch ] || fail "resyncwatch is not /usr/bin/resyncwatch"
[ "$(resyncwatchd --version)" = "resyncwatchd $version" ] || fail "resyncwatchd --version: $(resyncwatchd --version)"
resyncwatch --help | grep -q history || fail "resyncwatch --help does not list the history command"

# The unit runs the installed daemon with the installed config.
unit=/lib/systemd/system/resyncwatchd.service
grep -q '^ExecStart=/usr/bin/resyncwatchd --config /etc/resyncwatch/resyncwatch.json ' "$unit" ||
  fail "$unit does not start /usr/bin/resyncwatchd with /etc/resyncwatch/resyncwatch.json"
dpkg-query -W -f='${Conffiles}' resyncwatch | grep -q '/etc/resyncwatch/resyncwatch.json' ||
  fail "/etc/resyncwatch/resyncwatch.json is not a conffile"
[ -f /usr/lib/sysusers.d/resyncwatch.conf ] || fail "no sysusers.d entry"

# User, group and the private state directory.
IFS=: read -r _ _ uid _ _ home shell < <(getent passwd resyncwatch) || fail "no user resyncwatch"
getent group resyncwatch >/dev/null || fail "no group resyncwatch"
[ "$uid" -lt 1000 ] || fail "resyncwatch is not a system user (uid $uid)"
[ "$home" = /var/lib/resyncwatch ] || fail "home of resyncwatch is $home"
[ "$shell" = /usr/sbin/nologin ] || fail "shell of resyncwatch is $shell"
[ "$(stat -c '%a %U %G' /var/lib/resyncwatch)" = "750 resyncwatch resyncwatch" ] ||
  fail "/var/lib/resyncwatch is $(stat -c '%a %U %G' /var/lib/resyncwatch), want 750 resyncwatch resyncwatch"

# Enabled for systemd (a symlink deb-systemd-helper keeps even where systemd is not running).
wants=/etc/systemd/system/multi-user.target.wants/resyncwatchd.service
[ -L "$wants" ] || fail "the unit is not enabled ($wants missing)"

# Without systemd running (a container), installing starts nothing.
if [ ! -d /run/systemd/system ]; then
  for pid in $(pgrep -x resyncwatchd || true); do
    [ "$(readlink "/proc/$pid/exe" 2>/dev/null)" != /usr/bin/resyncwatchd ] ||
      fail "the package started resyncwatchd (pid $pid) without systemd"
  done
fi

# The service user can run the daemon on its state directory with the packaged config
# (command-line flags win: loopback, ephemeral ports, no HTTP).
port_file=/var/lib/resyncwatch/test.port
# setpriv execs the daemon itself, so that the signal below reaches it.
setpriv --reuid=resyncwatch --regid=resyncwatch --init-groups /usr/bin/resyncwatchd --config /etc/resyncwatch/resyncwatch.json \
  --db /var/lib/resyncwatch/store --listen udp://127.0.0.1:0 --http-listen "" --metrics-listen "" \
  --port-file "$port_file" --log-level warn &
daemon_pid=$!
deadline=$((SECONDS + 60))
until [ -s "$port_file" ]; do
  kill -0 "$daemon_pid" 2>/dev/null || fail "resyncwatchd as user resyncwatch exited at startup"
  [ $SECONDS -lt $deadline ] || fail "resyncwatchd wrote no port file within 60 s"
  sleep 0.1
done
kill -TERM "$daemon_pid"
wait "$daemon_pid" || fail "resyncwatchd did not stop cleanly on SIGTERM"
daemon_pid=
[ "$(stat -c %U /var/lib/resyncwatch/store)" = resyncwatch ] || fail "the store is not the service user's"
[ "$(stat -c %a /var/lib/resyncwatch/store)" = 750 ] || fail "the store is mode $(stat -c %a /var/lib/resyncwatch/store)"

# Reinstalling (as an upgrade does) keeps an edited conffile and the state directory.
echo '{"log-level": "warn"}' >/etc/resyncwatch/resyncwatch.json
dpkg_retry env DEBIAN_FRONTEND=noninteractive dpkg -i "$deb" >/dev/null || fail "dpkg -i again failed"
[ "$(cat /etc/resyncwatch/resyncwatch.json)" = '{"log-level": "warn"}' ] ||
  fail "reinstalling replaced the edited /etc/resyncwatch/resyncwatch.json"
[ -d /var/lib/resyncwatch/store ] || fail "reinstalling lost the store"

# Purge: every file of the package, the conffile, the state directory and the store go.
files=$(dpkg-deb -c "$deb" | awk '$1 !~ /^d/ {sub(/^\./, "", $6); print $6}')
dpkg_retry dpkg --purge resyncwatch >/dev/null || fail "dpkg --purge failed"
installed=0
[ -z "$(dpkg-query -W -f='${Status}' resyncwatch 2>/dev/null | grep -v not-installed || true)" ] ||
  fail "resyncwatch still known to dpkg after --purge"
for f in $files /etc/resyncwatch/resyncwatch.json; do
  [ ! -e "$f" ] || fail "$f is left after dpkg --purge"
done
[ ! -e /etc/resyncwatch ] || fail "/etc/resyncwatch is left after dpkg --purge"
[ ! -e /var/lib/resyncwatch ] || fail "/var/lib/resyncwatch is left after dpkg --purge"
for f in "$wants" /var/lib/systemd/deb-systemd-helper-enabled/resyncwatchd.service.dsh-also \
  /var/lib/systemd/deb-systemd-helper-masked/resyncwatchd.service; do
  [ ! -e "$f" ] && [ ! -L "$f" ] || fail "$f (the unit's systemd state) is left after dpkg --purge"
done
# Debian policy keeps the system user and group (files elsewhere may still be theirs).
getent passwd resyncwatch >/dev/null || fail "purge removed the system user (policy keeps it)"
echo "PASS: installed, ran as resyncwatch, purged without leftovers"

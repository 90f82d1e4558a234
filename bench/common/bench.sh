# Shared by the benchmark scripts: the build's tools, and a work directory that is removed
# at exit together with the one background process a script keeps in $pid.
#
#   set -euo pipefail
#   . "$(dirname "$0")/../common/bench.sh" NAME TOOL...
#
# NAME names the work directory (/tmp/resyncwatch-NAME.XXXXXX) and prefixes the errors;
# each TOOL is a path under the build directory ($BUILD_DIR, default build/) that must be
# an executable. Sets root, build, work and pid.
root=$(cd "$(dirname "${BASH_SOURCE[1]}")/../.." && pwd)
build=${BUILD_DIR:-$root/build}
bench_name=$1
shift
for tool in "$@"; do
  [ -x "$build/$tool" ] || { echo "$bench_name: build first (missing $build/$tool)" >&2; exit 2; }
done
work=$(mktemp -d "/tmp/resyncwatch-$bench_name.XXXXXX")
pid=""
bench_cleanup() {
  [ -n "$pid" ] && kill "$pid" 2>/dev/null || true
  rm -rf "$work"
}
trap bench_cleanup EXIT

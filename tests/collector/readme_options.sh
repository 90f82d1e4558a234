#!/bin/sh
# The README's option list of resyncwatchd is the option table itself: it must contain
# exactly what `resyncwatchd --help-markdown` prints, so the two cannot drift apart.
set -eu
daemon=$1
readme=$2
table=$(mktemp)
trap 'rm -f "$table"' EXIT
"$daemon" --help-markdown > "$table"
python3 - "$table" "$readme" <<'PY'
import sys
table = open(sys.argv[1]).read()
readme = open(sys.argv[2]).read()
if table not in readme:
    print("README.md lacks the current resyncwatchd option table; paste the output of")
    print("'resyncwatchd --help-markdown' into its 'resyncwatchd options' section:")
    print(table)
    sys.exit(1)
print("README option table matches the binary's")
PY

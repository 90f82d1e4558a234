#!/bin/sh
# The README's lists of resyncwatchd's options (--help-markdown) and of the config file's
# keys (--help-config) are the tables the code reads them with: README must contain exactly
# what the flag prints, so the two cannot drift apart.
# Usage: readme_options.sh RESYNCWATCHD README.md [--help-markdown|--help-config]
set -eu
daemon=$1
readme=$2
flag=${3:---help-markdown}
table=$(mktemp)
trap 'rm -f "$table"' EXIT
"$daemon" "$flag" > "$table"
python3 - "$table" "$readme" "$flag" <<'PY'
import sys
table = open(sys.argv[1]).read()
readme = open(sys.argv[2]).read()
if table not in readme:
    print("README.md lacks the current output of 'resyncwatchd %s'; paste it into" % sys.argv[3])
    print("its section ('resyncwatchd options' or 'The config file'):")
    print(table)
    sys.exit(1)
print("README matches 'resyncwatchd %s'" % sys.argv[3])
PY

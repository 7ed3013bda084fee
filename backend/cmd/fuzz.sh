#!/usr/bin/env bash
# make fuzz: runs every Go fuzz target of the project for the given time each (60s
# by default). Plain `go test` (make test) already runs every target's seed corpus.
set -euo pipefail
cd "$(dirname "$0")/../.."
time="${1:-60s}"
status=0
while IFS= read -r line; do
	file="${line%%:*}"
	name="${line#*func }"
	name="${name%%(*}"
	pkg="./$(dirname "$file")"
	echo "== $pkg $name ($time)"
	if ! go test -run '^$' -fuzz "^${name}\$" -fuzztime "$time" -fuzzminimizetime 5s "$pkg"; then
		status=1
	fi
done < <(grep -rn --include='*_test.go' '^func Fuzz' . | sort)
exit $status

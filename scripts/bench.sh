#!/usr/bin/env bash
# Benchmarks that print their figures, each beside a baseline measured in
# the same run. Usage: scripts/bench.sh [store]   (default: all)
set -euo pipefail
cd "$(dirname "$0")/.."

what=${1:-all}
if [[ $what == all || $what == store ]]; then
	echo "### store: append and read (go run ./scripts/benchstore)"
	go run ./scripts/benchstore
	echo
	echo "### store: Go benchmarks"
	go test ./store -run '^$' -bench . -benchtime 200000x
fi
